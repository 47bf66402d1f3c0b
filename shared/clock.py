"""Time and ids for the impure edges; domain code takes them as arguments."""
import uuid
from datetime import datetime, timezone


def now():
    # Mongo keeps milliseconds: trim here so what we return equals what we store.
    t = datetime.now(timezone.utc)
    return t.replace(microsecond=t.microsecond // 1000 * 1000)


def new_id():
    return str(uuid.uuid4())

"""The feed's cursor (GET /notices): shared/pages.py's opaque cursor over
(created_at, _id), oldest first, always given — at the end of the feed too —
so a poller keeps its place and asks again with it.

The page is read by repository.notices (windows, for SecantusDB), not by
pages.read; the cursor is pages' own, with the list name "notices", so one
from another list is refused like anywhere else. Cursors given before
2026-11-30 ("<ISO time>|<id>", base64) are still read.
"""
import base64
from datetime import datetime, timezone

from shared import pages
from shared.errors import BadRequest
from shared.fields import EARLIEST, LATEST

FEED = "notices"
FEED_ORDER = [("created_at", 1), ("_id", 1)]
# The cursor of an empty feed's first page: "from the start", read as no
# cursor at all. One value for every reader, so an answer that tells of
# nothing is the same answer each time.
START = pages.encode(FEED, FEED_ORDER, {"created_at": EARLIEST, "_id": ""})


def decode_cursor(cursor):
    """(created_at, notice id) after which the page starts, or None."""
    if not cursor:
        return None
    try:
        at, notice_id = pages.decode(FEED, FEED_ORDER, cursor)
    except BadRequest:
        return _legacy(cursor)
    if not isinstance(at, datetime) or not isinstance(notice_id, str):
        raise BadRequest(pages.FOREIGN)
    if cursor == START:
        return None
    return at.replace(tzinfo=timezone.utc), notice_id


def next_cursor(items, after):
    """The cursor after this page: its last notice; on an empty page the one
    the reader came with, or — on a first page with nothing yet — START."""
    if items:
        return pages.encode(FEED, FEED_ORDER, items[-1])
    return after or START


def _legacy(cursor):
    """A cursor of the feed's first format: "<ISO time with offset>|<id>"."""
    try:
        raw = base64.urlsafe_b64decode(cursor.encode()).decode()
        stamp, notice_id = raw.split("|", 1)
        at = datetime.fromisoformat(stamp)
        if at.tzinfo is None:  # every cursor this feed gave carries its offset
            raise ValueError(at)
        # Every notice's time lies in this window; one outside it (year 1 at
        # +14:00) is no cursor of ours and would overflow on the way to UTC.
        at = at.astimezone(timezone.utc)
        if not EARLIEST <= at < LATEST:
            raise ValueError(at)
        return at, notice_id
    except (ValueError, UnicodeError, OverflowError):
        raise BadRequest(pages.FOREIGN)

"""The feed's cursor (services/notify/feed.py): shared/pages.py's own, always
given, one fixed value for an empty feed's start, and the first format
still read."""
import base64
from datetime import datetime, timezone

import pytest

from services.notify import feed
from shared import pages
from shared.errors import BadRequest

AT = datetime(2026, 11, 30, 6, 0, 0, 123000, tzinfo=timezone.utc)


def test_a_page_ends_at_its_last_notice_and_an_empty_one_where_it_began():
    last = {"_id": "n9", "created_at": AT}
    cursor = feed.next_cursor([last], None)
    assert feed.decode_cursor(cursor) == (AT, "n9")
    assert feed.next_cursor([], cursor) == cursor
    assert feed.next_cursor([], None) == feed.START
    assert feed.decode_cursor(feed.START) is None      # from the start: a first page


def test_a_cursor_of_the_first_format_still_reads():
    old = base64.urlsafe_b64encode(f"{AT.isoformat()}|n9".encode()).decode()
    assert feed.decode_cursor(old) == (AT, "n9")


@pytest.mark.parametrize("cursor", [
    "x", base64.urlsafe_b64encode(b"2026-01-01T00:00:00|x").decode(),
    pages.encode("deliveries", feed.FEED_ORDER, {"created_at": AT, "_id": "n9"}),
])
def test_a_foreign_or_broken_cursor_is_a_400(cursor):
    with pytest.raises(BadRequest):
        feed.decode_cursor(cursor)

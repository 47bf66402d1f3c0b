"""The feed's cursor (services/notify/feed.py): a notice shows at once, and
one written late with an earlier time comes on a later page — never
skipped, never twice — whatever the page sizes and however many arrive."""
import base64
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from services.notify import feed
from shared import pages
from shared.errors import BadRequest

T0 = datetime(2026, 12, 1, 4, 0, tzinfo=timezone.utc)
SETTLE = timedelta(seconds=2)


def at(ms):
    return T0 + timedelta(milliseconds=ms)


class Feed:
    """Notices written over time (some late); a reader polling with a cursor."""

    def __init__(self):
        self.written = []

    def write(self, name, stamped_ms):
        self.written.append({"_id": str(uuid.uuid5(uuid.NAMESPACE_URL, name)),
                             "created_at": at(stamped_ms)
                             .replace(tzinfo=None), "title": name})

    def notices(self, company_id, after, limit, until):
        rows = sorted((n for n in self.written if feed.key(n)[0] < until
                       and (after is None or feed.key(n) > after)), key=feed.key)
        return rows[:limit]

    def feed_rows(self, company_id, since, after, limit, until):
        span = [n for n in self.written if since is not None and after is not None
                and since < feed.key(n)[0] and feed.key(n) <= after]
        return span, self.notices(company_id, after, limit, until)

    def poll(self, cursor, now_ms, limit=50):
        items, nxt = feed.read(self, "c", cursor, limit, at(now_ms), SETTLE)
        return [n["title"] for n in items], nxt


def test_a_late_notice_comes_on_the_next_page():
    f = Feed()
    f.write("quick", 1000)
    seen, cursor = f.poll(None, 1010)
    assert seen == ["quick"]
    f.write("slow", 500)                          # stamped before, written after
    assert f.poll(cursor, 1020)[0] == ["slow"]
    assert f.poll(f.poll(cursor, 1020)[1], 1030)[0] == []    # once


def test_an_empty_page_answers_the_readers_own_cursor():
    f = Feed()
    f.write("a", 100)
    _, cursor = f.poll(None, 200)
    assert f.poll(cursor, 5000) == ([], cursor)
    assert f.poll(None, 0)[1] == feed.START      # nothing yet: the start


@pytest.mark.parametrize("limit", [1, 2, 3, 50])
def test_every_notice_once_whatever_the_page_size(limit):
    """Notices written in bursts, a third of them late (stamped up to 1.5 s
    before they are written), polled every 100 ms with pages of `limit`."""
    f, seen, cursor = Feed(), [], None
    for now in range(0, 10_000, 100):
        for i in range(3):
            n = now // 100 * 3 + i
            f.write(f"n{n}", now - (1500 if n % 3 == 0 else 0) + i)
        while True:
            items, cursor = f.poll(cursor, now + 50, limit)
            seen += items
            if len(items) < limit:
                break
    for now in range(10_000, 13_000, 100):   # the tail, once all have settled
        seen += f.poll(cursor, now, 1000)[0]
        cursor = f.poll(cursor, now, 1000)[1]
    assert sorted(seen) == sorted(n["title"] for n in f.written)
    assert len(seen) == len(set(seen))


def test_the_cursor_names_at_most_so_many_and_the_rest_wait():
    f = Feed()
    for i in range(feed.SEEN_MAX + 8):
        f.write(f"n{i}", 1000 + i)
    seen, cursor = f.poll(None, 1100, 200)
    assert len(seen) == feed.SEEN_MAX            # what fits the cursor
    assert len(cursor) <= 1024                   # a query string's `after`
    assert f.poll(cursor, 1200, 200)[0] == []    # still named: within 2 s
    rest, _ = f.poll(cursor, 3100, 200)          # named ones settled
    assert rest == [f"n{i}" for i in range(feed.SEEN_MAX, feed.SEEN_MAX + 8)]


def test_a_cursor_round_trips_and_a_forged_one_is_refused():
    cursor = feed.Cursor(at(1000), "abc", at(1500), ((at(900), "0123456789"),))
    assert feed.decode_cursor(feed.encode_cursor(cursor)) == cursor
    for forged in (feed.encode_cursor(cursor).replace("A", "B", 1) + "!",
                   feed.encode_cursor(cursor)[:-6]):
        with pytest.raises(BadRequest):
            feed.decode_cursor(forged)


def test_cursors_of_the_earlier_formats_still_read_as_places():
    first = base64.urlsafe_b64encode(f"{at(123).isoformat()}|n9".encode()).decode()
    second = pages.encode(feed.FEED, feed.FEED_ORDER, {"created_at": at(123), "_id": "n9"})
    for old in (first, second):
        assert feed.decode_cursor(old) == feed.Cursor(at(123), "n9")   # nothing read again
    assert feed.decode_cursor(feed.START) is None      # from the start: a first page


@pytest.mark.parametrize("cursor", [
    "x", base64.urlsafe_b64encode(b"2026-01-01T00:00:00|x").decode(),
    pages.encode("deliveries", feed.FEED_ORDER, {"created_at": T0, "_id": "n9"}),
])
def test_a_foreign_or_broken_cursor_is_a_400(cursor):
    with pytest.raises(BadRequest):
        feed.decode_cursor(cursor)

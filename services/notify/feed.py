"""The feed's cursor (GET /notices): an opaque cursor over (created_at, _id),
oldest first, always given — at the end of the feed too — so a poller keeps
its place and asks again with it.

A notice shows as soon as it is written. Two workers releasing for one
company may write their notices out of time order: a notice stamped t can
be written a moment after one stamped later, which a reader may already
have been given — a cursor that only said "after the last one" would skip
it. So the cursor also carries when its page was read and the notices it
has given from the SETTLE seconds before that (their times and short ids),
and the next page looks back that far for any notice not given yet: one
written late comes on the next page, after those it was overtaken by. The
promise is the one a fixed wait gave (FEED_SETTLE_SECONDS, 2 s: a notice is
written within that much of its time), without the wait.

Why it cannot skip one (A: a notice stamped c is readable from c + SETTLE
on): every notice at or before the cursor's place was given, or was
unreadable when the page was read at `read_at` — so stamped after
`read_at - SETTLE` by A — and is not among those the cursor names. The next
page reads that span again and gives what is there and not named. The new
`read_at` is the reading time, held back to keep any notice of the span it
could not fit in the page (the limit) within the next span.

The cursor names at most SEEN_MAX notices (it must fit a query string);
when more were given within SETTLE, the page gives fewer, and the rest come
once the named ones are older than SETTLE. An empty page answers the cursor
the reader came with. Cursors given before 2026-12-01 (pages' own format,
and before 2026-11-30 "<ISO time>|<id>") are still read, as places only:
they were given under the fixed wait, so nothing before them can come late.
"""
import base64
import functools
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from shared import clock, pages
from shared.errors import BadRequest
from shared.fields import EARLIEST, LATEST

FEED = "notices"
FEED_ORDER = [("created_at", 1), ("_id", 1)]
# The cursor of an empty feed's first page: "from the start", read as no
# cursor at all. One value for every reader, so an answer that tells of
# nothing is the same answer each time.
START = pages.encode(FEED, FEED_ORDER, {"created_at": EARLIEST, "_id": ""})
SEEN_MAX = 80        # notices a cursor names: ~900 characters, within `after`'s 1,024
SHORT_ID = 10           # hex characters of a notice id's hash the cursor keeps
MS = timedelta(milliseconds=1)


@dataclass(frozen=True)
class Cursor:
    at: datetime                 # the place: the last notice given (its time, id)
    notice_id: str
    read_at: datetime | None = None   # None: a cursor of the fixed wait, a place only
    seen: tuple = ()             # ((time, short id), ...) given within SETTLE of read_at

    def looks_back_to(self, settle):
        """From when the next page reads again, or None."""
        if self.read_at is None or self.read_at - settle >= self.at:
            return None
        return self.read_at - settle


@functools.lru_cache(maxsize=4096)   # a page is sized down one by one when too many
def short(notice_id):
    """40 bits of the id's hash: a late notice is taken for a given one only
    by a 1 in 2^40 chance per notice named."""
    return hashlib.blake2b(notice_id.encode(), digest_size=SHORT_ID // 2).hexdigest()


def key(notice):
    return clock.utc(notice["created_at"]), notice["_id"]


def late_ones(cursor, notices):
    """Of the notices read again (the span the cursor looks back over), those
    at or before its place that it has not given."""
    named = {s for _, s in cursor.seen}
    return sorted((n for n in notices if key(n) <= (cursor.at, cursor.notice_id)
                   and short(n["_id"]) not in named), key=key)


def page(cursor, late, fresh, limit, now, settle):
    """The page and the cursor after it. `late`: late_ones(); `fresh`: the
    notices after the place, oldest first. The late come first."""
    candidates = late + fresh
    for size in range(min(limit, len(candidates)), -1, -1):
        after = _after(cursor, candidates[:size], late[size:], now, settle)
        if len(after.seen) <= SEEN_MAX:
            return candidates[:size], after
    raise AssertionError("an empty page always fits")   # its seen only shrinks


def _after(cursor, given, late_left, now, settle):
    at, notice_id = cursor.at, cursor.notice_id
    fresh_given = [n for n in given if key(n) > (cursor.at, cursor.notice_id)]
    if fresh_given:
        at, notice_id = key(fresh_given[-1])
    read_at = now
    if late_left:   # keep the first one left within the next page's span
        read_at = min(now, key(late_left[0])[0] + settle - MS)
    if cursor.read_at is not None:
        read_at = max(read_at, cursor.read_at)   # another instance's clock behind
    seen = {s: t for t, s in cursor.seen}
    seen.update({short(n["_id"]): key(n)[0] for n in given})
    kept = tuple(sorted((t, s) for s, t in seen.items() if t > read_at - settle))
    if not kept and read_at - settle >= at:
        return Cursor(at, notice_id)   # all before it settled: a place is enough
    return Cursor(at, notice_id, read_at, kept)


def decode_cursor(cursor):
    """The Cursor a reader came with, or None (from the start)."""
    if not cursor or cursor == START:
        return None
    if "." in cursor:   # a place, a reading time and what was given since
        return _decode(*cursor.split(".", 1))
    try:
        at, notice_id = pages.decode(FEED, FEED_ORDER, cursor)
    except BadRequest:
        return _legacy(cursor)
    if not isinstance(at, datetime) or not isinstance(notice_id, str):
        raise BadRequest(pages.FOREIGN)
    return Cursor(at.replace(tzinfo=timezone.utc), notice_id)


def encode_cursor(cursor):
    """A place alone in pages' own form; with its reading time and the
    notices it named, "<JSON, base64url>.<8 bytes a notice, base64url>":
    milliseconds before the place (3 bytes) and the short id (5)."""
    if cursor.read_at is None:   # a place only: the same for every reader there
        return pages.encode(FEED, FEED_ORDER, {"created_at": cursor.at, "_id": cursor.notice_id})
    head = json.dumps([FEED, cursor.at.isoformat(), cursor.notice_id,
                       round(cursor.read_at.timestamp() * 1000)],
                      separators=(",", ":"), ensure_ascii=False).encode()
    # (A settling time over 4.6 hours would not fit: such a one is named a
    # little later than it was, so kept a little longer, which is harmless.)
    named = b"".join(min(round((cursor.at - t) / MS), 2**24 - 1).to_bytes(3, "big")
                     + bytes.fromhex(s) for t, s in cursor.seen)
    return _b64(head) + "." + _b64(named)


def _b64(raw):
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text):
    return base64.urlsafe_b64decode((text + "=" * (-len(text) % 4)).encode("ascii"))


def _decode(head, tail):
    try:
        name, stamp, notice_id, read_ms = json.loads(_unb64(head))
        if name != FEED or not isinstance(notice_id, str) or not isinstance(read_ms, int):
            raise ValueError(name)
        at = _time(datetime.fromisoformat(stamp))
        read_at = _time(datetime.fromtimestamp(read_ms / 1000, timezone.utc))
        named = _unb64(tail)
        if len(named) % 8 or len(named) > 8 * SEEN_MAX:
            raise ValueError(tail)
        seen = tuple((at - int.from_bytes(named[i:i + 3], "big") * MS, named[i + 3:i + 8].hex())
                     for i in range(0, len(named), 8))
        return Cursor(at, notice_id, read_at, seen)
    except (ValueError, TypeError, UnicodeError, OverflowError):
        raise BadRequest(pages.FOREIGN)


def _time(at):
    # Every notice's time lies in this window; one outside it (year 1 at
    # +14:00) is no cursor of ours and would overflow on the way to UTC.
    if at.tzinfo is None:  # every cursor this feed gave carries its offset
        raise ValueError(at)
    at = at.astimezone(timezone.utc)
    if not EARLIEST <= at < LATEST:
        raise ValueError(at)
    return at


def read(repo, company_id, after, limit, now, settle):
    """One page of the company's feed after the cursor string `after`: the
    notices, and the cursor to answer (on an empty page the one the reader
    came with, or — on a first page with nothing yet — START)."""
    cursor = decode_cursor(after)
    start = cursor or Cursor(EARLIEST, "")
    span, fresh = repo.feed_rows(company_id, start.looks_back_to(settle),
                                 cursor and (cursor.at, cursor.notice_id), limit, now)
    items, nxt = page(start, late_ones(start, span), fresh, limit, now, settle)
    return items, (encode_cursor(nxt) if items else after or START)


def _legacy(cursor):
    """A cursor of the feed's first format: "<ISO time with offset>|<id>"."""
    try:
        raw = base64.urlsafe_b64decode(cursor.encode()).decode()
        stamp, notice_id = raw.split("|", 1)
        return Cursor(_time(datetime.fromisoformat(stamp)), notice_id)
    except (ValueError, UnicodeError, OverflowError):
        raise BadRequest(pages.FOREIGN)

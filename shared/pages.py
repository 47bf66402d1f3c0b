"""Cursor pages for every list (API.md: `items` and `next`; pass `next`
back as `after`).

A page is read by keyset: the list's sort (ending in a unique field, so the
order is stable) and the last row's values in it. The cursor carries those
values and the list's name, base64url-encoded: it is opaque to callers but
not secret, because the query it continues still filters by the caller's
reach — a forged cursor can only move within what the caller may see. One
from another list, or one that does not decode, is a 400.

A page costs what the page holds, not what came before it, provided an
index matches the list's filter and sort (each repository declares it).

    found, nxt = pages.read(db.reports, {"owner_unit": unit}, REPORT_ORDER,
                            call.query["limit"], call.query.get("after"), "reports")
    return pages.Page(call, [view(r) for r in found], nxt)

`next` is null only when nothing more can come: the query asks for one row
more than the page to know. A list that grows at its end (a feed) passes
`open_ended=True` and always answers a cursor, so a poller keeps its place.
The same cursor goes out in a `Link: <…>; rel="next"` header (RFC 8288),
added by shared/http.py to any answer that is a `Page`.
"""
import base64
import json
from datetime import datetime, timezone
from urllib.parse import urlencode

from marshmallow import fields, validate

from shared import time_windows
from shared.errors import BadRequest
from shared.fields import EARLIEST, LATEST, In

MAX_LIMIT = 200
CURSOR_CHARS = 1024
FOREIGN = "the cursor is not one this list gave"


class PageQuery(In):
    """What every list takes; a list's own query schema subclasses it."""
    limit = fields.Integer(load_default=50, validate=validate.Range(1, MAX_LIMIT))
    after = fields.String(validate=validate.Length(1, CURSOR_CHARS))


class Page(dict):
    """A list's answer: {"items", "next"}, knowing the request it answers so
    the `Link` header can repeat the request's own filters."""

    def __init__(self, call, items, nxt):
        super().__init__(items=items, next=nxt)
        self.request = call.request

    def link(self):
        if not self["next"]:
            return None
        args = [(k, v) for k, v in self.request.args.items(multi=True) if k != "after"]
        args.append(("after", self["next"]))
        return f'<{self.request.path}?{urlencode(args)}>; rel="next"'


def _pack(value):
    if isinstance(value, datetime):
        return {"t": value.astimezone(timezone.utc).isoformat()}
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return {"s": str(value)}   # an ObjectId or the like, compared as its string


def _unpack(value):
    if isinstance(value, dict):
        if set(value) == {"t"} and isinstance(value["t"], str):
            at = datetime.fromisoformat(value["t"])
            if at.tzinfo is None:
                raise ValueError(at)
            at = at.astimezone(timezone.utc)
            if not EARLIEST <= at < LATEST:
                raise ValueError(at)
            return at.replace(tzinfo=None)   # pymongo hands naive UTC back
        raise ValueError(value)
    if isinstance(value, (list,)):
        raise ValueError(value)
    return value


def _value(doc, field):
    for part in field.split("."):
        doc = doc.get(part) if isinstance(doc, dict) else None
    return doc


def encode(list_name, sort, doc):
    raw = json.dumps([list_name, [_pack(_value(doc, f)) for f, _ in sort]],
                     separators=(",", ":"), ensure_ascii=False)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode(list_name, sort, cursor):
    """The sort values a cursor of this list carries; a 400 for any other."""
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        name, values = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        if name != list_name or not isinstance(values, list) or len(values) != len(sort):
            raise ValueError(name)
        return [_unpack(v) for v in values]
    except (ValueError, TypeError, UnicodeError, OverflowError):
        raise BadRequest(FOREIGN)


def after_filter(sort, values):
    """Rows strictly after `values` in `sort`: (a > x) or (a = x and b > y) …"""
    ors = []
    for i, (field, direction) in enumerate(sort):
        clause = {f: v for (f, _), v in zip(sort[:i], values[:i])}
        clause[field] = {"$gt" if direction == 1 else "$lt": values[i]}
        ors.append(clause)
    return {"$or": ors}


def with_after(query, sort, values):
    """`query` limited to the rows after the cursor's `values` (None: all)."""
    if values is None:
        return query
    return {"$and": [query, after_filter(sort, values)]} if query else after_filter(sort, values)


NOT_PINNED = object()


def pinned_id(query):
    """The `_id` a list's query names by equality (as a search by a unique
    number or reference does, joined to the caller's reach with `$and`),
    or NOT_PINNED."""
    for part in [query, *query.get("$and", [])]:
        if "_id" in part and not isinstance(part["_id"], dict):
            return part["_id"]
    return NOT_PINNED


def one_by_id(collection, doc_id, query, projection=None):
    """The document `doc_id`, if it matches `query`: read by its `_id`
    alone, then held to the rest. SecantusDB answers a filter of `_id` and
    any other field by reading the whole collection (a search by reference
    or an officer's look-up of a report's case read every case, per call;
    issue 19, `make chaos`); two `$match` stages read one document."""
    return list(collection.aggregate(by_id_pipeline(doc_id, query, projection)))


def by_id_pipeline(doc_id, query, projection=None):
    return [{"$match": {"_id": doc_id}}, {"$match": query}] + (
        [{"$project": projection}] if projection else [])


def read(collection, query, sort, limit, after, list_name, projection=None,
         open_ended=False, by_time=False):
    """One page of `collection` matching `query` in `sort` order, and the
    cursor of the next (None when nothing more can come). `by_time`: the
    sort is (a time, -1), ("_id", -1), and the page is read in time windows
    (shared/time_windows.py) so that it costs what it holds on SecantusDB."""
    values = decode(list_name, sort, after)
    pinned = pinned_id(query)
    branches = (time_windows.flat_branches(query)
                if by_time and pinned is NOT_PINNED else None)
    if pinned is not NOT_PINNED:
        rows = one_by_id(collection, pinned, with_after(query, sort, values), projection)
    elif branches is not None:
        assert [d for _, d in sort] == [-1, -1] and sort[1][0] == "_id", sort
        rows = time_windows.read(collection, branches, sort, limit + 1, values, projection)
    else:
        rows = list(collection.find(with_after(query, sort, values), projection, sort=sort,
                                    limit=limit + 1))
    more = len(rows) > limit
    rows = rows[:limit]
    if rows and (more or open_ended):
        return rows, encode(list_name, sort, rows[-1])
    if open_ended:
        return rows, after   # an empty page of a feed: the same place, still open
    return rows, None

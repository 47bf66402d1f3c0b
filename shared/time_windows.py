"""One page of a newest-first list, read in time windows (shared/pages.py
uses it for every list sorted by a time, then `_id`).

Why: SecantusDB answers a query by reading every document that matches it
and sorting them after, and it uses an index only for a flat filter
(equalities and one range, no `$and`/`$or`). A page read as "everything in
reach before the cursor, sorted, first 50" then costs the whole list. Here
the filter is first made flat — a disjunction of flat branches, as the
reach's `$or` is — and each branch is read in windows of the time field
that grow fourfold from the cursor back (a minute, four, sixteen …) until
the page is full or the windows reach EARLIEST. A page then costs about
what it holds, on SecantusDB and on a real mongod alike (the indexes in
each repository match every branch's equalities, the time and `_id`).

A filter that cannot be made flat (two different values for one field) is
read as it is: correct, only not cheap on SecantusDB.
"""
from datetime import timedelta
from itertools import product

from shared import clock
from shared.fields import EARLIEST

FIRST_WINDOW = timedelta(minutes=1)
GROWTH = 8            # an empty window: the next is this much wider
# ... and while nothing at all has been found: a short list (a company's few
# reports) reaches EARLIEST in 6 windows, not 10. A window is read whole, so
# a list that is dense only further back costs at most one wider window.
EMPTY_GROWTH = 32
MAX_BRANCHES = 8
BOUNDS = {"$gt": max, "$lt": min}   # the range operators windows meet: keep the tighter
# SecantusDB reads `$gte` as `$gt` on an index with more keys after the
# field, so a row on a window's lower edge would be in neither window. Times
# are stored to the millisecond: "after low minus 1 ms" is "from low".
TICK = timedelta(milliseconds=1)


class NotFlat(Exception):
    pass


class Impossible(Exception):
    """A branch no document can match (its bounds exclude each other)."""


def flat_branches(query):
    """The query as flat branches (any one may match), or None."""
    try:
        branches = _flatten(query or {})
    except NotFlat:
        return None
    return branches if len(branches) <= MAX_BRANCHES else None


def _flatten(query):
    plain = {k: v for k, v in query.items() if k not in ("$and", "$or")}
    if any(k.startswith("$") for k in plain):
        raise NotFlat(query)
    parts = [[plain]]
    for sub in query.get("$and", []):
        parts.append(_flatten(sub))
    if "$or" in query:
        parts.append([b for sub in query["$or"] for b in _flatten(sub)])
    out = []
    for combo in product(*parts):
        merged: dict = {}
        try:
            for branch in combo:
                merged = conj(merged, branch)
        except Impossible:
            continue
        out.append(merged)
    return out


def conj(a, b):
    """Both flat filters at once, as one flat filter: NotFlat if it cannot
    be, Impossible if nothing can match both."""
    out = dict(a)
    for key, value in b.items():
        old = out.get(key, value)
        if old == value:
            out[key] = value
        elif _ops(old) and _ops(value):
            out[key] = _meet(old, value)
        elif _ops(old) and _plain(value):
            out[key] = _within(value, old)
        elif _plain(old) and _ops(value):
            out[key] = _within(old, value)
        elif _plain(old) and _plain(value):
            # Two values of one field: an array holding both (a unit path
            # within reach and the unit searched for); a scalar never does.
            out[key] = {"$all": [old, value]}
        else:
            raise NotFlat(key)
    return out


def _ops(value):
    return isinstance(value, dict) and bool(value) and all(k in BOUNDS for k in value)


def _plain(value):
    return not isinstance(value, (dict, list))


def _meet(a, b):
    out = dict(a)
    for op, bound in b.items():
        out[op] = BOUNDS[op](clock.utc(out[op]), clock.utc(bound)) if op in out else bound
    return out


def _within(value, ops):
    try:
        inside = all(clock.utc(value) > clock.utc(bound) if op == "$gt" else clock.utc(value) < clock.utc(bound)
                     for op, bound in ops.items())
    except TypeError:   # a null id, a value of another type: no row has both
        inside = False
    if not inside:
        raise Impossible(value)
    return value


def read(collection, branches, sort, limit, values, projection):
    """Up to `limit` rows after the cursor `values` (None: from the top) in
    `sort` — (time field, -1), ("_id", -1) — matching any of `branches`."""
    (field, _), (tie, _) = sort
    want = limit
    if all(tie in b and _plain(b[tie]) for b in branches):
        # Each branch names its one row (a quoted reference, a report's
        # case): read through the unique index, no windows.
        named = _merge(collection, branches, sort, want, projection)
        if values is not None:
            named = [r for r in named
                     if (clock.utc(r[field]), r[tie]) < (clock.utc(values[0]), values[1])]
        return named
    rows: list = []
    high = None
    if values is not None:
        high = clock.utc(values[0])
        # The rest of the cursor's own instant first.
        rows = _merge(collection, _each(branches, {field: high, tie: {"$lt": values[1]}}),
                      sort, want, projection)
    width = FIRST_WINDOW
    top = high or clock.now()
    low = top - width
    while len(rows) < want:
        span = {"$gt": max(low, EARLIEST) - TICK}    # [low, high)
        if high is not None:
            span["$lt"] = high
        found = _merge(collection, _each(branches, {field: span}), sort, want - len(rows),
                       projection)
        rows += found
        if low <= EARLIEST:
            break
        # The next window: as wide as the rows still wanted need at the
        # density just seen, within GROWTH of this one.
        need = want - len(rows)
        if not rows:
            grow = EMPTY_GROWTH
        else:
            grow = GROWTH if not found else min(GROWTH, max(1.0, 1.5 * need / len(found)))
        high, width = low, width * grow
        low = high - width
    return rows[:want]


def _each(branches, more):
    """Every branch with `more` added, but those it leaves nothing of."""
    out = []
    for branch in branches:
        try:
            out.append(conj(branch, more))
        except Impossible:
            continue
    return out


def _merge(collection, branches, sort, limit, projection):
    """The first `limit` rows of the branches together, in `sort`, once each."""
    if limit <= 0 or not branches:
        return []
    found = {}
    for branch in branches:
        for row in collection.find(branch, projection, sort=sort, limit=limit):
            found[row["_id"]] = row
    (field, _), (tie, _) = sort
    ordered = sorted(found.values(), key=lambda r: (clock.utc(r[field]), r[tie]), reverse=True)
    return ordered[:limit]

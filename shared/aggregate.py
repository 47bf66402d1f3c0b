"""The one write path of an aggregate (a report, a case).

A command answers (fields, entries, events): the top-level fields it sets,
the history entries it appends, the events it causes. This module stores
all three in one single-document write — the state, its trail and its
outbox together or not at all — conditional on the version that was read,
so of two writers that read the same version exactly one wins. `run` is the
one way a person's command goes: read, who may, rule, write, answer.
"""
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Mapping

from shared import clock, idempotency_key, outbox
from shared.errors import Conflict
from shared.rules import Change, Event, RuleError

Doc = dict[str, Any]


def created(doc: Mapping[str, Any], source: str, events: list[Event], now: datetime) -> Doc:
    """A new aggregate, carrying its first events, ready to insert."""
    envs = outbox.record(source, doc["_id"], 0, events, now)
    return {**doc, "version": 1, **outbox.on_insert(envs, now)}


def created_by_event(doc: Mapping[str, Any], source: str, events: list[Event],
                     now: datetime) -> Doc:
    """A new aggregate made by a consumed event, its first events stored
    with it (`first_events`) but not in its outbox: the consumed message is
    their outbox. The consumer publishes them before the message is acked,
    and again whenever it is redelivered or its handling retried (the
    insert then finds the aggregate there), so no relay pull rewrites the
    document after its insert (issue 19: the case's pull was a tenth of the
    database's time a report)."""
    envs = outbox.record(source, doc["_id"], 0, events, now)
    return {**doc, "version": 1, "seq": len(envs), "outbox": [], "first_events": envs}


def save(collection: Any, doc: Mapping[str, Any], source: str, change: Change, now: datetime,
         also: Iterable[dict] = (), where: dict | None = None) -> Doc | None:
    """Store `change` (fields, entries, events) on `doc` in one write,
    conditional on doc's version (and `where`); None if the write lost,
    else what the relay needs of it: {"outbox": the outbox as the write
    left it} when `doc` was read with its outbox (not read back: issue 19),
    {} when not. `also` are further update fragments of the same write (a
    request's key, a clock's removal). A document read with its outbox is
    read whole (a report's change), so the write's answer also carries the
    document as the write left it (`after`, worked out by applied()), and
    the command's answer needs no read back.

    (Not a findAndModify answering the document: SecantusDB runs one as a
    scan of the whole collection.)"""
    fields, entries, events = change
    envs = outbox.record(source, doc["_id"], doc["seq"], events, now)
    update = {"$set": dict(fields), "$inc": {"version": 1}}
    if entries:
        update["$push"] = {"history": {"$each": list(entries)}}
    update = outbox.merge(update, outbox.push(doc["seq"], envs, now), *also)
    if collection.update_one({"_id": doc["_id"], "version": doc["version"], **(where or {})},
                             update).modified_count != 1:
        return None
    if "outbox" not in doc:
        return {}
    after = applied(doc, update)
    return {"outbox": list(doc["outbox"]) + envs, **({"after": after} if after else {})}


def applied(doc: Mapping[str, Any], update: Mapping[str, Mapping[str, Any]]) -> Doc | None:
    """`doc` as the database leaves it after `update`, worked out here for
    what save() writes — $set, $unset, $inc, $min and $push (with $each and
    $slice) on top-level fields; None for anything else (then read it
    back). Times come back as the database keeps them: UTC, to the
    millisecond."""
    after = {**doc}
    for op, changes in update.items():
        for field, value in changes.items():
            if "." in field or field.startswith("$"):
                return None
            had = field in after
            if op == "$set":
                after[field] = stored(value)
            elif op == "$unset":
                after.pop(field, None)
            elif op == "$inc" and isinstance(value, int):
                after[field] = after.get(field, 0) + value
            elif op == "$min" and (not had or _comparable(after[field], value)):
                after[field] = stored(value) if not had else min(after[field], stored(value))
            elif op == "$push" and set(value) <= {"$each", "$slice"} and "$each" in value:
                items = list(after.get(field) or []) + [stored(v) for v in value["$each"]]
                keep = value.get("$slice")
                after[field] = items if keep is None else (items[keep:] if keep < 0
                                                           else items[:keep])
            else:
                return None
    return after


def stored(value: Any) -> Any:
    """A value as the database gives it back (a time: UTC, milliseconds)."""
    if isinstance(value, datetime):   # a naive one is UTC, as pymongo writes it
        return clock.ms(clock.utc(value).astimezone(timezone.utc))
    if isinstance(value, Mapping):
        return {k: stored(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [stored(v) for v in value]
    return value


def _comparable(a: Any, b: Any) -> bool:
    return (isinstance(a, datetime) and isinstance(b, datetime)) or (
        isinstance(a, (int, float)) and isinstance(b, (int, float)))


def run(call: Any, read: Callable[[], Doc | None], allowed: Callable[[Doc | None], Doc],
        command: Callable[[Doc, datetime], Change],
        store: Callable[[Doc, Change, list[dict], datetime], bool],
        answer: Callable[[Doc], Any], retried: Callable[[Doc], Any] | None = None) -> Any:
    """A person's command on one aggregate.

    `read()` loads it (None if absent); `allowed(doc)` returns it or raises
    the 404/403 the caller should see; `command(doc, now)` answers the
    change or raises RuleError (a 409); `store(doc, change, also, now)`
    writes it and says whether it won (or answers the document as it left
    it: save()'s `after`); `answer(doc)` is the reply. A retry
    with the same Idempotency-Key answers `retried(doc)` without acting
    again — asked before who may act, since the first call may have ended
    the caller's part (a declined transfer); only the caller's own key can
    match.
    """
    doc = read()
    if doc is not None and idempotency_key.seen(doc, call.key):
        return (retried or answer)(doc)
    doc = allowed(doc)
    now = clock.now()
    try:
        change = command(doc, now)
    except RuleError as exc:
        raise Conflict(str(exc))
    won = store(doc, change, [idempotency_key.remember(call.key, now)], now)
    # The document as the write left it when the store knows it (a report's
    # change: issue 19, a read less a command), else read back.
    after = won if isinstance(won, dict) else read()
    # A lost write is fine when it lost to the same request sent twice at
    # once: that copy finds the winner's effect under its own key.
    if after is None or not (won or idempotency_key.seen(after, call.key)):
        raise Conflict("it changed meanwhile; read it again")
    return answer(after)

"""The one write path of an aggregate (a report, a case).

A command answers (fields, entries, events): the top-level fields it sets,
the history entries it appends, the events it causes. This module stores
all three in one single-document write — the state, its trail and its
outbox together or not at all — conditional on the version that was read,
so of two writers that read the same version exactly one wins. `run` is the
one way a person's command goes: read, who may, rule, write, answer.
"""
from datetime import datetime
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
    request's key, a clock's removal).

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
    return {"outbox": list(doc["outbox"]) + envs} if "outbox" in doc else {}


def run(call: Any, read: Callable[[], Doc | None], allowed: Callable[[Doc | None], Doc],
        command: Callable[[Doc, datetime], Change],
        store: Callable[[Doc, Change, list[dict], datetime], bool],
        answer: Callable[[Doc], Any], retried: Callable[[Doc], Any] | None = None) -> Any:
    """A person's command on one aggregate.

    `read()` loads it (None if absent); `allowed(doc)` returns it or raises
    the 404/403 the caller should see; `command(doc, now)` answers the
    change or raises RuleError (a 409); `store(doc, change, also, now)`
    writes it and says whether it won; `answer(doc)` is the reply. A retry
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
    after = read()
    # A lost write is fine when it lost to the same request sent twice at
    # once: that copy finds the winner's effect under its own key.
    if after is None or not (won or idempotency_key.seen(after, call.key)):
        raise Conflict("it changed meanwhile; read it again")
    return answer(after)

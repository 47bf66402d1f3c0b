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

from pymongo import ReturnDocument

from shared import clock, idempotency_key, outbox
from shared.errors import Conflict
from shared.rules import Change, Event, RuleError

Doc = dict[str, Any]


def created(doc: Mapping[str, Any], source: str, events: list[Event], now: datetime) -> Doc:
    """A new aggregate, carrying its first events, ready to insert."""
    envs = outbox.record(source, doc["_id"], 0, events, now)
    return {**doc, "version": 1, **outbox.on_insert(envs, now)}


def save(collection: Any, doc: Mapping[str, Any], source: str, change: Change, now: datetime,
         also: Iterable[dict] = (), where: dict | None = None,
         projection: dict | None = None) -> Doc | None:
    """Store `change` (fields, entries, events) on `doc` in one write,
    conditional on doc's version (and `where`): the document as this write
    left it (`projection`'s fields, its outbox among them), or None if the
    write lost. `also` are further update fragments of the same write (a
    request's key, a clock's removal).

    The write answers the document it made (findAndModify), so neither the
    relay nor the caller's answer reads it back (issue 19): what they were
    given is what the write stored, not a later writer's state."""
    fields, entries, events = change
    envs = outbox.record(source, doc["_id"], doc["seq"], events, now)
    update = {"$set": dict(fields), "$inc": {"version": 1}}
    if entries:
        update["$push"] = {"history": {"$each": list(entries)}}
    update = outbox.merge(update, outbox.push(doc["seq"], envs, now), *also)
    return collection.find_one_and_update(
        {"_id": doc["_id"], "version": doc["version"], **(where or {})}, update,
        projection, return_document=ReturnDocument.AFTER)


def run(call: Any, read: Callable[[], Doc | None], allowed: Callable[[Doc | None], Doc],
        command: Callable[[Doc, datetime], Change],
        store: Callable[[Doc, Change, list[dict], datetime], Doc | None],
        answer: Callable[[Doc], Any], retried: Callable[[Doc], Any] | None = None) -> Any:
    """A person's command on one aggregate.

    `read()` loads it (None if absent); `allowed(doc)` returns it or raises
    the 404/403 the caller should see; `command(doc, now)` answers the
    change or raises RuleError (a 409); `store(doc, change, also, now)`
    writes it and answers the document it left, or None if it lost;
    `answer(doc)` is the reply. A retry
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
    after = store(doc, change, [idempotency_key.remember(call.key, now)], now)
    if after is not None:
        return answer(after)
    # A lost write is fine when it lost to the same request sent twice at
    # once: that copy finds the winner's effect under its own key.
    after = read()
    if after is None or not idempotency_key.seen(after, call.key):
        raise Conflict("it changed meanwhile; read it again")
    return answer(after)

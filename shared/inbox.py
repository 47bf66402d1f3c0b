"""The inbox: each consumer applies each event once, and no failure vanishes.

Every event a handler takes is recorded in the `inbox` collection under
`_id = "<handler>:<event_id>"` (unique by construction), so a redelivery of
an applied event changes nothing. nameko acks a message whose handler
raised; so instead of raising, a failed apply is recorded here with its
error and envelope, and a timer retries it with growing delay, then marks it
`dead` — visible at GET /admin/failures. A malformed envelope is dead at once.

A crash after the effect and before the record means a redelivery applies
again: every apply function is idempotent on its own (natural keys), and
this record is what makes the second look cheap and visible.

A handler whose effect records the event itself — the event id on the
document it changes, under the same conditional write, or a document keyed
by the event — is `folded` (issue 19): it answers whether it applied the
event or found it applied already, and nothing is written here for it
unless it fails. Its effect's own key or filter is the guard, and a write
(an fsync) per event is saved.

A database that does not answer is not the event's fault: the error is
raised, and the handlers are set to requeue on error (below), so the broker
keeps the message until the database is back. Nothing else escapes consume().
"""
import hashlib
import json
import logging
import random
from datetime import timedelta


from marshmallow import ValidationError
from nameko.messaging import Consumer
from nameko.extensions import DependencyProvider
from pymongo.errors import ConnectionFailure
from prometheus_client import Counter

from shared import clock, faults, pages
from shared.events import EnvelopeSchema
from shared.fields import schema
from shared.mongo import Mongo

log = logging.getLogger(__name__)

COLLECTION = "inbox"
# GET /admin/failures, newest first; `_id` last so the order is total.
FAILURE_ORDER = [("received_at", -1), ("_id", -1)]
INDEXES: dict[str, list] = {COLLECTION: [([("status", 1), ("next_attempt_at", 1)], {}),
                        ([("received_at", -1)], {}),
                        ([("status", 1), ("received_at", -1), ("_id", -1)], {})]}
LEASE = timedelta(seconds=60)
MAX_EVENT_BYTES = 256 * 1024  # a larger envelope is a producer's bug, not a fact
CONSUMED = Counter("fasttrack_events_consumed_total",
                   "Events taken by a handler, by outcome",
                   ["handler", "type", "outcome"])


def backoff(attempt, base, rand=random.random):
    """Exponential delay with full jitter on the upper half: base·2^(n-1)·[0.5,1)."""
    return timedelta(seconds=base * 2 ** (attempt - 1) * (0.5 + rand() / 2))


class Inbox:
    def __init__(self, provider, service):
        self.p = provider
        self.service = service
        self.coll = provider.db[COLLECTION]
        # Folded handlings whose apply could not yet say whether the event
        # was new (one write after several consumers): counted by decided().
        self.undecided: list[tuple[str, str]] = []
        self.loaded: tuple | None = None   # (the message's body, its envelope loaded)

    def consume(self, body, apply, folded=False, counted=True):
        """Apply `apply(envelope)` once per event_id for this handler.

        `folded`: `apply` records the event on its own effect and returns
        False when it found it recorded there (a redelivery), None when
        that is known only later (decided()); no inbox record is read or
        written unless it fails. `counted=False`: a second part of a
        handling already counted (it fails, and is retried, as the handler)."""
        handler = apply.__name__
        try:
            event = self._load(body)
        except (ValidationError, TypeError, ValueError) as exc:
            self._dead_on_arrival(handler, body, exc)
            return
        key = f"{handler}:{event['event_id']}"
        if not folded and self.coll.find_one({"_id": key}, {"_id": 1}):
            CONSUMED.labels(handler, event["type"], "duplicate").inc()
            return  # applied, dead, or owned by the retry timer
        try:
            fresh = apply(event)
        except ConnectionFailure:
            raise  # the database is away: the broker keeps the message (requeue)
        except Exception as exc:
            log.exception("%s failed on %s", handler, event["event_id"])
            self._failed(key, handler, body, event, exc, attempts=1)
            CONSUMED.labels(handler, event["type"], "failed").inc()
            return
        faults.crash_at(self.p.container.config, f"crash_after_apply:{handler}")
        if not counted:
            return
        if folded:
            if fresh is None:   # known once its effect is written: decided()
                self.undecided.append((handler, event["type"]))
            else:
                CONSUMED.labels(handler, event["type"],
                                "applied" if fresh else "duplicate").inc()
            return
        self.coll.update_one({"_id": key}, {
            "$set": {"status": "applied", "applied_at": clock.now()},
            "$setOnInsert": self._meta(handler, event)}, upsert=True)
        CONSUMED.labels(handler, event["type"], "applied").inc()

    def occurred_at(self, body):
        """When the message's event occurred (aware), from the load its
        consumers share; None when the envelope is malformed (consume()
        dead-letters it)."""
        try:
            return self._load(body)["occurred_at"]
        except (ValidationError, TypeError, ValueError):
            return None

    def _load(self, body):
        """The envelope, checked and loaded: once a message, however many
        consumers of one handling take it (issue 19: notify's four loads of
        each event were a tenth of its CPU). Each gets its own copy."""
        if self.loaded is None or self.loaded[0] is not body:
            if len(json.dumps(body, default=str)) > MAX_EVENT_BYTES:
                raise ValueError(f"larger than {MAX_EVENT_BYTES} bytes")
            event = schema(EnvelopeSchema).load(body)
            event["event_id"] = str(event["event_id"])
            self.loaded = (body, event)
        return dict(self.loaded[1])

    def decided(self, fresh):
        """Count the undecided handlings: the event was new, or not."""
        for handler, event_type in self.undecided:
            CONSUMED.labels(handler, event_type, "applied" if fresh else "duplicate").inc()
        self.undecided.clear()

    def retry_due(self, limit=50):
        """Retry failed applies whose time has come; each claimed by one instance."""
        now = clock.now()
        due = list(self.coll.find(
            {"status": "failed", "next_attempt_at": {"$lte": now}}).limit(limit))
        for rec in due:
            claimed = self.coll.update_one(
                {"_id": rec["_id"], "status": "failed", "attempts": rec["attempts"]},
                {"$set": {"next_attempt_at": now + LEASE}})
            if claimed.modified_count != 1:
                continue  # another instance took it
            apply = getattr(self.service, rec["handler"])
            event = schema(EnvelopeSchema).load(rec["envelope"])
            event["event_id"] = str(event["event_id"])
            try:
                apply(event)
            except Exception as exc:
                log.warning("%s retry %d failed on %s", rec["handler"],
                            rec["attempts"] + 1, rec["event_id"], exc_info=True)
                self._failed(rec["_id"], rec["handler"], rec["envelope"], event,
                             exc, attempts=rec["attempts"] + 1)
                continue
            self.coll.update_one({"_id": rec["_id"]}, {"$set": {
                "status": "applied", "applied_at": clock.now()}})

    def failures(self, status, limit, after):
        """One page of the failed and dead handlings, and the next cursor."""
        query = {"status": status} if status else {"status": {"$in": ["failed", "dead"]}}
        return pages.read(self.coll, query, FAILURE_ORDER, limit, after, "failures",
                          by_time=True)

    def _meta(self, handler, event):
        return {"handler": handler, "event_id": event["event_id"],
                "type": event["type"], "subject": event["subject"],
                "received_at": clock.now()}

    def _failed(self, key, handler, body, event, exc, attempts):
        dead = attempts >= self.p.max_attempts
        self.coll.update_one({"_id": key}, {
            "$set": {"status": "dead" if dead else "failed", "attempts": attempts,
                     "last_error": f"{type(exc).__name__}: {exc}"[:2000],
                     "envelope": body,
                     "next_attempt_at": clock.now() + backoff(attempts, self.p.base_delay)},
            "$push": {"errors": {"at": clock.now(), "error": repr(exc)[:500]}},
            "$setOnInsert": self._meta(handler, event)}, upsert=True)

    def _dead_on_arrival(self, handler, body, exc):
        raw = json.dumps(body, sort_keys=True, default=str)[:100_000]
        key = f"{handler}:malformed:{hashlib.sha256(raw.encode()).hexdigest()}"
        log.error("%s dead-lettered a malformed event: %s", handler, exc)
        CONSUMED.labels(handler, "malformed", "dead").inc()
        self.coll.update_one({"_id": key}, {"$set": {
            "status": "dead", "handler": handler, "attempts": 0,
            "last_error": f"malformed envelope: {exc}"[:2000], "raw": raw,
            "received_at": clock.now()}}, upsert=True)


class InboxProvider(DependencyProvider):
    def setup(self):
        config = self.container.config
        self.max_attempts = int(config.get("RETRY_MAX_ATTEMPTS") or 8)
        self.base_delay = float(config.get("RETRY_BASE_DELAY") or 5)
        # consume() raises only when the database is away; then the message
        # must go back to the broker, not be acked and lost. Every consumer:
        # nameko's event handlers and the ones taking events in order
        # (shared/events.InOrder, a Consumer but no EventHandler: left out,
        # an event whose handling met the database away was acked and lost —
        # found by chaos run 14, a report's cursor never moved).
        for entrypoint in self.container.entrypoints:
            if isinstance(entrypoint, Consumer):
                entrypoint.requeue_on_error = True

    def start(self):
        mongo = next(d for d in self.container.dependencies if isinstance(d, Mongo))
        self.db = mongo.db

    def get_dependency(self, worker_ctx):
        return Inbox(self, worker_ctx.service)

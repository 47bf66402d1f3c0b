"""The outbox: a state change and the events it causes, in one write.

An aggregate document (a report, a case) carries its unsent events in an
`outbox` array, its last event sequence in `seq`, and `outbox_since` while
anything is unsent. The same single-document update that changes the state
pushes the events, so neither exists without the other (no multi-document
transaction needed: a standalone mongod and SecantusDB both give this).

The relay publishes each event with publisher confirms and mandatory
routing, then pulls it from the array. Right after the write the worker
flushes its own document; a timer in every instance re-sends what a crash
or a broker outage left behind. A crash between publish and pull sends an
event twice: consumers are idempotent by event_id.

The pulls of every flush of the last moment (CLEAR_EVERY) are one command
for all their documents (issue 19: one write an event before); until it
is written, the process remembers what it published and sends it again
neither from a flush nor from the sweep. A process that dies first leaves
them to the sweep, which sends them again: the crash between publish and
pull, a little wider.
"""
import logging
from datetime import timedelta

import eventlet
from amqp.exceptions import NotFound
from kombu import Connection, Queue
from nameko.amqp.publish import Publisher
from nameko.extensions import DependencyProvider
from pymongo import UpdateOne

from shared import clock, faults
from shared.events import (CONSUMERS, DROPPED, envelope, event_exchange, nameko_queue_name,
                           queue_name)
from shared.mongo import Mongo

log = logging.getLogger(__name__)

# The relay leaves fresh outboxes to the worker that wrote them.
RELAY_GRACE = timedelta(seconds=3)
RELAY_BATCH = 200
CLEAR_EVERY = 1.0   # seconds between the writes that pull what was published (< RELAY_GRACE)
INDEXES = [([("outbox_since", 1)], {"sparse": True})]


def record(source, subject, seq, events, now, new_id=clock.new_id):
    """Envelopes for `events` [(type, data)], numbered after sequence `seq`."""
    return [envelope(event_id=new_id(), event_type=t, source=source,
                     subject=subject, sequence=seq + i, occurred_at=now, data=d)
            for i, (t, d) in enumerate(events, start=1)]


def push(seq, envs, now):
    """The update fragment that stores `envs` with a state change."""
    return {"$set": {"seq": seq + len(envs)},
            "$push": {"outbox": {"$each": envs}},
            "$min": {"outbox_since": now}}


def on_insert(envs, now):
    """The fields a new document carries for its first events."""
    return {"seq": len(envs), "outbox": envs, "outbox_since": now}


def merge(*updates):
    """Merge update documents operator by operator."""
    out: dict[str, dict] = {}
    for update in updates:
        for op, fields in update.items():
            out.setdefault(op, {}).update(fields)
    return out


def consumer_queues(source):
    exchange = event_exchange(source)
    return [Queue(queue_name(source, event_type, service, method),
                  exchange=exchange, routing_key=event_type, durable=True,
                  auto_delete=False, exclusive=False)
            for (src, event_type), targets in CONSUMERS.items() if src == source
            for service, method in targets]


def declare_consumer_queues(amqp_uri, source):
    """Declare every queue that consumes `source`'s events, bound, durable;
    retire the queues a type each that a handler taking its events in order
    had before (shared/events.py IN_ORDER), and the ones no handler reads
    any more (DROPPED)."""
    with Connection(amqp_uri, connect_timeout=5) as conn:
        channel = conn.channel()
        event_exchange(source)(channel).declare()
        for queue in consumer_queues(source):
            queue(channel).declare()
        for (src, event_type), targets in CONSUMERS.items():
            for service, method in targets if src == source else ():
                old = nameko_queue_name(src, event_type, service, method)
                new = queue_name(src, event_type, service, method)
                if old != new:
                    retire_queue(conn, old, new, source, event_type)
        for src, event_type, service, method in DROPPED:
            if src == source:
                retire_queue(conn, nameko_queue_name(src, event_type, service, method), None,
                             source, event_type)


def retire_queue(conn, old, new, source, event_type):
    """Unbind a queue no handler reads any more, move what it still holds
    to the queue that took its place (to be taken there, as redeliveries
    are), and delete it: nothing left behind, nothing lost. With no queue
    in its place (`new` None) what it holds is deleted with it: a DROPPED
    queue's events asked nothing of anyone."""
    channel = conn.channel()
    try:
        channel.queue_declare(old, passive=True)
    except NotFound:
        return   # never made, or retired already (the broker closed the channel)
    channel.queue_unbind(old, event_exchange(source).name, event_type)
    moved = 0
    if new is not None:
        channel.confirm_select()   # each move published and confirmed before its ack
        while (message := channel.basic_get(old, no_ack=False)) is not None:
            channel.basic_publish(message, exchange="", routing_key=new)
            channel.basic_ack(message.delivery_tag)
            moved += 1
    channel.queue_delete(old, if_empty=new is not None)
    channel.close()
    log.info("queue %s retired: %d events moved to %s", old, moved, new)


class Relay:
    """Worker-facing side of the relay: publish and mark sent."""

    def __init__(self, provider):
        self.provider = provider

    def flush(self, collection, doc_id, written=None):
        """Publish what this document's outbox holds, right after its write.
        `written`: the outbox as this worker's write left it (an insert's,
        or what an update answered): not read back (issue 19).

        Never raises: the state change is already stored with its events, so
        a broker or database hiccup here is the relay sweep's to finish.
        """
        try:
            doc = ({"_id": doc_id, "outbox": written} if written is not None else
                   self.provider.db[collection].find_one({"_id": doc_id}, {"outbox": 1}))
            return self._send(collection, doc) if doc else 0
        except Exception:
            log.warning("outbox of %s %s left to the relay sweep", collection, doc_id,
                        exc_info=True)
            return 0

    def publish(self, events):
        """Publish events a consumer stored with the change it made
        (aggregate.created_by_event), each confirmed; raises when one is
        not, so the consumed message is redelivered or its handling retried
        (shared/inbox.py) and they are published then."""
        for event in events:
            self.provider.publish(event)
        return len(events)

    def sweep(self, collections):
        """Re-send outboxes older than the grace period (crash, outage)."""
        cutoff = clock.now() - RELAY_GRACE
        sent = 0
        for collection in collections:
            docs = self.provider.db[collection].find(
                {"outbox_since": clock.due(cutoff)}, {"outbox": 1}
            ).sort("outbox_since", 1).limit(RELAY_BATCH)
            for doc in docs:
                sent += self._send(collection, doc)
        return sent

    def _send(self, collection, doc):
        published = self.provider.sent_from(collection, doc["_id"])
        sent = []
        for event in doc.get("outbox", []):
            if event["event_id"] in published:
                continue   # confirmed already, its pull not written yet
            try:
                self.provider.publish(event)
            except Exception:
                log.warning("event %s (%s) kept in the outbox: publish failed",
                            event["event_id"], event["type"], exc_info=True)
                break
            sent.append(event["event_id"])
        if sent:
            self.provider.pull_later(collection, doc["_id"], sent)
        return len(sent)


def pull(event_ids):
    """The update that takes published events out of a document's outbox,
    and its marker off an outbox left empty.
    Nothing leaves an outbox unconfirmed; what a concurrent write pushed
    stays, with its marker."""
    return [{"$set": {"outbox": {"$filter": {
                "input": "$outbox",
                "cond": {"$not": [{"$in": ["$$this.event_id", event_ids]}]}}}}},
            {"$set": {"outbox_since": {"$cond": [{"$eq": [{"$size": "$outbox"}, 0]},
                                                 "$$REMOVE", "$outbox_since"]}}}]


class OutboxRelay(DependencyProvider):
    """Publishes this service's events; declares their consumers' queues."""

    def setup(self):
        config = self.container.config
        self.source = self.container.service_name
        self.publisher = Publisher(
            config["AMQP_URI"], use_confirms=True,
            declare=[event_exchange(self.source)],
            retry_policy={"max_retries": 2, "interval_start": 0.5,
                          "interval_step": 0.5, "interval_max": 1})

        # collection -> {document id: {event ids published, pull not written}}
        self.published: dict[str, dict[str, set[str]]] = {}
        # The same for the pulls the last write_pulls wrote: a flush that
        # read its outbox before that write finds them here, not sent again.
        self.pulled: dict[str, dict[str, set[str]]] = {}
        self.db = None

    def start(self):
        self.db = next(dep for dep in self.container.dependencies
                       if isinstance(dep, Mongo)).db
        declare_consumer_queues(self.container.config["AMQP_URI"], self.source)
        self.container.spawn_managed_thread(self._pulling)

    def sent_from(self, collection, doc_id):
        """The events of a document this process published and whose pull
        is not written yet, or was written only a moment ago."""
        return (self.published.get(collection, {}).get(doc_id, set())
                | self.pulled.get(collection, {}).get(doc_id, set()))

    def pull_later(self, collection, doc_id, event_ids):
        self.published.setdefault(collection, {}).setdefault(doc_id, set()).update(event_ids)

    def _pulling(self):
        while True:
            eventlet.sleep(CLEAR_EVERY)
            self.write_pulls()

    def write_pulls(self):
        """One command a collection for the pulls of every flush since the
        last; kept for the next try when the database does not answer."""
        if self.db is None:
            return
        self.pulled = {}
        for collection, live in list(self.published.items()):
            # Copied, not taken: until the write is done, a flush that reads
            # the outbox must still find these published (the write yields).
            docs = {doc_id: set(sent) for doc_id, sent in live.items()}
            if not docs:
                continue
            # A statement a document, one command for them all: a document
            # changed meanwhile (its report accepted) retries its own pull,
            # not the whole batch's (one update_many: 110 ms a pull under
            # load, twice a document's cost; issue 19).
            try:
                self.db[collection].bulk_write(
                    [UpdateOne({"_id": doc_id}, pull(sorted(sent)))
                     for doc_id, sent in docs.items()], ordered=False)
            except Exception:
                log.warning("pulls of %d sent events from %s kept for the next try",
                            sum(map(len, docs.values())), collection, exc_info=True)
                continue
            pulled = self.pulled.setdefault(collection, {})
            for doc_id, sent in docs.items():
                pulled.setdefault(doc_id, set()).update(sent)
                left = live.get(doc_id, set()) - sent
                if left:
                    live[doc_id] = left
                else:
                    live.pop(doc_id, None)

    def stop(self):
        self.write_pulls()   # a clean stop leaves nothing to send again (never raises)

    def publish(self, event):
        faults.crash_at(self.container.config, f"crash_before_publish:{event['type']}")
        # mandatory where the table names consumers: their queues are declared,
        # so an unroutable event there is an error to keep and retry. An event
        # nobody consumes has nobody to lose it.
        self.publisher.publish(event, exchange=event_exchange(self.source),
                               routing_key=event["type"],
                               mandatory=(self.source, event["type"]) in CONSUMERS)

    def get_dependency(self, worker_ctx):
        return Relay(self)

"""The ceiling: what the broker and the database allow for one report's path
with no framework at all — plain kombu and pymongo, in plain threads.

One report's path, from POST /reports to the case_opened notice, publishes
its events with a publisher confirm each and delivers each to every
consumer queue the event catalogue names (shared/events.CONSUMERS), acked
after the consumer's writes; the database takes as many writes (w=majority,
j=true, as the services write) as the system made per report, measured in
the same run. Reads, HTTP, JSON schemas, templates and webhooks are left
out: this is what the two servers alone allow.
"""
import itertools
import threading
import time
import uuid

from kombu import Connection, Exchange, Producer, Queue

from shared.events import CONSUMERS
from shared.mongo import connect

# The events of one report's path, in order: filed, accepted, case opened.
PATH = [("intake", "report_received"), ("intake", "report_accepted"),
        ("case_supervision", "case_opened")]


def hops():
    """(events published, deliveries consumed) for one report."""
    deliveries = sum(len(CONSUMERS.get(key, ())) for key in PATH)
    return len(PATH), deliveries


class Ceiling:
    def __init__(self, amqp_uri, mongo_uri, writes_per_report, producers=8):
        self.amqp_uri = amqp_uri
        self.db = connect(mongo_uri)["bench_ceiling"]
        self.writes = max(int(round(writes_per_report)), 1)
        self.producers = producers
        tag = uuid.uuid4().hex[:6]
        self.exchange = Exchange(f"ceiling-{tag}", type="topic", durable=True,
                                 delivery_mode=2)
        # One queue per (event, consumer), as nameko declares them.
        self.queues = [Queue(f"ceiling-{tag}-{etype}-{service}.{method}",
                             exchange=self.exchange, routing_key=etype, durable=True)
                       for source, etype in PATH for service, method in CONSUMERS[(source,
                                                                                    etype)]]
        published, consumed = hops()
        self.published, self.consumed = published, consumed
        # The producer (intake's part) takes a share of the writes like the
        # other hops; the rest are spread over the deliveries.
        per_hop = self.writes / (consumed + 1)
        self.share = [int(round(per_hop * (i + 1))) - int(round(per_hop * i))
                      for i in range(consumed + 1)]
        self.share[-1] += self.writes - sum(self.share)
        self.lock = threading.Lock()
        self.left = {}           # report id -> deliveries still to consume
        self.done_at = {}
        self.ids = itertools.count()
        self.failure = None

    def _write(self, n, report, hop):
        coll = self.db.writes
        for i in range(n):
            if i % 2 == 0:
                doc_id = f"{report}-{hop}-{i}"
                coll.insert_one({"_id": doc_id, "report": report, "at": time.time(),
                                 "outbox": [{"event_id": str(uuid.uuid4())}]})
            else:
                coll.update_one({"_id": doc_id}, {"$set": {"outbox": []},
                                                  "$inc": {"v": 1}})

    def _declare(self, conn):
        ch = conn.channel()
        self.exchange(ch).declare()
        for q in self.queues:
            q(ch).declare()

    def _publish(self, producer, report, etype):
        producer.publish({"report": report, "type": etype, "pad": "x" * 900},
                         exchange=self.exchange, routing_key=etype, serializer="json",
                         delivery_mode=2, mandatory=True)

    def _produce(self, n):
        with Connection(self.amqp_uri, transport_options={"confirm_publish": True}) as conn:
            producer = Producer(conn.channel())
            while True:
                with self.lock:
                    i = next(self.ids)
                if i >= n:
                    return
                report = f"r{i}"
                with self.lock:
                    self.left[report] = self.consumed
                self._write(self.share[0], report, "intake")
                # Filed, then accepted: intake's two events.
                self._publish(producer, report, "report_received")
                self._publish(producer, report, "report_accepted")

    def _consume(self, index, stop):
        queue = self.queues[index]
        share = self.share[index + 1]
        with Connection(self.amqp_uri, transport_options={"confirm_publish": True}) as conn:
            producer = Producer(conn.channel())

            def on_message(body, message):
                self._write(share, body["report"], f"{index}-{body['type']}")
                # The case opens from report_accepted: its consumer in
                # case_supervision publishes case_opened.
                if body["type"] == "report_accepted" and "case_supervision" in queue.name:
                    self._publish(producer, body["report"], "case_opened")
                message.ack()
                with self.lock:
                    self.left[body["report"]] -= 1
                    if self.left[body["report"]] == 0:
                        self.done_at[body["report"]] = time.time()

            with conn.Consumer(queue, callbacks=[on_message], prefetch_count=10,
                               accept=["json"]):
                while not stop.is_set():
                    try:
                        conn.drain_events(timeout=0.5)
                    except TimeoutError:
                        pass
                    except Exception as exc:
                        if not stop.is_set():
                            self.failure = exc
                            stop.set()
                        return

    def run(self, reports, timeout=600):
        with Connection(self.amqp_uri) as conn:
            self._declare(conn)
        stop = threading.Event()
        consumers = [threading.Thread(target=self._consume, args=(i, stop), daemon=True)
                     for i in range(len(self.queues))]
        for t in consumers:
            t.start()
        time.sleep(0.5)
        started = time.time()
        producers = [threading.Thread(target=self._produce, args=(reports,), daemon=True)
                     for _ in range(self.producers)]
        for t in producers:
            t.start()
        for t in producers:
            t.join()
        deadline = time.time() + timeout
        while (len(self.done_at) < reports and time.time() < deadline
               and not stop.is_set()):
            time.sleep(0.05)
        stop.set()
        for t in consumers:
            t.join(5)
        if self.failure:
            raise RuntimeError(f"ceiling consumer failed: {self.failure!r}")
        finished = max(self.done_at.values()) if self.done_at else time.time()
        self.db.client.drop_database("bench_ceiling")
        self.db.client.close()
        return {"reports": len(self.done_at), "seconds": finished - started,
                "reports_per_s": len(self.done_at) / (finished - started),
                "writes_per_report": self.writes, "published_per_report": self.published,
                "consumed_per_report": self.consumed, "producers": self.producers}

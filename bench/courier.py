"""How fast notify's webhook courier empties a backlog, on its own database.

Fills a fresh SecantusDB (sync-on-commit, as `make run` starts it; or the
mongod on PATH) with N notices of `subjects` cases, four in sequence per
case, each with its webhook delivery chained after the one before (as
ordering.py writes them), then runs the courier as notify's timer would
until every delivery is delivered at a local verifying receiver. Prints
deliveries per second and database round trips per delivery.

    .venv/bin/python -m bench.courier [--notices 2000]
"""
import eventlet
eventlet.monkey_patch()  # as `nameko run` does: the courier's sends are green

import argparse  # noqa: E402
import os
import shutil
import time
from datetime import datetime, timezone
from types import SimpleNamespace

from pymongo import monitoring

from services.notify import channels as channels_module, domain
from services.notify.courier import Courier
from services.notify.repository import Repository
from shared import mongo
from support.receiver import Receiver
from tools.stack import Stack


class Counter(monitoring.CommandListener):
    def __init__(self):
        self.commands = 0

    def started(self, event):
        self.commands += 1

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass


def fill(repo, receiver, notices, per_case=4):
    now = datetime.now(timezone.utc)
    company = "bench-co"
    secret = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    receiver.trust(company, secret)
    repo.create_subscription(company, {"webhook_url": receiver.url_for(company),
                                       "webhook_secret": secret, "language": "en"})
    lanes, docs, deliveries = {}, [], []
    for i in range(notices):
        case, seq = f"case-{i // per_case}", i % per_case + 1
        envelope = {"event_id": f"e{i}", "type": "case_progressed", "subject": case,
                    "sequence": seq, "data": {}}
        notice = {"_id": f"n{i}", "company_id": company, "event_id": f"e{i}",
                  "event_type": "case_progressed", "subject": case, "sequence": seq,
                  "title": "t", "body": "b", "language": "en", "created_at": now,
                  "envelope": envelope}
        docs.append(notice)
        ds = domain.deliveries_for(notice, ["webhook"], lanes.setdefault(case, {}), now)
        lanes[case] = {"webhook": ds[0]["_id"]}
        deliveries += ds
    repo.db.notices.insert_many(docs)
    repo.db.deliveries.insert_many(deliveries)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--notices", type=int, default=2000)
    args = ap.parse_args(argv)
    stack = Stack("bench")  # the benchmark's ports and var/bench; the database only
    shutil.rmtree(os.path.join(stack.var, "db"), ignore_errors=True)
    stack.start_db()
    counter = Counter()
    client = mongo.connect(stack.env["MONGO_URI"], event_listeners=[counter])
    receiver = Receiver()
    try:
        repo = Repository(client.courier_bench)
        mongo.ensure_indexes(repo.db, Repository.INDEXES)
        fill(repo, receiver, args.notices)
        ch = channels_module.Channels()
        ch.container = SimpleNamespace(config={"WEBHOOK_ALLOW_PRIVATE": "1"})
        ch.setup()
        courier = Courier(repo, ch, lambda: datetime.now(timezone.utc))
        before, started = counter.commands, time.monotonic()
        while repo.db.deliveries.count_documents({"status": "pending"}):
            courier.deliver_due()
            courier.wake_stranded()
        took = time.monotonic() - started
        delivered = repo.db.deliveries.count_documents({"status": "delivered"})
        print(f"courier: {delivered} of {args.notices} webhooks delivered in {took:.1f} s"
              f" = {delivered / took:.1f}/s; {(counter.commands - before) / delivered:.1f}"
              f" database commands per delivery; receiver rejected {len(receiver.unverified)}")
    finally:
        receiver.close()
        client.close()
        stack.stop_db()


if __name__ == "__main__":
    main()

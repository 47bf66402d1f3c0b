"""Sweep scaling: case_supervision's own stale-case sweep
(`Sweep.take_due_deadline_steps`, services/case_supervision/sweep.py), timed
with 1,000 and with 100,000 open cases of which 100 are due.

Runs in its own process (nameko and pymongo green under eventlet, as in
the service) against the broker and database named by AMQP_URI and
MONGO_URI. Cases are written straight into the database in the shape the
service stores them (domain.open_case + clocks.schedule, after the relay
emptied the outbox); the sweep runs in a real nameko container of the
service — its repository, policy and relay, publishing to the broker —
with only that entrypoint kept. Prints one JSON line.
"""
from shared.quiet import quiet_eventlet

quiet_eventlet()

import eventlet  # noqa: E402

eventlet.monkey_patch()

import copy  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import secrets  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from datetime import timedelta  # noqa: E402

from nameko.containers import ServiceContainer  # noqa: E402
from nameko.testing.services import dummy, entrypoint_hook, restrict_entrypoints  # noqa: E402

from services.case_supervision import clocks, domain, escalation  # noqa: E402
from services.case_supervision.policy import policy_path, read_policy  # noqa: E402
from services.case_supervision.repository import CASES  # noqa: E402
from services.case_supervision.service import CaseSupervisionService  # noqa: E402
from shared import clock  # noqa: E402
from shared.mongo import CODECS, connect, database_name  # noqa: E402

DUE = 100


class SweepOnly(CaseSupervisionService):
    """The service as it runs, with the sweep callable on demand rather
    than every second."""

    @dummy
    def take_due_deadline_steps(self):
        return CaseSupervisionService.take_due_deadline_steps(self)


def case_doc(policy, n, opened_at, unit_path):
    accepted = {"case_id": str(uuid.uuid4()), "report_id": str(uuid.uuid4()),
                "reference": f"FT-BENCH-{n:07d}", "company_id": f"company-{n % 500}",
                "incident_type": "fraud", "summary": "Invoice fraud",
                "estimated_loss": "21000.00", "funds_in_transit": False, "merged_count": 0,
                "owner_unit_path": unit_path, "accepted_by": "officer-bench"}
    case = domain.open_case(accepted, policy, domain.case_number(2026, n), opened_at)
    case.update(clocks.schedule(case, policy))
    case.update({"seq": 1, "outbox": []})   # case_opened published and pulled
    return case


def fill(db, policy, total, due, now, first=1):
    """`total` open cases, `due` of them with a step due now."""
    path = ["station-bench", "bureau-bench"]
    fresh = case_doc(policy, 0, now, path)
    assert fresh["next_due_at"] > now, "a fresh case must not be due"
    old = case_doc(policy, 0, now - timedelta(days=30), path)
    assert escalation.due_step(old, policy, now), "a month-old case must be due"
    batch = []
    for n in range(first, first + total):
        doc = copy.deepcopy(old if n - first < due else fresh)
        doc.update({"_id": str(uuid.uuid4()), "report_id": str(uuid.uuid4()),
                    "case_number": domain.case_number(2026, n),
                    "company_id": f"company-{n % 500}"})
        batch.append(doc)
        if len(batch) == 1000:
            db[CASES].insert_many(batch, ordered=False)
            batch = []
    if batch:
        db[CASES].insert_many(batch, ordered=False)


def measure(total, amqp_uri, mongo_uri):
    prefix = f"sweep{secrets.token_hex(3)}_"
    config = {"AMQP_URI": amqp_uri, "MONGO_URI": mongo_uri, "DB_PREFIX": prefix,
              "ADMIN_TOKEN": "bench", "max_workers": 10,
              "WEB_SERVER_ADDRESS": "127.0.0.1:0"}
    policy = read_policy(policy_path(config))
    container = ServiceContainer(SweepOnly, config)
    restrict_entrypoints(container, "take_due_deadline_steps")
    container.start()   # indexes ensured, as at the service's start
    client = connect(mongo_uri)
    db = client.get_database(database_name(config, "cases"), codec_options=CODECS)
    try:
        started = time.monotonic()
        fill(db, policy, total - DUE, 0, clock.now())
        with entrypoint_hook(container, "take_due_deadline_steps") as sweep:
            t = time.monotonic()
            sweep()
            empty = time.monotonic() - t
            fill_s = time.monotonic() - started
            # The due ones last, so the sweep finds them among all the others.
            due_db_before = db[CASES].count_documents({"next_due_at": {"$lte": clock.now()}})
            fill(db, policy, DUE, DUE, clock.now(), first=total)
            t = time.monotonic()
            sweep()
            elapsed = time.monotonic() - t
        left = db[CASES].count_documents({"marks.warned.0": {"$exists": True}}) + \
            db[CASES].count_documents({"marks.missed.0": {"$exists": True}})
        return {"open": total, "due": DUE, "ms": elapsed * 1000, "empty_sweep_ms": empty * 1000,
                "due_before": due_db_before, "stepped": left, "fill_s": round(fill_s, 1)}
    finally:
        container.stop()
        client.drop_database(database_name(config, "cases"))
        client.close()


def main():
    scale = float(os.environ.get("FASTTRACK_BENCH_SCALE") or 1)
    amqp, mongo = os.environ["AMQP_URI"], os.environ["MONGO_URI"]
    small = measure(1000, amqp, mongo)
    large = measure(max(10_000, int(100_000 * min(scale, 1))), amqp, mongo)
    print(json.dumps({"small": small, "large": large, "ratio": large["ms"] / small["ms"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`make chaos`: file reports at a steady rate while killing things, then
reconcile. Bounded: N reports, every request to 127.0.0.1, and it stops.

While companies file (with Idempotency-Key, retried through the faults) and
officers accept and post a disclosed progress step, a killer SIGKILLs a
random service at random moments and restarts it; the broker is restarted
once and the database once. At the end every count is reconciled: one case
per accepted report, each notice once and in order per subject, each webhook
event once at the receiver (after dedupe by webhook-id), every failure record
and dead letter listed. Any loss or duplicate effect fails the run.

    python -m tools.chaos --reports 10000 --rate 3 --json var/chaos/result.json
"""
from shared.quiet import quiet_eventlet

quiet_eventlet()  # before anything imports nameko, which imports eventlet

import argparse
import json
import os
import random
import secrets
import shutil
import signal
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import requests
from pymongo import MongoClient

from support.organisation import Org
from support.receiver import Receiver
from support.reports import report_body
from tools.stack import ROOT, SERVICES, Stack

COMPANIES = 5
RETRY_FOR = 180  # seconds a client keeps retrying one call through the faults
CASE_WAIT = 900  # seconds an officer waits for a case to open under a backlog
STOPPING = threading.Event()  # set when the run is interrupted: every client gives up


class Api:
    """A client that retries through outages, as a patient integration would."""

    def __init__(self, base, token):
        self.base, self.token = base, token
        self.session = requests.Session()

    def call(self, method, path, body=None, headers=None, ok=(200, 201), done=()):
        deadline = time.monotonic() + RETRY_FOR
        while True:
            try:
                r = self.session.request(method, self.base + path, json=body, timeout=30,
                                         headers={"Authorization": f"Bearer {self.token}",
                                                  **(headers or {})})
                if r.status_code in ok or r.status_code in done:
                    return r
            except requests.RequestException:
                pass
            if time.monotonic() > deadline or STOPPING.is_set():
                raise RuntimeError(f"{method} {path} did not succeed in {RETRY_FOR}s")
            time.sleep(0.5)


def setup_org(stack, admin, receiver):
    """A bureau, a station and its officer, and COMPANIES companies there, each
    with its webhook at the receiver: the officer's token, [(company_id, token)]."""
    org = Org(stack.service_url("intake"), admin, companies=COMPANIES)
    for company in org.companies:
        org.subscribe(stack.service_url("notify"), receiver, company)
    return org.officer_token, org.companies


def work(stack, officer, company, i, results, lock):
    """One report's life: filed, accepted, one disclosed progress step."""
    company_id, token = company
    intake = Api(stack.service_url("intake"), token)
    body = report_body(incident_type="theft", summary=f"Chaos report {i}",
                       description="Stock missing from the warehouse.",
                       occurred_at=datetime.now(timezone.utc).isoformat(),
                       location="Warehouse 3", estimated_loss=f"{1000 + i}.00")
    report = intake.call("POST", "/reports", body, {"Idempotency-Key": f"chaos-{i}"}).json()
    rid = report["report_id"]
    police = Api(stack.service_url("intake"), officer)
    # Each call keeps its Idempotency-Key through its retries: a retry after a
    # lost answer gets the first answer, and the step happens once.
    police.call("POST", f"/reports/{rid}/accept", None, {"Idempotency-Key": f"accept-{i}"})
    cases = Api(stack.service_url("case_supervision"), officer)
    deadline, pause = time.monotonic() + CASE_WAIT, 0.5
    while True:
        r = cases.call("GET", f"/cases?report_id={rid}")
        if r.json()["items"] or time.monotonic() > deadline or STOPPING.is_set():
            break
        # Asked again less and less often, as a patient integration would:
        # 32 clients asking twice a second kept case_supervision's workers
        # busy answering "not yet" while the database caught up.
        time.sleep(pause)
        pause = min(pause * 2, 8.0)
    items = r.json()["items"]
    if items:
        cases.call("POST", f"/cases/{items[0]['case_id']}/progress",
                   {"stage": "investigating", "note": f"Step for report {i}",
                    "disclose": True}, {"Idempotency-Key": f"progress-{i}"})
    with lock:
        results.append((company_id, rid, items[0]["case_id"] if items else None))


def killer(stack, stop, log, period, duration):
    """SIGKILL a random service every `period`±50% s and restart it; restart the
    broker once a third of the way through the filing, the database at two thirds."""
    rng = random.Random(7)
    started = time.monotonic()
    restarts = [(duration / 3, "broker"), (2 * duration / 3, "database")]
    next_kill = period * (0.5 + rng.random())
    while not stop.wait(0.2):
        elapsed = time.monotonic() - started
        if restarts and elapsed >= restarts[0][0]:
            part = restarts.pop(0)[1]
            if part == "broker" and stack.own_broker:
                stack.stop_broker()
                stack.start_broker()
            elif part == "database" and stack.own_db:
                stack.stop_db(kill=True)
                stack.start_db()
            log.append(("restart", part, round(elapsed, 1)))
        if elapsed >= next_kill:
            name = rng.choice(list(SERVICES))
            stack.kill_service(name, signal.SIGKILL)
            log.append(("SIGKILL", name, round(elapsed, 1)))
            stop.wait(rng.uniform(0.5, 2.5))
            stack.start_service(name, wait=False)
            next_kill = elapsed + period * (0.5 + rng.random())
    for name in SERVICES:
        if stack.services.get(name) is None or stack.services[name].poll() is not None:
            stack.start_service(name, wait=False)


class Feed:
    """One company's GET /notices, read as a client does: it keeps the last
    `next` it was given and reads on from there, so a notice that a cursor
    passed without showing would be missing from what it has."""

    def __init__(self, stack, token):
        self.api = Api(stack.service_url("notify"), token)
        self.kept, self.cursor = [], None

    def read(self):
        while True:
            page = self.api.call("GET", "/notices?limit=200" +
                                 (f"&after={self.cursor}" if self.cursor else "")).json()
            self.kept += page["items"]
            # The feed always answers a cursor (more may come): keep it, and
            # a page short of the limit is the end for now.
            self.cursor = page["next"] or self.cursor
            if len(page["items"]) < 200:
                return self.kept


def follow(feeds, stop, every=5.0):
    """Each company's client polls its feed through the faults, as notices
    are being written: the moments a cursor could pass one."""
    while not stop.wait(every):
        for feed in feeds.values():
            try:
                feed.read()
            except RuntimeError:
                pass  # notify down past the retries: the next poll reads on


def expected_notices(stack, officer, results):
    """What each company must be told: received and accepted per report; the
    case opened and its one disclosed progress step per case. Also the cases
    whose one step (posted with its key, retried through faults) was recorded
    more than once."""
    cases = Api(stack.service_url("case_supervision"), officer)
    expected, twice = {}, 0
    for company_id, rid, case_id in results:
        want = expected.setdefault(company_id, {})
        want[(rid, "report_received")] = 1
        want[(rid, "report_accepted")] = 1
        if case_id:
            case = cases.call("GET", f"/cases/{case_id}").json()
            want[(case_id, "case_opened")] = 1
            want[(case_id, "case_progressed")] = 1
            twice += sum(1 for h in case["history"] if h["action"] == "progress") > 1
    return expected, twice


def reconcile(stack, admin, feeds, officer, results, receiver, requested, settle):
    expected, steps_twice = expected_notices(stack, officer, results)
    deadline = time.monotonic() + settle
    pending = Api(stack.service_url("notify"), admin)
    while True:  # wait for quiet: every expected notice in the feed and at the receiver
        # While deliveries are pending, the feeds are not read again: reading
        # 40,000 notices competes with the courier for the one database.
        if (time.monotonic() < deadline and
                pending.call("GET", "/deliveries?status=pending&limit=1").json()["items"]):
            time.sleep(5)
            continue
        told = {c: [n for n in feeds[c].read() if (n["subject"], n["event_type"]) in expected[c]]
                for c in feeds if c in expected}
        feed_ids = {n["event_id"] for items in told.values() for n in items}
        hooked = {a["headers"]["webhook-id"] for a in receiver.accepted}
        done = all(len(told[c]) == sum(expected[c].values()) for c in expected)
        if (done and feed_ids <= hooked) or time.monotonic() > deadline:
            break
        time.sleep(2)
    counts = {}
    for c in expected:
        for key, want in expected[c].items():
            got = sum(1 for n in told[c] if (n["subject"], n["event_type"]) == key)
            counts["missing" if got < want else "duplicate" if got > want else "ok"] = \
                counts.get("missing" if got < want else "duplicate" if got > want else "ok",
                           0) + 1
    out_of_order = 0
    for items in told.values():
        by_subject = {}
        for n in items:
            by_subject.setdefault(n["subject"], []).append(n["sequence"])
        out_of_order += sum(1 for seqs in by_subject.values() if seqs != sorted(seqs))
    arrivals = {}
    for a in receiver.accepted:
        arrivals.setdefault(a["headers"]["webhook-id"], []).append(a["payload"])
    hook_order, firsts, last = 0, set(), {}  # each event's first arrival, per subject
    for a in receiver.accepted:
        wid, env = a["headers"]["webhook-id"], a["payload"]
        if wid in firsts:
            continue
        firsts.add(wid)
        hook_order += env["sequence"] < last.get(env["subject"], 0)
        last[env["subject"]] = max(env["sequence"], last.get(env["subject"], 0))
    feed_ids = {n["event_id"] for items in told.values() for n in items}
    admin_api = {name: Api(stack.service_url(name), admin) for name in SERVICES}
    failures = {name: api.call("GET", "/admin/failures").json()["items"]
                for name, api in admin_api.items()}
    dead = admin_api["notify"].call("GET", "/deliveries?status=dead").json()["items"]
    cases_opened = len({case for _, _, case in results if case})
    missing = {c: [k for k, want in expected[c].items()
                   if sum(1 for n in told[c] if (n["subject"], n["event_type"]) == k) < want]
               for c in expected}
    return {
        "missing_explained": explain_missing(stack, feeds, missing) if any(missing.values())
        else {},
        "reports_requested": requested, "reports_filed": len(results),
        "reports_accepted": len(results), "cases_opened": cases_opened,
        "cases_with_a_step_recorded_twice": steps_twice,
        "notices_expected": sum(sum(e.values()) for e in expected.values()),
        "notices_delivered": sum(len(v) for v in told.values()),
        "notice_keys": counts, "subjects_out_of_order_in_feed": out_of_order,
        "webhook_events_expected": len(feed_ids),
        "webhook_events_received": len(set(arrivals) & feed_ids),
        "webhook_redeliveries_deduped": sum(len(v) - 1 for v in arrivals.values()),
        "webhook_unverified": len(receiver.unverified),
        "webhook_subjects_out_of_order": hook_order,
        "failure_records": {k: [(f.get("handler"), f.get("status"), f.get("last_error"))
                                for f in v] for k, v in failures.items()},
        "dead_letters": [(d.get("channel"), d.get("event_id"), d.get("last_error"))
                         for d in dead],
    }


def explain_missing(stack, feeds, missing):
    """Where each notice the company's client lacks is: passed by its cursor
    (a new reader from the start sees it), written but not readable, or not
    written — and then whether notify holds its event, or never got it."""
    db = MongoClient(stack.env["MONGO_URI"])[stack.env["FASTTRACK_DB_PREFIX"] + "fasttrack_notify"]
    kinds = {}
    for company, keys in missing.items():
        if not keys:
            continue
        fresh = Feed(stack, feeds[company].api.token).read()
        anew = {(n["subject"], n["event_type"]) for n in fresh}
        for subject, event_type in keys:
            if (subject, event_type) in anew:
                kind = "passed by the client's cursor"
            elif db.notices.find_one({"company_id": company, "subject": subject,
                                      "event_type": event_type}):
                kind = "stored, not in a fresh read"
            else:
                event = db.events.find_one({"subject": subject, "type": event_type})
                # An event taken in order is kept by its cursors, not stored.
                kind = (f"event {event['state']}" if event
                        else "event not stored (never taken, or taken in order)")
            kinds[kind] = kinds.get(kind, 0) + 1
    return kinds


def verdict(r):
    problems = []
    if r["reports_filed"] != r["reports_requested"]:
        problems.append("reports lost")
    if r["cases_opened"] != r["reports_accepted"]:
        problems.append("accepted reports without exactly one case")
    if r["cases_with_a_step_recorded_twice"]:
        problems.append("a progress step retried with its key was recorded twice")
    if r["notice_keys"].get("missing") or r["notice_keys"].get("duplicate"):
        problems.append("notices missing or duplicated")
    if r["subjects_out_of_order_in_feed"] or r["webhook_subjects_out_of_order"]:
        problems.append("notices out of order")
    if r["webhook_events_received"] != r["webhook_events_expected"] or r["webhook_unverified"]:
        problems.append("webhook events missing or unverified")
    if r["dead_letters"] or any(f for f in r["failure_records"].values()):
        problems.append("failure records or dead letters (listed above)")
    return problems


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reports", type=int, default=10_000)
    ap.add_argument("--rate", type=float, default=3.0, help="reports filed per second")
    ap.add_argument("--kill-every", type=float, default=20.0, help="seconds between SIGKILLs")
    ap.add_argument("--settle", type=float, default=600.0, help="seconds to wait for quiet")
    ap.add_argument("--json", default=None)
    ap.add_argument("--profile", default="chaos")
    args = ap.parse_args(argv)

    signal.signal(signal.SIGTERM, _interrupted)  # stop what it started, even then
    STOPPING.clear()
    stack = Stack(args.profile)
    for part in ("db", "rabbitmq"):  # every run reconciles from an empty system
        shutil.rmtree(os.path.join(stack.var, part), ignore_errors=True)
    stack.env.update(FASTTRACK_ADMIN_TOKEN=secrets.token_urlsafe(16),
                     FASTTRACK_WEBHOOK_ALLOW_PRIVATE="1", FASTTRACK_DB_PREFIX="chaos_",
                     FASTTRACK_DELIVERY_RETRY_BASE_DELAY="1",
                     FASTTRACK_DELIVERY_RETRY_MAX_DELAY="10",
                     FASTTRACK_LIMITS_POLICY=os.path.join(ROOT, "policy", "limits-roomy.yml"))
    admin = stack.env["FASTTRACK_ADMIN_TOKEN"]
    receiver, stop, log, results, lock = Receiver(), threading.Event(), [], [], threading.Lock()
    started, chaos = time.monotonic(), None
    try:
        stack.start_infra()
        for name in SERVICES:
            stack.start_service(name)
        officer, companies = setup_org(stack, admin, receiver)
        feeds = {c: Feed(stack, t) for c, t in companies}
        chaos = threading.Thread(target=killer, args=(stack, stop, log, args.kill_every,
                                                      args.reports / args.rate))
        chaos.start()
        reader = threading.Thread(target=follow, args=(feeds, stop), daemon=True)
        reader.start()
        pool, futures = ThreadPoolExecutor(max_workers=32), []
        try:
            for i in range(args.reports):
                futures.append(pool.submit(work, stack, officer, companies[i % COMPANIES],
                                           i, results, lock))
                time.sleep(1 / args.rate)
            for f in futures:
                f.result()
        except BaseException:
            STOPPING.set()  # interrupted: the clients stop retrying at once
            pool.shutdown(cancel_futures=True)
            raise
        pool.shutdown()
        stop.set()
        chaos.join()
        reader.join()
        for name in SERVICES:
            # Under a backlog a restarted service may take a while to answer.
            stack.wait_healthy(name, timeout=args.settle)
        result = reconcile(stack, admin, feeds, officer, results, receiver,
                           args.reports, args.settle)
        result.update(faults=log, seconds=round(time.monotonic() - started, 1),
                      date=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                      machine=f"{os.cpu_count()} cores")
    finally:
        stop.set()
        if chaos is not None:
            # Interrupted mid-run, the killer still restarts what it killed
            # on its way out: after that, or those services outlive the run.
            chaos.join(timeout=60)
        receiver.close()
        stack.stop_all()
    problems = verdict(result)
    result["verdict"] = "pass" if not problems else "FAIL: " + "; ".join(problems)
    print_table(result)
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
    print(json.dumps(result))
    return 0 if not problems else 1


def _interrupted(*_):
    raise KeyboardInterrupt


def print_table(r):
    rows = [("reports filed / requested", f"{r['reports_filed']} / {r['reports_requested']}"),
            ("cases opened / reports accepted", f"{r['cases_opened']} / {r['reports_accepted']}"),
            ("cases with a keyed step recorded twice", r["cases_with_a_step_recorded_twice"]),
            ("notices delivered / expected", f"{r['notices_delivered']} / {r['notices_expected']}"),
            ("notice keys ok / missing / duplicate",
             f"{r['notice_keys'].get('ok', 0)} / {r['notice_keys'].get('missing', 0)} / "
             f"{r['notice_keys'].get('duplicate', 0)}"),
            ("subjects out of order (feed / webhook)",
             f"{r['subjects_out_of_order_in_feed']} / {r['webhook_subjects_out_of_order']}"),
            ("webhook events received once / expected",
             f"{r['webhook_events_received']} / {r['webhook_events_expected']}"),
            ("webhook redeliveries deduped by webhook-id", r["webhook_redeliveries_deduped"]),
            ("webhook deliveries that failed verification", r["webhook_unverified"]),
            ("failure records", sum(len(v) for v in r["failure_records"].values())),
            ("dead letters", len(r["dead_letters"])),
            ("missing notices, where", ", ".join(f"{k}: {v}" for k, v in
                                                 r["missing_explained"].items()) or "none"),
            ("faults injected", ", ".join(f"{a} {b}@{t}s" for a, b, t in r["faults"]) or "none"),
            ("seconds", r["seconds"]), ("verdict", r["verdict"])]
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"{k:<{width}}  {v}")
    for service, items in r["failure_records"].items():
        for item in items:
            print(f"  failure in {service}: {item}")
    for item in r["dead_letters"]:
        print(f"  dead letter: {item}")


if __name__ == "__main__":
    sys.exit(main())

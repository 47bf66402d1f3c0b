"""Load on the running system over HTTP, as users drive it: companies file
reports, an officer accepts each at once, the companies read their feeds,
and a local receiver takes the signed webhooks.

A report is done when its case's `case_opened` notice is in the company's
feed (GET /notices). Two times are kept for it: when the feed poller first
saw it (bounded by the poll interval) and the notice's own `created_at`
(the moment it entered the feed, on the same machine's clock).
"""
import json
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import requests

from support.organisation import Org
from support.reports import report_body


def nth_report(i):
    # A distinct amount per report: none is flagged as another's duplicate.
    return report_body(summary=f"Invoice fraud {i}", estimated_loss=f"{21000 + i}.00")


def epoch(iso):
    return datetime.fromisoformat(iso).timestamp()


class Api:
    """One keep-alive session per thread."""

    def __init__(self, base, token=None):
        self.base = base
        self.token = token
        self.local = threading.local()

    def session(self):
        s = getattr(self.local, "s", None)
        if s is None:
            s = self.local.s = requests.Session()
        return s

    def call(self, method, path, body=None, token=None, **params):
        headers = {"Authorization": f"Bearer {token or self.token}"}
        r = self.session().request(method, self.base + path, json=body, params=params,
                                   headers=headers, timeout=30)
        return r


class Users:
    """The people the load acts as, set up by support's Org: the officer of a
    station and companies there, `companies` that read only their feed and
    `hooked` ones with a webhook subscription at `receiver`; and keep-alive
    sessions to intake and notify for them."""

    def __init__(self, intake_url, notify_url, admin_token, companies, hooked=0,
                 receiver=None):
        org = Org(intake_url, admin_token, companies=companies + hooked)
        for company in org.companies[companies:]:
            org.subscribe(notify_url, receiver, company)
        self.intake = Api(intake_url)
        self.notify = Api(notify_url)
        self.officer = org.officer_token
        self.companies, self.hooked = org.companies[:companies], org.companies[companies:]


class Run:
    """One measured run: reports filed and accepted, their notices awaited."""

    def __init__(self, users, companies, poll_interval):
        self.users = users
        self.companies = companies
        self.poll_interval = poll_interval
        self.lock = threading.Lock()
        self.reports = {}          # report_id -> record
        self.by_case = {}          # case_id -> report_id
        self.pending = {}          # company_id -> count of reports not yet done
        self.cursor = {}           # company_id -> last created_at seen
        self.seen = set()
        self.errors = []
        self.counter = 0
        self.dropped = 0
        self.max_lag = 30.0
        self._stop = threading.Event()
        self._poller = threading.Thread(target=self._poll, daemon=True)
        self._poller.start()

    def file_and_accept(self, company, arrival=None):
        """File and accept one report. `arrival` is when an open-loop run
        meant it to arrive: latency counts from then, so time spent waiting
        for a free client thread is counted, not hidden."""
        cid, token = company
        with self.lock:
            self.counter += 1
            i = self.counter
            if arrival is not None and time.time() - arrival > self.max_lag:
                self.dropped += 1  # this machine fell too far behind: never filed
                return
            self.pending[cid] = self.pending.get(cid, 0) + 1
        t0 = arrival or time.time()
        r = self.users.intake.call("POST", "/reports", nth_report(i), token=token)
        if r.status_code != 201:
            self._failed(cid, f"file {r.status_code}: {r.text[:200]}")
            return
        report_id = r.json()["report_id"]
        t1 = time.time()
        r = self.users.intake.call("POST", f"/reports/{report_id}/accept",
                                   token=self.users.officer)
        t2 = time.time()
        if r.status_code != 200:
            self._failed(cid, f"accept {r.status_code}: {r.text[:200]}")
            return
        case_id = r.json()["case_id"]
        with self.lock:
            self.reports[report_id] = {"company": cid, "filed": t0, "filed_answer": t1,
                                       "accept": t1, "accepted": t2, "case": case_id}
            self.by_case[case_id] = report_id

    def _failed(self, cid, why):
        with self.lock:
            self.errors.append(why)
            self.pending[cid] -= 1

    def _poll(self):
        while not self._stop.is_set():
            with self.lock:
                companies = [c for c in self.companies if self.pending.get(c[0])]
            for cid, token in companies:
                self._read_feed(cid, token)
            self._stop.wait(self.poll_interval)

    def _read_feed(self, cid, token):
        items = []
        after = self.cursor.get(cid)
        while True:
            params = {"limit": 200}
            if after:
                params["after"] = after
            try:
                r = self.users.notify.call("GET", "/notices", token=token, **params)
            except requests.RequestException as exc:
                self.errors.append(f"feed: {exc}")
                return
            if r.status_code != 200:
                self.errors.append(f"feed {r.status_code}")
                return
            page = r.json()
            items += page["items"]
            # The feed always answers a cursor: kept, as a client keeps it;
            # a short page is the end for now.
            after = page.get("next") or after
            if len(page["items"]) < params["limit"]:
                break
        at = time.time()
        with self.lock:
            for n in items:
                if n["event_type"] != "case_opened" or n["notice_id"] in self.seen:
                    continue
                report_id = self.by_case.get(n["subject"])
                if report_id is None:
                    continue  # accepted, but its answer is not recorded yet
                self.seen.add(n["notice_id"])
                rec = self.reports[report_id]
                rec["seen"] = at
                rec["created"] = epoch(n["created_at"])
                self.pending[cid] -= 1
            self.cursor[cid] = after

    def done(self):
        with self.lock:
            return sum(1 for r in self.reports.values() if "seen" in r)

    def wait(self, timeout):
        deadline = time.time() + timeout
        while time.time() < deadline:
            with self.lock:
                if not any(self.pending.values()):
                    return True
            time.sleep(0.1)
        return False

    def stop(self):
        self._stop.set()
        self._poller.join(5)


def saturate(users, companies, workers, seconds, max_reports, poll_interval=0.25, drain=120):
    """Closed loop, `workers` at a time: file and accept as fast as the system
    answers; then wait for the notices of all. Throughput is reports whose
    notice reached the feed per second, first filing to last notice."""
    run = Run(users, companies, poll_interval)
    started = time.time()
    deadline = started + seconds

    def worker(w):
        n = 0
        while time.time() < deadline and run.counter < max_reports:
            run.file_and_accept(companies[(w + n * workers) % len(companies)])
            n += 1

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(worker, range(workers)))
    filed_until = time.time()
    complete = run.wait(drain)
    run.stop()
    return run, started, filed_until, complete


def fixed_rate(users, companies, rate, seconds, poll_interval=0.05, drain=60, receiver=None):
    """Open loop: a report every 1/rate s (each on its own thread, so a slow
    answer does not slow the arrivals), for `seconds`."""
    run = Run(users, companies, poll_interval)
    total = int(rate * seconds)
    start = time.time() + 0.2
    pool = ThreadPoolExecutor(max(8, int(rate * 2)))
    try:
        for i in range(total):
            at = start + i / rate
            delay = at - time.time()
            if delay > 0:
                time.sleep(delay)
            pool.submit(run.file_and_accept, companies[i % len(companies)], at)
    finally:
        # Interrupted: drop the arrivals not yet taken, do not wait them out.
        pool.shutdown(wait=True, cancel_futures=sys.exc_info()[0] is not None)
    complete = run.wait(drain)
    if receiver is not None:
        deadline = time.time() + drain
        while time.time() < deadline and not all(
                ("report_accepted", rid) in receiver.arrived for rid in run.reports):
            time.sleep(0.2)
    run.stop()
    return run, complete


def percentiles(values, ps=(50, 95, 99)):
    if not values:
        return {f"p{p}": None for p in ps}
    v = sorted(values)
    out = {}
    for p in ps:
        k = min(len(v) - 1, max(0, int(round(p / 100 * len(v) + 0.5)) - 1))
        out[f"p{p}"] = v[k]
    out["max"] = v[-1]
    out["n"] = len(v)
    return out


def dumps(obj):
    def clean(o):
        if isinstance(o, float) and o == float("inf"):
            return None  # JSON has no infinity: not reached
        if isinstance(o, dict):
            return {k: clean(v) for k, v in o.items()}
        if isinstance(o, (list, tuple)):
            return [clean(v) for v in o]
        return o
    return json.dumps(clean(obj), indent=1, default=str)

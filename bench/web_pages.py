"""`make bench` step 8, the web app's speed (issue 16): with 10,000 open
cases in the database, 10 people use their main pages through the front
door for a minute — 4 supervisors on the board, 3 officers on their queue
and cases, 3 businesses on their reports — each page asked again half a
second after its answer. Prints each page's p50/p95/p99 (target: p95 ≤ 200 ms).

The cases are written straight into case_supervision's database in the
shape the service stores them (bench/sweep.py's `case_doc`), in the
supervisors' subtree; the people sign in at the web app's own form (the
supervisors with a TOTP code), as a browser would, and keep their cookie.
"""
import os
import re
import subprocess
import sys
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone

import pyotp
import requests

from bench.load import percentiles
from support.people import People

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CASES = 10_000
THINK = 0.5
PAGES = {"supervisor": ["/supervisor"], "officer": ["/officer", "/officer/cases"],
         "company": ["/business"]}


def sign_in(door, username, password, otp_secret=None):
    """A session at the web app: its form's CSRF token, then the form."""
    s = requests.Session()
    form = s.get(door + "/signin", timeout=30).text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    data = {"csrf_token": csrf, "username": username, "password": password, "next": "/"}
    if otp_secret:
        data["otp"] = pyotp.TOTP(otp_secret).now()
    r = s.post(door + "/signin", data=data, timeout=30, allow_redirects=False)
    assert r.status_code in (302, 303), (username, r.status_code, r.text[:300])
    return s


def supervisor(people, password):
    """A supervisor of the bureau, with the second factor setting a password enrols."""
    officer_id = f"zhao-{uuid.uuid4().hex[:6]}"
    r = people.admin.post("/admin/officers", {"officer_id": officer_id, "name": "赵督察",
                                              "unit_id": people.bureau, "role": "supervisor"})
    assert r.status_code == 201, r.text
    username = r.json()["username"]
    r = people.intake.post("/accounts/password", {"invite": r.json()["invite"],
                                                  "password": password})
    assert r.status_code == 200, r.text
    return username, r.json()["second_factor"]["secret"]


def fill_cases(mongo_uri, prefix, people, total):
    """`total` open cases of the station, flagged to the bureau, written by
    a process of their own: bench/sweep.py's case shape comes with the
    service's modules and eventlet's monkey-patching, which would stop this
    process's threads (the bench's webhook receiver among them)."""
    subprocess.run([sys.executable, "-m", "bench.web_pages", mongo_uri, prefix,
                    people.station, people.bureau, people.officer, str(total)],
                   check=True, cwd=ROOT)


def _write_cases(mongo_uri, prefix, station, bureau, officer, total):
    from bench.sweep import case_doc
    from services.case_supervision.policy import policy_path, read_policy
    from services.case_supervision.repository import CASES as COLLECTION
    from shared.mongo import CODECS, connect, database_name
    policy = read_policy(policy_path({}))
    client = connect(mongo_uri)
    try:
        db = client.get_database(database_name({"DB_PREFIX": prefix}, "case_supervision"),
                                 codec_options=CODECS)
        now = datetime.now(timezone.utc)
        path = [station, bureau]
        batch = []
        for n in range(1, total + 1):
            doc = case_doc(policy, 900_000 + n, now - timedelta(minutes=n % 600), path)
            doc["team"] = {"lead_officer_id": officer, "lead_name": "李警官",
                           "members": [officer]}
            batch.append(doc)
            if len(batch) == 1000:
                db[COLLECTION].insert_many(batch, ordered=False)
                batch = []
        if batch:
            db[COLLECTION].insert_many(batch, ordered=False)
    finally:
        client.close()


def use(session, door, pages, until, out, lock):
    while time.monotonic() < until:
        for page in pages:
            t0 = time.monotonic()
            r = session.get(door + page, timeout=30)
            took = time.monotonic() - t0
            with lock:
                out.setdefault(page, []).append(took if r.status_code == 200 else float("inf"))
            time.sleep(THINK)


def cpu_per_page(b, door, sessions, times=20):
    """CPU ms one answer of each page costs, per process (web, services,
    database, broker; nginx is not the stack's own child), asked one at a
    time: a figure the machine's other load hardly moves, unlike the wall
    times of the run."""
    first = {}
    for role, s in sessions:
        first.setdefault(role, s)
    found = {}
    for role, s in first.items():
        for page in PAGES[role]:
            before = b.cpu_seconds()
            for _ in range(times):
                s.get(door + page, timeout=30)
            after = b.cpu_seconds()
            found[page] = {part: round((after[part] - before.get(part, 0)) * 1000 / times, 1)
                           for part in after if after[part] - before.get(part, 0) > 0}
    return found


def run(b, seconds):
    """The step: the web app and the front door beside the bench's services."""
    stack = b.stack
    stack.start_service("web")
    stack.start_frontdoor()
    try:
        door = stack.front_url()
        people = People(stack.service_url("intake"), b.admin_token)
        from support.people import PASSWORD
        # Four supervisors: a TOTP code signs in once (a replay is refused).
        supervisors = [supervisor(people, PASSWORD) for _ in range(4)]
        fill_cases(b.mongo_uri, stack.env.get("FASTTRACK_DB_PREFIX") or "", people, CASES)
        sessions = ([("supervisor", sign_in(door, sup, PASSWORD, secret))
                     for sup, secret in supervisors]
                    + [("officer", sign_in(door, people.officer, PASSWORD)) for _ in range(3)]
                    + [("company", sign_in(door, people.company, PASSWORD)) for _ in range(3)])
        for role, s in sessions:   # warm: templates compiled, connections open
            for page in PAGES[role]:
                s.get(door + page, timeout=30)
        cpu = cpu_per_page(b, door, sessions)
        out, lock = {}, threading.Lock()
        until = time.monotonic() + seconds
        threads = [threading.Thread(target=use, args=(s, door, PAGES[role], until, out, lock))
                   for role, s in sessions]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        stack.stop_frontdoor()
        stack.stop_service("web")
    return {"cases": CASES, "people": len(sessions), "seconds": seconds, "cpu_ms": cpu,
            "pages": {page: {k: (round(v * 1000, 1) if isinstance(v, float) and v != float("inf")
                                 else v) for k, v in percentiles(times).items()}
                      for page, times in sorted(out.items())}}


if __name__ == "__main__":
    uri, db_prefix, station_id, bureau_id, officer_id, how_many = sys.argv[1:]
    _write_cases(uri, db_prefix, station_id, bureau_id, officer_id, int(how_many))

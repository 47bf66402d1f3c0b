"""Page cost of GET /reports on a long list (issue 15, point 3): the
repository's own query (shared/pages.py keyset read, the INDEXES intake
declares) timed on the first page and on pages deep in the list, for a
station's officer and a bureau supervisor (both through the reports'
police reach keys) and a company (company_id).

Starts its own SecantusDB (or uses MONGO_URI), writes N reports straight
into it in the shape intake stores (one every ten minutes up to now, three
stations under one bureau, ten companies), and prints one JSON line per
reach: milliseconds per page of 50 (median of 5) at the top, in the middle
and at the end of the list — read in time windows (what the service does)
and, for comparison, as one keyset query (`single`), with the documents the
server examined for that one query (its `explain`).

    .venv/bin/python -m bench.pages [N]
"""
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone

from services.intake.repository import REPORT_ORDER, REPORTS, Repository
from shared import auth, pages
from shared.mongo import CODECS, connect, ensure_indexes

LIMIT = 50


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_db():
    if os.environ.get("MONGO_URI"):
        return os.environ["MONGO_URI"], None
    port, data = free_port(), tempfile.mkdtemp(prefix="pages-bench-")
    exe = shutil.which("mongod")
    cmd = ([exe, "--bind_ip", "127.0.0.1", "--port", str(port), "--dbpath", data] if exe else
           [os.path.join(os.path.dirname(sys.executable), "secantusd-py"), "--host",
            "127.0.0.1", "--port", str(port), "--storage-path", data, "--log-level", "WARNING"])
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    return f"mongodb://127.0.0.1:{port}/", (proc, data, "mongod" if exe else "SecantusDB")


def reports(n, now):
    """n reports of three stations under one bureau, one company in ten."""
    start = now - timedelta(minutes=10 * n)
    for i in range(n):
        station = f"st{i % 3}"
        report = {"_id": str(uuid.UUID(int=i)), "reference": f"FT-BENCH-{i:07}",
                  "status": "received", "company_id": f"c{i % 10}", "incident_type": "fraud",
                  "owner_unit_id": station, "owner_unit_path": [station, "b1", "city"],
                  "received_at": start + timedelta(minutes=10 * i), "summary": "s" * 40,
                  "description": "d" * 400, "history": [], "materials": [], "transfer": None}
        yield {**report, auth.REACH: auth.report_reach(report)}


def timed(read):
    times = []
    for _ in range(5):
        started = time.perf_counter()
        read()
        times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times), 1)


def examined(db, query, after):
    """Documents the server read for the single keyset query, if it says."""
    values = pages.decode("reports", REPORT_ORDER, after)
    if values is not None:
        query = {"$and": [query, pages.after_filter(REPORT_ORDER, values)]}
    try:
        plan = db.command("explain", {"find": REPORTS, "filter": query,
                                      "sort": dict(REPORT_ORDER), "limit": LIMIT + 1},
                          verbosity="executionStats")
        return plan["executionStats"]["totalDocsExamined"]
    except Exception:
        return None


def timed_pages(db, query, depths):
    """{depth: {windows, single, single_docs_examined}} for the page `depth` rows in."""
    out = {}
    for depth in depths:
        after = None
        if depth:
            # The cursor a reader holds after `depth` rows (what it was given).
            _, after = pages.read(db[REPORTS], query, REPORT_ORDER, depth, None, "reports",
                                  {"outbox": 0}, by_time=True)
        out[depth] = {
            "windows_ms": timed(lambda: pages.read(db[REPORTS], query, REPORT_ORDER, LIMIT,
                                                   after, "reports", {"outbox": 0},
                                                   by_time=True)),
            "single_ms": timed(lambda: pages.read(db[REPORTS], query, REPORT_ORDER, LIMIT,
                                                  after, "reports", {"outbox": 0})),
            "single_docs_examined": examined(db, query, after)}
    return out


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    uri, owned = start_db()
    try:
        client = connect(uri)
        db = client.get_database(f"bench_pages_{uuid.uuid4().hex[:6]}", codec_options=CODECS)
        ensure_indexes(db, Repository.INDEXES)
        batch = list(reports(n, datetime.now(timezone.utc)))
        for i in range(0, n, 1000):
            db[REPORTS].insert_many(batch[i:i + 1000])
        reaches = {
            "officer": auth.Principal("officer", "o1", "st0", ("st0", "b1", "city")),
            "supervisor": auth.Principal("supervisor", "s1", "b1", ("b1", "city")),
            "company": auth.Principal("company", "c0"),
        }
        for name, who in reaches.items():
            query = auth.report_filter(who)
            matching = db[REPORTS].count_documents(query)
            depths = [0, matching // 2, max(0, matching - 2 * LIMIT)]
            print(json.dumps({"server": owned[2] if owned else uri, "reports": n,
                              "reach": name, "matching": matching, "limit": LIMIT,
                              "pages": timed_pages(db, query, depths)}))
    finally:
        if owned:
            owned[0].terminate()
            owned[0].wait()
            shutil.rmtree(owned[1], ignore_errors=True)


if __name__ == "__main__":
    main()

"""Evidence files in `make bench` (issue 18): one 25 MB upload and its
download on loopback — MB/s each way, the bytes checked by SHA-256 — and
how far intake's resident memory grows over its idle size meanwhile
(target: at most 30 MB, since a file is streamed, never held whole)."""
import hashlib
import os
import threading
import time

import requests

from support.organisation import Org

SIZE = 25 * 2**20
PIECE = 2**20


def _rss(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmRSS:"))


def run(intake_url, admin_token, intake_pid):
    org = Org(intake_url, admin_token)
    report_id = org.file_report()["report_id"]
    data = b"%PDF-1.7\n" + os.urandom(SIZE - 9)
    digest = hashlib.sha256(data).hexdigest()
    auth = {"Authorization": f"Bearer {org.company_token}"}
    idle = _rss(intake_pid)
    peak = [idle]
    done = threading.Event()

    def watch():
        while not done.wait(0.05):
            peak[0] = max(peak[0], _rss(intake_pid))
    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        started = time.perf_counter()
        r = requests.post(f"{intake_url}/reports/{report_id}/materials/payment_records/files",
                          data=(data[i:i + PIECE] for i in range(0, SIZE, PIECE)),
                          headers=dict(auth, **{
                              "Content-Type": "application/pdf",
                              "Content-Disposition": 'attachment; filename="bank.pdf"'}),
                          timeout=300)
        up = time.perf_counter() - started
        after_upload = peak[0]
        r.raise_for_status()
        file_id = r.json()["file_id"]
        started, got = time.perf_counter(), hashlib.sha256()
        with requests.get(f"{intake_url}/files/{file_id}", headers=auth, stream=True,
                          timeout=300) as resp:
            resp.raise_for_status()
            for piece in resp.iter_content(PIECE):
                got.update(piece)
        down = time.perf_counter() - started
    finally:
        done.set()
        watcher.join(2)
    return {"mb": SIZE / 2**20, "upload_mb_s": SIZE / 2**20 / up,
            "download_mb_s": SIZE / 2**20 / down,
            "sha256_matches": r.json()["sha256"] == digest == got.hexdigest(),
            "intake_idle_rss_mb": idle / 2**20,
            "intake_rss_growth_upload_mb": (after_upload - idle) / 2**20,
            "intake_rss_growth_mb": (peak[0] - idle) / 2**20}

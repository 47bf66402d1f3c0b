"""Evidence files on the real broker and database: uploads streamed into
GridFS against the policy's limits (small here), sniffed types, names made
harmless, downloads with ranges, who sees what, racing and broken uploads
leaving nothing behind, the checklist closing by itself."""
import contextlib
import hashlib
import os
import socket
import threading
import uuid
from datetime import datetime, timedelta, timezone
from urllib.parse import quote, urlparse

import gridfs
import pytest
import requests
import yaml

from services.case_supervision.service import CaseSupervisionService
from services.intake.service import IntakeService
from services.notify.service import NotifyService
from shared.policy import ROOT
from support.client import Client
from support.organisation import Org
from tests.helpers import eventually

FILE_BYTES, REPORT_BYTES, PER_ITEM = 300_000, 1_000_000, 3
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n" + os.urandom(50_000) + b"\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + os.urandom(20_000)


def policy_file(tmp_path, **evidence):
    with open(os.path.join(ROOT, "policy", "intake.yml"), encoding="utf-8") as f:
        policy = yaml.safe_load(f)
    policy["evidence"] = dict({"max_file_bytes": FILE_BYTES, "max_report_bytes": REPORT_BYTES,
                               "max_files_per_item": PER_ITEM}, **evidence)
    path = tmp_path / f"intake-{uuid.uuid4().hex[:6]}.yml"
    path.write_text(yaml.safe_dump(policy, allow_unicode=True), encoding="utf-8")
    return str(path)


class Desk:
    """Intake running with small evidence limits; an organisation, a report
    of its company, and the database to count what is stored."""

    def __init__(self, running, tmp_path, **settings):
        running.start(IntakeService, INTAKE_POLICY=policy_file(tmp_path), **settings)
        self.url = running.urls["intake"]
        self.org = Org(self.url, running.config["ADMIN_TOKEN"])
        self.report = self.org.file_report()
        self.report_id = self.report["report_id"]
        self.db = running.db("intake")

    def upload(self, data, name="statement.pdf", ctype="application/pdf", code="other",
               token=None, report_id=None, key=None, url=None):
        """The file as the body; a name beyond ASCII as RFC 5987 filename*."""
        disposition = (f'attachment; filename="{name}"' if name.isascii() else
                       f"attachment; filename*=UTF-8''{quote(name, safe='')}")
        headers = {"Authorization": f"Bearer {token or self.org.company_token}",
                   "Content-Type": ctype, "Content-Disposition": disposition}
        if key is not None:
            headers["Idempotency-Key"] = key
        return requests.post(url or self.files_url(code, report_id), data=data,
                             headers=headers, timeout=30)

    def files_url(self, code, report_id=None):
        return f"{self.url}/reports/{report_id or self.report_id}/materials/{code}/files"

    def get(self, path, token=None, **headers):
        headers["Authorization"] = f"Bearer {token or self.org.company_token}"
        return requests.get(self.url + path, headers=headers, timeout=30)

    def stored(self):
        """What is kept: chunks, files, records, the report's bytes taken."""
        quota = self.db.evidence_quota.find_one({"_id": self.report_id}) or {"bytes": 0}
        return (self.db.fs.chunks.count_documents({}), self.db.fs.files.count_documents({}),
                self.db.evidence.count_documents({}), quota["bytes"])

    def police_report(self):
        r = self.get(f"/reports/{self.report_id}", self.org.officer_token)
        assert r.status_code == 200, r.text
        return r.json()


@contextlib.contextmanager
def raw_upload(desk, framing, body):
    """An upload sent by hand on a socket (which closes after the block),
    with its own framing header: what requests will not send."""
    url = urlparse(desk.url)
    with socket.create_connection((url.hostname, url.port), timeout=30) as s:
        s.sendall((f"POST /reports/{desk.report_id}/materials/other/files HTTP/1.1\r\n"
                   f"Host: {url.netloc}\r\nAuthorization: Bearer {desk.org.company_token}\r\n"
                   "Content-Type: application/pdf\r\n"
                   "Content-Disposition: attachment; filename=\"cut.pdf\"\r\n"
                   f"{framing}\r\n\r\n").encode() + body)
        yield s


@pytest.fixture
def desk(running, tmp_path):
    return Desk(running, tmp_path)


def sha(data):
    return hashlib.sha256(data).hexdigest()


def test_a_pdf_and_a_png_are_kept_and_read_back_exactly(desk):
    r = desk.upload(PDF, code="business_licence")
    assert r.status_code == 201, r.text
    pdf = r.json()
    assert (pdf["sha256"], pdf["size"], pdf["content_type"], pdf["filename"]) == (
        sha(PDF), len(PDF), "application/pdf", "statement.pdf")
    # The multipart form a browser sends, by the owner unit's officer.
    r = requests.post(desk.files_url("payment_records"), timeout=30,
                      headers={"Authorization": f"Bearer {desk.org.officer_token}"},
                      files={"file": ("bank.png", PNG, "image/png")})
    assert r.status_code == 201, r.text
    png = r.json()
    assert (png["sha256"], png["content_type"], png["scan"]) == (sha(PNG), "image/png",
                                                                 "not_scanned")
    for made, data in ((pdf, PDF), (png, PNG)):
        got = desk.get(f"/files/{made['file_id']}")
        assert got.status_code == 200
        assert sha(got.content) == made["sha256"] == sha(data)
        assert got.headers["Content-Disposition"].startswith("attachment;")
        assert got.headers["X-Content-Type-Options"] == "nosniff"
        assert got.headers["Content-Security-Policy"] == "sandbox; default-src 'none'"
        assert got.headers["Content-Type"].startswith(made["content_type"])
    # Laid out as the GridFS spec says: any GridFS reader reads it.
    assert gridfs.GridFSBucket(desk.db).open_download_stream(pdf["file_id"]).read() == PDF
    listed = desk.get(f"/reports/{desk.report_id}/files").json()["items"]
    assert [(f["file_id"], f["code"], f["uploaded_by_role"]) for f in listed] == [
        (pdf["file_id"], "business_licence", "company"),
        (png["file_id"], "payment_records", "officer")]
    assert "uploaded_by" not in listed[0]       # a company reads no officer ids
    report = desk.police_report()
    supplied = {m["code"]: m["supplied"] for m in report["materials"]}
    assert supplied["business_licence"] and supplied["payment_records"]
    uploads = [h for h in report["history"] if h["action"] == "upload_evidence"]
    assert [(h["file_id"], h["sha256"]) for h in uploads] == [
        (pdf["file_id"], pdf["sha256"]), (png["file_id"], png["sha256"])]


def test_a_range_is_served_and_one_beyond_the_end_is_refused(desk):
    file_id = desk.upload(PDF).json()["file_id"]
    r = desk.get(f"/files/{file_id}", Range="bytes=100-199")
    assert r.status_code == 206
    assert r.content == PDF[100:200]
    assert r.headers["Content-Range"] == f"bytes 100-199/{len(PDF)}"
    r = desk.get(f"/files/{file_id}", Range="bytes=-10")
    assert (r.status_code, r.content) == (206, PDF[-10:])
    r = desk.get(f"/files/{file_id}", Range=f"bytes={len(PDF) + 5}-")
    assert r.status_code == 416
    assert r.headers["Content-Range"] == f"bytes */{len(PDF)}"


def test_an_oversize_stream_is_cut_and_nothing_of_it_is_kept(desk):
    desk.upload(PDF)
    before = desk.stored()

    def body():     # chunked, no Content-Length: the server counts
        yield PDF[:10_000]
        for _ in range(FILE_BYTES // 50_000 + 2):
            yield os.urandom(50_000)
    r = desk.upload(body())
    assert r.status_code == 413, r.text
    assert str(FILE_BYTES) in r.json()["detail"]
    assert desk.stored() == before
    # Declared too long: refused before the body is read.
    with raw_upload(desk, f"Content-Length: {FILE_BYTES * 2}", PDF[:1000]) as s:
        assert s.recv(100).startswith(b"HTTP/1.1 413 ")
    assert desk.stored() == before


@pytest.mark.parametrize("data,name,ctype", [
    (PDF, "scan.png", "application/pdf"),       # the extension lies
    (PDF, "invoice.exe", "application/pdf"),    # a PDF named .exe
    (PDF, "scan.pdf", "image/png"),             # the declared type lies
    (b"<html><script>alert(1)</script></html>", "note.txt", "text/plain"),
    (b"MZ\x90\x00\x03" + bytes(500), "tool.pdf", "application/pdf"),
])
def test_a_file_that_is_not_what_it_says_is_refused(desk, data, name, ctype):
    before = desk.stored()
    r = desk.upload(data, name=name, ctype=ctype)
    assert r.status_code == 415, r.text
    assert r.json()["code"] == "unsupported_media_type"
    assert desk.stored() == before


def test_a_path_in_a_file_name_is_only_a_name(desk):
    r = desk.upload(PDF, name="../../etc/x.pdf")
    assert r.status_code == 201, r.text
    assert r.json()["filename"] == "x.pdf"
    r = desk.upload(b"hello\n", name="..\\..\\\u62a5\u6848.txt", ctype="text/plain")
    assert r.json()["filename"] == "\u62a5\u6848.txt"
    got = desk.get(f"/files/{r.json()['file_id']}")
    assert got.headers["Content-Disposition"] == (
        "attachment; filename=\"__.txt\"; filename*=UTF-8''%E6%8A%A5%E6%A1%88.txt")
    # Stored under our id, never under the name sent.
    assert desk.db.fs.files.count_documents({"filename": {"$regex": r"\.\."}}) == 0


def test_another_companys_report_and_files_do_not_exist(desk, running):
    other = Org(desk.url, running.config["ADMIN_TOKEN"])
    mine = desk.upload(PDF).json()["file_id"]
    before = desk.stored()
    theirs = desk.upload(PDF, token=other.company_token)
    missing = desk.upload(PDF, report_id=str(uuid.uuid4()))
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json()["detail"] == missing.json()["detail"]
    assert desk.stored() == before
    for token in (other.company_token, other.officer_token):
        a, b = desk.get(f"/files/{mine}", token), desk.get(f"/files/{uuid.uuid4()}", token)
        assert a.status_code == b.status_code == 404
        assert a.json()["detail"] == b.json()["detail"]
        assert desk.get(f"/reports/{desk.report_id}/files", token).status_code == 404


def test_two_uploads_racing_for_the_last_slot_one_wins(desk):
    for _ in range(PER_ITEM - 1):
        assert desk.upload(PDF, code="written_statement").status_code == 201
    answers = []
    start = threading.Barrier(2)

    def send():
        start.wait()
        answers.append(desk.upload(PDF, code="written_statement"))
    threads = [threading.Thread(target=send) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(a.status_code for a in answers) == [201, 413]
    loser = next(a for a in answers if a.status_code == 413)
    assert str(PER_ITEM) in loser.json()["detail"]
    listed = desk.get(f"/reports/{desk.report_id}/files").json()["items"]
    assert len([f for f in listed if f["code"] == "written_statement"]) == PER_ITEM
    chunks, files, records, taken = desk.stored()
    assert (files, records, taken) == (PER_ITEM, PER_ITEM, PER_ITEM * len(PDF))


def test_two_uploads_racing_for_the_last_bytes_one_wins(running, tmp_path):
    big = b"%PDF-1.4\n" + os.urandom(240_000)   # four fit in 1 MB, five do not
    desk = Desk(running, tmp_path)
    for code in ("business_licence", "reporter_id", "written_statement"):
        assert desk.upload(big, code=code).status_code == 201    # 3 × 240 kB of 1 MB
    answers = []
    start = threading.Barrier(2)

    def send(code):
        start.wait()
        answers.append(desk.upload(big, code=code))
    threads = [threading.Thread(target=send, args=(c,))
               for c in ("payment_records", "communications")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(a.status_code for a in answers) == [201, 413]
    assert str(REPORT_BYTES) in next(a for a in answers if a.status_code == 413).text
    assert desk.stored()[1:] == (4, 4, 4 * len(big))


def test_a_client_that_goes_away_mid_upload_leaves_nothing(desk):
    before = desk.stored()
    with raw_upload(desk, f"Content-Length: {len(PDF) * 4}", PDF):
        pass
    # The same with a chunked body cut in the middle of a chunk.
    with raw_upload(desk, "Transfer-Encoding: chunked", b"%x\r\n" % (len(PDF) * 2) + PDF):
        pass

    def settled():
        return desk.db.evidence.count_documents({"state": "uploading"}) == 0 \
            and desk.stored() == before
    eventually(settled, what="nothing of the broken uploads kept")
    # And the desk still takes the next one.
    assert desk.upload(PDF).status_code == 201


def test_the_checklist_closes_by_upload_and_an_officer_can_ask_again(desk, tap):
    events = tap("intake")
    codes = [m["code"] for m in desk.report["materials"]]
    for code in codes:
        assert desk.upload(PDF, code=code).status_code == 201
    report = desk.get(f"/reports/{desk.report_id}").json()
    assert all(m["supplied"] for m in report["materials"])
    last = eventually(lambda: events.of("report_materials_supplied", supplied=[codes[-1]]))
    assert last[0]["data"]["missing"] == []
    officer = desk.org.intake.as_(desk.org.officer_token)
    r = officer.post(f"/reports/{desk.report_id}/materials/{codes[0]}/insufficient",
                     {"reason": "The licence copy is illegible."})
    assert r.status_code == 200, r.text
    item = next(m for m in r.json()["materials"] if m["code"] == codes[0])
    assert (item["supplied"], item["insufficient"]) == (False,
                                                        "The licence copy is illegible.")
    asked = eventually(lambda: events.of("report_extra_materials_requested"))
    assert asked[0]["data"]["reason"] == "The licence copy is illegible."
    assert asked[0]["data"]["responsible_unit_id"] == desk.org.station
    # A company may not mark its own materials insufficient.
    r = desk.org.intake.as_(desk.org.company_token).post(
        f"/reports/{desk.report_id}/materials/{codes[0]}/insufficient", {"reason": "x"})
    assert r.status_code == 403
    assert desk.upload(PDF, code=codes[0]).status_code == 201
    report = desk.get(f"/reports/{desk.report_id}").json()
    assert all(m["supplied"] for m in report["materials"])


def test_a_superseded_file_stays_on_record_with_its_reason(desk):
    first = desk.upload(PDF, code="reporter_id").json()["file_id"]
    second = desk.upload(PNG, name="id.png", ctype="image/png", code="reporter_id")
    company = desk.org.intake.as_(desk.org.company_token)
    r = company.post(f"/files/{first}/supersede", {"reason": "Wrong person's ID."})
    assert r.status_code == 200, r.text
    assert company.post(f"/files/{first}/supersede", {"reason": "again"}).status_code == 409
    listed = {f["file_id"]: f for f in desk.get(f"/reports/{desk.report_id}/files")
              .json()["items"]}
    assert listed[first]["superseded"]["reason"] == "Wrong person's ID."
    assert listed[second.json()["file_id"]]["superseded"] is None
    assert sha(desk.get(f"/files/{first}").content) == sha(PDF)     # still there
    assert [h["file_id"] for h in desk.police_report()["history"]
            if h["action"] == "supersede_evidence"] == [first]
    # A scan the police made is theirs to mark wrong, not the company's.
    scanned = requests.post(desk.files_url("reporter_id"), timeout=30,
                            headers={"Authorization": f"Bearer {desk.org.officer_token}"},
                            files={"file": ("walk-in.pdf", PDF, "application/pdf")}).json()
    r = company.post(f"/files/{scanned['file_id']}/supersede", {"reason": "not ours"})
    assert r.status_code == 403
    officer = desk.org.intake.as_(desk.org.officer_token)
    assert officer.post(f"/files/{scanned['file_id']}/supersede",
                        {"reason": "Scanned upside down."}).status_code == 200


def test_the_integrity_sweep_reports_a_changed_file(running, tmp_path):
    desk = Desk(running, tmp_path, EVIDENCE_SWEEP_SECONDS=1)
    file_id = desk.upload(PDF).json()["file_id"]
    chunk = desk.db.fs.chunks.find_one({"files_id": file_id, "n": 0})
    desk.db.fs.chunks.update_one({"_id": chunk["_id"]},
                                 {"$set": {"data": b"%PDF-1.4 altered" + chunk["data"][16:]}})
    admin = desk.org.admin

    def reported():
        items = admin.get("/admin/failures").json()["items"]
        return [f for f in items if f["type"] == "evidence_integrity_mismatch"]
    found = eventually(reported, timeout=30, what="the mismatch at /admin/failures")
    assert file_id in found[0]["last_error"] and sha(PDF) in found[0]["last_error"]
    listed = desk.get(f"/reports/{desk.report_id}/files").json()["items"]
    assert listed[0]["integrity"] == "mismatch"


class Clamd:
    """A stand-in clamd on a real socket, speaking its INSTREAM protocol:
    it finds the EICAR test string and nothing else (this machine has no
    signatures for the real one)."""
    EICAR = b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE"

    def __init__(self):
        self.server = socket.create_server(("127.0.0.1", 0))
        self.address = "127.0.0.1:%d" % self.server.getsockname()[1]
        self.scanned = []
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            with conn:
                f = conn.makefile("rb")
                assert f.read(10) == b"zINSTREAM\0"
                data = b""
                while True:
                    size = int.from_bytes(f.read(4), "big")
                    if not size:
                        break
                    data += f.read(size)
                self.scanned.append(data)
                conn.sendall(b"stream: Eicar-Test-Signature FOUND\0" if self.EICAR in data
                             else b"stream: OK\0")

    def close(self):
        self.server.close()


def test_a_configured_scanner_sees_every_file_before_it_is_shown(running, tmp_path):
    clamd = Clamd()
    try:
        desk = Desk(running, tmp_path, CLAMD=clamd.address)
        clean = desk.upload(PDF)
        assert clean.json()["scan"] == "clean"
        assert clamd.scanned[-1] == PDF
        bad = desk.upload(b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + Clamd.EICAR + b"!$H+H*\n",
                          name="note.txt", ctype="text/plain")
        assert (bad.status_code, bad.json()["scan"]) == (201, "infected")
        assert desk.get(f"/files/{bad.json()['file_id']}").status_code == 409
        assert desk.get(f"/files/{clean.json()['file_id']}").status_code == 200
        listed = desk.get(f"/reports/{desk.report_id}/files",
                          desk.org.officer_token).json()["items"]
        assert [(f["scan"], f["scan_detail"]) for f in listed] == [
            ("clean", None), ("infected", "Eicar-Test-Signature")]
    finally:
        clamd.close()
    # A scanner that does not answer: kept, and said so, never "clean".
    assert desk.upload(PDF).json()["scan"] == "scan_failed"


def test_what_an_upload_that_died_with_its_process_held_is_given_back(running, tmp_path):
    desk = Desk(running, tmp_path, EVIDENCE_STALE_UPLOAD_SECONDS=1)
    assert desk.upload(PDF, code="reporter_id").status_code == 201
    before = desk.stored()
    slots = desk.db.evidence_quota.find_one({"_id": f"{desk.report_id}:reporter_id"})["files"]
    # What a process killed mid-upload leaves: its pending record, the quota
    # it held, the chunks it had written (no fs.files document).
    dead = str(uuid.uuid4())
    desk.db.evidence.insert_one({"_id": dead, "report_id": desk.report_id,
                                 "code": "reporter_id", "state": "uploading",
                                 "started_at": datetime.now(timezone.utc) - timedelta(hours=2),
                                 "company_id": desk.org.company_id})
    desk.db.evidence_quota.update_one({"_id": f"{desk.report_id}:reporter_id"},
                                      {"$inc": {"files": 1, f"held.{dead}": 1}})
    desk.db.evidence_quota.update_one({"_id": desk.report_id},
                                      {"$inc": {"bytes": 2 * 261120, f"held.{dead}": 2 * 261120}})
    desk.db.fs.chunks.insert_many([{"files_id": dead, "n": n, "data": b"x" * 261120}
                                   for n in range(2)])
    eventually(lambda: desk.stored() == before, what="the dead upload's share given back")
    assert desk.db.evidence_quota.find_one(
        {"_id": f"{desk.report_id}:reporter_id"})["files"] == slots
    assert desk.get(f"/reports/{desk.report_id}/files").json()["items"][0]["code"] == \
        "reporter_id"


def test_a_case_waiting_on_materials_resumes_when_they_are_uploaded(running, tmp_path):
    desk = Desk(running, tmp_path)
    running.start(CaseSupervisionService, **running.with_intake_keys())
    cases = Client(running.urls["case_supervision"], desk.org.officer_token)
    officer = desk.org.intake.as_(desk.org.officer_token)
    case_id = desk.org.accept(desk.report_id).json()["case_id"]
    eventually(lambda: cases.get(f"/cases/{case_id}").status_code == 200, what="the case")
    r = officer.post(f"/reports/{desk.report_id}/materials/extra", {
        "items": [{"code": "bank_statement", "label": "Bank statement, November"}],
        "reason": "The transfer is not on the statement handed in."})
    assert r.status_code == 200, r.text

    def paused():
        return cases.get(f"/cases/{case_id}").json()["paused"]
    eventually(paused, what="the case waiting on the company")
    assert desk.upload(PDF, code="bank_statement").status_code == 201
    eventually(lambda: not paused(), what="the case resumed by the upload")
    # Found not enough: the case waits again until a better one comes.
    r = officer.post(f"/reports/{desk.report_id}/materials/bank_statement/insufficient",
                     {"reason": "Page 2 is missing."})
    assert r.status_code == 200, r.text
    eventually(paused, what="the case waiting again")
    assert desk.upload(PNG, name="page2.png", ctype="image/png",
                       code="bank_statement").status_code == 201
    eventually(lambda: not paused(), what="the case resumed again")


# -- Idempotency-Key on uploads ------------------------------------------------
def test_a_retried_upload_answers_the_first_file_and_keeps_nothing_twice(desk):
    first = desk.upload(PDF, code="business_licence", key="licence-1")
    assert first.status_code == 201, first.text
    before = desk.stored()
    again = desk.upload(PDF, code="business_licence", key="licence-1")
    assert again.status_code == 201, again.text
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert desk.stored() == before
    # The same key with other bytes, or for another item: 422, nothing kept.
    other = desk.upload(PNG, name="x.png", ctype="image/png", code="business_licence",
                        key="licence-1")
    assert other.status_code == 422, other.text
    elsewhere = desk.upload(PDF, code="payment_records", key="licence-1")
    assert elsewhere.status_code == 422, elsewhere.text
    assert desk.stored() == before
    history = [h for h in desk.police_report()["history"] if h["action"] == "upload_evidence"]
    assert [h["file_id"] for h in history] == [first.json()["file_id"]]
    # A key is the caller's own: the officer's same key is another upload.
    mine = desk.upload(PDF, code="business_licence", key="licence-1",
                       token=desk.org.officer_token)
    assert mine.status_code == 201 and mine.json()["file_id"] != first.json()["file_id"]
    # Without a key, the same bytes again are a second file, as before.
    assert desk.upload(PDF, code="business_licence").json()["file_id"] not in (
        first.json()["file_id"], mine.json()["file_id"])


def test_a_failed_upload_lets_its_key_go(desk):
    before = desk.stored()
    refused = desk.upload(PDF, name="x.exe", key="k-415")
    assert refused.status_code == 415
    assert desk.stored() == before
    r = desk.upload(PDF, key="k-415")
    assert r.status_code == 201, r.text
    assert desk.upload(PDF, key="k-415").json()["file_id"] == r.json()["file_id"]


def test_two_uploads_racing_with_one_key_make_one_file(desk):
    # One still running: the other is a 409, and nothing of it is kept.
    halfway, go_on = threading.Event(), threading.Event()

    def slow():
        yield PDF[:20_000]
        halfway.set()
        go_on.wait(20)
        yield PDF[20_000:]
    answers = {}
    first = threading.Thread(target=lambda: answers.update(
        first=desk.upload(slow(), key="race-1")))
    first.start()
    assert halfway.wait(20)
    eventually(lambda: desk.db.evidence.count_documents({"state": "uploading"}) == 1,
               what="the first upload under way")
    second = desk.upload(PDF, key="race-1")
    go_on.set()
    first.join(30)
    assert second.status_code == 409, second.text
    assert answers["first"].status_code == 201, answers["first"].text
    assert answers["first"].json()["sha256"] == sha(PDF)
    assert desk.stored()[1:] == (1, 1, len(PDF))
    # Both at once, from the start: one file, however the race falls.
    racing = []
    start = threading.Barrier(2)

    def send():
        start.wait()
        racing.append(desk.upload(PNG, name="p.png", ctype="image/png", key="race-2"))
    threads = [threading.Thread(target=send) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = sorted(a.status_code for a in racing)
    assert codes in ([201, 201], [201, 409]), [a.text for a in racing]
    assert len({a.json()["file_id"] for a in racing if a.status_code == 201}) == 1
    chunks, files, records, taken = desk.stored()
    assert (files, records, taken) == (2, 2, len(PDF) + len(PNG))
    assert chunks == desk.db.fs.chunks.count_documents(
        {"files_id": {"$in": [r["_id"] for r in desk.db.evidence.find()]}})


# -- officers' own files, and disclosure ---------------------------------------
def test_an_officers_own_file_is_internal_until_disclosed(desk):
    officer = desk.org.officer_token
    url = f"{desk.url}/reports/{desk.report_id}/files"
    internal = desk.upload(PDF, name="call-log.pdf", token=officer, url=url)
    assert internal.status_code == 201, internal.text
    shown = desk.upload(PNG, name="cctv.png", ctype="image/png", token=officer,
                        url=url + "?disclose=true")
    assert shown.status_code == 201, shown.text
    own = desk.upload(PDF, name="contract.pdf", url=url)     # the company's own
    assert own.status_code == 201, own.text
    internal_id, shown_id, own_id = (r.json()["file_id"] for r in (internal, shown, own))

    def company_lists():
        return [f["file_id"] for f in desk.get(f"/reports/{desk.report_id}/files").json()[
            "items"]]
    assert company_lists() == [shown_id, own_id]
    police = {f["file_id"]: f for f in desk.get(f"/reports/{desk.report_id}/files",
                                                 officer).json()["items"]}
    assert [police[i]["disclosed"] for i in (internal_id, shown_id, own_id)] == [
        False, True, True]
    assert police[internal_id]["code"] == "other"
    # Not the company's to see, read, mark wrong or disclose: as if it did not exist.
    hidden, none = desk.get(f"/files/{internal_id}"), desk.get(f"/files/{uuid.uuid4()}")
    assert hidden.status_code == none.status_code == 404
    assert hidden.json()["detail"] == none.json()["detail"]
    company = desk.org.intake.as_(desk.org.company_token)
    assert company.post(f"/files/{internal_id}/supersede", {"reason": "x"}).status_code == 404
    assert company.post(f"/files/{internal_id}/disclose", {}).status_code == 403
    assert desk.get(f"/files/{internal_id}", officer).content == PDF
    # Disclosed: the company sees it from now on; once is enough.
    police_client = desk.org.intake.as_(officer)
    r = police_client.post(f"/files/{internal_id}/disclose", {})
    assert r.status_code == 200, r.text
    assert r.json()["disclosed"] is True
    assert police_client.post(f"/files/{internal_id}/disclose", {}).status_code == 200
    assert set(company_lists()) == {internal_id, shown_id, own_id}
    assert desk.get(f"/files/{internal_id}").content == PDF
    steps = [(h["action"], h["file_id"]) for h in desk.police_report()["history"]
             if h["action"].endswith("_evidence")]
    assert steps == [("upload_evidence", internal_id), ("upload_evidence", shown_id),
                     ("upload_evidence", own_id), ("disclose_evidence", internal_id)]


def test_only_the_owner_units_police_attach_and_disclose(desk, running):
    other = Org(desk.url, running.config["ADMIN_TOKEN"])
    url = f"{desk.url}/reports/{desk.report_id}/files"
    before = desk.stored()
    r = desk.upload(PDF, token=other.officer_token, url=url)
    assert r.status_code == 404, r.text
    assert desk.stored() == before
    mine = desk.upload(PDF, token=desk.org.officer_token, url=url).json()["file_id"]
    r = other.intake.as_(other.officer_token).post(f"/files/{mine}/disclose", {})
    assert r.status_code == 404, r.text


# -- the report's and the case's history ----------------------------------------
def test_each_file_step_stands_in_the_case_history_and_the_company_sees_its_own(
        running, tmp_path):
    desk = Desk(running, tmp_path)
    running.start(CaseSupervisionService, **running.with_intake_keys())
    police = Client(running.urls["case_supervision"], desk.org.officer_token)
    company = Client(running.urls["case_supervision"], desk.org.company_token)
    officer = desk.org.intake.as_(desk.org.officer_token)
    case_id = desk.org.accept(desk.report_id).json()["case_id"]
    eventually(lambda: police.get(f"/cases/{case_id}").status_code == 200, what="the case")
    url = f"{desk.url}/reports/{desk.report_id}/files"
    own = desk.upload(PDF, code="business_licence").json()["file_id"]
    internal = desk.upload(PDF, name="call-log.pdf", token=desk.org.officer_token,
                           url=url).json()["file_id"]
    assert desk.org.intake.as_(desk.org.company_token).post(
        f"/files/{own}/supersede", {"reason": "Old licence."}).status_code == 200
    expected = [("upload_evidence", own), ("upload_evidence", internal),
                ("supersede_evidence", own)]

    def steps():
        history = police.get(f"/cases/{case_id}").json()["history"]
        return [(h["action"], h["file_id"]) for h in history if "file_id" in h]
    eventually(lambda: steps() == expected, what="the uploads in the case's history")
    history = police.get(f"/cases/{case_id}").json()["history"]
    upload = next(h for h in history if h.get("file_id") == internal)
    assert (upload["role"], upload["actor"], upload["sha256"], upload["disclose"]) == (
        "officer", desk.org.officer_id, sha(PDF), False)
    assert next(h for h in history if h["action"] == "supersede_evidence")["note"] == (
        "Old licence.")
    # The company's view: its own file's steps, never the officer's internal one.
    shown = company.get(f"/cases/{case_id}").json()
    assert [(f["action"], f["file_id"]) for f in shown["files"]] == [
        ("upload_evidence", own), ("supersede_evidence", own)]
    assert "history" not in shown
    assert officer.post(f"/files/{internal}/disclose", {}).status_code == 200
    eventually(lambda: ("disclose_evidence", internal) in [
        (f["action"], f["file_id"]) for f in company.get(f"/cases/{case_id}").json()["files"]],
        what="the disclosure on the company's view")
    assert internal not in [f["file_id"] for f in company.get(f"/cases/{case_id}").json()[
        "files"] if f["action"] == "upload_evidence"]
    # Each step once, however the events come.
    assert steps() == expected + [("disclose_evidence", internal)]


def test_a_file_step_holds_up_no_notice_and_tells_the_company_nothing(running, tmp_path):
    desk = Desk(running, tmp_path)
    running.start(NotifyService, **running.with_intake_keys())
    internal = desk.upload(PDF, token=desk.org.officer_token,
                           url=f"{desk.url}/reports/{desk.report_id}/files")
    assert internal.status_code == 201, internal.text
    r = desk.org.intake.as_(desk.org.officer_token).post(
        f"/reports/{desk.report_id}/acknowledge")
    assert r.status_code == 200, r.text
    feed = Client(running.urls["notify"], desk.org.company_token)

    def told():
        return [n["event_type"] for n in feed.get("/notices").json()["items"]]
    # Told in order though the upload's event came between (notify holds
    # a gap for an hour): the upload itself is no notice.
    eventually(lambda: "report_acknowledged" in told(), what="the acknowledgement told")
    assert sorted(told()) == ["report_acknowledged", "report_received"]

"""Evidence files (intake's routes, mixed into IntakeService).

A company hands in the materials of its checklist online, per item or as
"other" evidence; police of the owner unit do the same for a walk-in's
papers. Each file is kept in GridFS under an id we chose, with a record
(collection `evidence`): its SHA-256, size, sniffed type, display name,
who uploaded it, when, for which item, and its scan state. Nothing is
overwritten or deleted: a wrong file is superseded with a reason, and both
stay. Each upload, supersession and "insufficient" stands in the report's
history; an upload supplies its item (the checklist closes by itself, and
the case's clock resumes through report_materials_supplied as before).

An upload may carry an Idempotency-Key (the rules of
shared/idempotency_key.py): the record holds it under a unique index, so a
retry finds the first upload's file — the same item and bytes (SHA-256)
answer it again, other ones are a 422, one still uploading a 409 — and
nothing is kept twice. A failed upload lets its key go with its record.

An officer's own file ("other" evidence) is internal until disclosed (at
upload or later); the company neither lists nor reads an internal file (404,
as for none). Each upload, supersession and disclosure is also an event
(report_evidence_recorded) that case_supervision writes into the case's
history, marked for the company's view only when the company sees the file.

A daily sweep re-hashes the stored files checked longest ago; a mismatch is
written where the admin sees failures (GET /admin/failures), and on the
record (`integrity`).
"""
import hashlib
import logging
from datetime import timedelta
from typing import Any

from nameko.timer import timer
from werkzeug.http import parse_range_header
from werkzeug.wrappers import Response

from services.intake import evidence, materials, scanner, uploads
from services.intake import schemas as s
from services.intake.domain import RuleError
from shared import auth, clock, idempotency_key
from shared.errors import (Conflict, Forbidden, Invalid, NotFound, RangeNotSatisfiable,
                           TooLarge)
from shared.fields import schema
from shared.http import PROBLEM_JSON, Call, api, json_response
from shared.openapi import problem_example
from shared.rules import Change

log = logging.getLogger(__name__)

BINARY = {"schema": {"type": "string", "format": "binary"}}
UPLOAD_DOC = {
    # A retried upload: the same key and bytes answer the first file again.
    "parameters": [idempotency_key.HEADER],
    "requestBody": {"required": True, "content": {
        "application/octet-stream": BINARY, **{t: BINARY for t in evidence.ALLOWED},
        "multipart/form-data": {"schema": {"type": "object", "required": ["file"],
                                           "properties": {"file": BINARY["schema"]}}}}},
    "responses": {"415": {"description": "not an allowed type, or not what it says",
                          "content": {PROBLEM_JSON: {"schema": "Problem",
                                                     "example": problem_example("415")}}}}}
DOWNLOAD_DOC = {"responses": {
    "200": {"description": "the file, as an attachment",
            "content": {t: BINARY for t in evidence.ALLOWED}},
    "206": {"description": "the byte range asked for",
            "content": {t: BINARY for t in evidence.ALLOWED}},
    "416": {"description": "the range lies beyond the file (Content-Range: bytes */size)",
            "content": {PROBLEM_JSON: {"schema": "Problem",
                                       "example": problem_example("416")}}}}}

SAVE_TRIES = 10     # uploads to one report at once each write its history
INTEGRITY = "integrity_sweep"
STALE = "stale_upload_sweep"


class EvidenceRoutes:
    """The evidence routes and sweep; IntakeService supplies these."""
    repo: Any
    policy: Any
    config: Any
    _save: Any          # (report, change, now) -> whether the write won
    _allowed: Any       # (who, report, action) -> the report, or 404
    _act: Any           # a person's command on a report (shared/aggregate.py)

    @api("POST", "/reports/<report_id>/materials/<code>/files",
         action="report.supply_materials", limit="report.upload", answer=s.UploadedOut,
         status=201, doc=UPLOAD_DOC)
    def upload_file(self, call: Call, report_id: str, code: str) -> Any:
        """The file as the body (Content-Type, Content-Disposition: filename),
        or multipart/form-data with a `file` part; streamed, never held."""
        return self._receive(call, report_id, code, disclose=False)

    @api("POST", "/reports/<report_id>/files", action="report.supply_materials",
         limit="report.upload", query=s.OtherEvidenceQuery, answer=s.UploadedOut,
         status=201, doc=UPLOAD_DOC)
    def upload_other(self, call: Call, report_id: str) -> Any:
        """Other evidence, answering no checklist item: the company's, or an
        officer's own file, internal unless `?disclose=true`."""
        return self._receive(call, report_id, evidence.OTHER, call.query["disclose"])

    def _receive(self, call, report_id, code, disclose):
        report = self._allowed(call.who, self.repo.report(report_id),
                               "report.supply_materials")
        if not evidence.is_code(code, report):
            raise NotFound("no such checklist item", {"code": ["not on this report's "
                                                               "checklist"]})
        limits = evidence.Limits.of(self.policy)
        upload = uploads.incoming(call.request)
        # The same key, item and `disclose` is the same upload; its bytes are
        # compared by their SHA-256 when a retry comes (_replayed).
        key = idempotency_key.from_request(call.request, call.who, {"disclose": disclose})
        file_id = clock.new_id()
        # The pending record comes first: should this process die, the sweep
        # finds what the upload holds through it (_settle_stale). It holds the
        # upload's Idempotency-Key (unique): of two uploads with one key, one
        # record.
        record = {"_id": file_id, "report_id": report_id, "company_id": report["company_id"],
                  "code": code, "state": "uploading", "started_at": clock.now(),
                  "uploaded_by": {"subject": call.who.subject, "role": call.who.role,
                                  "unit": call.who.unit},
                  "disclosed": evidence.disclosed_at_upload(call.who, code, disclose)}
        if key is not None:
            record.update(idempotency_key=key.key, fingerprint=key.fingerprint)
        if not self.repo.add_evidence(dict(record)):
            return self._replayed(key, limits, upload)
        try:
            if report["status"] not in materials.OPEN:
                raise Conflict(f"a report that is {report['status']} takes no materials")
            if not self.repo.take_item_slot(report_id, code, file_id, limits.files_per_item):
                raise TooLarge(f"an item may hold at most {limits.files_per_item} files", {
                    "file": [f"at most {limits.files_per_item} files for one item"]})
            kept = uploads.store(self.repo, limits, report_id, file_id, upload)
            record.update(size=kept.size, sha256=kept.sha256, content_type=kept.content_type,
                          filename=kept.filename, uploaded_at=clock.now())
            self._with_report(report_id, lambda r, at: materials.uploaded(
                r, call.who, at, code, record))
        except BaseException:
            self._forget(record)
            raise
        # Scanned before anyone can see it; an infected file stays on
        # record (evidence of what was sent) but is never served.
        verdict = scanner.configured(self.config).scan(uploads.read_back(self.repo, file_id))
        record.update(scan={"state": verdict.state, "engine": verdict.engine,
                            "detail": verdict.detail, "at": clock.now()})
        self._keep(record)
        return 201, record

    def _replayed(self, key, limits, upload):
        """An upload whose Idempotency-Key has a record (the rules of
        shared/idempotency_key.py): another item → 422; still uploading →
        409; kept → its bytes are hashed (never stored) and the same file
        answers as the first time, other bytes → 422."""
        earlier = self.repo.evidence_by_key(key.key)
        if earlier is None:
            # The first try failed and let its key go this very moment.
            raise Conflict("a request with this Idempotency-Key is still being handled")
        if earlier["fingerprint"] != key.fingerprint:
            raise Invalid(idempotency_key.REUSED)
        if earlier["state"] != "stored":
            raise Conflict("a request with this Idempotency-Key is still being handled")
        if uploads.digest(limits, upload) != earlier["sha256"]:
            raise Invalid(idempotency_key.REUSED)
        response = json_response(201, schema(s.UploadedOut).dump(earlier))
        response.headers["Idempotent-Replayed"] = "true"
        return response

    @api("GET", "/reports/<report_id>/files", action="report.read", answer=s.EVIDENCE_LISTS)
    def list_files(self, call: Call, report_id: str) -> Any:
        self._allowed(call.who, self.repo.report(report_id), "report.read")
        view = s.CompanyEvidenceList if call.who.role == "company" else s.EvidenceList
        items = [r for r in self.repo.evidence_of(report_id) if evidence.visible_to(call.who, r)]
        return schema(view).dump({"items": items, "next": None})

    @api("GET", "/files/<file_id>", action="report.read", doc=DOWNLOAD_DOC)
    def download_file(self, call: Call, file_id: str) -> Any:
        """The bytes, as an attachment never rendered; one byte range if asked."""
        record = self._readable_file(call.who, file_id)
        if record["scan"]["state"] == scanner.INFECTED:
            raise Conflict("this file was found infected and is not served")
        size = record["size"]
        headers = {"Content-Disposition": evidence.attachment(record["filename"]),
                   "X-Content-Type-Options": "nosniff",
                   "Content-Security-Policy": "sandbox; default-src 'none'",
                   "Cache-Control": "private, no-store", "Accept-Ranges": "bytes",
                   "ETag": f'"{record["sha256"]}"'}
        status, start, end = 200, 0, size
        ranges = parse_range_header(call.request.headers.get("Range"))
        if ranges is not None and _fresh(call.request, record):
            span = ranges.range_for_length(size) if len(ranges.ranges) == 1 else None
            if span is None and len(ranges.ranges) == 1:
                raise RangeNotSatisfiable("the range lies beyond the file", size)
            if span is not None:
                status, (start, end) = 206, span
                headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
        headers["Content-Length"] = str(end - start)
        body = uploads.read_back(self.repo, file_id, start, end)
        return Response(body, status=status, headers=headers,
                        mimetype=record["content_type"], direct_passthrough=True)

    @api("POST", "/files/<file_id>/supersede", action="report.supply_materials",
         body=s.ReasonIn, answer=s.PoliceEvidenceOut)
    def supersede_file(self, call: Call, file_id: str) -> Any:
        """Mark a file wrong, with a reason: it stays on record, marked."""
        record = self._readable_file(call.who, file_id)
        self._allowed(call.who, self.repo.report(record["report_id"]),
                      "report.supply_materials")
        if not evidence.may_supersede(call.who, record):
            raise Forbidden("a company supersedes only the files it uploaded")
        now = clock.now()
        mark = {"at": now, "reason": call.body["reason"], "by": call.who.subject,
                "by_role": call.who.role}
        if not self.repo.set_evidence(file_id, {"superseded": mark}, {"superseded": None}):
            raise Conflict("this file is superseded already")
        self._with_report(record["report_id"], lambda r, at: materials.superseded(
            r, call.who, at, record, call.body["reason"]))
        return self.repo.evidence(file_id)

    @api("POST", "/files/<file_id>/disclose", action="report.act",
         answer=s.PoliceEvidenceOut)
    def disclose_file(self, call: Call, file_id: str) -> Any:
        """An officer's internal file shown to the company from now on (the
        owner unit's police); disclosing one already shown changes nothing."""
        record = self._readable_file(call.who, file_id)
        self._allowed(call.who, self.repo.report(record["report_id"]), "report.act")
        if evidence.company_sees(record):
            return record
        if self.repo.set_evidence(file_id, {"disclosed": True, "disclosure": {
                "at": clock.now(), "by": call.who.subject}}, {"disclosed": {"$ne": True}}):
            self._with_report(record["report_id"], lambda r, at: materials.disclosed(
                r, call.who, at, dict(record, disclosed=True)))
        return self.repo.evidence(file_id)

    @api("POST", "/reports/<report_id>/materials/<code>/insufficient", action="report.act",
         body=s.ReasonIn, answer=s.REPORT_VIEWS, keyed=True)
    def mark_insufficient(self, call: Call, report_id: str, code: str) -> Any:
        """What was handed in for an item is not enough: asked again, with
        the reason, as an extra request against the unit."""
        return self._act(call, report_id, materials.insufficient, code, call.body["reason"])

    # -- the integrity sweep ---------------------------------------------------
    @timer(interval=5)
    def sweep_evidence(self):
        """Uploads left by a process that died are settled; and once every
        EVIDENCE_SWEEP_SECONDS (a day) the files checked longest ago are
        hashed again. Each run by one instance."""
        now = clock.now()
        stale = timedelta(seconds=float(self.config.get("EVIDENCE_STALE_UPLOAD_SECONDS")
                                        or 3600))
        if self.repo.claim_sweep(STALE, now, min(stale, timedelta(minutes=5))):
            for record in self.repo.stale_uploads(now - stale):
                self._settle_stale(record)
        every = timedelta(seconds=float(self.config.get("EVIDENCE_SWEEP_SECONDS") or 86400))
        if not self.repo.claim_sweep(INTEGRITY, now, every):
            return
        for record in self.repo.evidence_to_check(
                int(self.config.get("EVIDENCE_SWEEP_SAMPLE") or 50)):
            digest = hashlib.sha256()
            try:
                for piece in uploads.read_back(self.repo, record["_id"]):
                    digest.update(piece)
                found = digest.hexdigest()
            except Exception as exc:    # a chunk missing is a mismatch too
                found = f"unreadable: {type(exc).__name__}"
            state = "ok" if found == record["sha256"] else "mismatch"
            self.repo.set_evidence(record["_id"], {"checked_at": clock.now(), "integrity": {
                "state": state, "at": clock.now(), "found": found}})
            if state == "mismatch":
                log.error("evidence %s of report %s no longer matches its sha256",
                          record["_id"], record["report_id"])
                self.repo.record_failure(
                    f"integrity:{record['_id']}:{found}", INTEGRITY,
                    "evidence_integrity_mismatch",
                    f"evidence file {record['_id']} of report {record['report_id']} "
                    f"({record['code']}, {record['filename']}): recorded sha256 "
                    f"{record['sha256']}, read {found}", clock.now())

    # -- helpers ---------------------------------------------------------------
    def _readable_file(self, who, file_id):
        """A stored file of a report the caller may read; 404 the same for
        another company's file as for none."""
        record = self.repo.evidence(file_id)
        report = record and record["state"] == "stored" and self.repo.report(
            record["report_id"])
        if not report or not auth.allows(who, "report.read", report) or not (
                evidence.visible_to(who, record)):
            raise NotFound("no such file")
        return record

    def _with_report(self, report_id, command):
        """Write `command(report, now)` on the report, reading it again when
        another write (another upload) got there first."""
        for _ in range(SAVE_TRIES):
            report, now = self.repo.report(report_id), clock.now()
            try:
                change: Change = command(report, now)
            except RuleError as exc:
                raise Conflict(str(exc))
            if self._save(report, change, now):
                return
        raise Conflict("it changed meanwhile; read it again")

    def _keep(self, record):
        """The upload is done: its record is stored, its quota settled."""
        record.update(state="stored", checked_at=None, superseded=None)
        self.repo.set_evidence(record["_id"], {k: v for k, v in record.items() if k != "_id"},
                               {"state": "uploading"})
        self.repo.settle_quota(record["report_id"], record["code"], record["_id"])

    def _forget(self, record):
        """An upload that failed: its bytes (if any were kept), its quota and
        its pending record go. Safe when none of them exist."""
        self.repo.delete_file_bytes(record["_id"])
        self.repo.give_back_quota(record["report_id"], record["code"], record["_id"])
        self.repo.drop_pending_evidence(record["_id"])

    def _settle_stale(self, record):
        """An upload whose process died: kept if the report's history has it
        (only the record's last write was lost), else forgotten."""
        report = self.repo.report(record["report_id"]) or {"history": []}
        entry = next((h for h in report["history"] if h["action"] == "upload_evidence"
                      and h.get("file_id") == record["_id"]), None)
        if entry is None:
            log.warning("forgetting upload %s of report %s: its process died",
                        record["_id"], record["report_id"])
            self._forget(record)
            return
        record.update({k: entry.get(k) for k in ("size", "sha256", "filename",
                                                 "content_type")},
                      uploaded_at=entry["at"], scan={
                          "state": scanner.NOT_SCANNED, "engine": None, "at": clock.now(),
                          "detail": "its upload was interrupted before the scan"})
        self._keep(record)


def _fresh(request, record):
    """If-Range (RFC 9110 §13.1.5): a range only of the same file."""
    tag = request.headers.get("If-Range")
    return tag is None or tag.strip() == f'"{record["sha256"]}"'

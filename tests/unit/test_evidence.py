"""Evidence files, the pure rules: what a file's bytes say it is, whether
its claim and name agree, how its name is shown and sent back, and how a
clamd answer is read."""
from datetime import datetime, timezone

import pytest

from services.case_supervision import domain as case_domain
from services.intake import evidence, scanner
from shared import auth
from services.intake.evidence import Unsupported, checked_type, display_name, sniff

PDF = b"%PDF-1.7\n" + bytes(range(256)) * 4
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(100)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(100)
MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + bytes(100)
MOV = b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00qt  " + bytes(100)


@pytest.mark.parametrize("head,kind", [
    (PDF, "application/pdf"), (PNG, "image/png"), (JPEG, "image/jpeg"),
    (MP4, "video/mp4"), (MOV, "video/quicktime"),
    ("报案经过：货款被骗。\n".encode(), "text/plain"),
    # a UTF-8 character cut by the end of the sniffed head is still text
    ("货款".encode()[:-1], "text/plain"),
])
def test_the_bytes_say_what_a_file_is(head, kind):
    assert sniff(head) == kind


@pytest.mark.parametrize("head", [
    b"MZ\x90\x00" + bytes(100),                                 # a Windows program
    b"PK\x03\x04" + bytes(100),                                 # a bare zip
    b"<svg xmlns='http://www.w3.org/2000/svg'><script/></svg>",
    b"\xef\xbb\xbf  <!DOCTYPE html><html></html>",
    b"<?xml version='1.0'?><svg/>",
    b"text with a \x00 byte",
    b"\xff\xfe not utf-8 \xc3\x28 at all",
])
def test_what_is_not_on_the_allowlist_is_nothing(head):
    assert sniff(head) is None


@pytest.mark.parametrize("declared,name", [
    ("application/pdf", "a.pdf"), ("application/pdf; charset=binary", "A.PDF"),
    ("application/octet-stream", "a.pdf"), (None, "a.pdf"),
])
def test_a_claim_and_a_name_that_agree_with_the_bytes_pass(declared, name):
    assert checked_type(PDF, declared, name) == "application/pdf"


def test_a_phone_video_may_say_mp4_or_mov_either_way():
    assert checked_type(MOV, "video/mp4", "clip.mp4") == "video/quicktime"
    assert checked_type(MP4, "video/quicktime", "clip.MOV") == "video/mp4"


@pytest.mark.parametrize("head,declared,name", [
    (PDF, "image/png", "a.pdf"), (PDF, "application/pdf", "a.exe"),
    (PDF, "application/pdf", "pdf"), (PNG, "text/plain", "a.png"),
    (b"MZ\x90\x00" + bytes(100), "application/pdf", "a.pdf"),
])
def test_a_claim_or_a_name_that_lies_is_refused(head, declared, name):
    with pytest.raises(Unsupported) as refused:
        checked_type(head, declared, name)
    assert refused.value.status == 415


@pytest.mark.parametrize("raw,shown", [
    ("../../x.pdf", "x.pdf"), ("..\\..\\windows\\x.pdf", "x.pdf"), ("/etc/passwd", "passwd"),
    (".htaccess", "htaccess"), ("a\x00b\r\nc.pdf", "abc.pdf"), ("", "file"), (None, "file"),
    ("../", "file"), ("e\u0301.txt", "\u00e9.txt"),
])
def test_a_name_is_only_ever_a_name(raw, shown):
    assert display_name(raw) == shown


def test_a_long_name_keeps_its_extension():
    name = display_name("x" * 500 + ".pdf")
    assert len(name) == evidence.MAX_NAME and name.endswith(".pdf")


def test_a_download_names_its_file_for_old_and_new_clients():
    assert evidence.attachment('报案 "1".pdf') == (
        "attachment; filename=\"__ _1_.pdf\"; "
        "filename*=UTF-8''%E6%8A%A5%E6%A1%88%20%221%22.pdf")


@pytest.mark.parametrize("reply,state,detail", [
    ("stream: OK", scanner.CLEAN, None),
    ("stream: Win.Test.EICAR_HDB-1 FOUND", scanner.INFECTED, "Win.Test.EICAR_HDB-1"),
    ("INSTREAM size limit exceeded. ERROR", scanner.FAILED,
     "INSTREAM size limit exceeded. ERROR"),
    ("", scanner.FAILED, "no answer"),
])
def test_a_clamd_answer_is_read_as_it_is(reply, state, detail):
    verdict = scanner.verdict(reply)
    assert (verdict.state, verdict.detail) == (state, detail)


def test_without_a_scanner_a_file_is_not_scanned_and_says_so():
    assert scanner.configured({}).scan([b"anything"]).state == scanner.NOT_SCANNED
    unreachable = scanner.configured({"CLAMD": "127.0.0.1:1"}).scan([b"x"])
    assert unreachable.state == scanner.FAILED


COMPANY = auth.Principal("company", "c1")
OFFICER = auth.Principal("officer", "o1", unit="station")


def record(role, code, **more):
    return {"uploaded_by": {"role": role}, "code": code, **more}


def test_an_officers_other_evidence_is_internal_unless_disclosed():
    assert evidence.disclosed_at_upload(COMPANY, evidence.OTHER, False)
    assert evidence.disclosed_at_upload(OFFICER, "bank_statement", False)  # the company's papers
    assert not evidence.disclosed_at_upload(OFFICER, evidence.OTHER, False)
    assert evidence.disclosed_at_upload(OFFICER, evidence.OTHER, True)
    internal = record("officer", evidence.OTHER, disclosed=False)
    assert not evidence.visible_to(COMPANY, internal) and evidence.visible_to(OFFICER, internal)
    assert evidence.visible_to(COMPANY, dict(internal, disclosed=True))
    # Kept before disclosure was: an officer's other evidence stays internal.
    assert not evidence.company_sees(record("officer", evidence.OTHER))
    assert evidence.company_sees(record("officer", "bank_statement"))
    assert evidence.company_sees(record("company", evidence.OTHER, disclosed=False))


def test_a_file_step_enters_the_case_history_once():
    data = {"action": "upload_evidence", "file_id": "f1", "at": "2026-11-30T10:00:00+00:00",
            "actor": "o1", "role": "officer", "unit": "station", "disclosed": False,
            "code": "other", "filename": "a.pdf", "sha256": "ab", "size": 3}
    fields, (entry,), events = case_domain.evidence_step({"history": []}, data)
    assert (fields, events, entry["disclose"], entry["file_id"]) == ({}, [], False, "f1")
    assert entry["at"] == datetime(2026, 11, 30, 10, tzinfo=timezone.utc)
    assert case_domain.evidence_step({"history": [entry]}, data) is None
    assert case_domain.evidence_step({"history": [entry]},
                                     dict(data, action="disclose_evidence")) is not None

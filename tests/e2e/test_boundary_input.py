"""Values at the edges of what a field can hold, sent to the running
processes: each is refused with a 4xx naming the field, or taken and shown
without a 500; and a value stored before these checks existed (a deadline
in year 9999) no longer breaks a unit's case pages."""
import base64
import json
from datetime import datetime, timedelta, timezone

import pytest
import requests

from shared.mongo import connect
from support.client import Client
from support.reports import report_body
from tests.helpers import eventually


@pytest.fixture(scope="module")
def world(running_system):
    system = running_system
    org = system.org()
    report = org.file_report()
    assert org.accept(report["report_id"]).status_code == 200
    case = eventually(lambda: system.cases_for(org, report["report_id"]))[0]
    cases = system.client("case_supervision")
    return {"system": system, "org": org, "case_id": case["case_id"],
            "report_id": report["report_id"],
            "officer": cases.as_(org.officer_token),
            "supervisor": cases.as_(org.supervisor_token),
            "company": cases.as_(org.company_token)}


def cases_db(system):
    prefix = system.env["FASTTRACK_DB_PREFIX"]
    return connect(system.stack.env["MONGO_URI"])[f"{prefix}fasttrack_cases"]


def everyone_reads(world, cid):
    for who in ("officer", "supervisor", "company"):
        one = world[who].get(f"/cases/{cid}")
        assert one.status_code == 200, (who, one.text)
        listed = world[who].get("/cases")
        assert listed.status_code == 200, (who, listed.text)
        assert cid in [c["case_id"] for c in listed.json()["items"]]
    return world["officer"].get(f"/cases/{cid}").json()


@pytest.mark.parametrize("due_at", [
    "9999-12-31T23:59:59Z", "9999-12-31T10:00Z", "0001-01-01T00:00:00+14:00",
    "2000-01-01T00:00:00Z", "past", "three years"])
def test_a_deadline_outside_now_to_two_years_is_refused_and_changes_nothing(world, due_at):
    now = datetime.now(timezone.utc)
    due_at = {"past": (now - timedelta(minutes=1)).isoformat(),
              "three years": (now + timedelta(days=3 * 365)).isoformat()}.get(due_at, due_at)
    cid = world["case_id"]
    before = world["officer"].get(f"/cases/{cid}").json()
    r = world["supervisor"].post(f"/cases/{cid}/deadline", {
        "stage": "conclusion", "due_at": due_at, "reason": "r"})
    assert r.status_code == 422 and "due_at" in r.json()["error"]["fields"], r.text
    assert everyone_reads(world, cid) == before


def test_a_deadline_within_two_years_is_set(world):
    cid = world["case_id"]
    due = datetime.now(timezone.utc) + timedelta(days=700)
    r = world["supervisor"].post(f"/cases/{cid}/deadline", {
        "stage": "conclusion", "due_at": due.isoformat(), "reason": "限期"})
    assert r.status_code == 200, r.text
    shown = datetime.fromisoformat(r.json()["deadlines"]["conclusion"])
    assert shown.utcoffset() == timedelta(hours=8)
    assert abs(shown - due) < timedelta(seconds=1)


@pytest.mark.parametrize("stored", ["9999-12-31T23:59:59", "9999-12-31T10:00:00"])
def test_a_case_stored_with_a_year_9999_deadline_reads_and_takes_writes(world, stored):
    """What the earlier code let a supervisor store: every read of the case,
    and every list holding it, answered 500."""
    system, org = world["system"], world["org"]
    report = org.file_report(summary=f"stored {stored}")
    assert org.accept(report["report_id"]).status_code == 200
    cid = eventually(lambda: system.cases_for(org, report["report_id"]))[0]["case_id"]
    due = datetime.fromisoformat(stored).replace(tzinfo=timezone.utc)
    set_at = datetime.now(timezone.utc).replace(microsecond=0)
    db = cases_db(system)
    assert db.cases.update_one({"_id": cid}, {
        "$set": {"overrides.conclusion": {"due_at": due, "set_at": set_at, "by": "sup"},
                 "deadlines.conclusion": due},
        "$inc": {"version": 1}}).modified_count == 1
    case = everyone_reads(world, cid)
    assert case["deadlines"]["conclusion"].startswith("9999-12-31")
    r = world["officer"].post(f"/cases/{cid}/progress", {"note": "still on it"})
    assert r.status_code == 200, r.text
    r = world["supervisor"].post(f"/cases/{cid}/escalate", {"reason": "slow"})
    assert r.status_code == 200, r.text
    everyone_reads(world, cid)


@pytest.mark.parametrize("occurred_at", [
    "0001-01-01T00:00:00Z", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00",
    "1990-06-01T00:00:00+08:00", "2999-01-01T00:00:00Z"])
def test_an_incident_date_outside_its_window_is_refused(world, occurred_at):
    company = world["system"].client("intake", world["org"].company_token)
    before = company.get("/reports").json()
    r = company.post("/reports", report_body(occurred_at=occurred_at))
    assert r.status_code == 422 and "occurred_at" in r.json()["error"]["fields"], r.text
    assert company.get("/reports").json() == before


def lone_surrogate_routes(world):
    cid, org = world["case_id"], world["org"]
    intake = world["system"].client("intake")
    yield intake.as_(org.company_token), "/reports", report_body(summary="\ud800"), "summary"
    yield (intake.as_(org.company_token), "/reports", report_body(description="a\udfffb"),
           "description")
    yield intake.as_(org.company_token), "/reports", report_body(location="\udc00"), "location"
    yield (intake.as_(org.company_token), "/reports", report_body(suspects=["\ud83d"]),
           "suspects")
    yield world["officer"], f"/cases/{cid}/progress", {"note": "\ud800"}, "note"
    yield world["officer"], f"/cases/{cid}/pause", {"reason": "\ud800"}, "reason"
    yield (world["officer"], f"/cases/{cid}/conclude",
           {"result": "solved", "summary": "\ud800"}, "summary")
    yield world["supervisor"], f"/cases/{cid}/escalate", {"reason": "\ud800"}, "reason"


def test_a_lone_surrogate_in_any_text_field_is_refused_naming_the_field(world):
    cid = world["case_id"]
    before = world["officer"].get(f"/cases/{cid}").json()
    for client, path, body, field in lone_surrogate_routes(world):
        r = client.post(path, body)
        assert r.status_code == 400, (path, r.text)
        assert field in r.json()["error"]["fields"], (path, r.text)
    assert world["officer"].get(f"/cases/{cid}").json() == before


def cursor(raw):
    return base64.urlsafe_b64encode(raw.encode()).decode()


@pytest.mark.parametrize("after", [
    cursor("0001-01-01T00:00:00+14:00|x"), cursor("9999-12-31T23:59:59-14:00|x"),
    cursor("0001-01-01T00:00:00|x"), "not base64 at all", cursor("no bar")])
def test_a_feed_cursor_that_is_not_ours_is_a_400(world, after):
    r = world["system"].client("notify", world["org"].company_token).get("/notices",
                                                                         after=after)
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_request", r.text


@pytest.mark.parametrize("query", [
    {"to": "0001-01-01T00:00:00Z"}, {"to": "9999-12-31T23:59:59Z"},
    {"from": "0001-01-01T00:00:00+14:00"}, {"from": "9999-12-31T23:59:59-14:00"}])
def test_a_scorecard_or_ledger_range_at_year_1_or_9999_is_a_422(world, query):
    org = world["org"]
    for path in (f"/units/{org.station}/scorecard", "/ledger"):
        r = world["supervisor"].get(path, **query)
        assert r.status_code == 422, (path, query, r.text)
        assert set(query) & set(r.json()["error"]["fields"]), r.text


def test_a_trailing_newline_makes_money_and_ids_invalid(world):
    system, org = world["system"], world["org"]
    company = system.client("intake", org.company_token)
    for amount in ("1.0\n", "21000.00\n", "\n1.00", "1.00\r\n"):
        r = company.post("/reports", report_body(estimated_loss=amount))
        assert r.status_code == 422 and "estimated_loss" in r.json()["error"]["fields"]
    admin = Client(system.stack.service_url("intake"), system.stack.env["FASTTRACK_ADMIN_TOKEN"])
    r = admin.post("/admin/units", {"unit_id": "u-newline\n", "name": "x", "kind": "station",
                                    "parent_unit_id": org.bureau})
    assert r.status_code == 422 and "unit_id" in r.json()["error"]["fields"], r.text
    r = admin.post("/admin/units", {"unit_id": "u-ok", "name": "x", "kind": "station",
                                    "parent_unit_id": f"{org.bureau}\n"})
    assert r.status_code == 422 and "parent_unit_id" in r.json()["error"]["fields"], r.text


def test_a_chunked_body_is_read_like_any_other(world):
    org = world["org"]
    body = json.dumps(report_body(summary="sent in chunks")).encode()

    def chunks():
        for i in range(0, len(body), 50):
            yield body[i:i + 50]
    r = requests.post(world["system"].stack.service_url("intake") + "/reports", data=chunks(),
                      headers={"Authorization": f"Bearer {org.company_token}",
                               "Content-Type": "application/json"}, timeout=15)
    assert r.status_code == 201 and r.json()["summary"] == "sent in chunks", r.text


def test_a_chunked_body_over_the_limit_is_a_413_and_files_nothing(world):
    org = world["org"]
    company = world["system"].client("intake", org.company_token)
    before = company.get("/reports").json()
    body = json.dumps(report_body(description="x" * 200_000)).encode()

    def chunks():
        for i in range(0, len(body), 8192):
            yield body[i:i + 8192]
    try:
        r = requests.post(world["system"].stack.service_url("intake") + "/reports",
                          data=chunks(), timeout=15,
                          headers={"Authorization": f"Bearer {org.company_token}",
                                   "Content-Type": "application/json"})
        assert r.status_code == 413, r.text
    except requests.ConnectionError:
        pass  # the server may close before the client finished sending: also refused
    assert company.get("/reports").json() == before

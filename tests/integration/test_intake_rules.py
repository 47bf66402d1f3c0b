"""Intake's rules on the real broker and database, as companies and officers
see them over HTTP, and as the events other services receive."""
import os
import time
import uuid
from datetime import datetime, timedelta

import pytest
import yaml

from services.intake.service import IntakeService
from shared import clock
from shared.fields import SHANGHAI
from shared.policy import ROOT
from support.client import Client
from support.organisation import Org
from support.reports import report_body
from tests.helpers import eventually


@pytest.fixture
def fast_policy(tmp_path):
    """The shipped policy with clocks of seconds; the business day ends soon."""
    with open(os.path.join(ROOT, "policy", "intake.yml"), encoding="utf-8") as f:
        policy = yaml.safe_load(f)

    def make(**overrides):
        policy.update({"ack_seconds": 3600, "ack_escalation_interval_seconds": 1,
                       "transfer_respond_seconds": 3600, "same_day_end": "23:59:59"},
                      **overrides)
        path = tmp_path / f"intake-{uuid.uuid4().hex[:6]}.yml"
        path.write_text(yaml.safe_dump(policy, allow_unicode=True), encoding="utf-8")
        return str(path)
    return make


@pytest.fixture
def intake(running, fast_policy):
    def start(**overrides):
        running.start(IntakeService, INTAKE_POLICY=fast_policy(**overrides))
        return running.urls["intake"]
    return start


def two_stations(running, intake):
    """An organisation whose station may offer its reports to a second one."""
    org = Org(intake(), running.config["ADMIN_TOKEN"])
    st2 = f"st2-{org.bureau}"
    receiver = org.intake.as_(add_unit(org, st2))
    return org, st2, org.intake.as_(org.officer_token), receiver


def add_unit(org, unit_id, kind="station", specialties=()):
    """A unit under the bureau, with an officer of its own; the officer's token."""
    return org.add_officer(f"o-{unit_id}", org.add_unit(unit_id, kind, specialties))


def test_economic_crime_is_routed_to_the_detachment_by_the_policy(running, intake):
    org = Org(intake(), running.config["ADMIN_TOKEN"])
    add_unit(org, f"ecd-{org.bureau}", "detachment", ["economic_crime"])
    police = org.intake.as_(org.supervisor_token)
    fraud = org.file_report(incident_type="fraud")
    theft = org.file_report(incident_type="theft")
    assert police.get(f"/reports/{fraud['report_id']}").json()["owner_unit_id"] == \
        f"ecd-{org.bureau}"
    assert police.get(f"/reports/{theft['report_id']}").json()["owner_unit_id"] == org.station
    # The company reads the unit's name, never its id.
    assert fraud["owner_unit_name"]["zh-CN"] == f"ecd-{org.bureau}-name"
    assert "owner_unit_id" not in fraud and f"ecd-{org.bureau}" not in str(
        {k: v for k, v in fraud.items() if k != "owner_unit_name"})


def test_an_officer_registers_a_walk_in_for_its_own_unit(running, intake):
    org = Org(intake(), running.config["ADMIN_TOKEN"])
    other = add_unit(org, f"st2-{org.bureau}")
    officer = org.intake.as_(other)
    assert officer.post("/reports", report_body()).status_code == 422  # for whom, how?
    r = officer.post("/reports", report_body(company_id=org.company_id, channel="walk_in"))
    assert r.status_code == 201, r.text
    assert r.json()["owner_unit_id"] == f"st2-{org.bureau}" and r.json()["channel"] == "walk_in"
    # The company sees it as its own report.
    assert org.intake.as_(org.company_token).get(
        f"/reports/{r.json()['report_id']}").status_code == 200


@pytest.mark.parametrize("change,field", [
    ({"colour": "red"}, "colour"), ({"incident_type": "jaywalking"}, "incident_type"),
    ({"estimated_loss": 21000.0}, "estimated_loss"), ({"estimated_loss": "-5"}, "estimated_loss"),
    ({"estimated_loss": "1.005"}, "estimated_loss"), ({"currency": "USD"}, "currency"),
    ({"summary": "x" * 201}, "summary"), ({"summary": ""}, "summary"),
    ({"occurred_at": (datetime.now(SHANGHAI) + timedelta(days=1)).isoformat()}, "occurred_at"),
    ({"company_id": "c1"}, "company_id"), ({"suspects": "one"}, "suspects"),
    ({"victim_count": 0}, "victim_count"), ({"victim_count": "120"}, "victim_count"),
])
def test_an_invalid_report_is_refused_and_nothing_is_stored(running, intake, change, field):
    org = Org(intake(), running.config["ADMIN_TOKEN"])
    company = org.intake.as_(org.company_token)
    r = company.post("/reports", report_body(**change))
    assert r.status_code == 422, r.text
    assert field in r.json()["error"]["fields"]
    assert company.get("/reports").json()["items"] == []


def test_the_number_of_victims_travels_with_the_report_to_its_case(running, intake, tap):
    org = Org(intake(), running.config["ADMIN_TOKEN"])
    events = tap("intake")
    one = org.file_report()
    many = org.file_report(summary="Investment scheme", victim_count=120)
    assert (one["victim_count"], many["victim_count"]) == (1, 120)
    assert org.accept(many["report_id"]).status_code == 200
    accepted = eventually(lambda: events.of("report_accepted", report_id=many["report_id"]))
    assert accepted[0]["data"]["victim_count"] == 120


def test_the_same_idempotency_key_answers_the_same_report(running, intake):
    org = Org(intake(), running.config["ADMIN_TOKEN"])
    company = org.intake.as_(org.company_token)
    first = company.post("/reports", report_body(), {"Idempotency-Key": "k-1"})
    again = company.post("/reports", report_body(), {"Idempotency-Key": "k-1"})
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["report_id"] == first.json()["report_id"]
    other = company.post("/reports", report_body(summary="Another"), {"Idempotency-Key": "k-1"})
    # The IETF draft's answer to a key reused with another body: 422.
    assert other.status_code == 422 and other.json()["code"] == "invalid"
    assert len(company.get("/reports").json()["items"]) == 1


def test_a_report_is_told_its_checklist_once_and_later_asks_are_extra(running, intake, tap):
    org = Org(intake(), running.config["ADMIN_TOKEN"])
    events = tap("intake")
    report = org.file_report(incident_type="contract_fraud", funds_in_transit=True)
    codes = [m["code"] for m in report["materials"]]
    assert codes == ["business_licence", "reporter_id", "written_statement", "contract",
                     "payment_records"]
    assert report["reference"].startswith("FT-") and report["ack_due_at"]
    rid = report["report_id"]
    company = org.intake.as_(org.company_token)
    r = company.post(f"/reports/{rid}/materials", {"supplied": ["contract", "reporter_id"]})
    assert r.status_code == 200, r.text
    assert [m["code"] for m in r.json()["materials"] if not m["supplied"]] == [
        "business_licence", "written_statement", "payment_records"]
    assert company.post(f"/reports/{rid}/materials", {"supplied": ["dna"]}).status_code == 409
    officer = org.intake.as_(org.officer_token)
    r = officer.post(f"/reports/{rid}/materials/extra",
                     {"items": [{"code": "audit", "label": "Audit report"}], "reason": "needed"})
    assert r.status_code == 200 and r.json()["materials"][-1]["extra"] is True
    assert company.post(f"/reports/{rid}/materials/extra", {
        "items": [{"code": "x", "label": "x"}], "reason": "x"}).status_code == 403
    extra = eventually(lambda: events.of("report_extra_materials_requested", report_id=rid))
    assert extra[0]["data"]["responsible_unit_id"] == org.station
    assert eventually(lambda: events.of("stop_payment_requested", report_id=rid))


def test_a_retried_request_with_its_idempotency_key_changes_nothing_twice(
        running, intake, tap):
    """An officer's answer was lost; the same request is sent again with its key."""
    org = Org(intake(), running.config["ADMIN_TOKEN"])
    events = tap("intake")
    rid = org.file_report()["report_id"]
    officer = org.intake.as_(org.officer_token)
    ask = {"items": [{"code": "audit", "label": "Audit report"}], "reason": "needed"}
    first = officer.post(f"/reports/{rid}/materials/extra", ask, {"Idempotency-Key": "x-1"})
    again = officer.post(f"/reports/{rid}/materials/extra", ask, {"Idempotency-Key": "x-1"})
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert [m["code"] for m in again.json()["materials"]].count("audit") == 1
    other = officer.post(f"/reports/{rid}/materials/extra", {**ask, "reason": "other"},
                         {"Idempotency-Key": "x-1"})
    assert other.status_code == 422 and "Idempotency-Key" in other.json()["error"]["message"]
    # Without a key the same request is a new request, refused by the rules.
    assert officer.post(f"/reports/{rid}/materials/extra", ask).status_code == 409
    accept = officer.post(f"/reports/{rid}/accept", None, {"Idempotency-Key": "a-1"})
    assert accept.status_code == 200
    assert officer.post(f"/reports/{rid}/accept", None, {"Idempotency-Key": "a-1"}).json() \
        == accept.json()      # not the 409 "accepted already" a keyless retry gets
    assert officer.post(f"/reports/{rid}/accept").status_code == 409
    history = officer.get(f"/reports/{rid}").json()["history"]
    assert [h["action"] for h in history].count("accept") == 1
    time.sleep(1)  # let anything twice reach the tap
    assert len(events.of("report_extra_materials_requested", report_id=rid)) == 1
    assert len(events.of("report_accepted", report_id=rid)) == 1
    for bad in ("", "k" * 256):
        r = officer.post(f"/reports/{rid}/acknowledge", None, {"Idempotency-Key": bad})
        assert r.status_code == 400, (bad, r.text)


def test_a_retried_transfer_answer_finds_its_first_effect(running, intake, tap):
    """The answer to a transfer decline or accept was lost: the retry with its
    key is answered, though the first call changed who may act on the report."""
    org, st2, sender, receiver = two_stations(running, intake)
    events = tap("intake")
    rid = org.file_report()["report_id"]
    sender.post(f"/reports/{rid}/transfer", {"to_unit_id": st2, "reason": "their area"})
    no = {"reason": "not our area"}
    assert receiver.post(f"/reports/{rid}/transfer/decline", no,
                         {"Idempotency-Key": "d-1"}).status_code == 200
    again = receiver.post(f"/reports/{rid}/transfer/decline", no, {"Idempotency-Key": "d-1"})
    # Done once; the unit that declined sees no more of the report than that.
    assert again.status_code == 200 and again.json() == {"report_id": rid, "status": "received"}
    sender.post(f"/reports/{rid}/transfer", {"to_unit_id": st2, "reason": "really theirs"})
    first = receiver.post(f"/reports/{rid}/transfer/accept", None, {"Idempotency-Key": "t-1"})
    # Meanwhile the company supplies a document: the report has changed since.
    assert org.intake.as_(org.company_token).post(
        f"/reports/{rid}/materials", {"supplied": ["reporter_id"]}).status_code == 200
    retry = receiver.post(f"/reports/{rid}/transfer/accept", None, {"Idempotency-Key": "t-1"})
    assert first.status_code == retry.status_code == 200
    assert retry.json()["owner_unit_id"] == st2 and retry.json()["status"] == "acknowledged"
    time.sleep(1)
    assert len(events.of("report_transfer_declined", report_id=rid)) == 1
    assert len(events.of("report_transferred", report_id=rid)) == 1
    # The sender's own "t-1" is its own request, not the receiver's.
    assert sender.post(f"/reports/{rid}/acknowledge", None,
                       {"Idempotency-Key": "t-1"}).status_code == 404  # no longer its report


def test_only_the_owner_unit_acknowledges_and_accepts(running, intake):
    org = Org(intake(), running.config["ADMIN_TOKEN"])
    other = org.intake.as_(add_unit(org, f"st2-{org.bureau}"))
    rid = org.file_report()["report_id"]
    assert other.post(f"/reports/{rid}/acknowledge").status_code == 404
    supervisor = org.intake.as_(org.supervisor_token)  # sees the subtree, does not act
    assert supervisor.get(f"/reports/{rid}").status_code == 200
    assert supervisor.post(f"/reports/{rid}/accept").status_code == 404
    officer = org.intake.as_(org.officer_token)
    assert officer.post(f"/reports/{rid}/acknowledge").json()["status"] == "acknowledged"
    assert officer.post(f"/reports/{rid}/acknowledge").status_code == 409
    assert officer.post(f"/reports/{rid}/accept").json()["status"] == "accepted"
    history = officer.get(f"/reports/{rid}").json()["history"]
    assert [(h["action"], h["actor"], h["before"], h["after"]) for h in history] == [
        ("receive", org.company_id, None, "received"),
        ("acknowledge", org.officer_id, "received", "acknowledged"),
        ("accept", org.officer_id, "acknowledged", "accepted")]


def test_a_transfer_needs_the_receivers_consent(running, intake, tap):
    org, st2, sender, receiver = two_stations(running, intake)
    events = tap("intake")
    rid = org.file_report()["report_id"]
    assert receiver.get(f"/reports/{rid}").status_code == 404  # not offered yet
    r = sender.post(f"/reports/{rid}/transfer", {"to_unit_id": st2, "reason": "their area"})
    assert r.json()["status"] == "transfer_pending" and r.json()["owner_unit_id"] == org.station
    assert receiver.get(f"/reports/{rid}").status_code == 200  # the offered unit sees it
    assert [i["report_id"] for i in receiver.get("/reports").json()["items"]] == [rid]
    assert sender.post(f"/reports/{rid}/transfer/accept").status_code == 404

    r = receiver.post(f"/reports/{rid}/transfer/decline", {"reason": "not our area"})
    assert r.json()["status"] == "received" and r.json()["owner_unit_id"] == org.station
    assert receiver.get(f"/reports/{rid}").status_code == 404

    sender.post(f"/reports/{rid}/transfer", {"to_unit_id": st2, "reason": "really theirs"})
    r = receiver.post(f"/reports/{rid}/transfer/accept")
    assert r.json()["owner_unit_id"] == st2 and r.json()["status"] == "acknowledged"
    assert [o["unit_id"] for o in r.json()["owners"]] == [org.station, st2]
    assert r.json()["owners"][0]["until"] is not None
    assert sender.post(f"/reports/{rid}/accept").status_code == 404  # no longer its own
    assert receiver.post(f"/reports/{rid}/accept").json()["status"] == "accepted"
    assert eventually(lambda: events.of("report_transfer_declined", report_id=rid))
    moved = eventually(lambda: events.of("report_transferred", report_id=rid))
    assert moved[0]["data"]["from_unit_id"] == org.station


def test_an_unanswered_offer_escalates_to_the_sender_once(running, intake, tap):
    org = Org(intake(transfer_respond_seconds=1), running.config["ADMIN_TOKEN"])
    st2 = f"st2-{org.bureau}"
    add_unit(org, st2)
    events = tap("intake")
    rid = org.file_report()["report_id"]
    org.intake.as_(org.officer_token).post(f"/reports/{rid}/transfer",
                                           {"to_unit_id": st2, "reason": "theirs"})
    overdue = eventually(lambda: events.of("report_transfer_overdue", report_id=rid))
    assert overdue[0]["data"]["responsible_unit_id"] == org.station
    assert overdue[0]["data"]["escalated_to_unit_id"] == org.station


def test_a_duplicate_is_flagged_and_merged_into_the_earlier_report(running, intake, tap):
    org = Org(intake(), running.config["ADMIN_TOKEN"])
    events = tap("intake")
    first = org.file_report()
    # A busy company: many reports of the same type since, none of that amount.
    officer = org.intake.as_(org.officer_token)

    def flagged(report):  # an officer's flag: the company's view has none
        assert "likely_duplicate_of" not in report
        return officer.get(f"/reports/{report['report_id']}").json()["likely_duplicate_of"]
    for i in range(55):
        assert flagged(org.file_report(estimated_loss=f"{100 + i}.00")) == []
    second = org.file_report(summary="The same invoice again")
    assert flagged(second) == [first["report_id"]]
    theirs = Org(running.urls["intake"], running.config["ADMIN_TOKEN"]).file_report()
    # Another unit's report is no target: as if it did not exist.
    refused = officer.post(f"/reports/{second['report_id']}/merge", {
        "into_report_id": theirs["report_id"], "reason": "x"})
    assert refused.status_code == 404 and refused.json() == officer.post(
        f"/reports/{second['report_id']}/merge",
        {"into_report_id": "no-such-report", "reason": "x"}).json()
    r = officer.post(f"/reports/{second['report_id']}/merge",
                     {"into_report_id": first["report_id"], "reason": "same invoice"})
    assert r.status_code == 200 and r.json()["status"] == "merged"
    assert officer.get(f"/reports/{first['report_id']}").json()["merged_reports"] == [
        second["report_id"]]
    merged = eventually(lambda: events.of("report_merged", report_id=second["report_id"]))
    assert merged[0]["data"]["company_id"] == org.company_id  # the company is told
    r = officer.post(f"/reports/{first['report_id']}/accept")
    accepted = eventually(lambda: events.of("report_accepted", report_id=first["report_id"]))
    assert accepted[0]["data"]["merged_count"] == 1


def test_a_missed_acknowledgement_escalates_up_the_tree_once_per_step(running, intake, tap):
    # Two intake instances sweep the same reports; each step happens once.
    url = intake(ack_seconds=1, ack_escalation_interval_seconds=1)
    intake(ack_seconds=1, ack_escalation_interval_seconds=1)
    org = Org(url, running.config["ADMIN_TOKEN"])
    events = tap("intake")
    rid = org.file_report()["report_id"]
    steps = eventually(lambda: len(events.of("report_ack_overdue", report_id=rid)) >= 2
                       and events.of("report_ack_overdue", report_id=rid), timeout=20)
    report = Client(url, org.officer_token).get(f"/reports/{rid}").json()
    assert report["ack_escalation_step"] == 2
    eventually(lambda: report_clock_stopped(running, rid))
    steps = events.of("report_ack_overdue", report_id=rid)
    assert [(e["data"]["step"], e["data"]["escalated_to_unit_id"]) for e in steps] == [
        (1, org.station), (2, org.bureau)]
    assert all(e["data"]["responsible_unit_id"] == org.station for e in steps)


def report_clock_stopped(running, rid):
    return "ack_next_at" not in running.db("intake").reports.find_one({"_id": rid})


def test_a_report_acknowledged_in_time_never_escalates(running, intake, tap):
    org = Org(intake(ack_seconds=2), running.config["ADMIN_TOKEN"])
    events = tap("intake")
    rid = org.file_report()["report_id"]
    org.intake.as_(org.officer_token).post(f"/reports/{rid}/acknowledge")
    eventually(lambda: report_clock_stopped(running, rid))
    marker = org.file_report(summary="later")  # a later event proves the tap is current
    eventually(lambda: events.of("report_received", report_id=marker["report_id"]))
    assert events.of("report_ack_overdue", report_id=rid) == []


def test_what_is_not_done_by_the_end_of_the_day_is_listed(running, intake, tap):
    day_end = (datetime.now(SHANGHAI) + timedelta(seconds=3)).strftime("%H:%M:%S")
    org = Org(intake(same_day_end=day_end), running.config["ADMIN_TOKEN"])
    events = tap("intake")
    open_one = org.file_report()["report_id"]
    done = org.file_report(summary="accepted at once")["report_id"]
    org.accept(done)
    missed = eventually(lambda: events.of("report_same_day_missed", report_id=open_one),
                        timeout=15)
    assert missed[0]["data"]["responsible_unit_id"] == org.station
    assert missed[0]["data"]["day"] == datetime.now(SHANGHAI).date().isoformat()
    assert events.of("report_same_day_missed", report_id=done) == []


def test_every_clock_that_runs_out_runs_and_then_the_report_leaves_the_sweep(
        running, intake, tap):
    """Two clocks of one report, read through the one index the sweep uses
    (next_due_at, issue 19): both run, each once; with none left running
    the report is no longer among those the sweep reads."""
    day_end = (datetime.now(SHANGHAI) + timedelta(seconds=3)).strftime("%H:%M:%S")
    org = Org(intake(ack_seconds=1, ack_escalation_interval_seconds=1, same_day_end=day_end),
              running.config["ADMIN_TOKEN"])
    events = tap("intake")
    rid = org.file_report()["report_id"]
    eventually(lambda: events.of("report_same_day_missed", report_id=rid)
               and len(events.of("report_ack_overdue", report_id=rid)) >= 2, timeout=20)
    stored = eventually(lambda: (lambda r: "next_due_at" not in r and r)(
        running.db("intake").reports.find_one({"_id": rid})))
    assert not {"ack_next_at", "same_day_due_at", "transfer_next_at"} & set(stored)
    assert len(events.of("report_same_day_missed", report_id=rid)) == 1
    assert [e["data"]["step"] for e in events.of("report_ack_overdue", report_id=rid)] == [1, 2]


def test_a_stale_update_is_refused_and_racing_accepts_give_one_case(running, intake, tap):
    from concurrent.futures import ThreadPoolExecutor

    from services.intake.repository import Repository
    org = Org(intake(), running.config["ADMIN_TOKEN"])
    events = tap("intake")
    rid = org.file_report()["report_id"]
    repo = Repository(running.db("intake"))
    stale = repo.report(rid)
    org.intake.as_(org.officer_token).post(f"/reports/{rid}/acknowledge")
    assert repo.save_report(stale, "intake", ({"status": "merged"}, [], []),
                            clock.now()) is None   # lost
    assert repo.report(rid)["status"] == "acknowledged"
    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(lambda _: org.accept(rid).status_code, range(6)))
    assert sorted(answers) == [200] + [409] * 5
    eventually(lambda: events.of("report_accepted", report_id=rid))
    marker = org.file_report(summary="marker")["report_id"]
    eventually(lambda: events.of("report_received", report_id=marker))
    assert len(events.of("report_accepted", report_id=rid)) == 1

"""Intake's pure rules: first contact, the state machine, the checklist, clocks."""
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from services.intake import deadlines, domain, materials, organisation
from shared import events as catalogue
from shared.auth import Principal

NOW = datetime(2026, 11, 28, 2, 0, tzinfo=timezone.utc)  # 10:00 in Shanghai
POLICY = {"version": 1, "ack_seconds": 1800, "ack_escalation_interval_seconds": 600,
          "transfer_respond_seconds": 3600, "same_day_end": "18:00",
          "common_materials": [{"code": "licence", "zh-CN": "營業執照", "en": "Licence"}],
          "materials": {"fraud": [{"code": "bank", "zh-CN": "銀行流水", "en": "Bank"}]}}
COMPANY = {"_id": "c1", "language": "en", "jurisdiction_unit_id": "st1"}
BODY = {"incident_type": "fraud", "summary": "s", "description": "d",
        "occurred_at": NOW - timedelta(days=1), "location": "l",
        "estimated_loss": Decimal("21000.00"), "currency": "CNY",
        "funds_in_transit": False, "suspects": []}
COMPANY_FILER = Principal("company", "c1")
OFFICER = Principal("officer", "o1", "st1", ("st1", "b1"))
OTHER = Principal("officer", "o2", "st2", ("st2", "b1"))


def report(**kw):
    doc, _ = domain.new_report(BODY, COMPANY_FILER, COMPANY, ["st1", "b1", "city"], POLICY,
                               NOW, "r1", "FT-20261128-000001")
    doc.update(kw)
    return doc


def types(events):
    return [t for t, _ in events]


@pytest.mark.parametrize("code", ["91350100M000100Y43", "91110000600037341L"])
def test_valid_credit_codes(code):
    assert organisation.credit_code_valid(code)


@pytest.mark.parametrize("code", ["91350100M000100Y44", "91350100M000100Y4", "",
                                  "91350100M000100Y4I", "9135010OM000100Y43"])
def test_invalid_credit_codes(code):
    assert not organisation.credit_code_valid(code)


UNITS = {"city": {"parent_unit_id": None},
         "b1": {"parent_unit_id": "city"},
         "st1": {"parent_unit_id": "b1"}, "st2": {"parent_unit_id": "b1"},
         "ecd": {"parent_unit_id": "b1", "specialties": ["economic_crime"]},
         "b2": {"parent_unit_id": "city"},
         "ecd2": {"parent_unit_id": "b2", "specialties": ["economic_crime"]}}
ROUTING = {"fraud": "economic_crime"}


def test_economic_crime_goes_to_the_nearest_detachment_and_the_rest_to_the_station():
    assert organisation.first_contact_owner(COMPANY_FILER, COMPANY, "fraud", UNITS,
                                            ROUTING) == "ecd"
    assert organisation.first_contact_owner(COMPANY_FILER, COMPANY, "theft", UNITS,
                                            ROUTING) == "st1"


def test_without_a_unit_of_that_specialty_the_jurisdiction_owns_it():
    units = {k: {"parent_unit_id": v["parent_unit_id"]} for k, v in UNITS.items()}
    assert organisation.first_contact_owner(COMPANY_FILER, COMPANY, "fraud", units,
                                            ROUTING) == "st1"


def test_an_officer_who_registers_a_walk_in_owns_it_for_its_unit():
    assert organisation.first_contact_owner(OTHER, COMPANY, "fraud", UNITS, ROUTING) == "st2"


def test_unit_path_walks_to_the_root_and_refuses_cycles():
    assert organisation.unit_path("st1", {"st1": "b1", "b1": "city", "city": None}) == [
        "st1", "b1", "city"]
    with pytest.raises(organisation.OrgError):
        organisation.unit_path("a", {"a": "b", "b": "a"})


def test_there_is_no_reject_and_every_end_is_accepted_merged_or_transferred():
    assert not any("reject" in action for _, action in domain.TRANSITIONS)
    ends = {new for _, new in domain.TRANSITIONS.items()} - {
        s for s, _ in domain.TRANSITIONS} - {domain.PREVIOUS}
    assert ends == {"accepted", "merged"}


@pytest.mark.parametrize("status,action", [
    ("accepted", "accept"), ("accepted", "acknowledge"), ("accepted", "transfer"),
    ("merged", "accept"), ("merged", "merge"), ("acknowledged", "acknowledge"),
    ("transfer_pending", "accept"), ("transfer_pending", "merge"),
    ("received", "transfer_accept"), ("acknowledged", "transfer_decline")])
def test_forbidden_transitions_are_refused(status, action):
    with pytest.raises(domain.RuleError):
        domain.next_status({"status": status, "transfer": None}, action)


def test_a_new_report_is_owned_told_its_checklist_and_announced():
    doc = report()
    assert doc["status"] == "received" and doc["owner_unit_id"] == "st1"
    assert doc["owners"] == [{"unit_id": "st1", "from": NOW, "to": None}]
    assert doc["ack_due_at"] == NOW + timedelta(seconds=1800) == doc["ack_next_at"]
    assert [m["label"] for m in doc["materials"]] == ["Licence", "Bank"]
    assert doc["history"][0]["actor"] == "c1"
    _, events = domain.new_report(BODY, COMPANY_FILER, COMPANY, ["st1"], POLICY, NOW, "r1",
                                  "FT", ["r0"])
    assert types(events) == ["report_received"]
    assert events[0][1]["estimated_loss"] == "21000.00"
    assert events[0][1]["likely_duplicate_of"] == ["r0"]
    assert events[0][1]["missing"] == ["licence", "bank"]


def test_money_in_transit_raises_a_stop_payment_request_at_once():
    _, events = domain.new_report(dict(BODY, funds_in_transit=True), COMPANY_FILER, COMPANY,
                                  ["st1"], POLICY, NOW, "r1", "FT-1")
    assert types(events) == ["report_received", "stop_payment_requested"]


def test_accepting_names_the_case_acknowledges_and_stops_the_clocks():
    fields, entries, events = domain.accept(report(), OFFICER, NOW)
    assert fields["status"] == "accepted"
    assert fields["case_id"] == catalogue.case_id_for("r1") != catalogue.case_id_for("r2")
    assert fields["acknowledged_by"] == "o1"
    assert fields["ack_next_at"] is None and fields["same_day_due_at"] is None  # stopped
    assert [(e["action"], e["actor"], e["before"], e["after"]) for e in entries] == [
        ("accept", "o1", "received", "accepted")]
    assert types(events) == ["report_accepted"] and events[0][1]["case_id"]


def test_a_transfer_keeps_the_owner_until_the_receiver_consents():
    fields, _, events = domain.transfer(report(), OFFICER, NOW, ["st2", "b1"], "wrong area",
                                       POLICY)
    assert fields["status"] == "transfer_pending"
    assert "owner_unit_id" not in fields
    assert fields["transfer_next_at"] == NOW + timedelta(seconds=3600)
    assert "ack_next_at" not in fields  # the sender's clock runs on
    assert types(events) == ["report_transfer_offered"]
    pending = report(status="transfer_pending", transfer=fields["transfer"])

    fields, _, events = domain.accept_transfer(pending, OTHER, NOW + timedelta(minutes=5))
    assert fields["owner_unit_id"] == "st2"
    assert [o["unit_id"] for o in fields["owners"]] == ["st1", "st2"]
    assert fields["owners"][0]["to"] == NOW + timedelta(minutes=5)
    assert types(events) == ["report_transferred"]

    fields, _, events = domain.decline_transfer(pending, OTHER, NOW, "not ours")
    assert fields["status"] == "received" and fields["transfer"] is None
    assert events[0][1]["reason"] == "not ours"


def test_a_report_cannot_be_transferred_to_its_own_unit():
    with pytest.raises(domain.RuleError):
        domain.transfer(report(), OFFICER, NOW, ["st1", "b1"], "x", POLICY)


def test_merge_only_into_another_open_report_of_the_same_company():
    target = report(_id="r0", reference="FT-0")
    fields, _, events = domain.merge(report(), OFFICER, NOW, target, "same incident")
    assert fields == {"status": "merged", "merged_into": "r0", "ack_next_at": None,
                      "same_day_due_at": None}
    assert events[0][1]["into_reference"] == "FT-0"
    for bad in (report(), report(_id="r0", company_id="c2"),
                report(_id="r0", status="merged")):
        with pytest.raises(domain.RuleError):
            domain.merge(report(), OFFICER, NOW, bad, "x")


def test_likely_duplicates_share_company_type_amount_and_time():
    near = {"_id": "a", "incident_type": "fraud", "estimated_loss": Decimal("21000.00"),
            "occurred_at": BODY["occurred_at"] + timedelta(hours=5), "status": "received"}
    assert domain.likely_duplicates(BODY, [
        near, dict(near, _id="b", estimated_loss=Decimal("1.00")),
        dict(near, _id="c", occurred_at=BODY["occurred_at"] + timedelta(days=5)),
        dict(near, _id="d", status="merged")]) == ["a"]


def test_materials_are_marked_supplied_and_unknown_codes_refused():
    fields, _, events = materials.supply(report(), COMPANY_FILER, NOW, ["bank"])
    assert [m["supplied"] for m in fields["materials"]] == [False, True]
    assert events[0][1]["missing"] == ["licence"] and events[0][1]["supplied"] == ["bank"]
    with pytest.raises(domain.RuleError):
        materials.supply(report(), COMPANY_FILER, NOW, ["passport"])


def test_anything_asked_later_is_an_extra_request_against_the_owner():
    fields, _, events = materials.request_extra(report(), OFFICER, NOW,
                                                [{"code": "audit", "label": "Audit"}], "needed")
    assert [m["code"] for m in fields["materials"]] == ["licence", "bank", "audit"]
    added = fields["materials"][-1]
    assert added["extra"] and added["responsible_unit_id"] == "st1"
    assert events[0][1]["responsible_unit_id"] == "st1"
    with pytest.raises(domain.RuleError):
        materials.request_extra(report(), OFFICER, NOW, [{"code": "bank", "label": "B"}], "x")


def test_missed_acknowledgement_climbs_the_tree_one_step_at_a_time():
    r = report()
    fields, entries, events = deadlines.ack_overdue(r, POLICY, NOW, domain.event_data)
    assert events[0][1]["escalated_to_unit_id"] == "st1" and events[0][1]["step"] == 1
    assert fields["ack_next_at"] == NOW + timedelta(seconds=600)
    assert entries[0]["actor"] == "system" and entries[0]["step"] == 1
    fields, _, events = deadlines.ack_overdue(dict(r, ack_step=2), POLICY, NOW,
                                              domain.event_data)
    assert events[0][1]["escalated_to_unit_id"] == "city"
    assert fields["ack_next_at"] is None  # the top: no further step


def test_the_business_day_ends_at_the_policys_local_time():
    # 10:00 Shanghai, day ends 18:00 Shanghai = 10:00 UTC.
    assert deadlines.same_day_due(POLICY, NOW) == datetime(2026, 11, 28, 10,
                                                           tzinfo=timezone.utc)
    # Received at 19:00 Shanghai: it belongs to the next day.
    late = datetime(2026, 11, 28, 11, tzinfo=timezone.utc)
    assert deadlines.same_day_due(POLICY, late) == datetime(2026, 11, 29, 10,
                                                            tzinfo=timezone.utc)
    _, _, events = deadlines.same_day_missed(report(), NOW, domain.event_data)
    assert events[0][1]["day"] == "2026-11-28" and events[0][1]["responsible_unit_id"] == "st1"


def test_the_sweep_reads_a_report_when_its_earliest_running_clock_runs_out():
    t = datetime(2026, 12, 2, 8, 0, tzinfo=timezone.utc)
    report = {"ack_next_at": t + timedelta(minutes=5), "same_day_due_at": t + timedelta(hours=9),
              "transfer_next_at": None}
    assert deadlines.next_due(report) == t + timedelta(minutes=5)
    assert deadlines.first_run_out(report, t) is None
    # A merge's link waits out its grace; the earliest clock still leads.
    linked = {"merge_link_due_at": t}
    assert deadlines.next_due(linked) == t + deadlines.MERGE_LINK_GRACE
    assert deadlines.first_run_out(linked, t + timedelta(seconds=1)) is None
    assert deadlines.first_run_out(linked, t + deadlines.MERGE_LINK_GRACE) == "merge_link_due_at"
    assert deadlines.next_due({}) is None


def test_of_two_clocks_run_out_the_sweep_runs_them_in_the_clocks_order():
    t = datetime(2026, 12, 2, 8, 0, tzinfo=timezone.utc)
    both = {"same_day_due_at": t - timedelta(hours=1), "ack_next_at": t - timedelta(seconds=1)}
    assert deadlines.first_run_out(both, t) == "ack_next_at"
    assert deadlines.first_run_out({"same_day_due_at": t}, t) == "same_day_due_at"

"""Intake's pure rules."""
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from services.intake import domain
from shared.auth import Principal

NOW = datetime(2026, 11, 28, 2, 0, tzinfo=timezone.utc)
POLICY = {"version": 1, "ack_seconds": 1800,
          "common_materials": [{"code": "licence", "zh-CN": "營業執照", "en": "Licence"}],
          "materials": {"fraud": [{"code": "bank", "zh-CN": "銀行流水", "en": "Bank"}]}}
COMPANY = {"_id": "c1", "language": "en", "jurisdiction_unit_id": "st1"}
BODY = {"incident_type": "fraud", "summary": "s", "description": "d",
        "occurred_at": NOW - timedelta(days=1), "location": "l",
        "estimated_loss": Decimal("21000.00"), "currency": "CNY",
        "funds_in_transit": False, "suspects": []}
COMPANY_FILER = Principal("company", "c1")
OFFICER = Principal("officer", "o1", "st2", ("st2", "b1"))


@pytest.mark.parametrize("code", ["91350100M000100Y43", "91110000600037341L"])
def test_valid_credit_codes(code):
    assert domain.credit_code_valid(code)


@pytest.mark.parametrize("code", ["91350100M000100Y44", "91350100M000100Y4", "",
                                  "91350100M000100Y4I", "9135010OM000100Y43"])
def test_invalid_credit_codes(code):
    assert not domain.credit_code_valid(code)


def test_there_is_no_reject_and_accept_is_final():
    assert not any(action == "reject" for _, action in domain.TRANSITIONS)
    assert domain.next_status("received", "accept") == "accepted"
    assert domain.next_status("acknowledged", "accept") == "accepted"
    for action in ("acknowledge", "accept"):
        with pytest.raises(domain.RuleError):
            domain.next_status("accepted", action)
    with pytest.raises(domain.RuleError):
        domain.next_status("acknowledged", "acknowledge")


def test_first_contact_owner_is_the_jurisdiction_or_the_registering_officers_unit():
    assert domain.first_contact_owner(COMPANY_FILER, COMPANY) == "st1"
    assert domain.first_contact_owner(OFFICER, COMPANY) == "st2"


def test_unit_path_walks_to_the_root():
    assert domain.unit_path("st1", {"st1": "b1", "b1": "city", "city": None}) == [
        "st1", "b1", "city"]


def test_a_new_report_is_owned_told_its_checklist_and_announced():
    doc, events = domain.new_report(BODY, COMPANY_FILER, COMPANY, ["st1", "b1"], POLICY,
                                    NOW, "r1", "FT-20261128-000001")
    assert doc["status"] == "received" and doc["owner_unit_id"] == "st1"
    assert doc["owners"] == [{"unit_id": "st1", "from": NOW, "to": None}]
    assert doc["ack_due_at"] == NOW + timedelta(seconds=1800)
    assert [m["label"] for m in doc["materials"]] == ["Licence", "Bank"]
    assert [t for t, _ in events] == ["report_received"]
    assert events[0][1]["estimated_loss"] == "21000.00"
    assert doc["history"][0]["actor"] == "c1"


def test_money_in_transit_raises_a_stop_payment_request_at_once():
    _, events = domain.new_report(dict(BODY, funds_in_transit=True), COMPANY_FILER, COMPANY,
                                  ["st1"], POLICY, NOW, "r1", "FT-1")
    assert [t for t, _ in events] == ["report_received", "stop_payment_requested"]


def test_accepting_names_the_case_and_acknowledges_if_needed():
    doc, _ = domain.new_report(BODY, COMPANY_FILER, COMPANY, ["st1"], POLICY, NOW, "r1", "FT")
    officer = Principal("officer", "o1", "st1", ("st1",))
    update, events = domain.accept(doc, officer, NOW)
    assert update["$set"]["status"] == "accepted"
    assert update["$set"]["case_id"] == domain.case_id_for("r1")
    assert update["$set"]["acknowledged_by"] == "o1"
    assert events[0][0] == "report_accepted"
    assert events[0][1]["case_id"] == domain.case_id_for("r1")
    assert domain.case_id_for("r1") != domain.case_id_for("r2")

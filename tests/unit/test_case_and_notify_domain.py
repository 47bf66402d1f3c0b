"""Case opening rules and notice texts."""
from datetime import datetime, timedelta, timezone

import pytest

from services.case_supervision import domain as cases
from services.notify import domain as notify
from shared.policy import load_policy

NOW = datetime(2026, 11, 28, 2, 0, tzinfo=timezone.utc)
POLICY = load_policy({}, "cases")


def accepted(**kw):
    data = {"case_id": "k1", "report_id": "r1", "reference": "FT-1", "company_id": "c1",
            "incident_type": "theft", "summary": "s", "owner_unit_path": ["st1", "b1", "city"],
            "accepted_by": "o1", "estimated_loss": "500.00", "funds_in_transit": False}
    data.update(kw)
    return data


@pytest.mark.parametrize("kw,priority,level,supervisor", [
    ({}, "normal", "unit", "st1"),
    ({"estimated_loss": "100000.00"}, "high", "district", "b1"),
    ({"funds_in_transit": True}, "urgent", "district", "b1"),
    ({"estimated_loss": "1000000.00"}, "urgent", "city", "city"),
    ({"incident_type": "extortion"}, "high", "district", "b1"),
])
def test_priority_and_supervision_follow_the_policy(kw, priority, level, supervisor):
    case, events = cases.open_case(accepted(**kw), POLICY, "FT-C-2026-000001", NOW)
    assert case["priority"] == priority
    assert case["supervision"] == {"level": level, "supervisor_unit_id": supervisor}
    assert events[0][1]["supervision_level"] == level


def test_a_case_has_a_lead_a_team_and_stage_deadlines():
    case, events = cases.open_case(accepted(), POLICY, "FT-C-2026-000007", NOW)
    assert case["_id"] == "k1" and case["case_number"] == "FT-C-2026-000007"
    assert case["team"] == {"lead_officer_id": "o1", "members": ["o1"]}
    assert case["deadlines"]["first_action"] == NOW + timedelta(
        seconds=POLICY["deadlines"]["normal"]["first_action"])
    assert [t for t, _ in events] == ["case_opened"]


def test_case_numbers_are_readable_and_sequential():
    assert cases.case_number(2026, 42) == "FT-C-2026-000042"


TEMPLATES = notify.load_templates()


def event(event_type, **data):
    return {"event_id": "e1", "type": event_type, "subject": "r1", "sequence": 1,
            "data": {"company_id": "c1", "reference": "FT-1", **data}}


def test_notices_are_written_in_the_companys_language():
    ev = event("report_accepted")
    en = notify.notice_for(ev, "en", TEMPLATES, "n1", NOW)
    zh = notify.notice_for(ev, "zh-CN", TEMPLATES, "n2", NOW)
    assert en["title"] == "Case accepted: FT-1" and en["language"] == "en"
    assert zh["title"] == "已受案：FT-1" and zh["language"] == "zh-CN"
    assert notify.notice_for(ev, None, TEMPLATES, "n3", NOW)["language"] == "zh-CN"


def test_money_is_shown_exactly_and_times_in_shanghai():
    assert notify.money("21000.00") == "¥21,000.00"
    assert notify.money("1234567.5") == "¥1,234,567.50"
    assert notify.shown("2026-11-28T16:30:00+00:00") == "2026-11-29 00:30"


def test_events_without_a_template_or_company_give_no_notice():
    assert notify.notice_for(event("company_registered"), "en", TEMPLATES, "n", NOW) is None
    ev = event("report_accepted")
    del ev["data"]["company_id"]
    assert notify.notice_for(ev, "en", TEMPLATES, "n", NOW) is None

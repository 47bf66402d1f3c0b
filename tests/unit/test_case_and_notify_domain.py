"""Case opening rules (notice texts: tests/unit/test_notify_domain.py)."""
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from services.case_supervision import clocks
from services.case_supervision import domain as cases
from services.case_supervision.policy import policy_path, read_policy

NOW = datetime(2026, 11, 28, 2, 0, tzinfo=timezone.utc)
POLICY = read_policy(policy_path({}))


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
    ({"merged_count": 3}, "high", "district", "b1"),
    ({"merged_count": 2}, "normal", "unit", "st1"),
    ({"victim_count": 9}, "normal", "unit", "st1"),
    ({"victim_count": 10}, "high", "district", "b1"),
    ({"victim_count": 100}, "urgent", "city", "city"),
])
def test_priority_and_supervision_follow_the_policy(kw, priority, level, supervisor):
    case = cases.open_case(accepted(**kw), POLICY, "FT-C-2026-000001", NOW)
    assert case["priority"] == priority
    assert case["supervision"] == {"level": level, "supervisor_unit_id": supervisor}
    assert cases.base_data(dict(case, **clocks.schedule(case, POLICY)))[
        "supervision_level"] == level


def test_a_case_has_a_lead_a_team_and_stage_deadlines():
    case = cases.open_case(accepted(), POLICY, "FT-C-2026-000007", NOW)
    case.update(clocks.schedule(case, POLICY))
    assert case["_id"] == "k1" and case["case_number"] == "FT-C-2026-000007"
    assert case["team"] == {"lead_officer_id": "o1", "lead_name": None, "members": ["o1"]}
    assert case["deadlines"]["first_action"] == NOW + timedelta(
        seconds=POLICY["deadlines"]["normal"]["first_action"])
    assert case["loss"] == {"estimated": Decimal("500.00"), "recovered": Decimal("0.00"),
                            "frozen": Decimal("0.00")}
    assert case["policy_version"] == POLICY["version"] and case["calendar"] == "wall_clock"


def test_case_numbers_are_readable_and_sequential():
    assert cases.case_number(2026, 42) == "FT-C-2026-000042"


"""The supervision board's colours and the admin's unit tree: pure rules
of the web app (services/web/supervisor.py, admin.py)."""
from datetime import datetime, timedelta, timezone

from services.web.admin import unit_tree
from services.web.supervisor import board_row, board_rows

T0 = datetime(2026, 11, 30, 8, 0, tzinfo=timezone.utc)


def case(*history, due=100, **kw):
    return dict({"case_id": "c1", "stage": "opened", "opened_at": T0.isoformat(),
                 "next_due_at": (T0 + timedelta(seconds=due)).isoformat(),
                 "deadlines": {"first_action": (T0 + timedelta(seconds=100)).isoformat()},
                 "history": [{"action": "open", "at": T0.isoformat()}, *history]}, **kw)


def at(seconds):
    return T0 + timedelta(seconds=seconds)


def test_a_row_is_green_then_amber_at_the_warn_share_then_red_after_its_deadline():
    assert board_row(case(), at(10))["state"] == "ok"
    assert board_row(case(), at(79))["state"] == "ok"
    assert board_row(case(), at(81))["state"] == "warn"
    assert board_row(case(), at(81))["warn_at"] == at(80).isoformat()
    assert board_row(case(), at(101))["state"] == "overdue"


def test_the_row_follows_the_services_deadline_and_warning_times_when_given():
    # The sweep's next step is the warning at 30 s; the deadline is at 100 s.
    given = case(due=30, next_deadline_at=at(100).isoformat(),
                 next_warning_at=at(30).isoformat())
    assert board_row(given, at(10))["state"] == "ok"
    assert board_row(given, at(10))["left"] == 90                 # to the deadline
    assert board_row(given, at(31))["state"] == "warn"            # the policy's own share
    assert board_row(given, at(31))["warn_at"] == at(30).isoformat()
    assert board_row(given, at(101))["state"] == "overdue"


def test_a_warning_from_the_service_makes_the_row_amber_whatever_the_share():
    warned = case({"action": "deadline_warning", "at": at(5).isoformat()})
    assert board_row(warned, at(10))["state"] == "warn"


def test_a_missed_deadline_stays_red_with_its_rung_until_someone_acts():
    missed = case({"action": "deadline_missed", "at": at(100).isoformat(),
                   "after": "first_action"},
                  {"action": "escalate", "at": at(101).isoformat(), "rung": "lead_officer"},
                  due=3600, escalation_level=1)
    row = board_row(missed, at(120))
    assert row["state"] == "overdue" and row["missed"]
    assert row["left"] == -20 and row["rung"] == "lead_officer" and row["level"] == 1
    acted = case(*missed["history"][1:],
                 {"action": "set_deadline", "at": at(130).isoformat()}, due=3600)
    assert board_row(acted, at(140))["state"] == "ok"


def test_the_board_puts_what_is_due_first_and_leaves_closed_cases_out():
    rows = board_rows([case(due=500, case_id="late"), case(due=50, case_id="soon"),
                       case(case_id="done", stage="closed")], at(0))
    assert [r["case"]["case_id"] for r in rows] == ["soon", "late"]


def test_the_unit_tree_puts_each_unit_under_its_parent():
    units = [{"unit_id": "st2", "parent_unit_id": "b1"}, {"unit_id": "b1", "parent_unit_id": None},
             {"unit_id": "st1", "parent_unit_id": "b1"}, {"unit_id": "x", "parent_unit_id": "far"}]
    assert [(d, u["unit_id"]) for d, u in unit_tree(units)] == [
        (0, "b1"), (1, "st1"), (1, "st2"), (0, "x")]

"""The case's state machine, every allowed and every forbidden move, and the
commands that ride on it (立案必果, satisfaction once per conclusion)."""
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from itertools import product

import pytest

from services.case_supervision import domain
from services.case_supervision.domain import STAGES, RuleError, check_move
from shared.auth import Principal

NOW = datetime(2026, 11, 28, 2, 0, tzinfo=timezone.utc)
OFFICER = Principal("officer", "o1", "st1", ("st1", "b1"))
ACTIONS = ("progress", "conclude", "close", "reopen")

ALLOWED = {
    ("opened", "investigating", "progress"), ("opened", "suspects_identified", "progress"),
    ("opened", "arrests_made", "progress"), ("opened", "recovering_losses", "progress"),
    ("investigating", "suspects_identified", "progress"),
    ("investigating", "arrests_made", "progress"),
    ("investigating", "recovering_losses", "progress"),
    ("suspects_identified", "arrests_made", "progress"),
    ("suspects_identified", "recovering_losses", "progress"),
    ("arrests_made", "recovering_losses", "progress"),
    ("opened", "concluded", "conclude"), ("investigating", "concluded", "conclude"),
    ("suspects_identified", "concluded", "conclude"), ("arrests_made", "concluded", "conclude"),
    ("recovering_losses", "concluded", "conclude"),
    ("concluded", "closed", "close"),
    ("concluded", "investigating", "reopen"), ("closed", "investigating", "reopen"),
}


@pytest.mark.parametrize("stage,to,action", sorted(ALLOWED))
def test_allowed_moves(stage, to, action):
    assert check_move(stage, to, action) == to


@pytest.mark.parametrize("stage,to,action", sorted(
    set(product(STAGES, STAGES, ACTIONS)) - ALLOWED))
def test_every_other_move_is_refused(stage, to, action):
    with pytest.raises(RuleError):
        check_move(stage, to, action)


def test_the_table_is_exactly_the_allowed_moves():
    assert {(a, b, act) for (a, b), act in domain.TRANSITIONS.items()} == ALLOWED


def new_case(**kw):
    case = domain.open_case({
        "case_id": "k1", "report_id": "r1", "reference": "FT-1", "company_id": "c1",
        "incident_type": "theft", "summary": "s", "owner_unit_path": ["st1", "b1"],
        "accepted_by": "o1", "estimated_loss": "50000.00", "funds_in_transit": False},
        {"rules": [{"when": {}, "priority": "normal", "level": "unit"}], "version": 1},
        "FT-C-2026-000001", NOW)
    case.update(kw)
    return case


def applied(case, result):
    fields, entries, events = result
    return dict(case, **fields, history=case["history"] + entries), events


def test_progress_records_the_stage_note_and_recovered_money_exactly():
    case, events = applied(new_case(), domain.progress(new_case(), OFFICER, {
        "stage": "recovering_losses", "note": "bank froze the account", "disclose": True,
        "recovered_amount": Decimal("0.10"), "frozen_amount": Decimal("0.20")}, NOW))
    case, more = applied(case, domain.progress(case, OFFICER, {
        "note": "more back", "recovered_amount": Decimal("0.20")}, NOW))
    assert case["stage"] == "recovering_losses"
    assert case["loss"]["recovered"] == Decimal("0.30")   # not 0.30000000000000004
    assert [t for t, _ in events] == ["case_progressed", "loss_recovered"]
    assert events[1][1]["total_frozen"] == "0.20" and more[1][1]["total_recovered"] == "0.30"
    assert case["met"] == {"first_action": NOW, "first_progress": NOW}


def test_the_note_leaves_in_the_event_only_when_disclosed():
    _, told = applied(new_case(), domain.progress(new_case(), OFFICER, {
        "note": "visible", "disclose": True}, NOW))
    _, kept = applied(new_case(), domain.progress(new_case(), OFFICER, {
        "note": "internal lead on suspect", "disclose": False}, NOW))
    assert told[0][1] == {"previous_stage": "opened", "disclose": True, "note": "visible"}
    assert kept[0][1] == {"previous_stage": "opened", "disclose": False}


def test_no_case_concludes_without_a_result_and_none_closes_before_concluding():
    with pytest.raises(RuleError):
        domain.close(new_case(), OFFICER, NOW)
    case, events = applied(new_case(), domain.conclude(new_case(), OFFICER, {
        "result": "solved", "summary": "two arrested, money back"}, NOW))
    assert case["result"] == "solved" and case["conclusion"]["number"] == 1
    assert events == [("case_concluded", {"result": "solved",
                                          "summary": "two arrested, money back"})]
    with pytest.raises(RuleError):
        domain.progress(case, OFFICER, {"note": "late"}, NOW)
    closed, _ = applied(case, domain.close(case, OFFICER, NOW))
    assert closed["stage"] == "closed"


def test_a_rating_is_taken_once_per_conclusion():
    company = Principal("company", "c1")
    with pytest.raises(RuleError):
        domain.rate(new_case(), company, {"rating": 5}, NOW)
    case, _ = applied(new_case(), domain.conclude(new_case(), OFFICER, {
        "result": "suspended", "summary": "no leads"}, NOW))
    case, events = applied(case, domain.rate(case, company, {"rating": 2, "comment": "slow"},
                                             NOW))
    assert events == [("case_rated", {"rating": 2})]   # the comment stays internal
    with pytest.raises(RuleError):
        domain.rate(case, company, {"rating": 5}, NOW)
    later = NOW + timedelta(days=1)
    case, _ = applied(case, domain.reopen(case, company, "new evidence", later))
    assert case["stage"] == "investigating" and case["result"] is None
    assert case["clock_from"] == later
    case, _ = applied(case, domain.conclude(case, OFFICER, {
        "result": "solved", "summary": "found"}, later))
    case, _ = applied(case, domain.rate(case, company, {"rating": 5}, later))
    assert [(r["conclusion"], r["rating"]) for r in case["ratings"]] == [(1, 2), (2, 5)]


def test_pausing_waits_on_the_company_and_resuming_ends_the_pause():
    case, events = applied(new_case(), domain.pause(new_case(), "o1", "officer",
                                                    "waiting for bank statements", NOW,
                                                    kind="materials",
                                                    waiting_for=["payment_records"]))
    assert case["paused"] and events == [("case_paused",
                                          {"reason": "waiting for bank statements"})]
    assert domain.pause(case, "o1", "officer", "again", NOW) is None
    assert not domain.waiting_satisfied(case, ["payment_records"])
    assert domain.waiting_satisfied(case, ["cctv"])
    later = NOW + timedelta(hours=2)
    case, events = applied(case, domain.resume(case, "company", "company", later))
    assert not case["paused"] and case["pauses"][0]["to"] == later
    assert domain.resume(case, "o1", "officer", later) is None


def test_team_members_are_added_once_and_a_new_lead_joins_the_team():
    case, _ = applied(new_case(), domain.add_member(new_case(), OFFICER, "o2", NOW))
    assert case["team"]["members"] == ["o1", "o2"]
    with pytest.raises(RuleError):
        domain.add_member(case, OFFICER, "o2", NOW)
    case, _ = applied(case, domain.reassign_lead(
        case, OFFICER, {"officer_id": "o3", "name": "王警官"}, "o1 on leave", NOW))
    assert case["team"] == {"lead_officer_id": "o3", "lead_name": "王警官",
                            "members": ["o1", "o2", "o3"]}
    assert case["history"][-1]["before"] == "o1" and case["history"][-1]["after"] == "o3"

"""Deadlines on a calendar, pauses, the warning, the miss and the ladder."""
from datetime import date, datetime, timedelta, timezone

import pytest

from services.case_supervision import clocks, domain, escalation
from services.case_supervision.calendars import WallClock, calendar_for, due_at
from services.case_supervision.policy import policy_path, read_policy
from shared.auth import Principal

UTC = timezone.utc
NOW = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)
SUPERVISOR = Principal("supervisor", "s1", "b1", ("b1", "city"))
OFFICER = Principal("officer", "o1", "st1", ("st1", "b1", "city"))
SHIPPED = read_policy(policy_path({}))
POLICY = {"version": 1, "rules": [{"when": {}, "priority": "normal", "level": "unit"}],
          "deadlines": {"normal": {"first_action": 100, "first_progress": 1000,
                                   "conclusion": 10000}},
          "progress_interval": {"normal": 5000},
          "escalation": {"warn_at": 0.8, "ladder": ["lead_officer", "unit_supervisor",
                                                    "supervisor"], "repeat_seconds": 50},
          "calendars": SHIPPED["calendars"], "unit_calendars": {"office": "office_hours"}}


def shanghai(*args):
    return datetime(*args, tzinfo=timezone(timedelta(hours=8))).astimezone(UTC)


OFFICE = calendar_for(POLICY, "office")


@pytest.mark.parametrize("day,working", [
    (date(2026, 2, 14), True),    # Saturday, a make-up workday (調休) before Spring Festival
    (date(2026, 2, 16), False),   # Monday in the Spring Festival holiday
    (date(2026, 2, 21), False),   # Saturday in the holiday
    (date(2026, 10, 10), True),   # Saturday, make-up workday after National Day
    (date(2026, 10, 8), True),    # Thursday after National Day: back to work
    (date(2025, 1, 26), True),    # Sunday, 2025's Spring Festival make-up day
    (date(2025, 10, 8), False),   # 2025 National Day and Mid-Autumn holiday
    (date(2026, 11, 28), False),  # an ordinary Saturday
    (date(2026, 11, 30), True),   # an ordinary Monday
])
def test_the_calendar_knows_holidays_and_make_up_workdays(day, working):
    assert OFFICE.is_working_day(day) is working


def test_working_hours_skip_nights_lunch_weekends_and_holidays():
    # Friday 13 Feb 2026, 17:00 local: 30 minutes left that day; Saturday 14th is
    # a make-up workday; the holiday runs 15th-23rd; work resumes Tuesday 24th.
    start = shanghai(2026, 2, 13, 17, 0)
    assert OFFICE.add(start, 1800) == shanghai(2026, 2, 13, 17, 30)
    assert OFFICE.add(start, 1800 + 3 * 3600) == shanghai(2026, 2, 14, 12, 0)
    assert OFFICE.add(start, 1800 + 7 * 3600 + 1) == shanghai(2026, 2, 24, 9, 0, 1)
    assert OFFICE.between(start, shanghai(2026, 2, 24, 9, 0, 1)) == 1800 + 7 * 3600 + 1


def test_wall_clock_is_the_default_and_runs_round_the_clock():
    assert isinstance(calendar_for(POLICY, "st1"), WallClock)
    assert due_at(WallClock(), NOW, 3600) == NOW + timedelta(hours=1)


def test_pauses_stop_the_clock_and_an_open_pause_has_no_due_time():
    pauses = [{"from": NOW + timedelta(seconds=10), "to": NOW + timedelta(seconds=70)}]
    assert due_at(WallClock(), NOW, 100, pauses) == NOW + timedelta(seconds=160)
    assert due_at(WallClock(), NOW, 5, pauses) == NOW + timedelta(seconds=5)
    assert due_at(WallClock(), NOW, 100, [{"from": NOW + timedelta(seconds=10),
                                           "to": None}]) is None


def case(**kw):
    c = domain.open_case({
        "case_id": "k1", "report_id": "r1", "reference": "FT-1", "company_id": "c1",
        "incident_type": "theft", "summary": "s", "owner_unit_path": ["st1", "b1", "city"],
        "accepted_by": "o1", "estimated_loss": "500.00", "funds_in_transit": False},
        POLICY, "FT-C-2026-000001", NOW)
    c.update(kw)
    c.update(clocks.schedule(c, POLICY))
    return c


def run(c, result, now):
    fields, entries, events = clocks.finish(c, result, POLICY, now)
    return dict(c, **fields, history=c["history"] + entries), events


def sweep(c, now):
    step = escalation.due_step(c, POLICY, now)
    if step is None:
        return c, []
    return run(c, escalation.take_step(c, step, POLICY, now), now)


def at(seconds):
    return NOW + timedelta(seconds=seconds)


def test_the_lead_is_warned_at_80_percent_then_the_miss_is_recorded_once():
    c = case()
    assert c["next_due_at"] == at(80)
    # What a person is shown: the deadline itself and when it turns amber.
    assert (c["next_deadline"], c["next_deadline_at"], c["next_warning_at"]) == (
        "first_action", at(100), at(80))
    assert escalation.due_step(c, POLICY, at(79)) is None
    c, events = sweep(c, at(80))
    assert [(t, d["deadline"]) for t, d in events] == [("case_deadline_warning", "first_action")]
    assert c["next_due_at"] == at(100)
    assert (c["next_deadline_at"], c["next_warning_at"]) == (at(100), None)   # warned
    c, events = sweep(c, at(100))
    assert events[0][0] == "case_deadline_missed"
    assert (c["next_deadline"], c["next_deadline_at"], c["next_warning_at"]) == (
        "first_progress", at(1000), at(800))
    assert events[0][1]["responsible_unit_id"] == "st1" and c["stale"]
    c, events = sweep(c, at(100))
    assert [t for t, _ in events] == ["case_escalated"]   # the ladder, not a second miss


def test_a_late_sweep_does_not_warn_about_a_deadline_already_passed():
    c, events = sweep(case(), at(150))
    assert [t for t, _ in events] == ["case_deadline_missed"]


def test_the_ladder_climbs_then_repeats_raising_the_supervision_level():
    c, _ = sweep(case(), at(100))            # first_action missed (late: no warning)
    rungs, now = [], at(100)
    for _ in range(5):
        c, events = sweep(c, now)
        data = events[0][1]
        rungs.append((data["rung"], data["escalated_to"], data["escalation_level"],
                      data["supervision_raised"], data["supervision_level"]))
        assert escalation.due_step(c, POLICY, now) is None or c["next_due_at"] > now
        now = c["chain"]["next_at"]
    assert rungs == [("lead_officer", "o1", 1, False, "unit"),
                     ("unit_supervisor", "st1", 2, False, "unit"),
                     ("supervisor", "st1", 3, False, "unit"),
                     ("supervisor", "b1", 4, True, "district"),
                     ("supervisor", "city", 5, True, "city")]


def test_progress_meets_the_deadline_and_stops_the_ladder():
    c, _ = sweep(case(), at(100))
    c, _ = sweep(c, at(100))
    c, _ = run(c, domain.progress(c, OFFICER, {"note": "on it"}, at(110)), at(110))
    assert c["chain"] is None and not c["stale"]
    assert c["progress_due_at"] == at(110 + 5000)


def test_a_supervisors_deadline_replaces_a_missed_one_and_can_be_missed_again():
    c, _ = sweep(case(), at(100))
    c, _ = sweep(c, at(100))
    c, events = run(c, clocks.set_deadline(c, SUPERVISOR, {
        "stage": "first_action", "due_at": at(300), "reason": "限期"}, at(200)), at(200))
    assert c["deadlines"]["first_action"] == at(300) and c["chain"] is None
    assert events[0][1]["due_at"] == at(300).isoformat()
    assert c["next_due_at"] == at(280)       # warned at 80 % of the new span
    c, _ = sweep(c, at(280))
    c, events = sweep(c, at(300))
    assert events[0][0] == "case_deadline_missed"
    with pytest.raises(domain.RuleError):
        clocks.set_deadline(c, SUPERVISOR, {"stage": "conclusion", "due_at": at(10),
                                            "reason": "past"}, at(400))


def test_waiting_on_the_company_pauses_every_deadline():
    c, _ = run(case(), domain.pause(case(), "o1", "officer", "statements", at(50)), at(50))
    assert c["next_due_at"] is None and c["deadlines"]["first_action"] is None
    assert escalation.due_step(c, POLICY, at(10_000)) is None
    c, _ = run(c, domain.resume(c, "company", "company", at(1050)), at(1050))
    assert c["deadlines"]["first_action"] == at(1100)     # the 1000 s paused do not count


def test_a_manual_escalation_raises_the_level_and_is_recorded():
    c, events = run(case(), escalation.escalate_by_hand(case(), SUPERVISOR, "loss growing",
                                                    at(5)), at(5))
    assert c["supervision"] == {"level": "district", "supervisor_unit_id": "b1"}
    assert events[0][1]["rung"] == "manual" and events[0][1]["escalation_level"] == 1


def test_a_new_policy_version_re_times_an_open_case_from_its_history():
    c = case()
    c, _ = run(c, domain.pause(c, "o1", "officer", "statements", at(10)), at(10))
    c, _ = run(c, domain.resume(c, "o1", "officer", at(30)), at(30))
    faster = dict(POLICY, version=2, deadlines={"normal": {
        "first_action": 50, "first_progress": 500, "conclusion": 5000}})
    derived = clocks.schedule(c, faster)
    assert derived["policy_version"] == 2
    assert derived["deadlines"]["first_action"] == at(70)   # 50 s + the 20 s paused


def test_a_unit_on_office_hours_gets_working_time_deadlines():
    c = domain.open_case({
        "case_id": "k2", "report_id": "r2", "reference": "FT-2", "company_id": "c1",
        "incident_type": "theft", "summary": "s", "owner_unit_path": ["office", "b1"],
        "accepted_by": "o1", "estimated_loss": "500.00", "funds_in_transit": False},
        POLICY, "FT-C-2026-000002", shanghai(2026, 2, 13, 17, 29))
    derived = clocks.schedule(c, POLICY)
    assert derived["calendar"] == "office_hours"
    # 100 s: one minute on Friday, the rest on the Saturday make-up workday.
    assert derived["deadlines"]["first_action"] == shanghai(2026, 2, 14, 9, 0, 40)

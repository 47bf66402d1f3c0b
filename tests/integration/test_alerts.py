"""Alerts to police on the real broker and database: who is told what, the
duty roster, acknowledge-or-it-climbs, the group robot, and that none of it
ever reaches a company."""
import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from services.notify.roster import BEIJING, WEEKDAYS
from support.robot import RobotReceiver
from tests.helpers import eventually
from tests.integration.alert_world import AlertWorld


@pytest.fixture
def robot():
    made = RobotReceiver("SECtest-secret")
    yield made
    made.close()


def test_an_unacknowledged_escalation_climbs_to_the_next_supervisor_once(running, tmp_path):
    w = AlertWorld(running, tmp_path, ack_within=2).with_intake().start_notify().start_notify()
    case_id = str(uuid.uuid4())
    w.case_escalated(case_id, "unit_supervisor", "st1", 2)
    first = eventually(lambda: w.of("s-st1", "case_escalated"), what="the station head paged")
    assert len(first) == 1 and first[0]["needs_ack"] and first[0]["severity"] == "critical"
    # Nobody acknowledges: after 2 s it goes to the bureau's supervisor, once,
    # though two notify instances sweep.
    climbed = eventually(lambda: w.of("s-b1", kind="climbed"), what="the bureau head paged")
    time.sleep(3)
    assert len(w.of("s-b1", kind="climbed")) == 1
    assert climbed[0]["from_person_id"] == "s-st1" and "未在时限内确认" in climbed[0]["body"]
    mine = w.of("s-st1", "case_escalated")[0]
    assert mine["climbed_to"] == ["s-b1"] and mine["climbed_to_unit"] == "b1"
    # city has no supervisor: the bureau head's unacknowledged alert stops at the top.
    eventually(lambda: w.of("s-b1", kind="climbed")[0]["climbed_at"], what="the top reached")
    assert w.of("o1") == [] and w.of("o2") == []


def test_an_acknowledged_alert_does_not_climb(running, tmp_path):
    w = AlertWorld(running, tmp_path, ack_within=2).with_intake().start_notify()
    w.case_escalated(str(uuid.uuid4()), "unit_supervisor", "st1", 2)
    alert = eventually(lambda: w.of("s-st1", "case_escalated"))[0]
    page = w.alerts("s-st1")
    assert page["unread"] == 1 and page["items"][0]["read_at"] is None
    r = w.as_("s-st1").post(f"/alerts/{alert['alert_id']}/ack")
    assert r.status_code == 200, r.text
    assert r.json()["acked_at"] and r.json()["read_at"]
    assert w.alerts("s-st1")["unread"] == 0
    # Someone else's alert is not found, and a company has no inbox.
    assert w.as_("s-b1").post(f"/alerts/{alert['alert_id']}/ack").status_code == 404
    assert w.as_(w.token("company", "c1")).get("/alerts").status_code == 403
    time.sleep(4)
    assert w.of("s-b1") == []


def shifts_around(now_local, seconds):
    """Two shifts meeting `seconds` from now: o1 until then, o2 from then."""
    change = (now_local + timedelta(seconds=seconds)).strftime("%H:%M:%S")
    start = (now_local - timedelta(hours=1)).strftime("%H:%M:%S")
    end = (now_local + timedelta(hours=1)).strftime("%H:%M:%S")
    return [{"start": start, "end": change, "officers": ["o1"]},
            {"start": change, "end": end, "officers": ["o2"]}]


def test_the_roster_picks_who_is_on_duty_across_a_shift_change(running, tmp_path):
    w = AlertWorld(running, tmp_path).with_intake().start_notify()
    now = datetime.now(BEIJING)
    # Every weekday alike, so a shift that crosses midnight reads the same.
    roster = {"weekly": {d: shifts_around(now, 4) for d in WEEKDAYS}}
    assert w.as_("o1").put("/units/st1/roster", roster).status_code == 403
    assert w.as_("s-b1").put("/units/st1/roster", dict(roster, weekly={"mon": [
        {"start": "08:00", "end": "20:00", "officers": ["s-b1"]}]})).status_code == 422
    r = w.as_("s-st1").put("/units/st1/roster", roster)
    assert r.status_code == 200, r.text
    assert r.json()["on_duty_now"] == ["o1"] and r.json()["timezone"] == "Asia/Shanghai"
    w.report_received()
    eventually(lambda: w.of("o1", "report_received"), what="o1 on duty told")
    time.sleep(max(0.0, 4.5 - (datetime.now(BEIJING) - now).total_seconds()))
    assert w.as_("o2").get("/units/st1/roster").json()["on_duty_now"] == ["o2"]
    w.report_received()
    eventually(lambda: w.of("o2", "report_received"), what="o2 on duty told")
    assert len(w.of("o1", "report_received")) == 1 and len(w.of("o2", "report_received")) == 1
    assert w.of("s-st1") == []   # someone was on duty each time


def test_a_holiday_override_replaces_the_day_and_nobody_on_duty_tells_everyone(
        running, tmp_path):
    w = AlertWorld(running, tmp_path).with_intake().start_notify()
    today = datetime.now(BEIJING).date().isoformat()
    all_day = [{"start": "00:00", "end": "00:00", "officers": ["o1"]}]
    holiday = {"date": today, "shifts": [{"start": "00:00", "end": "00:00",
                                          "officers": ["o2"]}], "reason": "国庆值班"}
    r = w.as_("s-st1").put("/units/st1/roster", {"weekly": {d: all_day for d in WEEKDAYS},
                                                "overrides": [holiday]})
    assert r.status_code == 200 and r.json()["on_duty_now"] == ["o2"], r.text
    w.report_received()
    eventually(lambda: w.of("o2", "report_received"))
    # A day off for everyone: nobody on duty, so every officer is told, and
    # the supervisor that nobody was.
    r = w.as_("s-st1").put("/units/st1/roster", {"weekly": {d: all_day for d in WEEKDAYS},
                                                "overrides": [dict(holiday, shifts=[])]})
    assert r.json()["on_duty_now"] == []
    w.report_received()
    eventually(lambda: len(w.of("o2", "report_received")) == 2 and w.of("o1", "report_received"))
    head = eventually(lambda: w.of("s-st1", kind="nobody_on_duty"))
    assert len(head) == 1 and head[0]["title"].startswith("无人值班")
    assert len(w.of("o1", "report_received")) == 1

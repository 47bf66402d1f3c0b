"""Alerts to police on the real broker and database: released in the order
of their case's events, and an unacknowledged alert's climb recorded in the
ledger once, with two notify instances."""
import time
import uuid
from datetime import datetime

import pytest

from services.case_supervision.service import CaseSupervisionService
from shared.inbox import CONSUMED
from support.client import Client
from support.robot import RobotReceiver
from tests.helpers import eventually
from tests.integration.alert_world import AlertWorld


@pytest.fixture
def robot():
    made = RobotReceiver("SECtest-secret")
    yield made
    made.close()


def test_a_cases_alerts_wait_for_its_earlier_events_and_come_out_in_order_once(
        running, tmp_path, robot):
    w = AlertWorld(running, tmp_path).with_intake().start_notify().start_notify()
    r = w.as_("s-st1").put("/units/st1/robot", {"url": robot.url, "secret": robot.secret})
    assert r.status_code == 200, r.text
    r = w.as_("o1").put("/alerts/settings", {"phone": "13800000001"})
    assert r.status_code == 200, r.text
    cid = str(uuid.uuid4())
    due = {"deadline": "first_action", "due_at": "2026-12-01T02:00:00+00:00"}
    # The case's events 2, 3 and 4 reach notify before its event 1.
    w.case_event("case_escalated", cid, 4, escalation_level=1, rung="lead_officer",
                 escalated_to="o1", reason="first_action deadline missed",
                 supervision_raised=False)
    w.case_event("case_deadline_missed", cid, 3, **due)
    w.case_event("case_deadline_warning", cid, 2, **due)
    time.sleep(3)
    assert w.of("o1") == [] and robot.messages == []     # all wait for event 1
    w.case_event("case_opened", cid, 1, supervision_level="district",
                 supervisor_unit_id="b1")
    kinds = ["case_opened", "case_deadline_warning", "case_deadline_missed", "case_escalated"]
    eventually(lambda: len(w.of("o1")) == 4, what="the four alerts")
    # Raised in the case's order (each a moment after the one before), once each.
    made = sorted(w.of("o1"), key=lambda a: datetime.fromisoformat(a["created_at"]))
    assert [a["event_type"] for a in made] == kinds
    # The robot (warning and up) gets them in the same order, each once.
    eventually(lambda: len(robot.messages) == 3, what="three robot messages")
    time.sleep(2)
    assert [m["markdown"]["title"] for m in robot.messages] == [
        "案件期限即将届满", "案件期限已超期", "案件督办升级"]
    assert len(w.of("o1")) == 4 and len(robot.messages) == 3
    assert all(m["at"]["atMobiles"] == ["13800000001"] for m in robot.messages)


def taken(handler, event_type, outcome):
    return CONSUMED.labels(handler, event_type, outcome)._value.get()


def test_an_event_delivered_three_times_to_two_instances_is_told_and_raised_once(
        running, tmp_path):
    """Notify's two consumers of an event (its notices, its police alerts)
    share the subject's cursors, or one stored event, as their inbox record
    (issue 19): copies taken at once by two instances, and one after, are
    recognised, and give one notice and one alert per person."""
    w = AlertWorld(running, tmp_path).with_intake().start_notify().start_notify()
    cid = str(uuid.uuid4())
    kinds = ("case_opened", "case_escalated")
    before = {(h, k, o): taken(h, k, o) for h in ("add_notice", "raise_alerts")
              for k in kinds for o in ("applied", "duplicate", "failed")}
    opened = w.case_event("case_opened", cid, 1, supervision_level="district",
                          supervisor_unit_id="b1")
    escalated = w.case_event("case_escalated", cid, 2, escalation_level=1,
                             rung="lead_officer", escalated_to="o1",
                             reason="first_action deadline missed", supervision_raised=False)
    for event in (escalated, opened, escalated, opened):   # two more copies of each
        running.publish("case_supervision", event, event["type"])

    def delta(handler, kind, outcome):
        return taken(handler, kind, outcome) - before[(handler, kind, outcome)]
    eventually(lambda: all(delta(h, k, "applied") + delta(h, k, "duplicate") == 3
                           for h in ("add_notice", "raise_alerts") for k in kinds),
               what="every copy taken by both consumers")
    for h in ("add_notice", "raise_alerts"):
        for k in kinds:   # the insert that won is the one applied; the rest are known
            assert (delta(h, k, "applied"), delta(h, k, "duplicate"),
                    delta(h, k, "failed")) == (1, 2, 0), (h, k)
    eventually(lambda: [a["event_type"] for a in w.of("o1")] == list(kinds),
               what="one alert of each event, in order")
    db = running.db("notify")
    ids = [opened["event_id"], escalated["event_id"]]
    # Told, and no record of either left held: kept by the case's cursors
    # (an event taken in order is not stored at all), or marked released.
    eventually(lambda: db.subjects.count_documents(
        {"_id": cid, "released": 2, "alerts.released": 2}) == 1,
        what="both events behind the notices' and the alerts' cursors")
    eventually(lambda: db.events.count_documents(
        {"_id": {"$in": ids}, "$nor": [{"state": "released", "alert_state": "released"}]})
        == 0, what="no record of either held")
    time.sleep(2)
    assert [a["event_type"] for a in w.of("o1")] == list(kinds)
    assert db.notices.count_documents({"event_id": opened["event_id"]}) == 1
    for event_id in ids:
        assert db.alerts.count_documents({"event_id": event_id, "person_id": "o1"}) == 1
    assert db.inbox.count_documents({"event_id": {"$in": ids}}) == 0   # no record of its own


def test_an_unacknowledged_escalation_climbs_and_the_ledger_records_each_climb_once(
        running, tmp_path):
    w = AlertWorld(running, tmp_path, ack_within=2).with_intake()
    running.start(CaseSupervisionService)
    ledger = Client(running.urls["case_supervision"], w.tokens["s-b1"])
    w.start_notify().start_notify()
    cid = str(uuid.uuid4())
    w.case_escalated(cid, "unit_supervisor", "st1", 2)
    eventually(lambda: w.of("s-st1", "case_escalated"), what="the station head paged")
    # Nobody acknowledges: it climbs to the bureau head, once, and on from
    # there to the top (city has no supervisor).
    climbed = eventually(lambda: w.of("s-b1", kind="climbed"), what="the bureau head paged")
    eventually(lambda: w.of("s-b1", kind="climbed")[0]["climbed_at"], what="the top reached")

    def rows():
        r = ledger.get("/ledger", case_id=cid)
        assert r.status_code == 200, r.text
        return [i for i in r.json()["items"] if i["kind"] == "alert_unacknowledged"]
    eventually(lambda: len(rows()) == 2, what="two ledger rows")
    time.sleep(3)
    found = {i["detail"]["not_reached"]: i for i in rows()}
    assert len(rows()) == 2 and set(found) == {"s-st1", "s-b1"}
    first, top = found["s-st1"], found["s-b1"]
    assert first["unit_id"] == "st1" and first["case_number"] == f"FT-C-{cid[:6]}"
    assert first["detail"]["told_next"] == ["s-b1"] and first["detail"]["to_unit_id"] == "b1"
    assert first["detail"]["alert_kind"] == "case_escalated" and first["status"] == "open"
    assert top["unit_id"] == "b1" and top["detail"]["told_next"] == []
    assert top["detail"]["alert_kind"] == "climbed"
    assert top["detail"]["alert_id"] == climbed[0]["alert_id"]
    assert len(w.of("s-b1", kind="climbed")) == 1
    print(w.timeline(("o1", "s-st1", "s-b1")))   # the closing note's timeline (pytest -s)


def test_one_escalated_case_climbs_rung_by_rung_and_every_climb_is_one_ledger_row(
        running, tmp_path, world):
    """The closing note's timeline (pytest -s): a real case misses its first
    action, climbs the ladder, and nobody acknowledges anything."""
    a = AlertWorld(running, tmp_path, ack_within=3).with_intake()
    w = world(first_action=4, warn_at=0.5, repeat=1).start()
    a.start_notify().start_notify()            # two instances on the same queues
    case = w.open_case(funds_in_transit=True)
    cid = case["case_id"]
    eventually(lambda: a.of("s-b1", "case_escalated"), timeout=30, what="rung 3 told")
    # Each rung's alert unacknowledged: o1's climbs to the station head,
    # the station head's to the bureau head, the bureau head's to the top.
    def climbs():
        return [i for i in w.ledger(case_id=cid) if i["kind"] == "alert_unacknowledged"]
    eventually(lambda: {(i["detail"]["not_reached"], i["detail"]["alert_kind"])
                        for i in climbs()} >= {("o1", "case_escalated"),
                                               ("s-st1", "case_escalated"),
                                               ("s-b1", "case_escalated")},
               timeout=30, what="a ledger row for each rung's climb")
    w.post(w.bureau_head, cid, "deadline", {"stage": "first_action", "reason": "限期",
                                            "due_at": "2027-01-01T00:00:00+00:00"})
    time.sleep(4)
    rows = climbs()
    assert len({i["detail"]["alert_id"] for i in rows}) == len(rows)   # once per alert
    told = {(i["detail"]["not_reached"], i["detail"]["alert_kind"]): i["detail"]["told_next"]
            for i in rows}
    assert told[("o1", "case_escalated")] == ["s-st1"]
    assert told[("s-st1", "case_escalated")] == ["s-b1"]
    assert told[("s-b1", "case_escalated")] == []
    assert [x["rung"] for x in a.of("s-st1", kind="case_escalated")] == ["unit_supervisor"]
    assert [x["rung"] for x in a.of("s-b1", kind="case_escalated")] == ["supervisor"]
    assert [x["from_person_id"] for x in a.of("s-st1", kind="climbed")] == ["o1"]
    print("\n" + a.timeline(("o1", "s-st1", "s-b1")))
    for i in sorted(rows, key=lambda i: i["created_at"]):
        d = i["detail"]
        print(f"| {i['created_at']} | {i['unit_id']} | {d['alert_kind']} | {d['not_reached']} "
              f"| {','.join(d['told_next']) or '(top)'} |")

"""Alerts to police on the real broker and database: who is told what, the
duty roster, acknowledge-or-it-climbs, the group robot, and that none of it
ever reaches a company."""
import email
import email.policy
import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from bench import scans

from services.notify.roster import BEIJING, WEEKDAYS
from support.robot import RobotReceiver
from shared.auth import issue_token
from tests.conftest import ADMIN_TOKEN, SIGNING_KEY
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


def test_the_climb_reads_nothing_by_a_whole_collection(running, tmp_path):
    """Every filter notify sends while an alert is raised, waits and climbs
    is one SecantusDB answers through an index: a filter with one field
    beyond its index's reads every alert ever raised (bench/scans.py), and
    "has anyone acknowledged this key" did, on every climb."""
    w = AlertWorld(running, tmp_path, ack_within=1).with_intake().start_notify()
    db = running.db("notify")
    db.command("profile", 2)
    try:
        w.case_escalated(str(uuid.uuid4()), "unit_supervisor", "st1", 2)
        eventually(lambda: w.of("s-b1", kind="climbed"), what="the bureau head paged")
        eventually(lambda: w.of("s-b1", kind="climbed")[0]["climbed_at"], what="the top reached")
    finally:
        db.command("profile", 0)
    samples = {}
    for entry in db["system.profile"].find():
        picked = scans.filter_of(entry.get("command"))
        if picked:
            name, collection, flt = picked
            samples.setdefault(f"{name}/{collection}/{scans.shape(flt)}", (db.name, collection, flt))
    asked = [k for k in samples if k.startswith("find/alerts/") and "key" in k.split("/")[2]]
    assert asked, sorted(samples)   # the climb asked whether anyone acknowledged
    assert scans.scans(db.client, samples) == []


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
    # The inbox is cursor-paged, newest first.
    first = w.alerts("o2", limit=1)
    second = w.alerts("o2", limit=1, after=first["next"])
    assert first["unread"] == 2 and second["next"] is None
    assert first["items"][0]["created_at"] > second["items"][0]["created_at"]


def test_the_ladder_reaches_each_person_once_and_the_duty_room_robot(
        running, tmp_path, world, robot):
    a = AlertWorld(running, tmp_path).with_intake()
    w = world(first_action=4, warn_at=0.5, repeat=1).start()
    a.start_notify().start_notify()            # two instances on the same queues
    r = a.as_("s-st1").put("/units/st1/robot", {"url": robot.url, "secret": robot.secret})
    assert r.status_code == 200 and r.json()["signed"], r.text
    for person, phone in (("o1", "13800000001"), ("s-st1", "13800000002")):
        r = a.as_(person).put("/alerts/settings", {"phone": phone})
        assert r.status_code == 200, r.text
    case = w.open_case(funds_in_transit=True)   # urgent, flagged to the district (b1)
    cid = case["case_id"]
    assert case["supervision"]["supervisor_unit_id"] == "b1"
    eventually(lambda: len([h for h in w.case(cid)["history"] if h["action"] == "escalate"])
               >= 3, timeout=30, what="three rungs")
    w.post(w.bureau_head, cid, "deadline", {
        "stage": "first_action", "reason": "限期",
        "due_at": (datetime.now(timezone.utc) + timedelta(hours=1)).isoformat()})
    # The lead: the warning, then the miss, then the first rung.
    lead = eventually(lambda: len(a.of("o1", "case_escalated")) >= 1 and a.of("o1"))
    kinds = [x["event_type"] for x in lead]
    assert kinds.index("case_deadline_warning") < kinds.index("case_deadline_missed") \
        < kinds.index("case_escalated")
    assert [x["rung"] for x in a.of("o1", "case_escalated")] == ["lead_officer"]
    # The station's supervisor gets rung 2, the bureau's rung 3: each once.
    eventually(lambda: a.of("s-b1", "case_escalated"), what="rung 3 told")
    time.sleep(2)
    assert [x["rung"] for x in a.of("s-st1", "case_escalated")] == ["unit_supervisor"]
    assert [x["rung"] for x in a.of("s-b1", "case_escalated")] == ["supervisor"]
    assert all(x["needs_ack"] for x in a.of("s-b1", "case_escalated"))
    # The duty room's robot: signed, each escalation of st1 once, @ the person named.
    rungs = eventually(lambda: len(robot.titled("督办升级")) >= 2 and robot.titled("督办升级"))
    assert [m["at"]["atMobiles"] for m in rungs] == [["13800000001"], ["13800000002"]]
    assert all(f"@{m['at']['atMobiles'][0]}" in m["markdown"]["text"] for m in rungs)
    assert robot.refused == []
    # None of it reaches the company: no inbox, and its feed holds notices only.
    company = a.token("company", "c1")
    assert a.as_(company).get("/alerts").status_code == 403
    feed = a.as_(company).get("/notices").json()["items"]
    alert_ids = {x["alert_id"] for p in ("o1", "s-st1", "s-b1") for x in a.of(p)}
    assert not {n["notice_id"] for n in feed} & alert_ids
    assert not [n for n in feed if n["event_type"] in (
        "case_deadline_warning", "case_deadline_missed", "case_escalated")]
    assert all(d.get("company_id") for d in a.as_(ADMIN_TOKEN).get("/deliveries").json()["items"])
    print(timeline(a, ("o1", "s-st1", "s-b1")))   # the closing note's timeline (pytest -s)


def timeline(a, people):
    """Who was told what and when, in Beijing time, oldest first."""
    rows = sorted((x["created_at"], p, x["title"], x.get("rung") or "")
                  for p in people for x in a.of(p))
    return "\n".join(" | ".join(row) for row in rows)


def test_every_channel_for_an_escalation_and_a_failing_robot_holds_none_back(
        running, tmp_path, robot, smtp_server):
    w = AlertWorld(running, tmp_path).with_intake()
    w.start_notify(**{k: v for k, v in smtp_server.items() if k != "box"})
    # The robot's secret is not the one the robot checks: every try is refused.
    r = w.as_("s-st1").put("/units/st1/robot", {"url": robot.url, "secret": "SECwrong"})
    assert r.status_code == 200, r.text
    r = w.as_("s-st1").put("/alerts/settings", {"email": "head@st1.example",
                                                "phone": "13800000002"})
    assert r.status_code == 200, r.text
    w.case_escalated(str(uuid.uuid4()), "unit_supervisor", "st1", 2)
    eventually(lambda: w.of("s-st1", "case_escalated"))
    mail = eventually(lambda: list(smtp_server["box"].iterdir()), what="the email sent")
    message = email.message_from_bytes(mail[0].read_bytes(), policy=email.policy.default)
    assert message["Subject"] == "案件督办升级" and message["To"] == "head@st1.example"
    admin = w.as_(ADMIN_TOKEN)
    sent = eventually(lambda: {d["channel"]: d for d in admin.get(
        "/alert-deliveries").json()["items"] if d["status"] != "pending"}.keys() == {
        "email", "sms", "robot"} and admin.get("/alert-deliveries").json()["items"],
        what="each channel finished")
    by = {d["channel"]: d for d in sent}
    assert by["email"]["status"] == by["sms"]["status"] == "delivered"
    assert by["robot"]["status"] == "dead" and by["robot"]["tries"] == 5
    assert len(robot.refused) == 5 and robot.messages == []
    # The robot's secret put right, the admin replays the dead letter.
    r = w.as_("s-st1").put("/units/st1/robot", {"url": robot.url, "secret": robot.secret})
    assert r.status_code == 200, r.text
    dead = by["robot"]["delivery_id"]
    assert admin.post(f"/alert-deliveries/{by['email']['delivery_id']}/replay").status_code \
        == 409
    assert admin.post(f"/alert-deliveries/{dead}/replay").status_code == 200
    message = eventually(lambda: robot.messages, what="the replayed robot message")[0]
    assert message["at"]["atMobiles"] == ["13800000002"]
    # An officer's token sees no deliveries; a company's no inbox.
    assert w.as_("s-st1").get("/alert-deliveries").status_code == 403


def test_the_officers_a_case_names_hear_of_it_and_the_company_rating_low_tells_the_head(
        running, tmp_path, world):
    # hold=1: the materials event below skips sequences (a gap held 1 s, then stepped over)
    a = AlertWorld(running, tmp_path, hold=1).with_intake()
    w = world().start()
    a.start_notify()
    case = w.open_case()
    cid, report_id = case["case_id"], case["report_id"]
    assert eventually(lambda: a.of("o1", "case_opened"))[0]["severity"] == "info"
    assert w.post(w.officer, cid, "team", {"officer_id": "o2"}).status_code == 200
    assert eventually(lambda: a.of("o2", "case_member_added"))[0]["case_id"] == cid
    r = w.post(w.bureau_head, cid, "lead", {"officer_id": "o2", "reason": "o1 on leave"})
    assert r.status_code == 200, r.text
    eventually(lambda: a.of("o2", "case_lead_reassigned"), what="the new lead told")
    # The company hands in materials: the case's lead now is o2.
    a.seq[report_id] = 50
    a.publish("intake", "report_materials_supplied", report_id, report_id=report_id,
              reference="FT-1", owner_unit_id="st1", owner_unit_path=["st1", "b1", "city"],
              supplied=["bank"], missing=[])
    eventually(lambda: a.of("o2", "report_materials_supplied"), what="the lead told")
    assert a.of("o1", "report_materials_supplied") == []
    r = w.post(a.tokens["o2"], cid, "conclude", {"result": "solved", "summary": "arrested"})
    assert r.status_code == 200, r.text
    r = w.post(w.company, cid, "satisfaction", {"rating": 2, "comment": "slow"})
    assert r.status_code == 201, r.text
    eventually(lambda: a.of("o2", "case_rated") and a.of("s-st1", "case_rated"),
               what="the lead and the station head told of a low rating")
    assert a.of("o1", "case_rated") == [] and a.of("s-b1", "case_rated") == []


def test_who_may_read_and_edit_a_units_roster_and_robot(running, tmp_path):
    w = AlertWorld(running, tmp_path).with_intake().start_notify()
    roster = {"weekly": {"mon": [{"start": "08:00", "end": "20:00", "officers": ["o1"]}]}}
    robot = {"url": "http://127.0.0.1:9/robot/send?access_token=x", "secret": "SECx"}
    stranger = issue_token(SIGNING_KEY, "officer", "o9", "st9", ["st9", "b9", "city"])
    company = w.token("company", "c1")
    cases = [  # who, method, path, body, status
        (company, "GET", "/alerts", None, 403),
        (company, "PUT", "/alerts/settings", {"phone": "13800000009"}, 403),
        (company, "GET", "/units/st1/roster", None, 403),
        (company, "PUT", "/units/st1/roster", roster, 403),
        (stranger, "GET", "/units/st1/roster", None, 403),     # no unit of its own there
        ("o1", "GET", "/units/st1/roster", None, 200),
        ("o1", "PUT", "/units/st1/roster", roster, 403),
        ("o1", "PUT", "/units/st1/robot", robot, 403),
        ("o1", "GET", "/alert-deliveries", None, 403),
        ("s-st1", "PUT", "/units/b1/roster", roster, 403),   # not the unit above its own
        ("s-st1", "PUT", "/units/st1/robot", robot, 200),
        ("s-b1", "PUT", "/units/st1/roster", roster, 200),   # a supervisor above it may
        ("s-b1", "GET", "/units/st1/robot", None, 200),
        ("s-b1", "GET", "/units/nowhere/roster", None, 404),
        (ADMIN_TOKEN, "GET", "/units/st1/roster", None, 200),
        (ADMIN_TOKEN, "GET", "/alert-deliveries", None, 200),
    ]
    for who, method, path, body, status in cases:
        client = w.as_(who)
        r = getattr(client, method.lower())(path, body) if body is not None else \
            getattr(client, method.lower())(path)
        assert r.status_code == status, (who[:12], method, path, r.text)
    assert w.as_("s-b1").get("/units/st1/robot").json() == {
        "unit_id": "st1", "url": robot["url"], "kind": "dingtalk", "format": "dingtalk",
        "signed": True}
    assert w.as_("").get("/alerts").status_code == 401


def test_overdue_acknowledgements_and_transfers_page_the_supervisors_up_the_tree(
        running, tmp_path):
    w = AlertWorld(running, tmp_path).with_intake().start_notify()
    received = w.report_received()
    rid = received["subject"]
    base = received["data"]
    w.publish("intake", "report_ack_overdue", rid, **dict(
        base, step=1, responsible_unit_id="st1", escalated_to_unit_id="st1"))
    w.publish("intake", "report_ack_overdue", rid, **dict(
        base, step=2, responsible_unit_id="st1", escalated_to_unit_id="b1"))
    eventually(lambda: w.of("s-b1", "report_ack_overdue"), what="the bureau told at step 2")
    assert len(w.of("s-st1", "report_ack_overdue")) == 1
    assert all(a["needs_ack"] and a["severity"] == "critical"
               for a in w.of("s-st1") + w.of("s-b1") if a["event_type"] == "report_ack_overdue")
    # A transfer offered to b1: b1 has no officer and no roster, so its
    # supervisor hears nobody was on duty; overdue, the sender's supervisor.
    w.publish("intake", "report_transfer_offered", rid, **dict(
        base, from_unit_id="st1", to_unit_id="b1", reason="not ours", respond_by=None))
    w.publish("intake", "report_transfer_overdue", rid, **dict(
        base, responsible_unit_id="st1", to_unit_id="b1", escalated_to_unit_id="b1"))
    eventually(lambda: w.of("s-st1", "report_transfer_overdue"), what="the sender's head told")
    eventually(lambda: w.of("s-b1", kind="nobody_on_duty"), what="nobody on duty at b1")
    assert w.of("s-b1", "report_transfer_overdue") == []


def test_while_intake_is_down_the_last_known_unit_still_gets_paged(running, tmp_path):
    w = AlertWorld(running, tmp_path).with_intake().start_notify(RPC_TIMEOUT=1)
    w.report_received()
    eventually(lambda: w.of("o1", "report_received") and w.of("o2", "report_received"))
    w.intake.stop()
    w.report_received()
    eventually(lambda: len(w.of("o1", "report_received")) == 2
               and len(w.of("o2", "report_received")) == 2, what="paged from the last known")
    failures = w.as_(ADMIN_TOKEN).get("/admin/failures").json()["items"]
    assert failures == []

"""The stale-case sweep on the real broker and database: the warning, the
miss, the ladder, each step once across instances, re-timing on a new policy."""
from datetime import datetime, timedelta, timezone

from tests.helpers import eventually
from tests.integration.case_world import fast, write_policy


def escalations(w, cid):
    return [h for h in w.case(cid)["history"] if h["action"] == "escalate"]


def unique(events):
    return list({e["id"]: e for e in events}.values())


def stop_the_ladder(w, cid):
    due = (datetime.now(timezone.utc) + timedelta(hours=1)).isoformat()
    r = w.post(w.bureau_head, cid, "deadline", {"stage": "first_action", "due_at": due,
                                                "reason": "限期: act within the hour"})
    assert r.status_code == 200, r.text
    return r.json()


def test_a_missed_deadline_warns_then_climbs_the_ladder_into_the_ledger(world, tap):
    # The warning is due from 2 s to 4 s: a sweep (every second) lands in it.
    w = world(first_action=4, warn_at=0.5, repeat=1).start()
    events = tap("case_supervision")
    case = w.open_case()
    cid = case["case_id"]
    assert case["next_due_at"] is not None and case["policy_version"] == 1
    eventually(lambda: len(escalations(w, cid)) >= 3, what="three escalation steps")
    stopped = stop_the_ladder(w, cid)
    assert stopped["deadlines"]["first_action"] is not None and not stopped["stale"]
    steps = escalations(w, cid)
    assert [(h["rung"], h["escalated_to"]) for h in steps[:3]] == [
        ("lead_officer", "o1"), ("unit_supervisor", "st1"), ("supervisor", "st1")]
    warned = eventually(lambda: events.of("case_deadline_warning", case_id=cid))
    missed = events.of("case_deadline_missed", case_id=cid)
    assert warned[0]["sequence"] < missed[0]["sequence"]
    assert missed[0]["data"]["deadline"] == "first_action"
    assert missed[0]["data"]["responsible_unit_id"] == "st1"
    items = eventually(lambda: len(w.ledger(case_id=cid)) == len(steps) + 1
                       and w.ledger(case_id=cid), what="one ledger item per miss and step")
    assert sorted(i["kind"] for i in items) == ["deadline_missed"] + ["escalation"] * len(steps)
    assert all(i["unit_id"] == "st1" and i["status"] == "open" for i in items)
    assert w.case(cid, w.company)["lead_name"] == "李警官"


def test_two_instances_escalate_each_step_once(world, tap):
    w = world(first_action=1, repeat=1)
    w.start()
    w.start()                       # the same broker vhost and databases
    events = tap("case_supervision")
    cid = w.open_case()["case_id"]
    assert w.as_(w.officer, 1).get(f"/cases/{cid}").status_code == 200
    eventually(lambda: len(escalations(w, cid)) >= 4, timeout=30)
    stop_the_ladder(w, cid)
    levels = [h["after"] for h in escalations(w, cid)]
    assert levels == list(range(1, len(levels) + 1))
    # Each step's event once, by its id: the broker may carry one twice when
    # the other instance writes the case before the first one's pull is
    # written (pulls are batched, shared/outbox.py) and sends what it finds;
    # every consumer takes an event once by its id (the ledger below).
    sent = eventually(lambda: len(unique(events.of("case_escalated", case_id=cid)))
                      == len(levels) and unique(events.of("case_escalated", case_id=cid)))
    assert sorted(e["data"]["escalation_level"] for e in sent) == levels
    assert len(unique(events.of("case_deadline_missed", case_id=cid))) == 1
    eventually(lambda: len([i for i in w.ledger(case_id=cid) if i["kind"] == "escalation"])
               == len(levels))


def test_a_case_without_progress_for_the_interval_is_stale(world, tap):
    w = world(interval=2, repeat=3600).start()
    events = tap("case_supervision")
    cid = w.open_case()["case_id"]
    w.post(w.officer, cid, "progress", {"note": "started"})
    stale = eventually(lambda: w.case(cid)["stale"] and w.case(cid), what="stale")
    assert [c["case_id"] for c in w.as_(w.officer).get(
        "/cases", stale="true").json()["items"]] == [cid]
    assert eventually(lambda: events.of("case_deadline_missed", case_id=cid))[0][
        "data"]["deadline"] == "progress"
    eventually(lambda: w.case(cid)["escalation_level"] == 1, what="the lead escalated to")
    r = w.post(w.officer, cid, "progress", {"note": "suspect found", "disclose": True})
    assert r.json()["stale"] is False and r.json()["next_due_at"] > stale["next_due_at"]


def test_a_supervisor_escalates_by_hand_and_the_case_is_flagged_higher(world):
    w = world().start()
    cid = w.open_case()["case_id"]
    assert w.post(w.officer, cid, "escalate", {"reason": "x"}).status_code == 403
    r = w.post(w.station_head, cid, "escalate", {"reason": "the loss keeps growing"})
    assert r.status_code == 200, r.text
    assert r.json()["supervision"] == {"level": "district", "supervisor_unit_id": "b1"}
    assert r.json()["escalation_level"] == 1
    item = eventually(lambda: w.ledger(case_id=cid))[0]
    assert item["kind"] == "escalation" and item["detail"]["rung"] == "manual"


def first_action_after(case):
    return datetime.fromisoformat(case["deadlines"]["first_action"]) - \
        datetime.fromisoformat(case["opened_at"])


def test_a_new_policy_file_re_times_open_cases_and_a_bad_one_leaves_the_last_good(
        world, caplog):
    w = world(first_action=3600).start()
    case = w.open_case()
    assert first_action_after(case) == timedelta(seconds=3600)
    write_policy(w.policy_file, fast(first_action=7200, version=2))
    moved = eventually(lambda: w.case(case["case_id"])["policy_version"] == 2
                       and w.case(case["case_id"]), what="the case re-timed")
    assert first_action_after(moved) == timedelta(seconds=7200)
    # A file the service cannot run (a misspelt rung) is refused with the key
    # at fault in the log, and version 2 stays: nothing is re-timed by it,
    # and a case opened now is timed by version 2.
    bad = fast(first_action=60, version=3)
    bad["escalation"]["ladder"][1] = "unit_supervisr"
    write_policy(w.policy_file, bad)
    eventually(lambda: "escalation.ladder[1]: 'unit_supervisr' is not one of lead_officer, "
               "unit_supervisor, supervisor; the case policy stays at version 2" in caplog.text,
               what="the refusal logged")
    later = w.open_case()
    assert later["policy_version"] == 2 and first_action_after(later) == timedelta(seconds=7200)
    assert w.case(case["case_id"])["policy_version"] == 2

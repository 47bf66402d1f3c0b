"""Case supervision's lean write path (issue 19) on the real broker and
database: the facts a case carries count in the scorecard once, a
redelivered event changes nothing though no inbox record was written for
it, and a unit path this process knows costs no write."""
import uuid
from datetime import datetime, timedelta, timezone

from shared.events import case_id_for
from shared.inbox import CONSUMED
from tests.helpers import eventually


def taken(handler, event_type):
    return sum(CONSUMED.labels(handler, event_type, outcome)._value.get()
               for outcome in ("applied", "duplicate", "failed"))


def duplicates(handler, event_type):
    return CONSUMED.labels(handler, event_type, "duplicate")._value.get()


def card(w):
    r = w.as_(w.station_head).get("/units/st1/scorecard")
    assert r.status_code == 200, r.text
    return r.json()


def test_the_facts_a_case_carries_count_once_however_often_its_events_come(world):
    w = world().start()
    db = w.running.db("cases")
    rid = str(uuid.uuid4())
    accepted_at = datetime.now(timezone.utc) - timedelta(seconds=5)
    w.intake_event("report_received", rid,
                   received_at=(accepted_at - timedelta(seconds=60)).isoformat())
    eventually(lambda: db.facts.count_documents({"report_id": rid}) == 1)
    before = taken("open_case", "report_accepted"), duplicates("open_case", "report_accepted")
    accepted = w.intake_event(
        "report_accepted", rid, status="accepted", estimated_loss="1234.00",
        case_id=case_id_for(rid), accepted_by="o1",
        accepted_at=accepted_at.isoformat())
    eventually(lambda: w.case_of(rid), what="the case opened")
    # The accepted report's fact and the opened case's are on the case, in
    # its one insert; the facts collection holds only the received one.
    case = db.cases.find_one({"report_id": rid})
    assert sorted(f["kind"] for f in case["facts"]) == ["accepted", "case_opened"]
    score = eventually(lambda: card(w)["loss"]["estimated"] == "1234.00" and card(w))
    assert score["time_to_acknowledge"]["median_seconds"] == 60
    # Redelivered: taken as a duplicate, nothing changes.
    w.running.publish("intake", accepted, "report_accepted")
    eventually(lambda: taken("open_case", "report_accepted") == before[0] + 2)
    assert duplicates("open_case", "report_accepted") == before[1] + 1
    assert db.cases.count_documents({"report_id": rid}) == 1
    assert card(w)["loss"]["estimated"] == "1234.00"
    assert card(w)["time_to_acknowledge"]["count"] == 1
    # Nothing was written to the inbox for the applied events.
    assert db.inbox.count_documents({}) == 0


def test_a_redelivered_materials_request_does_not_pause_the_case_again(world):
    w = world().start()
    db = w.running.db("cases")
    case = w.open_case()
    cid, rid = case["case_id"], case["report_id"]
    asked = w.intake_event("report_extra_materials_requested", rid, items=["bank_statement"],
                           requested_by="o1", responsible_unit_id="st1")
    eventually(lambda: w.case(cid)["paused"])
    w.intake_event("report_materials_supplied", rid, supplied=["bank_statement"], missing=[])
    eventually(lambda: not w.case(cid)["paused"])
    before = taken("wait_on_company", "report_extra_materials_requested")
    # The request comes again (a consumer killed before its ack): its id is
    # on the case, so the case stays resumed and its history as it was.
    history = len(w.case(cid)["history"])
    w.running.publish("intake", asked, "report_extra_materials_requested")
    eventually(lambda: taken("wait_on_company", "report_extra_materials_requested")
               == before + 1)
    again = w.case(cid)
    assert not again["paused"] and len(again["pauses"]) == 1
    assert len(again["history"]) == history
    assert db.facts.count_documents({"kind": "extra_materials", "report_id": rid}) == 1
    assert db.inbox.count_documents({}) == 0


def test_a_known_unit_path_is_not_written_again_and_a_moved_unit_is(world):
    w = world().start()
    db = w.running.db("cases")
    w.intake_event("report_received", str(uuid.uuid4()))
    eventually(lambda: db.units.count_documents({}) == 3)
    # Taken away behind the service's back: a service that read or wrote the
    # path on every event would put it back; this one knows it already.
    db.units.delete_one({"_id": "st1"})
    w.intake_event("report_received", rid := str(uuid.uuid4()))
    eventually(lambda: db.facts.count_documents({"report_id": rid}) == 1)
    assert db.units.find_one({"_id": "st1"}) is None
    # Intake moved st1 under b2: the next event carries the new path.
    w.intake_event("report_received", moved := str(uuid.uuid4()),
                   owner_unit_path=["st1", "b2", "city"])
    eventually(lambda: db.facts.count_documents({"report_id": moved}) == 1)
    assert db.units.find_one({"_id": "st1"})["path"] == ["st1", "b2", "city"]
    assert db.units.find_one({"_id": "b2"})["path"] == ["b2", "city"]
    assert db.units.find_one({"_id": "b1"})["path"] == ["b1", "city"]


def test_case_numbers_are_unique_and_one_counter_write_serves_a_block(world):
    from services.case_supervision.repository import CASE_NUMBER_BLOCK
    w = world().start()
    db = w.running.db("cases")
    numbers = []
    for _ in range(3):
        rid = str(uuid.uuid4())
        w.intake_event("report_accepted", rid, status="accepted",
                       case_id=case_id_for(rid), accepted_by="o1",
                       accepted_at=datetime.now(timezone.utc).isoformat())
        case = eventually(lambda: w.case_of(rid), what="the case opened")
        numbers.append(case["case_number"])
    year = datetime.now(timezone.utc).year
    serial = [int(n.rsplit("-", 1)[1]) for n in numbers]
    assert numbers[0].startswith(f"FT-C-{year}-")
    assert serial == [serial[0], serial[0] + 1, serial[0] + 2]
    assert [c["n"] for c in db.counters.find({})] == [CASE_NUMBER_BLOCK]   # one write


def test_every_case_list_is_one_index_and_cases_stored_before_get_their_keys(world):
    """Earlier versions listed cases through four indexes (the company's,
    the unit's, the unit path's, the team's), each written by every write
    of a case; one on the cases' reach keys replaces them (issue 19). Cases
    stored before get their keys at start, so the company, the team, the
    unit and the supervisors above it still list them, and a member added
    later lists it through the one index."""
    w = world().with_intake("o9").start()
    db = w.running.db("cases")
    ids = [w.open_case()["case_id"] for _ in range(2)]
    # As an earlier version stored them: no reach keys, and its four indexes.
    db.cases.update_many({}, {"$unset": {"reach": ""}})
    for field in ("company_id", "unit_path", "unit_id", "team.members"):
        db.cases.create_index([(field, 1), ("opened_at", -1), ("_id", -1)])
    # (And the facts' index by report, which the received fact's key
    # replaced; the cases' by report, which the case's id, made from the
    # report's, replaced; and by policy version, which SecantusDB cannot use.)
    db.facts.create_index([("report_id", 1), ("kind", 1)])
    db.cases.create_index([("report_id", 1)], unique=True)
    db.cases.create_index([("policy_version", 1)])
    w.start()
    assert "report_id_1_kind_1" not in {i["name"] for i in db.facts.list_indexes()}
    assert not {"report_id_1", "policy_version_1"} & {i["name"] for i in db.cases.list_indexes()}
    names = {i["name"] for i in db.cases.list_indexes()}
    assert "reach_1_opened_at_-1__id_-1" in names
    assert not {n for n in names if n.endswith("_1_opened_at_-1__id_-1")} - {
        "reach_1_opened_at_-1__id_-1"}
    readers = {"company": w.company, "lead": w.officer, "colleague": w.colleague,
               "station head": w.station_head, "bureau head": w.bureau_head}
    for name, reader in readers.items():
        listed = w.as_(reader, 1).get("/cases").json()["items"]
        assert sorted(c["case_id"] for c in listed) == sorted(ids), name
    for reader in (w.other_company, w.stranger):
        assert w.as_(reader, 1).get("/cases").json()["items"] == []
    # o9, of another station, joins the first case's team: it lists that one.
    r = w.post(w.station_head, ids[0], "team", {"officer_id": "o9"})
    assert r.status_code == 200, r.text
    assert [c["case_id"] for c in w.as_(w.stranger).get("/cases").json()["items"]] == [ids[0]]
    plan = db.cases.find({"reach": "member:o9"}).sort([("opened_at", -1), ("_id", -1)]).explain()
    assert "reach_1_opened_at_-1__id_-1" in str(plan["queryPlanner"]["winningPlan"])

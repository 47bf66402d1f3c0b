"""Intake's lean write path (issue 19): report references come from a
block of numbers reserved with one counter write, and a report's writes pay
for as few indexes as its reads need (each write rewrites every one)."""
from datetime import timedelta

from services.intake.repository import OLD_REACH, REFERENCE_BLOCK, Repository
from services.intake.service import IntakeService
from services.notify.alert_store import ALERTS, AlertStore
from shared import clock, idempotency_key
from shared.mongo import connect, database_name, ensure_indexes
from support.client import Client
from support.organisation import Org
from support.reports import report_body
from tests.helpers import eventually


def test_references_are_unique_and_one_counter_write_serves_a_block(running):
    running.start(IntakeService)
    org = Org(running.urls["intake"], running.config["ADMIN_TOKEN"])
    refs = [org.file_report(summary=f"report {i}")["reference"] for i in range(3)]
    assert len(set(refs)) == 3
    numbers = [int(r.rsplit("-", 1)[1]) for r in refs]
    assert numbers == [numbers[0], numbers[0] + 1, numbers[0] + 2]
    counters = list(running.db("intake").counters.find({"_id": {"$regex": "^reference-"}}))
    assert [c["n"] for c in counters] == [REFERENCE_BLOCK]   # one write for all three


def test_an_index_no_longer_declared_is_dropped_at_start(running):
    """The transfer reach's sparse index, made by earlier versions, goes at
    start."""
    config = running.make_config(0)
    earlier = connect(config["MONGO_URI"])[database_name(config, "intake")]
    earlier.reports.create_index([("transfer.to_unit_path", 1)], sparse=True)
    running.start(IntakeService)
    names = {i["name"] for i in running.db("intake").reports.list_indexes()}
    assert "transfer.to_unit_path_1" not in names


def test_a_clock_stored_by_an_earlier_version_still_runs(running, tap):
    """Reports stored before the one clock index (next_due_at) are given it
    at start, found through the clocks' own indexes, which then go: an
    acknowledgement clock running then still escalates."""
    running.start(IntakeService)
    org = Org(running.urls["intake"], running.config["ADMIN_TOKEN"])
    events = tap("intake")
    rid = org.file_report()["report_id"]
    reports = running.db("intake").reports
    # As an earlier version stored it: its clock overdue, no next_due_at,
    # the clock's own index.
    reports.update_one({"_id": rid}, {"$set": {"ack_next_at": clock.now() - timedelta(
        seconds=1)}, "$unset": {"next_due_at": ""}})
    reports.create_index([("ack_next_at", 1)], sparse=True)
    running.start(IntakeService)
    overdue = eventually(lambda: events.of("report_ack_overdue", report_id=rid), timeout=15)
    assert overdue[0]["data"]["step"] == 1
    names = {i["name"] for i in reports.list_indexes()}
    assert "ack_next_at_1" not in names and "next_due_at_1" in names


def index_scanned(plan):
    """The index names a query plan reads through (its IXSCAN stages)."""
    if isinstance(plan, dict):
        own = [plan.get("indexName")] if plan.get("stage") == "IXSCAN" else []
        return own + [n for v in plan.values() for n in index_scanned(v)]
    if isinstance(plan, list):
        return [n for v in plan for n in index_scanned(v)]
    return []


def test_every_reach_is_one_index_and_reports_stored_before_get_their_keys(running):
    """Earlier versions listed reports through six indexes (the company's,
    the owner's and the offered unit's id and path, the admin's), each
    rewritten by every write of a report; one on the reports' reach keys
    replaces them (issue 19). Reports stored before get their keys at start,
    so their company, unit and supervisor still list them; a unit offered
    one lists it through the one index."""
    running.start(IntakeService)
    org = Org(running.urls["intake"], running.config["ADMIN_TOKEN"])
    st2 = f"st2-{org.bureau}"
    receiver = org.intake.as_(org.add_officer(f"o-{st2}", org.add_unit(st2, "station")))
    officer = org.intake.as_(org.officer_token)
    rids = [org.file_report(summary=f"report {i}")["report_id"] for i in range(3)]
    reports = running.db("intake").reports
    # As an earlier version stored them: no reach keys, and its four indexes.
    reports.update_many({}, {"$unset": {"reach": ""}})
    for field in OLD_REACH:
        reports.create_index([(field, 1), ("received_at", -1), ("_id", -1)])
    reports.create_index([("received_at", -1), ("_id", -1)])
    running.start(IntakeService)
    names = {i["name"] for i in reports.list_indexes()}
    assert not names & {f"{field}_1_received_at_-1__id_-1" for field in OLD_REACH}
    assert "received_at_-1__id_-1" not in names and "reach_1_received_at_-1__id_-1" in names
    for reader in (officer, org.intake.as_(org.supervisor_token),
                   org.intake.as_(org.company_token)):
        listed = reader.get("/reports").json()["items"]
        assert sorted(i["report_id"] for i in listed) == sorted(rids)

    offer = officer.post(f"/reports/{rids[1]}/transfer", {"to_unit_id": st2, "reason": "theirs"})
    assert offer.status_code == 200
    assert [i["report_id"] for i in receiver.get("/reports").json()["items"]] == [rids[1]]
    plan = reports.find({"reach": f"offer:{st2}", "received_at": {"$gte": clock.EARLIEST}}).sort(
        [("received_at", -1), ("_id", -1)]).explain()
    assert index_scanned(plan["queryPlanner"]) == ["reach_1_received_at_-1__id_-1"], plan
    assert plan["executionStats"]["totalKeysExamined"] == 1


def test_an_index_declared_with_new_options_replaces_the_one_made_before(running):
    """The alerts' climb index was sparse (it kept every null); declared
    partial now, it is made again so at start, not refused."""
    config = running.make_config(0)
    db = connect(config["MONGO_URI"])[database_name(config, "scratch")]
    db.alerts.create_index([("climb_due_at", 1)], sparse=True)
    ensure_indexes(db, {"alerts": AlertStore.INDEXES[ALERTS]})
    climb = next(i for i in db.alerts.list_indexes() if i["name"] == "climb_due_at_1")
    assert "sparse" not in climb
    assert climb["partialFilterExpression"] == {"climb_due_at": {
        "$gte": clock.EARLIEST.replace(tzinfo=None)}}   # (this client reads naive UTC)


def test_a_key_makes_the_report_id_and_a_key_kept_before_still_finds_its_report(running):
    """A filing's Idempotency-Key makes the report's id, so the `_id` index
    alone refuses a second: the key's own index, written by every write of
    a report, is gone (issue 19). A report filed by an earlier version (a
    random id, the key under its own index) is still the answer to a retry
    with its key after the upgrade — the retry an upgrade's restart sends."""
    running.start(IntakeService)
    org = Org(running.urls["intake"], running.config["ADMIN_TOKEN"])
    company = org.intake.as_(org.company_token)
    first = company.post("/reports", report_body(), {"Idempotency-Key": "new-1"})
    again = company.post("/reports", report_body(), {"Idempotency-Key": "new-1"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["report_id"] == first.json()["report_id"]
    # As an earlier version stored a keyed filing: its own id, and the index.
    old = company.post("/reports", report_body(summary="Old"), {"Idempotency-Key": "old-1"})
    assert old.status_code == 201
    reports = running.db("intake").reports
    stored = reports.find_one({"_id": old.json()["report_id"]})
    reports.delete_one({"_id": stored["_id"]})
    stored.update(_id="filed-before-the-upgrade", reference="FT-19990101-000001")
    reports.insert_one(stored)
    reports.create_index([("idempotency_key", 1)], unique=True, sparse=True)
    running.start(IntakeService)   # the upgraded instance answers the retry
    assert "idempotency_key_1" not in {i["name"] for i in reports.list_indexes()}
    upgraded = Client(running.urls["intake"], org.company_token)
    retried = upgraded.post("/reports", report_body(summary="Old"), {"Idempotency-Key": "old-1"})
    assert retried.status_code == 200, retried.text
    assert retried.json()["report_id"] == "filed-before-the-upgrade"
    other = upgraded.post("/reports", report_body(summary="Not the old one"),
                          {"Idempotency-Key": "old-1"})
    assert other.status_code == 422
    assert reports.count_documents({"summary": {"$in": ["Old", "Not the old one"]}}) == 1


def test_a_command_answers_the_report_as_stored_without_reading_it_back(running):
    """An officer's command is answered with the report as its write left it,
    worked out from the write (aggregate.applied) rather than read again
    (issue 19): the answer is what a read of the report then shows, and the
    command reads the report once."""
    running.start(IntakeService)
    org = Org(running.urls["intake"], running.config["ADMIN_TOKEN"])
    report_id = org.file_report()["report_id"]
    db = running.db("intake")
    db.command("profile", 2)
    try:
        accepted = org.accept(report_id)
    finally:
        db.command("profile", 0)
    assert accepted.status_code == 200, accepted.text
    shown = Client(running.urls["intake"], org.officer_token).get(f"/reports/{report_id}")
    assert accepted.json() == shown.json()
    assert accepted.json()["status"] == "accepted"
    reads = [e for e in db["system.profile"].find({"op": "query", "ns": f"{db.name}.reports"})
             if e["command"].get("filter") == {"_id": report_id}]
    assert len(reads) == 1


def test_the_worked_out_report_is_the_stored_one(running):
    """aggregate.save's `after` against the database's own document, for a
    write with every operator a report's change uses: fields set, a clock
    removed, the version counted, history, outbox and a request key pushed
    (the keys kept to the last 50), the outbox's time kept at its earliest."""
    running.start(IntakeService)
    org = Org(running.urls["intake"], running.config["ADMIN_TOKEN"])
    report_id = org.file_report()["report_id"]
    reports = running.db("intake").reports
    report = reports.find_one({"_id": report_id})
    reports.update_one({"_id": report_id}, {"$set": {"requests": [
        {"key": f"k{i}", "fingerprint": "f", "at": report["received_at"]} for i in range(50)]}})
    report = reports.find_one({"_id": report_id})
    now = clock.now() + timedelta(microseconds=789)    # finer than the database keeps
    key = idempotency_key.Key("k-new", "f-new")
    change = ({"status": "accepted", "accepted_at": now, "ack_due_at": None},
              [{"action": "accept", "at": now}], [("report_accepted", {"report_id": report_id})])
    written = Repository(reports.database).save_report(
        report, "intake", change, now, [idempotency_key.remember(key, now)])
    assert written["after"] == reports.find_one({"_id": report_id})
    assert written["after"]["requests"][-1]["key"] == "k-new"
    assert len(written["after"]["requests"]) == 50

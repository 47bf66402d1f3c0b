"""Cursor pages on every list and the police search (issue 15, points 2-3),
on the real broker and database: a list read in pages gives every item once,
in its order, with `next` and a `Link` header; a cursor of another list, a
cursor that does not decode, a limit out of range, an unknown filter are
refused; a search term is looked for as it is, never as a pattern."""
import base64
import time
import uuid
from datetime import datetime, timedelta, timezone

from services.intake.repository import REPORT_ORDER
from services.intake.service import IntakeService
from shared import pages
from support.client import Client
from support.codes import credit_code
from support.organisation import Org
from support.reports import report_body
from tests.conftest import ADMIN_TOKEN
from tests.helpers import all_pages, eventually
from tests.integration.notify_world import Company

INJECTIONS = (".*", '{"$gt":""}', "^", "(", "a|b", "\\", "$where")


def intake_org(running):
    running.start(IntakeService)
    return Org(running.urls["intake"], running.config["ADMIN_TOKEN"])


def test_reports_read_in_pages_each_once_newest_first_with_a_link_header(running):
    org = intake_org(running)
    filed = [org.file_report(summary=f"Invoice fraud {i}") for i in range(5)]
    police = Client(running.urls["intake"], org.supervisor_token)
    items, sizes = all_pages(police, "/reports", limit=2)
    assert sizes == [2, 2, 1]
    assert [r["report_id"] for r in items] == [r["report_id"] for r in reversed(filed)]
    # The company pages through its own in the same way.
    company = Client(running.urls["intake"], org.company_token)
    assert len(all_pages(company, "/reports", limit=4)[0]) == 5


def test_a_bad_cursor_limit_or_filter_is_refused(running):
    org = intake_org(running)
    org.file_report()
    police = Client(running.urls["intake"], org.supervisor_token)
    foreign = pages.encode("cases", REPORT_ORDER,
                           {"received_at": datetime.now(timezone.utc), "_id": "x"})
    for cursor in (foreign, "not-a-cursor", "e30", "W10", "!" * 10):
        r = police.get("/reports", after=cursor)
        assert r.status_code == 400, (cursor, r.text)
        assert r.headers["Content-Type"].startswith("application/problem+json")
    for limit in ("0", "201", "-1", "x"):
        assert police.get("/reports", limit=limit).status_code == 422
    r = police.get("/reports", sort="received_at", owner_unit_id="x")
    assert r.status_code == 422 and set(r.json()["fields"]) == {"sort", "owner_unit_id"}
    assert police.get("/reports", limit=200).status_code == 200


def test_police_search_reports_by_type_status_time_unit_and_company_name(running):
    org = intake_org(running)
    tag = uuid.uuid4().hex[:6]
    acme = org.add_company(f"ACME Trading {tag}")
    acme_client = Client(running.urls["intake"], acme[1])
    theft = org.file_report(incident_type="theft")
    fraud = org.file_report()
    time.sleep(0.05)
    middle = datetime.now(timezone.utc)
    time.sleep(0.05)
    acmes = acme_client.post("/reports", report_body(incident_type="theft")).json()
    police = Client(running.urls["intake"], org.supervisor_token)
    officer = Client(running.urls["intake"], org.officer_token)
    assert officer.post(f"/reports/{fraud['report_id']}/acknowledge").status_code == 200

    def ids(**query):
        return {r["report_id"] for r in all_pages(police, "/reports", limit=1, **query)[0]}

    assert ids(incident_type="theft") == {theft["report_id"], acmes["report_id"]}
    assert ids(status="acknowledged") == {fraud["report_id"]}
    assert ids(incident_type="theft", status="received") == {theft["report_id"],
                                                            acmes["report_id"]}
    assert ids(**{"from": middle.isoformat()}) == {acmes["report_id"]}
    assert ids(to=middle.isoformat()) == {theft["report_id"], fraud["report_id"]}
    assert ids(unit_id=org.bureau) == ids(unit_id=org.station) == ids()   # the subtree
    assert ids(unit_id=org.add_unit(f"elsewhere-{tag}")) == set()
    # A company name's start, in any case; the name as typed, never a pattern.
    assert ids(company=f"acme trading {tag}") == {acmes["report_id"]}
    assert ids(company="ACME") >= {acmes["report_id"]}
    assert ids(company=f"Acme Trading {tag}x") == set()
    for term in INJECTIONS:
        started = time.perf_counter()
        assert ids(company=term) == set() and ids(q=term) == set()
        assert time.perf_counter() - started < 2
    assert police.get("/reports", **{"from": middle.isoformat(),
                                     "to": middle.isoformat()}).status_code == 422
    # Searching is police work; a company lists its own.
    company = Client(running.urls["intake"], org.company_token)
    for query in ({"incident_type": "theft"}, {"company": "ACME"}, {"unit_id": org.station}):
        assert company.get("/reports", **query).status_code == 403
    assert company.get("/reports", status="received").status_code == 200
    # Another unit's police find nothing of this unit, whatever they ask.
    other = Org(running.urls["intake"], running.config["ADMIN_TOKEN"])
    stranger = Client(running.urls["intake"], other.supervisor_token)
    assert stranger.get("/reports", unit_id=org.station).json()["items"] == []
    assert stranger.get("/reports", company=f"acme trading {tag}").json()["items"] == []


# -- cases ---------------------------------------------------------------------
def test_cases_read_in_pages_and_searched_by_priority_level_type_time_unit_company(world):
    w = world().with_intake().start()
    admin = Client(w.running.urls["intake"], ADMIN_TOKEN)
    tag = uuid.uuid4().hex[:6]
    made = admin.post("/admin/companies", {
        "name": f"Harbour Logistics {tag}", "credit_code": credit_code(),
        "jurisdiction_unit_id": "st1", "language": "en",
        "contact": {"name": "Chen", "phone": "+86 591 0000", "email": "ops@example.com"}})
    assert made.status_code == 201, made.text
    harbour = made.json()["company_id"]
    small = w.open_case()
    big = w.open_case(estimated_loss="2000000.00", incident_type="fraud", company_id=harbour)
    time.sleep(0.05)
    middle = datetime.now(timezone.utc)
    time.sleep(0.05)
    moving = w.open_case(funds_in_transit=True)
    head = w.as_(w.bureau_head)
    items, sizes = all_pages(head, "/cases", limit=2)
    assert sizes == [2, 1]
    assert [c["case_id"] for c in items] == [moving["case_id"], big["case_id"], small["case_id"]]

    def ids(**query):
        return {c["case_id"] for c in all_pages(head, "/cases", limit=1, **query)[0]}

    assert big["priority"] == "urgent" and big["supervision"]["level"] == "city"
    assert ids(priority="urgent") == {big["case_id"], moving["case_id"]}
    assert ids(supervision="city") == {big["case_id"]}
    assert ids(supervision="district", priority="urgent") == {moving["case_id"]}
    assert ids(incident_type="fraud") == {big["case_id"]}
    assert ids(**{"from": middle.isoformat()}) == {moving["case_id"]}
    assert ids(unit_id="st1") == ids(unit_id="b1") == ids() and ids(unit_id="st9") == set()
    assert ids(company="harbour LOG") == {big["case_id"]}
    assert ids(q=big["case_number"], priority="urgent") == {big["case_id"]}
    assert ids(q=big["case_number"], priority="normal") == set()
    for term in INJECTIONS:
        assert ids(company=term) == set() and ids(q=term) == set()
    assert w.as_(w.company).get("/cases", priority="urgent").status_code == 403
    assert w.as_(w.stranger).get("/cases", priority="urgent").json()["items"] == []
    assert head.get("/cases", supervision="province").status_code == 422
    assert head.get("/cases", after=pages.encode("reports", REPORT_ORDER, {
        "received_at": middle, "_id": "x"})).status_code == 400




# -- the ledger, deliveries, failures, the feed --------------------------------
def ledger_item(i, at, unit_path=("st1", "b1", "city")):
    return {"_id": f"item-{i:04}", "kind": "deadline_missed", "unit_id": unit_path[0],
            "unit_path": list(unit_path), "case_id": None, "case_number": None,
            "report_id": None, "reference": None, "detail": {}, "created_at": at,
            "status": "open", "resolution": None}


def test_the_ledger_reads_past_200_items_in_pages_of_at_most_200(world):
    """A supervisor with 205 open items sees them all: no silent cap."""
    w = world().start()
    now = datetime.now(timezone.utc)
    # Ten at each instant: the order is made total by the id.
    w.running.db("cases").ledger.insert_many(
        [ledger_item(i, now - timedelta(minutes=i // 10)) for i in range(205)]
        + [ledger_item(900 + i, now, ("st9", "b9", "city")) for i in range(3)])
    head = w.as_(w.bureau_head)
    items, sizes = all_pages(head, "/ledger")    # 100 a page by default
    assert sizes == [100, 100, 5]
    # Newest first; at one instant, the greater id first.
    expected = [f"item-{i:04}" for i in sorted(range(205), key=lambda i: (i // 10, -i))]
    assert [i["item_id"] for i in items] == expected
    big, sizes = all_pages(head, "/ledger", limit=200, status="open")
    assert sizes == [200, 5] and [i["item_id"] for i in big] == [i["item_id"] for i in items]
    assert head.get("/ledger", limit=201).status_code == 422
    cursor = head.get("/ledger", limit=1).json()["next"]
    assert head.get("/cases", after=cursor).status_code == 400   # the ledger's, not the cases'


def notice(company_id, i, at):
    return {"_id": f"n{i:03}", "company_id": company_id, "event_id": f"event-{i}",
            "event_type": "case_progressed", "subject": "case-1", "sequence": i + 1,
            "title": f"n{i:03}", "body": "", "language": "en", "created_at": at,
            "envelope": {}}


def test_the_feed_gives_a_cursor_at_its_end_and_a_poller_keeps_its_place(running, notify):
    notify(FEED_SETTLE_SECONDS=0)
    company = Company(running)
    empty = company.client.get("/notices")
    assert empty.json()["items"] == [] and empty.json()["next"]   # even on an empty feed
    assert empty.headers["Link"].endswith('>; rel="next"')
    cursor = empty.json()["next"]
    time.sleep(0.1)
    now = datetime.now(timezone.utc)   # after the empty page: what it cannot have skipped
    stamps = [now - timedelta(milliseconds=50 - 10 * i) for i in range(5)]
    notices = running.db("notify").notices
    notices.insert_many([notice(company.id, i, at) for i, at in enumerate(stamps)])
    seen = []
    for _ in range(3):
        page = company.client.get("/notices", after=cursor, limit=2).json()
        seen += [n["title"] for n in page["items"]]
        cursor = page["next"]
    assert seen == ["n000", "n001", "n002", "n003", "n004"] and cursor
    end = company.client.get("/notices", after=cursor).json()
    assert end["items"] == [] and end["next"] == cursor           # the same place, still open
    notices.insert_one(notice(company.id, 5, datetime.now(timezone.utc)))
    later = eventually(lambda: company.client.get("/notices", after=cursor).json()["items"])
    assert [n["title"] for n in later] == ["n005"]
    # A cursor the feed gave before it moved to shared/pages.py still reads.
    old = base64.urlsafe_b64encode(f"{stamps[2].isoformat()}|n002".encode()).decode()
    assert [n["title"] for n in company.client.get("/notices", after=old).json()["items"]] == [
        "n003", "n004", "n005"]
    foreign = company.client.get("/notices", after=pages.encode(
        "deliveries", [("created_at", -1), ("_id", -1)], {"created_at": now, "_id": "x"}))
    assert foreign.status_code == 400


def test_deliveries_and_failures_read_in_pages(running, notify):
    notify()
    db = running.db("notify")
    now = datetime.now(timezone.utc)
    db.deliveries.insert_many([
        {"_id": f"d{i:03}", "notice_id": f"n{i}", "company_id": "c1" if i % 2 else "c2",
         "channel": "webhook", "event_id": f"e{i}", "event_type": "case_progressed",
         "subject": "case-1", "sequence": i, "status": "dead" if i % 3 else "delivered",
         "tries": 1, "attempts": [], "created_at": now - timedelta(seconds=i // 4)}
        for i in range(30)])
    db.inbox.insert_many([
        {"_id": f"f{i:03}", "handler": "notify.handle_event", "event_id": f"e{i}",
         "type": "case_progressed", "subject": "case-1", "status": "dead" if i % 2 else "failed",
         "attempts": 3, "received_at": now - timedelta(seconds=i // 4)} for i in range(12)])
    admin = running.admin("notify")
    items, sizes = all_pages(admin, "/deliveries", limit=7)
    assert sizes == [7, 7, 7, 7, 2] and len({d["delivery_id"] for d in items}) == 30
    dead, _ = all_pages(admin, "/deliveries", limit=4, status="dead", company_id="c1")
    assert {d["delivery_id"] for d in dead} == {f"d{i:03}" for i in range(30)
                                                if i % 3 and i % 2}
    failures, sizes = all_pages(admin, "/admin/failures", limit=5)
    assert sizes == [5, 5, 2] and len({f["id"] for f in failures}) == 12
    assert {f["id"] for f in all_pages(admin, "/admin/failures", limit=5, status="dead")[0]} \
        == {f"f{i:03}" for i in range(12) if i % 2}
    cursor = admin.get("/deliveries", limit=1).json()["next"]
    assert admin.get("/admin/failures", after=cursor).status_code == 400
    assert admin.get("/deliveries", limit=500).status_code == 422


def test_a_list_pinned_to_one_id_reads_that_document_alone(running):
    """A search by reference or a report's case joins `_id` to the caller's
    reach; SecantusDB reads the whole collection for such a filter (every
    case, per look-up, in `make chaos`), so the list reads the document by
    its `_id` alone and holds it to the rest."""
    running.start(IntakeService)
    coll = running.db("intake")[f"pinned_{uuid.uuid4().hex[:6]}"]
    now = datetime.now(timezone.utc)
    coll.insert_many([{"_id": f"r{i}", "reach": [f"unit:u{i % 3}"], "received_at": now}
                      for i in range(300)])
    mine = {"$and": [{"reach": "unit:u1"}, {"_id": "r4"}]}
    found, nxt = pages.read(coll, mine, REPORT_ORDER, 50, None, "reports", by_time=True)
    assert [d["_id"] for d in found] == ["r4"] and nxt is None
    theirs = {"$and": [{"reach": "unit:u2"}, {"_id": "r4"}]}
    assert pages.read(coll, theirs, REPORT_ORDER, 50, None, "reports", by_time=True)[0] == []
    assert pages.read(coll, {"$and": [{"reach": "unit:u1"}, {"_id": None}]}, REPORT_ORDER,
                      50, None, "reports")[0] == []
    plan = coll.database.command("explain", {"aggregate": coll.name, "cursor": {},
                                             "pipeline": pages.by_id_pipeline("r4", mine)},
                                 verbosity="executionStats")
    first = plan["stages"][0]["$cursor"]
    assert "COLLSCAN" not in str(first["queryPlanner"]["winningPlan"])
    assert first["executionStats"]["totalDocsExamined"] <= 1

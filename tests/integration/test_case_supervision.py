"""Working a case on the real broker and database, as officers, supervisors
and companies see it over HTTP. Intake's events are published as intake
sends them (shared/events.py names their fields)."""
import csv
import io
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

from openpyxl import load_workbook

from tests.helpers import eventually


def test_progress_moves_the_stage_and_records_recoveries_exactly(world):
    w = world().start()
    case = w.open_case(estimated_loss="21000.00")
    r = w.post(w.officer, case["case_id"], "progress", {
        "stage": "recovering_losses", "note": "bank froze the account", "disclose": True,
        "recovered_amount": "0.10", "frozen_amount": "5000.00"})
    assert r.status_code == 200, r.text
    r = w.post(w.officer, case["case_id"], "progress", {"note": "more", "recovered_amount": "0.20"})
    assert r.json()["loss"] == {"estimated": "21000.00", "recovered": "0.30",
                                "frozen": "5000.00"}
    assert r.json()["stage"] == "recovering_losses"
    back = w.post(w.officer, case["case_id"], "progress", {"stage": "investigating",
                                                           "note": "x"})
    assert back.status_code == 409
    assert w.post(w.officer, case["case_id"], "progress", {
        "note": "x", "recovered_amount": 0.1}).status_code == 422      # a float is not money
    assert w.case(case["case_id"])["stage"] == "recovering_losses"


def test_a_retried_step_with_its_idempotency_key_is_recorded_once(world):
    """The officer's answer was lost; the client sends the step again with its
    key, in turn and twice at once: one step, one event for the company."""
    w = world().start()
    cid = w.open_case()["case_id"]
    step = {"note": "statements taken", "disclose": True}
    first = w.as_(w.officer).post(f"/cases/{cid}/progress", step, {"Idempotency-Key": "p-1"})
    again = w.as_(w.officer).post(f"/cases/{cid}/progress", step, {"Idempotency-Key": "p-1"})
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    other = w.as_(w.officer).post(f"/cases/{cid}/progress", {**step, "note": "another"},
                                  {"Idempotency-Key": "p-1"})
    assert other.status_code == 422
    # The key is the caller's own: a supervisor's "p-1" is another request.
    assert w.as_(w.bureau_head).post(f"/cases/{cid}/escalate", {"reason": "slow"},
                                     {"Idempotency-Key": "p-1"}).status_code == 200
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: w.as_(w.officer).post(
            f"/cases/{cid}/progress", {"note": "at once"}, {"Idempotency-Key": "p-2"}),
            range(4)))
    assert [a.status_code for a in answers] == [200] * 4
    rate = {"rating": 4, "comment": "quick"}
    w.post(w.officer, cid, "conclude", {"result": "solved", "summary": "done"})
    assert w.as_(w.company).post(f"/cases/{cid}/satisfaction", rate,
                                 {"Idempotency-Key": "r-1"}).status_code == 201
    assert w.as_(w.company).post(f"/cases/{cid}/satisfaction", rate,
                                 {"Idempotency-Key": "r-1"}).status_code == 201
    assert w.post(w.company, cid, "satisfaction", rate).status_code == 409  # keyless: twice
    # Key order and spacing do not make another request.
    reordered = {"comment": "quick", "rating": 4}
    assert w.as_(w.company).post(f"/cases/{cid}/satisfaction", reordered,
                                 {"Idempotency-Key": "r-1"}).status_code == 201
    notes = [h.get("note") for h in w.case(cid)["history"] if h["action"] == "progress"]
    assert notes == ["statements taken", "at once"]
    assert len(w.case(cid)["ratings"]) == 1


def test_many_victims_flag_the_case_higher(world):
    w = world().start()
    few, many = w.open_case(victim_count=9), w.open_case(victim_count=150)
    assert (few["priority"], few["supervision"]["level"], few["victim_count"]) == (
        "normal", "unit", 9)
    assert (many["priority"], many["supervision"]["level"], many["victim_count"]) == (
        "urgent", "city", 150)
    assert many["supervision"]["supervisor_unit_id"] == "city"


def test_who_sees_and_does_what(world):
    w = world().with_intake("o2").start()
    case = w.open_case()
    cid = case["case_id"]
    secret = "informant says the suspect is a cousin"
    w.post(w.officer, cid, "progress", {"note": secret, "stage": "investigating"})
    w.post(w.officer, cid, "progress", {"note": "statements taken", "disclose": True})
    mine = w.case(cid, w.company)
    assert mine["lead_name"] == "李警官" and "team" not in mine and "history" not in mine
    assert mine["unit_name"] == {"zh-CN": "北街派出所", "en": "North Street Station"}
    assert "o1" not in str(mine) and "st1" not in str(mine)  # no officer or unit id
    assert [u["note"] for u in mine["updates"]] == ["statements taken"]
    assert secret not in str(mine)
    for token in (w.other_company, w.stranger):
        assert w.as_(token).get(f"/cases/{cid}").status_code == 404
        assert w.post(token, cid, "reopen", {"reason": "x"}).status_code in (403, 404)
    # A colleague of the unit reads the case but is not on its team.
    assert w.post(w.colleague, cid, "progress", {"note": "x"}).status_code == 403
    assert w.post(w.company, cid, "progress", {"note": "x"}).status_code == 403
    assert w.post(w.officer, cid, "close").status_code == 403       # not a supervisor
    r = w.post(w.officer, cid, "team", {"officer_id": "o2"})           # the lead adds
    assert r.status_code == 200 and r.json()["team"]["members"] == ["o1", "o2"]
    assert w.post(w.colleague, cid, "progress", {"note": "now I may"}).status_code == 200
    r = w.post(w.bureau_head, cid, "lead", {"officer_id": "o2", "reason": "o1 on leave"})
    assert r.json()["team"]["lead_officer_id"] == "o2"
    assert w.case(cid, w.company)["lead_name"] == "o2"  # intake knows o2 by that name


def test_a_case_ends_with_a_result_is_rated_once_per_conclusion_and_signed_off(world):
    w = world().start()
    cid = w.open_case(estimated_loss="150000.00")["case_id"]   # flagged to the district
    assert w.post(w.bureau_head, cid, "close").status_code == 409    # no result yet
    r = w.post(w.officer, cid, "conclude", {"result": "solved", "summary": "two arrested"})
    assert r.status_code == 200 and r.json()["result"] == "solved"
    assert w.post(w.company, cid, "satisfaction", {"rating": 4, "comment": "ok"}).status_code \
        == 201
    assert w.post(w.company, cid, "satisfaction", {"rating": 5}).status_code == 409
    assert w.post(w.other_company, cid, "satisfaction", {"rating": 1}).status_code == 404
    r = w.post(w.company, cid, "reopen", {"reason": "the money is still gone"})
    assert r.json()["stage"] == "investigating" and r.json()["result"] is None
    w.post(w.officer, cid, "conclude", {"result": "prosecution", "summary": "charged"})
    assert w.post(w.company, cid, "satisfaction", {"rating": 5}).status_code == 201
    # 掛牌督辦 at district level: the station's head may not sign it off.
    assert w.post(w.station_head, cid, "close").status_code == 403
    r = w.post(w.bureau_head, cid, "close")
    assert r.status_code == 200 and r.json()["stage"] == "closed"
    assert [x["rating"] for x in r.json()["ratings"]] == [4, 5]


def test_waiting_on_the_company_pauses_the_clocks_until_the_materials_come(world):
    w = world(first_action=2).start()
    case = w.open_case()
    cid, rid = case["case_id"], case["report_id"]
    w.intake_event("report_extra_materials_requested", rid, items=["bank_statement"],
                   requested_by="o1", responsible_unit_id="st1")
    paused = eventually(lambda: w.case(cid)["paused"] and w.case(cid))
    assert paused["deadlines"]["first_action"] is None
    assert paused["pauses"][0]["waiting_for"] == ["bank_statement"]
    assert w.case(cid, w.company)["paused"] is True             # the company sees it
    assert not w.case(cid)["stale"]
    w.intake_event("report_materials_supplied", rid, supplied=["cctv"],
                   missing=["bank_statement"])
    w.intake_event("report_materials_supplied", rid, supplied=["bank_statement"], missing=[])
    resumed = eventually(lambda: not w.case(cid)["paused"] and w.case(cid))
    pause = resumed["pauses"][0]
    waited = datetime.fromisoformat(pause["to"]) - datetime.fromisoformat(pause["from"])
    opened = datetime.fromisoformat(resumed["opened_at"])
    assert datetime.fromisoformat(resumed["deadlines"]["first_action"]) == \
        opened + timedelta(seconds=2) + waited


def test_intakes_misses_land_in_the_ledger_and_only_a_supervisor_closes_them_off(world):
    w = world().start()
    rid = str(uuid.uuid4())
    w.intake_event("report_received", rid)
    ack = w.intake_event("report_ack_overdue", rid, step=1, responsible_unit_id="st1",
                         escalated_to_unit_id="st1")
    w.running.publish("intake", ack, "report_ack_overdue")            # redelivered
    w.intake_event("report_same_day_missed", rid, day="2026-11-28", responsible_unit_id="st1")
    items = eventually(lambda: len(w.ledger()) == 2 and w.ledger())
    assert sorted(i["kind"] for i in items) == ["ack_overdue", "same_day_missed"]
    assert {i["unit_id"] for i in items} == {"st1"}
    assert w.ledger(w.token("supervisor", "s-b9", "b9", ["b9", "city"])) == []
    item = items[0]["item_id"]
    assert w.as_(w.officer).post(f"/ledger/{item}/resolve", {"note": "x"}).status_code == 403
    r = w.as_(w.station_head).post(f"/ledger/{item}/resolve", {"note": "officer retrained"})
    assert r.status_code == 200 and r.json()["status"] == "resolved"
    assert r.json()["resolution"]["by"] == "s-st1"
    assert w.as_(w.bureau_head).post(f"/ledger/{item}/resolve",
                                     {"note": "again"}).status_code == 409
    assert [i["status"] for i in w.ledger(status="open")] == ["open"]


def test_the_ledger_and_the_scorecards_export_to_a_spreadsheet_as_text(world):
    w = world().start()
    rid = str(uuid.uuid4())
    w.intake_event("report_received", rid)
    w.intake_event("report_ack_overdue", rid, step=1, responsible_unit_id="st1",
                   escalated_to_unit_id="st1")
    item = eventually(lambda: w.ledger())[0]["item_id"]
    hostile = '=HYPERLINK("http://x","y") 已整改'
    assert w.as_(w.station_head).post(f"/ledger/{item}/resolve",
                                      {"note": hostile}).status_code == 200
    # A range at the edges of what the API takes still exports (was a 500).
    ranged = w.as_(w.bureau_head).get("/ledger/export", status="resolved", **{
        "from": "2022-11-29T01:18:21.524289-13:54", "to": "2088-03-10T01:43:52.002013-07:22"})
    assert ranged.status_code == 200, ranged.text
    sheet = w.as_(w.bureau_head).get("/ledger/export")
    assert sheet.status_code == 200
    assert sheet.headers["Content-Disposition"].startswith('attachment; filename="ledger.csv"')
    rows = list(csv.DictReader(io.StringIO(sheet.content.decode("utf-8-sig"))))
    assert [(r["kind"], r["status"], r["resolution_note"]) for r in rows] == [
        ("ack_overdue", "resolved", "'" + hostile)]
    side_by_side = w.as_(w.bureau_head).get("/scorecards")
    assert side_by_side.status_code == 200
    cards = {c["unit_id"]: c for c in side_by_side.json()["items"]}
    assert cards["st1"]["ack_overdue"] == 1 and "b1" in cards
    assert [c["unit_id"] for c in w.as_(w.officer).get("/scorecards").json()["items"]] == ["st1"]
    book = w.as_(w.bureau_head).get("/scorecards/export", format="xlsx")
    assert book.status_code == 200
    header, *units = load_workbook(io.BytesIO(book.content)).active.iter_rows(values_only=True)
    by_unit = {row[0]: dict(zip(header, row)) for row in units}
    assert by_unit["st1"]["ack_overdue"] == 1


def test_a_units_scorecard_counts_its_facts_within_the_range(world):
    w = world().start()
    rid, other = str(uuid.uuid4()), str(uuid.uuid4())
    received = datetime.now(timezone.utc) - timedelta(seconds=90)
    w.intake_event("report_received", rid, received_at=received.isoformat())
    w.intake_event("report_acknowledged", rid, acknowledged_by="o1",
                   acknowledged_at=(received + timedelta(seconds=90)).isoformat())
    w.intake_event("report_extra_materials_requested", rid, items=["contract"],
                   requested_by="o1", responsible_unit_id="st1")
    w.intake_event("report_received", other)
    w.intake_event("report_transferred", other, from_unit_id="st1", to_unit_id="st2",
                   accepted_by="o5")
    w.intake_event("report_same_day_missed", other, day="2026-11-28",
                   responsible_unit_id="st1")

    def card(token=w.station_head, **query):
        r = w.as_(token).get("/units/st1/scorecard", **query)
        assert r.status_code == 200, r.text
        return r.json()
    score = eventually(lambda: card()["same_day_misses"] == 1 and card())
    assert score["time_to_acknowledge"] == {"count": 1, "median_seconds": 90,
                                            "p90_seconds": 90}
    assert (score["transfers_out"], score["extra_material_requests"]) == (1, 1)
    assert card(w.officer)["transfers_out"] == 1                   # the unit's own officer
    last_year = card(**{"from": "2025-01-01T00:00:00+08:00", "to": "2025-12-31T00:00:00+08:00"})
    assert (last_year["transfers_out"], last_year["time_to_acknowledge"]["count"]) == (0, 0)
    assert w.as_(w.company).get("/units/st1/scorecard").status_code == 403
    assert w.as_(w.stranger).get("/units/st1/scorecard").status_code == 404


def test_a_quoted_case_number_or_reference_finds_the_case_within_reach(world):
    w = world().start()
    case = w.open_case()
    officer = w.as_(w.officer)
    for quoted in (case["case_number"], case["reference"]):
        assert [c["case_id"] for c in officer.get("/cases", q=quoted).json()["items"]] == [
            case["case_id"]]
    assert w.as_(w.stranger).get("/cases", q=case["case_number"]).json()["items"] == []
    assert officer.get("/cases", q="FT-C-.*").json()["items"] == []
    assert officer.get("/cases", q=case["case_number"], report_id="other").json()[
        "items"] == []

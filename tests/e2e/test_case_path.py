"""A case's whole life over HTTP against `nameko run` processes, with policy
clocks of seconds: acceptance, a missed deadline, two escalation steps, a
supervisor's deadline, progress with a recovery, conclusion, satisfaction,
sign-off; then the ledger and the unit's scorecard."""
from datetime import datetime, timedelta, timezone

from tests.helpers import eventually
from tests.integration.case_world import fast, write_policy


def test_a_case_from_acceptance_to_sign_off_with_ledger_and_scorecard(system, tmp_path):
    policy = str(tmp_path / "cases.yml")
    write_policy(policy, fast(first_action=2, repeat=1))
    system.start("intake", "case_supervision", FASTTRACK_CASES_POLICY=policy)
    org = system.org()
    report = org.file_report(estimated_loss="150000.00")
    assert org.accept(report["report_id"]).status_code == 200
    case = eventually(lambda: system.cases_for(org, report["report_id"]))[0]
    cid = case["case_id"]
    assert case["supervision"] == {"level": "district", "supervisor_unit_id": org.bureau}
    cases = system.client("case_supervision")
    officer, supervisor = cases.as_(org.officer_token), cases.as_(org.supervisor_token)
    company = cases.as_(org.company_token)

    # Nobody acts: the first-action deadline passes and the ladder climbs.
    eventually(lambda: officer.get(f"/cases/{cid}").json()["escalation_level"] >= 2,
               timeout=30, what="two escalation steps")
    due = (datetime.now(timezone.utc) + timedelta(hours=2)).isoformat()
    r = supervisor.post(f"/cases/{cid}/deadline", {"stage": "first_action", "due_at": due,
                                                   "reason": "限期兩小時內開展工作"})
    assert r.status_code == 200, r.text
    escalated = r.json()["escalation_level"]
    assert escalated >= 2 and r.json()["stale"] is False

    r = officer.post(f"/cases/{cid}/progress", {
        "stage": "recovering_losses", "note": "account frozen, part returned",
        "disclose": True, "recovered_amount": "30000.00", "frozen_amount": "50000.00"})
    assert r.status_code == 200, r.text
    r = officer.post(f"/cases/{cid}/conclude", {"result": "solved",
                                                "summary": "suspect arrested"})
    assert r.status_code == 200 and r.json()["stage"] == "concluded"
    r = company.post(f"/cases/{cid}/satisfaction", {"rating": 5, "comment": "fast"})
    assert r.status_code == 201, r.text
    r = supervisor.post(f"/cases/{cid}/close")
    assert r.status_code == 200 and r.json()["stage"] == "closed"
    mine = company.get(f"/cases/{cid}").json()
    assert mine["loss"] == {"estimated": "150000.00", "recovered": "30000.00",
                            "frozen": "50000.00"}
    assert [u["note"] for u in mine["updates"]] == ["account frozen, part returned"]
    # The ladder stopped at the supervisor's deadline.
    assert officer.get(f"/cases/{cid}").json()["escalation_level"] == escalated

    items = eventually(lambda: len(supervisor.get("/ledger", case_id=cid).json()["items"])
                       == escalated + 1 and supervisor.get("/ledger", case_id=cid).json()[
                           "items"], what="the ledger complete")
    assert sorted(i["kind"] for i in items) == ["deadline_missed"] + ["escalation"] * escalated
    assert {i["unit_id"] for i in items} == {org.station}
    r = supervisor.post(f"/ledger/{items[0]['item_id']}/resolve", {"note": "reviewed, fixed"})
    assert r.status_code == 200 and r.json()["status"] == "resolved"

    def card():
        r = supervisor.get(f"/units/{org.station}/scorecard")
        assert r.status_code == 200, r.text
        return r.json()
    score = eventually(lambda: card()["satisfaction"]["count"] == 1 and card())
    assert score["time_to_acknowledge"]["count"] == 1
    assert score["time_to_acknowledge"]["median_seconds"] is not None
    assert score["deadlines_missed"] == 1 and score["escalations"] == escalated
    assert score["concluded"] == {"solved": 1, "prosecution": 0, "no_crime": 0,
                                  "suspended": 0}
    assert score["loss"]["estimated"] == "150000.00" and score["loss"]["recovered"] == \
        "30000.00"
    assert score["satisfaction"] == {"average": "5.00", "count": 1}
    assert company.get(f"/units/{org.station}/scorecard").status_code == 403

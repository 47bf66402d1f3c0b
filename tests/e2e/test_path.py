"""The thin path through all three services, over HTTP, as users see it."""
from tests.helpers import eventually


def test_a_report_becomes_a_case_and_the_company_is_told(system):
    system.start()
    for name in ("intake", "case_supervision", "notify"):
        health = system.client(name).get("/health")
        assert health.status_code == 200 and health.json()["status"] == "ok"
    org = system.org()
    report = org.file_report(estimated_loss="150000.00")
    assert report["status"] == "received"
    assert report["owner_unit_name"] == {"zh-CN": f"{org.station}-name",
                                         "en": f"{org.station} (en)"}
    assert report["reference"].startswith("FT-")
    assert {m["code"] for m in report["materials"]} >= {"business_licence", "payment_records"}

    accepted = org.accept(report["report_id"])
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "accepted"

    cases = eventually(lambda: system.cases_for(org, report["report_id"]),
                       what="the case opened")
    assert len(cases) == 1
    case = cases[0]
    assert case["case_id"] == accepted.json()["case_id"]
    assert case["team"]["lead_officer_id"] == org.officer_id
    assert case["priority"] == "high" and case["supervision"] == {
        "level": "district", "supervisor_unit_id": org.bureau}
    assert case["loss"]["estimated"] == "150000.00"

    feed = eventually(lambda: len(system.feed(org)) == 3 and system.feed(org),
                      what="three notices in the feed")
    assert [n["event_type"] for n in feed] == ["report_received", "report_accepted",
                                               "case_opened"]
    assert case["case_number"] in feed[2]["title"]
    assert all(n["language"] == "en" for n in feed)

    # The company sees its case without internal notes or the team list.
    mine = system.client("case_supervision", org.company_token).get(f"/cases/{case['case_id']}")
    assert mine.status_code == 200 and "history" not in mine.json()
    assert mine.json()["lead_name"] == "Li" and org.officer_id not in mine.text


def test_every_service_serves_metrics_and_its_openapi(system):
    system.start()
    org = system.org()
    org.file_report()
    for name in ("intake", "case_supervision", "notify"):
        spec = system.client(name).get("/openapi.json").json()
        assert spec["openapi"].startswith("3.")
        assert "/health" in spec["paths"]
        metrics = system.client(name).get("/metrics")
        assert metrics.status_code == 200
        assert "fasttrack_http_requests_total" in metrics.text
    assert "/reports/{report_id}/accept" in system.client("intake").get(
        "/openapi.json").json()["paths"]
    progress = system.client("case_supervision").get("/openapi.json").json()["paths"][
        "/cases/{case_id}/progress"]["post"]
    assert "Idempotency-Key" in [p["name"] for p in progress["parameters"]]
    assert 'route="/reports",service="intake",status="201"' in system.client(
        "intake").get("/metrics").text


def test_another_companys_report_and_case_do_not_exist_for_you(system):
    system.start()
    mine, theirs = system.org(), system.org()
    report = theirs.file_report()
    theirs.accept(report["report_id"])
    case = eventually(lambda: system.cases_for(theirs, report["report_id"]))[0]
    assert mine.intake.as_(mine.company_token).get(
        f"/reports/{report['report_id']}").status_code == 404
    assert mine.accept(report["report_id"]).status_code == 404  # other unit's officer
    assert system.client("case_supervision", mine.company_token).get(
        f"/cases/{case['case_id']}").status_code == 404
    assert system.client("case_supervision", mine.company_token).get(
        "/cases", report_id=report["report_id"]).json()["items"] == []
    # Once their feed shows the case, mine still shows nothing of it.
    eventually(lambda: "case_opened" in [n["event_type"] for n in system.feed(theirs)],
               what="the case in its own company's feed")
    assert system.feed(mine) == []

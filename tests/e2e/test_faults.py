"""The four proofs of the foundation: a crash between write and publish, a
duplicate delivery (tests/integration), a consumer that is down or never
ran, and a broker restart under running services."""
import pytest
import requests

from tests.helpers import eventually


def test_intake_killed_between_write_and_publish_opens_the_case_once_after_restart(system):
    system.start("case_supervision", "notify")
    system.start("intake", FASTTRACK_FAULT="crash_before_publish:report_accepted")
    org = system.org()
    report = org.file_report()
    with pytest.raises(requests.ConnectionError):
        org.accept(report["report_id"])  # SIGKILLed after the write, before the publish
    proc = system.stack.services["intake"]
    assert proc.wait(10) == -9

    system.start("intake")  # no fault this time; the relay finds the stored event
    stored = org.intake.as_(org.officer_token).get(f"/reports/{report['report_id']}").json()
    assert stored["status"] == "accepted"
    cases = eventually(lambda: system.cases_for(org, report["report_id"]), timeout=30,
                       what="the case opened after the restart")
    assert len(cases) == 1 and cases[0]["case_id"] == stored["case_id"]
    feed = eventually(lambda: len(system.feed(org)) >= 3 and system.feed(org))
    kinds = [n["event_type"] for n in feed]
    assert kinds.count("report_accepted") == 1 and kinds.count("case_opened") == 1


def test_notices_wait_for_a_notify_that_never_ran_or_is_stopped(system):
    # Fresh install: notify has never started on this broker vhost.
    system.start("intake", "case_supervision")
    org = system.org()
    first = org.file_report()
    org.accept(first["report_id"])
    eventually(lambda: system.cases_for(org, first["report_id"]))
    system.start("notify")
    eventually(lambda: len(system.feed(org)) == 3, what="the notices sent before notify ran")

    system.stop("notify")
    second = org.file_report(summary="Second incident")
    system.start("notify")
    feed = eventually(lambda: len(system.feed(org)) == 4 and system.feed(org))
    assert feed[-1]["subject"] == second["report_id"]


def test_services_reconnect_after_a_broker_restart(system):
    if not system.stack.own_broker:
        pytest.skip("the broker is the operator's (AMQP_URI): this test restarts ours")
    system.start()
    org = system.org()
    before = org.file_report()
    org.accept(before["report_id"])
    eventually(lambda: system.cases_for(org, before["report_id"]))

    system.stack.stop_broker()
    system.stack.start_broker()

    after = org.file_report(summary="After the restart")
    org.accept(after["report_id"])
    eventually(lambda: system.cases_for(org, after["report_id"]), timeout=60,
               what="a case from a report filed after the broker restart")
    eventually(lambda: len(system.feed(org)) == 6, timeout=60)
    for name in ("intake", "case_supervision", "notify"):
        assert system.stack.services[name].poll() is None  # never restarted

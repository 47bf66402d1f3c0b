"""The fault matrix, on the running processes: each fault injected for real
(SIGKILL, SIGTERM, a stopped broker or database), then the counts reconciled
as a user would see them: one case per accepted report, one notice per step."""
import signal
import threading

import pytest
import requests

from support.reports import report_body
from tests.helpers import eventually

OUTAGE = 30  # seconds the broker or database stays down


def kinds(feed, subject=None):
    return [n["event_type"] for n in feed if subject is None or n["subject"] == subject]


def case_supervision_killed_at(system, fault):
    """A report filed and accepted while case_supervision dies at `fault`
    (SIGKILL), then started again: (the report, its cases, the company's
    feed once the case's opening is in it)."""
    system.start("intake", "notify")
    system.start("case_supervision", FASTTRACK_FAULT=fault)
    org = system.org()
    report = org.file_report()
    org.accept(report["report_id"])
    assert system.stack.services["case_supervision"].wait(30) == -9
    system.start("case_supervision")
    cases = eventually(lambda: system.cases_for(org, report["report_id"]), timeout=30)
    feed = eventually(lambda: "case_opened" in kinds(system.feed(org)) and system.feed(org))
    return report, cases, feed


def test_a_consumer_killed_mid_handler_gets_it_redelivered_and_applies_it_once(system):
    # The case is written, then the process dies before recording or acking.
    _, cases, feed = case_supervision_killed_at(system, "crash_after_apply:open_case")
    assert len(cases) == 1 and kinds(feed).count("case_opened") == 1


def test_a_case_opened_and_killed_before_its_event_is_published_publishes_it_on_redelivery(
        system):
    """The case's opening event is not in an outbox a sweep reads: the
    consumed acceptance is its outbox. Killed after the insert and before
    the publish, the redelivered acceptance finds the case and publishes it."""
    report, cases, feed = case_supervision_killed_at(system,
                                                     "crash_before_publish:case_opened")
    assert len(cases) == 1
    assert kinds(feed, report["report_id"]) == ["report_received", "report_accepted"]
    assert kinds(feed).count("case_opened") == 1


def test_notify_killed_after_telling_an_event_before_moving_its_cursors_tells_it_once(
        system):
    """An event next in order is told first, then both its cursors move in
    one write (taking.py): killed in between, notify gets it redelivered,
    tells it again with the same ids and moves them, and tells it neither
    twice nor out of order with the next step."""
    system.start("intake", "case_supervision")
    system.start("notify", FASTTRACK_FAULT="crash_after_apply:add_notice")
    org = system.org()
    report = org.file_report()
    assert system.stack.services["notify"].wait(30) == -9
    system.start("notify")
    org.accept(report["report_id"])
    feed = eventually(lambda: "case_opened" in kinds(system.feed(org)) and system.feed(org))
    assert kinds(feed, report["report_id"]) == ["report_received", "report_accepted"]


def test_events_dispatched_while_the_broker_is_down_are_kept_and_sent_after(system):
    if not system.stack.own_broker:
        pytest.skip("the broker is the operator's (AMQP_URI): this test stops ours")
    system.start()
    org = system.org()
    first = org.file_report()
    eventually(lambda: len(system.feed(org)) == 1)
    system.stack.stop_broker()
    try:
        assert system.client("intake").get("/health").status_code == 503
        # The database answers: reports are taken, their events wait in the outbox.
        during = [org.file_report(summary=f"during outage {i}") for i in range(3)]
        accepted = org.accept(first["report_id"])
        assert accepted.status_code == 200
        eventually(lambda: True, timeout=OUTAGE, interval=OUTAGE)  # the outage lasts
    finally:
        system.stack.start_broker()
    eventually(lambda: system.cases_for(org, first["report_id"]), timeout=60)
    feed = eventually(lambda: len(system.feed(org)) == 6 and system.feed(org), timeout=60)
    for report in during:
        assert kinds(feed, report["report_id"]) == ["report_received"]
    assert kinds(feed, first["report_id"]) == ["report_received", "report_accepted"]


def test_messages_queued_across_a_broker_restart_are_all_delivered(system):
    if not system.stack.own_broker:
        pytest.skip("the broker is the operator's (AMQP_URI): this test restarts ours")
    system.start("intake", "case_supervision")
    org = system.org()
    reports = [org.file_report(summary=f"queued {i}") for i in range(5)]
    # notify is down: five report_received messages wait in its durable queue.
    system.stack.stop_broker()
    system.stack.start_broker()
    system.start("notify")
    feed = eventually(lambda: len(system.feed(org)) == 5 and system.feed(org), timeout=60)
    assert sorted(n["subject"] for n in feed) == sorted(r["report_id"] for r in reports)


def test_a_database_outage_answers_503_changes_nothing_and_heals_without_restarts(system):
    if not system.stack.own_db:
        pytest.skip("the database is the operator's (MONGO_URI): this test stops ours")
    system.start()
    org = system.org()
    report = org.file_report()
    eventually(lambda: len(system.feed(org)) == 1)
    system.stack.stop_db()
    try:
        r = org.intake.as_(org.company_token).post("/reports", report_body(summary="lost?"))
        assert r.status_code == 503 and "nothing was changed" in r.json()["error"]["message"]
        r = org.accept(report["report_id"])
        assert r.status_code == 503 and r.json()["error"]["code"] == "unavailable"
        assert system.client("case_supervision").get("/health").status_code == 503
        eventually(lambda: True, timeout=OUTAGE, interval=OUTAGE)
    finally:
        system.stack.start_db()
    eventually(lambda: system.client("intake").get("/health").status_code == 200, timeout=60)
    # Nothing was half-written: the report is as it was, and can now be accepted.
    stored = org.intake.as_(org.officer_token).get(f"/reports/{report['report_id']}").json()
    assert stored["status"] == "received"
    listed = org.intake.as_(org.company_token).get("/reports").json()["items"]
    assert [r["report_id"] for r in listed] == [report["report_id"]]
    assert org.accept(report["report_id"]).status_code == 200
    eventually(lambda: system.cases_for(org, report["report_id"]), timeout=60)
    for name in ("intake", "case_supervision", "notify"):
        assert system.stack.services[name].poll() is None  # never restarted


def test_sigterm_under_load_finishes_what_it_answered_and_loses_nothing(system):
    system.start()
    org = system.org()
    answered, lock = [], threading.Lock()

    def file_many(n):
        client = org.intake.as_(org.company_token)
        for i in range(n):
            try:
                r = client.post("/reports", report_body(summary=f"under load {i}",
                                                        estimated_loss=f"{1000 + i}.00"))
            except requests.ConnectionError:
                continue
            if r.status_code == 201:
                with lock:
                    answered.append(r.json()["report_id"])

    threads = [threading.Thread(target=file_many, args=(15,)) for _ in range(4)]
    for t in threads:
        t.start()
    eventually(lambda: len(answered) >= 10, timeout=30)
    system.stack.kill_service("intake", signal.SIGTERM)
    for t in threads:
        t.join(60)
    system.start("intake")
    assert answered
    # Every report the company was told exists does, and its notice arrives.
    feed = eventually(lambda: {n["subject"] for n in system.feed_all(org)} >= set(answered)
                      and system.feed_all(org), timeout=60)
    subjects = [n["subject"] for n in feed if n["event_type"] == "report_received"]
    assert len(subjects) == len(set(subjects))  # and only once


def test_a_crash_between_a_merges_two_writes_is_repaired(system):
    system.start("intake", FASTTRACK_FAULT="crash_between_merge_writes")
    org = system.org()
    client = system.client("intake", org.officer_token)
    a, b = (org.file_report()["report_id"] for _ in range(2))
    try:
        answer = client.post(f"/reports/{a}/merge", {"into_report_id": b, "reason": "same"})
        pytest.fail(f"the merge answered {answer.status_code} {answer.text}")
    except requests.ConnectionError:
        pass  # the process died before it answered
    assert system.stack.services["intake"].wait(30) == -9
    system.start("intake")
    # The merged report was written; the sweep links it to its target.
    assert client.get(f"/reports/{a}").json()["merged_into"] == b
    eventually(lambda: client.get(f"/reports/{b}").json()["merged_reports"] == [a],
               timeout=20, what="the target to list the merged report")
    assert client.get(f"/reports/{b}").json()["status"] == "received"
    # The dead merge's hold on the target runs out: it can be taken up.
    eventually(lambda: client.post(f"/reports/{b}/accept").status_code == 200,
               timeout=30, what="the target to be accepted")
    assert client.get(f"/reports/{b}").json()["merged_reports"] == [a]

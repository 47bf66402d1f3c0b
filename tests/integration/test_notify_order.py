"""Order, once, and the follow-up (定期回訪), on the real broker and database."""
from datetime import datetime

from services.notify.repository import Repository
from services.notify.service import NotifyService
from shared.inbox import CONSUMED
from shared.mongo import connect, database_name
from tests.helpers import eventually
from tests.integration.notify_world import Case, Company, report_events


def test_events_delivered_twice_and_out_of_order_give_one_ordered_feed(running, notify):
    notify()
    company = Company(running, language="zh-CN")
    events = report_events(company, "report-1")
    for e in [events[3], events[2], events[3], events[1], events[0], events[2], events[0]]:
        running.publish("intake", e, e["type"])
    feed = eventually(lambda: len(company.feed()) >= 3 and company.feed(),
                      what="three notices")
    assert [(n["sequence"], n["event_type"]) for n in feed] == [
        (1, "report_received"), (3, "report_acknowledged"), (4, "report_accepted")]
    assert feed[0]["title"] == "报案已受理登记：FT-20261128-000042"
    assert "¥21,000.00" in feed[0]["body"] and "2026-11-28 09:30" in feed[0]["body"]
    # Redeliveries after the fact change nothing either: the stored event is
    # the inbox record of both consumers (the notices' and the police
    # alerts'), so none is written for them.
    duplicates = CONSUMED.labels("add_notice", events[3]["type"], "duplicate")._value.get()
    running.publish("intake", events[3], events[3]["type"])
    eventually(lambda: CONSUMED.labels("add_notice", events[3]["type"],
                                       "duplicate")._value.get() == duplicates + 1)
    assert len(company.feed()) == 3
    # (The police alerts' consumer fails here, no intake to name the unit's
    # people, and keeps its failures for retry: the notices do not wait.)
    assert running.db("notify").inbox.count_documents(
        {"event_id": {"$in": [e["event_id"] for e in events]}, "handler": "add_notice"}) == 0


def test_a_notice_is_kept_once_by_its_id_alone(running, notify):
    """The notices' (company, event) unique index repeated the `_id`, which
    is made from the event (ordering.notice_id), and cost every notice's
    insert: a notify starting over a database that has it drops it, and an
    event told twice still keeps one notice — the second write refused by
    its id, as a worker that died between the notice and its cursor finds."""
    config = running.make_config(0)
    earlier = connect(config["MONGO_URI"])[database_name(config, "notify")]
    notices = earlier.notices
    notices.create_index([("company_id", 1), ("event_id", 1)], unique=True)
    # (And the subjects' index of a case's lead by its report, which the
    # case's id, made from the report's, replaced: alert_store.lead_of.)
    earlier.subjects.create_index([("alerts.report_id", 1)], sparse=True)
    notify()
    assert notices.database.name == running.db("notify").name
    assert "company_id_1_event_id_1" not in {i["name"] for i in notices.list_indexes()}
    assert "alerts.report_id_1" not in {i["name"] for i in earlier.subjects.list_indexes()}
    company = Company(running)
    events = report_events(company, "report-2")
    running.publish("intake", events[0], events[0]["type"])
    told = eventually(lambda: company.feed(), what="the filing told")
    repo = Repository(running.db("notify"))
    stored = repo.notice(told[0]["notice_id"])
    assert repo.add_notice(dict(stored)) is False
    assert notices.count_documents({"event_id": events[0]["event_id"]}) == 1
    assert [n["notice_id"] for n in company.feed()] == [told[0]["notice_id"]]


def test_a_missing_step_holds_later_ones_then_is_stepped_over_and_told_late(
        running, notify):
    notify(policy={"order_max_hold_seconds": 1})
    company = Company(running)
    case = Case(running, company)
    opened, _, progressed, recovered = case.story()
    case.publish(progressed, recovered)  # 1 and 2 have not come
    feed = eventually(lambda: len(company.feed()) == 2 and company.feed(),
                      timeout=30, what="held steps released after the hold")
    assert [n["sequence"] for n in feed] == [3, 4]
    held = (datetime.fromisoformat(feed[0]["created_at"])
            - datetime.fromisoformat(progressed["occurred_at"]))
    assert held.total_seconds() >= 1  # held back for the hold, not told at once
    case.publish(opened)  # arrives late, after its gap was stepped over: still told
    feed = eventually(lambda: len(company.feed()) == 3 and company.feed())
    assert [n["event_type"] for n in feed] == ["case_progressed", "loss_recovered",
                                               "case_opened"]


def test_a_case_opening_waits_for_the_acceptance_that_opened_it(running, notify):
    notify()
    company = Company(running)
    case = Case(running, company)
    received, overdue, acknowledged, accepted = report_events(company, case.base["report_id"])
    accepted["data"]["case_id"] = case.id
    # case_supervision is quicker than intake's relay here: the opening
    # arrives while the report's steps 2-4 are still on their way.
    case.publish(case.event(1, "case_opened", accepted_sequence=4))
    running.publish("intake", received, received["type"])
    eventually(lambda: len(company.feed()) == 1, what="the report's first step")
    notices = running.db("notify").notices
    assert notices.count_documents({"subject": case.id}) == 0   # not told yet
    for e in (overdue, acknowledged, accepted):
        running.publish("intake", e, e["type"])
    feed = eventually(lambda: len(company.feed()) == 4 and company.feed(),
                      what="the acceptance, then the opening")
    assert [n["event_type"] for n in feed] == [
        "report_received", "report_acknowledged", "report_accepted", "case_opened"]
    # What the company's webhook gets carries none of notify's own ordering.
    told = notices.find_one({"subject": case.id})["envelope"]["data"]
    assert told["case_id"] == case.id and "accepted_sequence" not in told


def test_a_case_opening_whose_acceptance_never_comes_is_told_after_the_hold(
        running, notify):
    notify(policy={"order_max_hold_seconds": 1})
    company = Company(running)
    case = Case(running, company)
    opened = case.event(1, "case_opened", accepted_sequence=4)
    case.publish(opened)
    feed = eventually(lambda: company.feed(), timeout=30, what="the opening, after the hold")
    assert [n["event_type"] for n in feed] == ["case_opened"]
    held = (datetime.fromisoformat(feed[0]["created_at"])
            - datetime.fromisoformat(opened["occurred_at"]))
    assert held.total_seconds() >= 1


def follow_ups(company, case):
    return [n for n in company.feed()
            if n["event_type"] == "case_follow_up" and n["subject"] == case.id]


def test_a_quiet_case_hears_once_per_interval_from_any_number_of_instances(
        running, notify, container_factory):
    notify(policy={"follow_up_after_seconds": 1.5})
    # A second notify instance on the same broker and database.
    second = container_factory(NotifyService, dict(running.config,
                                                   WEB_SERVER_ADDRESS="127.0.0.1:0"))
    second.start()
    company = Company(running)
    quiet, done = Case(running, company), Case(running, company)
    quiet.publish(quiet.event(1, "case_opened"),
                  quiet.event(2, "case_progressed", previous_stage="opened", disclose=True,
                              note="Bank records requested"))
    done.publish(done.event(1, "case_opened"),
                 done.event(2, "case_concluded", result="solved", summary="Returned."))
    notices = eventually(lambda: len(follow_ups(company, quiet)) >= 3
                         and follow_ups(company, quiet), timeout=30,
                         what="three follow-ups of the quiet case")
    times = [datetime.fromisoformat(n["created_at"]) for n in notices]
    gaps = [(b - a).total_seconds() for a, b in zip(times, times[1:])]
    assert all(g >= 1.4 for g in gaps), gaps  # once per interval, two instances or not
    first = notices[0]
    assert first["title"] == f"Still working on case {quiet.base['case_number']}"
    assert f"Last step: Case progress: {quiet.base['case_number']}" in first["body"]
    assert "Next deadline: 2026-12-01 10:00 (Beijing time)" in first["body"]
    assert first["sequence"] == 2
    assert follow_ups(company, done) == []  # a concluded case is not followed up

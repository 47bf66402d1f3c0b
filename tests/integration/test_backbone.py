"""The event backbone on the real broker and database: nothing lost, nothing
twice, no failure silently acked away."""
import uuid
from datetime import datetime, timezone

import pytest
from amqp.exceptions import NotFound
from kombu import Connection, Queue
from pymongo.errors import AutoReconnect

from services.case_supervision.service import CaseSupervisionService
from services.intake.service import IntakeService
from services.notify.service import NotifyService
from shared import outbox
from shared.events import case_id_for, event_exchange
from shared.inbox import CONSUMED
from support.client import Client
from support.organisation import Org
from tests.helpers import eventually, free_port


def feed(running, org):
    r = Client(running.urls["notify"], org.company_token).get("/notices")
    assert r.status_code == 200, r.text
    return r.json()["items"]


def test_events_sent_before_notify_ever_ran_reach_it_when_it_starts(running):
    # A fresh vhost: notify has never declared its queues here.
    running.start(IntakeService)
    org = Org(running.urls["intake"], running.config["ADMIN_TOKEN"])
    report = org.file_report()
    running.start(NotifyService, **running.with_intake_keys())
    items = eventually(lambda: feed(running, org), what="notices in the feed")
    assert [n["event_type"] for n in items] == ["report_received"]
    assert report["reference"] in items[0]["title"]


def accepted_event(org_company, **data):
    report_id = str(uuid.uuid4())
    payload = {"report_id": report_id, "case_id": case_id_for(report_id),
               "reference": "FT-20261128-999999", "company_id": org_company,
               "status": "accepted", "incident_type": "theft", "summary": "Stolen stock",
               "owner_unit_id": "st1", "owner_unit_path": ["st1", "b1"],
               "estimated_loss": "800.00", "funds_in_transit": False,
               "ack_due_at": "2026-11-28T03:00:00+00:00", "materials": [],
               "accepted_by": "o1", "accepted_at": "2026-11-28T02:00:00+00:00"}
    payload.update(data)
    return {"event_id": str(uuid.uuid4()), "specversion": "1.0", "type": "report_accepted",
            # The report's only event here, so its first: notify holds a later
            # sequence until the ones before it arrive (issue 5's ordering).
            "source": "intake", "subject": report_id, "sequence": 1,
            "occurred_at": datetime.now(timezone.utc).isoformat(), "data": payload}


def handled(handler, event_type="report_accepted"):
    """How many deliveries of `event_type` a handler has taken, by any outcome."""
    return sum(CONSUMED.labels(handler, event_type, outcome)._value.get()
               for outcome in ("applied", "duplicate", "failed"))


def one_case_and_one_notice_each(running, event, company):
    cases = running.db("cases").cases
    assert cases.count_documents({"report_id": event["data"]["report_id"]}) == 1
    notices = running.db("notify").notices
    # report_accepted's notice, and case_opened's from the one case: once each.
    eventually(lambda: notices.count_documents({"company_id": company}) == 2)
    assert sorted(n["event_type"] for n in notices.find({"company_id": company})) == [
        "case_opened", "report_accepted"]


def test_a_redelivered_event_gives_one_case_and_one_notice(running):
    running.start(CaseSupervisionService)
    running.start(NotifyService)
    event = accepted_event("company-redelivered")
    before = handled("open_case"), handled("add_notice")
    running.publish("intake", event, "report_accepted")
    eventually(lambda: running.db("cases").cases.count_documents(
        {"report_id": event["data"]["report_id"]}) == 1)
    running.publish("intake", event, "report_accepted")
    eventually(lambda: handled("open_case") == before[0] + 2
               and handled("add_notice") == before[1] + 2,
               what="both deliveries taken by both handlers")
    assert CONSUMED.labels("open_case", "report_accepted", "duplicate")._value.get() >= 1
    one_case_and_one_notice_each(running, event, "company-redelivered")


def test_an_event_met_by_the_database_away_goes_back_to_the_broker_and_is_told(
        running, monkeypatch):
    """The one error a handler raises is a database that does not answer:
    the message is requeued, not acked and lost — notify's handler, which
    takes its events in order from one queue, as every other."""
    real, refused = NotifyService.add_notice, []

    def away_once(self, event):
        if not refused:
            refused.append(event["event_id"])
            raise AutoReconnect("the database does not answer")
        return real(self, event)
    monkeypatch.setattr(NotifyService, "add_notice", away_once)
    running.start(NotifyService)
    event = accepted_event("company-database-away")
    running.publish("intake", event, "report_accepted")
    notices = running.db("notify").notices
    eventually(lambda: notices.count_documents({"company_id": "company-database-away"}) == 1,
               what="the notice, from the event taken again")
    assert refused == [event["event_id"]]


def test_the_same_event_delivered_twice_at_once_gives_one_case_and_one_notice(running):
    # Two workers may take the two copies concurrently: the effects' own keys
    # (case id from report id, notice unique per event) keep them single.
    running.start(CaseSupervisionService)
    running.start(NotifyService)
    event = accepted_event("company-twice")
    before = handled("open_case"), handled("add_notice")
    running.publish("intake", event, "report_accepted")
    running.publish("intake", event, "report_accepted")
    eventually(lambda: handled("open_case") == before[0] + 2
               and handled("add_notice") == before[1] + 2,
               what="both deliveries taken by both handlers")
    one_case_and_one_notice_each(running, event, "company-twice")


def test_a_failing_handler_is_recorded_retried_then_dead_lettered(running):
    running.start(CaseSupervisionService)
    poison = accepted_event("company-poison")
    del poison["data"]["owner_unit_path"]  # a producer bug: the case cannot open
    good = accepted_event("company-good")
    running.publish("intake", poison, "report_accepted")
    running.publish("intake", good, "report_accepted")
    admin = running.admin("case_supervision")

    def dead():
        items = admin.get("/admin/failures", status="dead").json()["items"]
        return [f for f in items if f["event_id"] == poison["event_id"]]
    record = eventually(dead, timeout=30, what="the poison event dead-lettered")[0]
    assert record["attempts"] == 3 and "owner_unit_path" in record["last_error"]
    # Other messages kept flowing.
    cases = running.db("cases").cases
    assert cases.count_documents({"report_id": good["data"]["report_id"]}) == 1
    assert cases.count_documents({"report_id": poison["data"]["report_id"]}) == 0


def test_a_malformed_envelope_is_dead_on_arrival_and_the_consumer_lives(running):
    running.start(CaseSupervisionService)
    running.publish("intake", {"hello": "world"}, "report_accepted")
    admin = running.admin("case_supervision")
    eventually(lambda: any("malformed" in f["last_error"] for f in
                           admin.get("/admin/failures").json()["items"]))
    good = accepted_event("company-after-malformed")
    running.publish("intake", good, "report_accepted")
    eventually(lambda: running.db("cases").cases.count_documents(
        {"report_id": good["data"]["report_id"]}) == 1)


def test_the_relay_sends_what_a_crash_left_in_an_outbox(running):
    running.start(IntakeService)
    running.start(NotifyService, **running.with_intake_keys())
    org = Org(running.urls["intake"], running.config["ADMIN_TOKEN"])
    # What a crash between the write and the publish leaves: a stored report
    # whose event never left. Written straight to the database.
    report = org.file_report()
    reports = running.db("intake").reports
    stored = reports.find_one({"_id": report["report_id"]})
    now = datetime.now(timezone.utc)
    envs = outbox.record("intake", stored["_id"], stored["seq"],
                         [("report_acknowledged", {"company_id": org.company_id,
                                                   "reference": stored["reference"]})], now)
    reports.update_one({"_id": stored["_id"]}, outbox.push(stored["seq"], envs, now))
    items = eventually(lambda: [n for n in feed(running, org)
                                if n["event_type"] == "report_acknowledged"],
                       what="the stranded event relayed")
    assert items[0]["event_id"] == envs[0]["event_id"]
    # Pulled from the outbox by the relay's next write of its pulls.
    left = eventually(lambda: reports.find_one({"_id": stored["_id"], "outbox": []}),
                      what="the outbox emptied")
    assert "outbox_since" not in left


def test_events_left_in_notifys_queues_a_type_each_reach_it_from_its_one_queue(running):
    # What the version before leaves on a broker: notify's queue for each
    # event type, bound, an acceptance still in it. The dispatching side's
    # start moves it to the queue that took its place and deletes the old.
    old = "evt-intake-report_accepted--notify.handle_event"
    config = running.make_config(free_port())
    with Connection(config["AMQP_URI"]) as conn:
        Queue(old, exchange=event_exchange("intake"), routing_key="report_accepted",
              durable=True)(conn.channel()).declare()
    running.config = config
    event = accepted_event("company-upgraded")
    running.publish("intake", event, "report_accepted")
    outbox.declare_consumer_queues(config["AMQP_URI"], "intake")   # as intake's start does
    with Connection(config["AMQP_URI"]) as conn:
        with pytest.raises(NotFound):
            conn.channel().queue_declare(old, passive=True)
        later = accepted_event("company-upgraded")
        running.publish("intake", later, "report_accepted")   # bound to the one queue only
        ready = conn.channel().queue_declare("evt-in-order--notify.handle_event", passive=True)
        assert ready.message_count == 2
    before = handled("add_notice")
    running.start(NotifyService)
    eventually(lambda: handled("add_notice") == before + 2, what="both taken by notify")
    notices = running.db("notify").notices
    eventually(lambda: notices.count_documents({"company_id": "company-upgraded"}) == 2)


def test_a_queue_no_handler_reads_any_more_is_deleted_at_the_dispatching_sides_start(
        running):
    # What the version before leaves: case_supervision's facts queue for
    # case openings (their fact is written with the case), bound, an
    # opening in it. case_supervision's start unbinds and deletes it.
    old = "evt-case_supervision-case_opened--case_supervision.handle_fact"
    config = running.make_config(free_port())
    with Connection(config["AMQP_URI"]) as conn:
        Queue(old, exchange=event_exchange("case_supervision"), routing_key="case_opened",
              durable=True)(conn.channel()).declare()
        conn.Producer().publish({"type": "case_opened"}, exchange=event_exchange(
            "case_supervision"), routing_key="case_opened", serializer="json")
        eventually(lambda: conn.channel().queue_declare(old, passive=True).message_count == 1)
    outbox.declare_consumer_queues(config["AMQP_URI"], "case_supervision")
    with Connection(config["AMQP_URI"]) as conn:
        with pytest.raises(NotFound):
            conn.channel().queue_declare(old, passive=True)
        # Openings still reach notify, from the queue bound to them.
        conn.Producer().publish({"type": "case_opened"}, exchange=event_exchange(
            "case_supervision"), routing_key="case_opened", serializer="json", mandatory=True)
        # (A publish without a confirm is enqueued a moment later: the count
        # read at once on another channel may be before it.)
        eventually(lambda: conn.channel().queue_declare(
            "evt-in-order--notify.handle_event", passive=True).message_count == 1,
            what="the opening in notify's queue")

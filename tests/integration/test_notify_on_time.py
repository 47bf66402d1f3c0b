"""The courier goes when a notice is released, not on its next tick: with
the tick an hour away, a case's webhooks still arrive — the first woken by
its release, each next one by the one before it finishing — in order, once.
(How soon, in milliseconds, is `make bench`'s figure, not a test's.)"""
from tests.helpers import eventually
from tests.integration.notify_world import Company, report_events

HOUR = "3600"


def test_released_notices_are_delivered_without_waiting_for_the_tick(
        running, notify, receivers):
    notify(COURIER_TICK_SECONDS=HOUR)
    company = Company(running)
    hook = receivers()
    hook.trust(company.id, company.subscribe(
        webhook_url=hook.url_for(company.id))["webhook_secret"])
    received, overdue, acknowledged, accepted = report_events(company, "report-on-time")
    running.publish("intake", received, received["type"])
    eventually(lambda: len(hook.accepted) == 1, what="the first webhook, woken by its release")
    # The later two arrive first and are held for the overdue step (not told
    # to the company); its arrival releases all three at once: one wake-up.
    # The last waits on the one before on the same channel, and goes as soon
    # as that one is done.
    for e in (accepted, acknowledged):
        running.publish("intake", e, e["type"])
    eventually(lambda: running.db("notify").events.count_documents(
        {"_id": {"$in": [accepted["event_id"], acknowledged["event_id"]]}}) == 2,
        what="both held")
    running.publish("intake", overdue, overdue["type"])
    eventually(lambda: len(hook.accepted) == 3, what="the next two, each woken by the last")
    assert [a["payload"]["type"] for a in hook.accepted] == [
        "report_received", "report_acknowledged", "report_accepted"]
    assert hook.unverified == []

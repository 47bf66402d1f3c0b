"""The courier goes when a notice is released, not on its next tick: with
the tick an hour away, a case's webhooks still arrive — the first woken by
its release, each next one by the one before it finishing — in order, once.
(How soon, in milliseconds, is `make bench`'s figure, not a test's.)"""
from tests.helpers import eventually
from tests.integration.notify_world import Company, envelope

HOUR = "3600"


def report_events(company, report_id):
    base = {"report_id": report_id, "reference": "FT-20261130-000007",
            "company_id": company.id, "status": "received", "incident_type": "fraud",
            "summary": "Invoice fraud", "owner_unit_id": "st1", "owner_unit_path": ["st1"],
            "estimated_loss": "21000.00", "funds_in_transit": False,
            "received_at": "2026-11-30T01:00:00+00:00",
            "ack_due_at": "2026-11-30T01:30:00+00:00",
            "materials": [{"code": "bank", "label": "Bank statements"}], "missing": []}

    def ev(seq, kind, **data):
        return envelope(kind, report_id, seq, "intake", dict(base, **data))
    return [ev(1, "report_received", channel="online", likely_duplicate_of=None),
            ev(2, "report_acknowledged", acknowledged_by="o1",
               acknowledged_at="2026-11-30T01:10:00+00:00"),
            ev(3, "report_accepted", case_id="k1", accepted_by="o1",
               accepted_at="2026-11-30T01:20:00+00:00",
               occurred_at="2026-11-29T10:00:00+00:00", merged_count=0)]


def test_released_notices_are_delivered_without_waiting_for_the_tick(
        running, notify, receivers):
    notify(COURIER_TICK_SECONDS=HOUR)
    company = Company(running)
    hook = receivers()
    hook.trust(company.id, company.subscribe(
        webhook_url=hook.url_for(company.id))["webhook_secret"])
    first, *rest = report_events(company, "report-on-time")
    running.publish("intake", first, first["type"])
    eventually(lambda: len(hook.accepted) == 1, what="the first webhook, woken by its release")
    # The third arrives first and is held for the second; the second's
    # arrival releases both at once (one wake-up). The third waits on the
    # second on the same channel, and goes as soon as that one is done.
    second, third = rest
    running.publish("intake", third, third["type"])
    eventually(lambda: running.db("notify").events.count_documents(
        {"_id": third["event_id"]}) == 1, what="the third held")
    running.publish("intake", second, second["type"])
    eventually(lambda: len(hook.accepted) == 3, what="the next two, each woken by the last")
    assert [a["payload"]["type"] for a in hook.accepted] == [
        "report_received", "report_acknowledged", "report_accepted"]
    assert hook.unverified == []

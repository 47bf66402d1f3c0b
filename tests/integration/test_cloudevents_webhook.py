"""What a company's receiver gets is a CloudEvent the `cloudevents` SDK
reads from the HTTP request as it arrived (structured content mode), and
still verifies with any Standard Webhooks library."""
from cloudevents.v1.http import from_http

from tests.helpers import eventually
from tests.integration.notify_world import Case, Company


def test_a_delivered_webhook_is_a_signed_cloudevent(running, notify, receivers):
    notify()
    company = Company(running)
    hook = receivers()
    hook.secrets = [company.subscribe(webhook_url=hook.url)["webhook_secret"]]
    case = Case(running, company)
    opened = case.event(1, "case_opened")
    case.publish(opened)
    eventually(lambda: hook.accepted, what="the webhook")
    [got] = hook.accepted
    assert got["verified_by"] == hook.secrets            # Standard Webhooks signature
    event = from_http(got["headers"], got["body"])
    assert event["specversion"] == "1.0" and event["id"] == opened["event_id"]
    assert event["source"] == "case_supervision" and event["type"] == "case_opened"
    assert event["subject"] == opened["subject"] and event["sequence"] == 1
    assert event["datacontenttype"] == "application/json"
    assert event.data["case_number"] == case.base["case_number"]
    assert event.data["notice"]["title"]
    assert got["payload"]["event_id"] == event["id"]      # deprecated, kept for now
    assert got["payload"]["occurred_at"] == event["time"]

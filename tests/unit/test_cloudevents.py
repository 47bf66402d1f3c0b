"""Every event the services emit is a CloudEvents 1.0 event the `cloudevents`
SDK reads: on the bus (the outbox's envelope) and at a webhook (the signed
body, in structured content mode), with `sequence` as an extension
attribute and the deprecated `event_id`/`occurred_at` beside `id`/`time`."""
import json
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from cloudevents.core.formats.json import JSONFormat
from cloudevents.v1.http import from_http, from_json

from services.notify import domain as notify
from services.notify.channels.webhook import signed_request
from shared import events as ev
from shared.events import EnvelopeSchema
from shared.outbox import record
from tests.unit.notify_samples import CASE, NOW, TOLD

TEMPLATES = notify.load_templates()
EMITTED = [("intake", t) for t in (ev.COMPANY_REGISTERED,) + ev.REPORT_EVENTS] + [
    ("case_supervision", t) for t in ev.CASE_EVENTS]
DEPRECATED = ("event_id", "occurred_at", "notice")


def on_the_bus(source, event_type):
    data = TOLD.get(event_type, CASE)
    [env] = record(source, "subject-1", 6, [(event_type, data)], NOW,
                   new_id=lambda: str(uuid.uuid4()))
    return json.loads(json.dumps(env))   # as it travels: JSON


@pytest.mark.parametrize("source,event_type", EMITTED)
def test_every_event_on_the_bus_is_a_cloudevent_the_sdk_reads(source, event_type):
    env = on_the_bus(source, event_type)
    event = from_json(json.dumps(env))
    assert event["specversion"] == "1.0"
    assert event["id"] == env["event_id"]
    assert event["source"] == source and event["type"] == event_type
    assert event["subject"] == "subject-1"
    assert datetime.fromisoformat(event["time"].replace("Z", "+00:00")) == NOW
    assert event["datacontenttype"] == "application/json"
    assert event["sequence"] == 7
    assert event.data == TOLD.get(event_type, CASE)
    # Our consumers still read it, and the pair agrees with id and time.
    loaded = EnvelopeSchema().load(env)
    assert str(loaded["event_id"]) == loaded["id"] and loaded["occurred_at"] == NOW
    # The SDK's strict 2.x reader takes it once the deprecated pair is gone
    # (its extension names allow no underscore): what ending the period leaves.
    strict = JSONFormat().read(None, json.dumps(
        {k: v for k, v in env.items() if k not in DEPRECATED}))
    assert strict.get_id() == env["id"] and strict.get_extension("sequence") == 7


def told_events():
    for event_type in TOLD:
        source = "case_supervision" if event_type in ev.CASE_EVENTS else "intake"
        [env] = record(source, "s1", 0, [(event_type, TOLD[event_type])], NOW,
                       new_id=lambda: str(uuid.uuid4()))
        yield notify.notice_for(json.loads(json.dumps(env)), "en", TEMPLATES, "n1", NOW)
    subject = {"_id": "k1", "company_id": "c1", "released": 4, "case_number": "FT-C-1",
               "reference": "FT-1", "stage": "investigating",
               "next_due_at": "2026-12-01T02:00:00+00:00",
               "last_step": {"title": "Case progress", "at": NOW - timedelta(days=7)},
               "last_notice_at": NOW - timedelta(days=7)}
    yield notify.follow_up_for(subject, "en", TEMPLATES, "f1", str(uuid.uuid4()), NOW)


@pytest.mark.parametrize("notice", list(told_events()), ids=lambda n: n["event_type"])
def test_every_webhook_body_is_a_structured_cloudevent_the_sdk_reads(notice):
    body, headers = signed_request(notice["envelope"], ["whsec_" + "A" * 32],
                                   datetime.now(timezone.utc))
    assert headers["content-type"].startswith("application/cloudevents+json")
    event = from_http(headers, body)
    assert event["id"] == headers["webhook-id"] == notice["event_id"]
    assert event["type"] == notice["event_type"] and event["subject"] == notice["subject"]
    assert event["sequence"] == notice["sequence"]
    assert event.data["notice"]["title"] == notice["title"]
    assert json.loads(body)["event_id"] == event["id"]   # deprecated, still there

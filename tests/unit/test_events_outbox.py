"""The envelope, the outbox's numbering, and the consumer-queue table."""
import inspect
from datetime import datetime, timezone

import pytest
from marshmallow import ValidationError
from nameko.events import EventHandler

from services.case_supervision.service import CaseSupervisionService
from services.intake.service import IntakeService
from services.notify.service import NotifyService
from shared import aggregate, events as ev, outbox
from shared.events import CONSUMERS, EnvelopeSchema, InOrder, queue_name

NOW = datetime(2026, 11, 28, 1, 2, 3, tzinfo=timezone.utc)


def ids():
    n = iter(range(1, 100))
    return lambda: f"00000000-0000-0000-0000-{next(n):012d}"


def test_events_are_numbered_after_the_subjects_last_sequence():
    envs = outbox.record("intake", "r1", 4, [("a", {"x": 1}), ("b", {})], NOW, ids())
    assert [e["sequence"] for e in envs] == [5, 6]
    assert [e["type"] for e in envs] == ["a", "b"]
    assert envs[0]["subject"] == "r1" and envs[0]["source"] == "intake"
    assert envs[0]["occurred_at"] == "2026-11-28T01:02:03+00:00"


def test_the_state_change_and_its_events_are_one_update():
    envs = outbox.record("intake", "r1", 2, [("a", {})], NOW, ids())
    update = outbox.merge({"$set": {"status": "accepted"}, "$push": {"history": 1}},
                          outbox.push(2, envs, NOW))
    assert update["$set"] == {"status": "accepted", "seq": 3}
    assert update["$push"] == {"history": 1, "outbox": {"$each": envs}}
    assert update["$min"] == {"outbox_since": NOW}


def test_a_new_document_carries_its_first_events():
    envs = outbox.record("intake", "c1", 0, [("company_registered", {})], NOW, ids())
    assert outbox.on_insert(envs, NOW) == {"seq": 1, "outbox": envs, "outbox_since": NOW}


def test_a_document_made_by_a_consumed_event_keeps_its_first_events_out_of_the_outbox():
    """No outbox_since: no sweep reads it and no pull rewrites it; the
    consumer publishes them (the consumed message is their outbox)."""
    doc = aggregate.created_by_event({"_id": "c1", "stage": "opened"}, "case_supervision",
                                     [("case_opened", {"case_id": "c1"})], NOW)
    assert doc["outbox"] == [] and "outbox_since" not in doc
    assert doc["seq"] == 1 and doc["version"] == 1
    assert [(e["type"], e["subject"], e["sequence"]) for e in doc["first_events"]] == [
        ("case_opened", "c1", 1)]


def test_envelope_schema_accepts_what_record_makes_and_ignores_extra_attributes():
    env = outbox.record("intake", "r1", 0, [("a", {"k": "v"})], NOW, ids())[0]
    loaded = EnvelopeSchema().load(dict(env, extension="x"))
    assert loaded["data"] == {"k": "v"} and loaded["sequence"] == 1


@pytest.mark.parametrize("broken", [
    {"event_id": "not-a-uuid"}, {"sequence": 0}, {"sequence": "1"},
    {"occurred_at": "2026-11-28T01:02:03"}, {"data": []}, {"specversion": "0.3"}])
def test_envelope_schema_refuses_broken_envelopes(broken):
    env = outbox.record("intake", "r1", 0, [("a", {})], NOW, ids())[0]
    with pytest.raises(ValidationError):
        EnvelopeSchema().load(dict(env, **broken))


def handlers(service_cls):
    found = set()
    for name, method in inspect.getmembers(service_cls, inspect.isfunction):
        for ep in getattr(method, "nameko_entrypoints", ()):
            if isinstance(ep, EventHandler):
                found.add((ep.source_service, ep.event_type, service_cls.name, name))
            if isinstance(ep, InOrder):
                found |= {(source, t, service_cls.name, name)
                          for source, types in ep.types_by_source.items() for t in types}
    return found


def test_consumer_table_lists_exactly_the_services_event_handlers():
    # The dispatching side declares these queues at start: a handler missing
    # from the table would lose the events sent before its service first ran.
    declared = {(src, t, svc, m) for (src, t), targets in CONSUMERS.items()
                for svc, m in targets}
    actual = set().union(*(handlers(c) for c in
                           (IntakeService, CaseSupervisionService, NotifyService)))
    assert declared == actual


def test_declared_queues_have_nameko_names_and_bindings():
    queues = {q.name: q for q in outbox.consumer_queues("intake")}
    q = queues[queue_name("intake", "report_accepted", "case_supervision",
                          "handle_report_accepted")]
    assert q.name == "evt-intake-report_accepted--case_supervision.handle_report_accepted"
    assert q.exchange.name == "intake.events" and q.routing_key == "report_accepted"
    assert q.durable and not q.auto_delete


def test_notify_takes_a_report_and_its_case_from_one_queue_bound_to_each_type():
    # One queue, so a report's acceptance comes after its receipt, not
    # from a queue of its own that a backlog elsewhere lets overtake it.
    for source, types in (("intake", ev.REPORT_EVENTS), ("case_supervision", ev.CASE_EVENTS)):
        bound = {q.routing_key for q in outbox.consumer_queues(source)
                 if q.name == "evt-in-order--notify.handle_event"}
        assert bound == set(types)
        assert all(q.exchange.name == f"{source}.events" for q in outbox.consumer_queues(source)
                   if q.name == "evt-in-order--notify.handle_event")
    assert not [q for q in outbox.consumer_queues("intake")
                if q.name.startswith("evt-intake-") and q.name.endswith("notify.handle_event")]

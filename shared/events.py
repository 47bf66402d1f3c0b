"""The event envelope, its schema, and who consumes what.

Every event body is one CloudEvents 1.0 event in its JSON format
(`specversion`, `id`, `source`, `type`, `subject`, `time`,
`datacontenttype`, `data`), so the same object leaves the system as a
webhook and any CloudEvents SDK reads it. `sequence` is an extension
attribute: it counts per subject from 1, and consumers order by it.
`source` is the producing service's name, a relative URI-reference
(RFC 3986), which is what nameko routes by too.

`event_id` and `occurred_at` repeat `id` and `time` for the consumers and
receivers written before (deprecated since 2026-11-30; README "Events").
"""
import uuid
from datetime import datetime
from typing import Any, TypedDict

from kombu import Exchange, Queue, binding
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema
from nameko.events import event_handler
from nameko.messaging import Consumer


def case_id_for(report_id: str) -> str:
    """The id of the case opened from a report (report_accepted's
    `case_id`): derived from the report's, so opening is idempotent by key,
    the report knows its case at acceptance, and a consumer finds the
    case's documents from a report's id alone."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"fasttrack:case:{report_id}"))


SPEC_VERSION = "1.0"
DATA_CONTENT_TYPE = "application/json"

# The event catalogue. Each producer owns its events; the data fields listed
# are the contract consumers may rely on (more may be added, none renamed).
#
# intake — subject: the report id (company_registered: the company id).
# Every report event's data has the report's base fields: report_id,
# reference, company_id, status, incident_type, summary, owner_unit_id,
# owner_unit_path, estimated_loss (decimal string), funds_in_transit,
# victim_count, received_at, ack_due_at, materials [{code, label}], missing [codes].
COMPANY_REGISTERED = "company_registered"    # company_id, name, language, contact
REPORT_RECEIVED = "report_received"          # channel, likely_duplicate_of
STOP_PAYMENT_REQUESTED = "stop_payment_requested"
REPORT_ACKNOWLEDGED = "report_acknowledged"  # acknowledged_by, acknowledged_at
REPORT_TRANSFER_OFFERED = "report_transfer_offered"    # from_unit_id, to_unit_id, reason, respond_by
REPORT_TRANSFER_DECLINED = "report_transfer_declined"  # from_unit_id, to_unit_id, reason, declined_by
REPORT_TRANSFERRED = "report_transferred"    # from_unit_id, to_unit_id, accepted_by
REPORT_MERGED = "report_merged"              # into_report_id, into_reference, reason
REPORT_ACCEPTED = "report_accepted"          # case_id, accepted_by, accepted_at, occurred_at, merged_count
REPORT_MATERIALS_SUPPLIED = "report_materials_supplied"  # supplied [codes], missing [codes]
REPORT_EXTRA_MATERIALS_REQUESTED = "report_extra_materials_requested"  # items, requested_by, responsible_unit_id
REPORT_ACK_OVERDUE = "report_ack_overdue"    # step, responsible_unit_id, escalated_to_unit_id
REPORT_TRANSFER_OVERDUE = "report_transfer_overdue"  # responsible_unit_id, to_unit_id, escalated_to_unit_id
REPORT_SAME_DAY_MISSED = "report_same_day_missed"    # day (Asia/Shanghai date), responsible_unit_id
# An evidence file's step: action (upload_evidence, supersede_evidence,
# disclose_evidence), file_id, code, filename, sha256, size, content_type,
# actor, role, unit, at, disclosed (the company sees it), reason (supersede).
# Internal: no notice template tells it to the company.
REPORT_EVIDENCE_RECORDED = "report_evidence_recorded"
#
# case_supervision — subject: the case id. Every case event's data has the
# case's base fields: case_id, case_number, report_id, reference,
# company_id, stage, priority, supervision_level, supervisor_unit_id,
# lead_officer_id, deadlines {stage: due}, next_due_at, paused.
CASE_OPENED = "case_opened"                  # accepted_sequence (the report's acceptance's sequence; internal)
CASE_PROGRESSED = "case_progressed"          # previous_stage, disclose, note (only when disclosed)
LOSS_RECOVERED = "loss_recovered"            # recovered_amount, frozen_amount, total_recovered, total_frozen, estimated
CASE_DEADLINE_WARNING = "case_deadline_warning"  # deadline, due_at (internal)
CASE_DEADLINE_MISSED = "case_deadline_missed"    # deadline, due_at, responsible_unit_id (internal)
CASE_ESCALATED = "case_escalated"            # escalation_level, rung, escalated_to, reason, supervision_raised
CASE_DEADLINE_SET = "case_deadline_set"      # deadline, due_at, reason
CASE_PAUSED = "case_paused"                  # reason
CASE_RESUMED = "case_resumed"
CASE_CONCLUDED = "case_concluded"            # result, summary
CASE_CLOSED = "case_closed"
CASE_REOPENED = "case_reopened"              # reason
CASE_RATED = "case_rated"                    # rating (comment stays internal)
CASE_MEMBER_ADDED = "case_member_added"      # officer_id (internal: for the police's alerts)
CASE_LEAD_REASSIGNED = "case_lead_reassigned"  # previous_lead_officer_id (internal)
# notify's, about its alerts to police (internal): an alert that asks for
# action went unacknowledged and moved on (subject: the alert).
ALERT_CLIMBED = "alert_climbed"   # alert_id, case_id, unit_id, not_reached, to_unit_id, told_next

# The values of a report's `incident_type`: intake refuses any other, and the
# case policy's rules name them (policy/cases.yml `incident_type`).
INCIDENT_TYPES = ("fraud", "telecom_fraud", "theft", "embezzlement", "extortion",
                  "contract_fraud", "business_disruption", "cybercrime",
                  "ip_infringement", "other")

# Every event whose subject is a report, and every one whose subject is a case.
REPORT_EVENTS = (REPORT_RECEIVED, STOP_PAYMENT_REQUESTED, REPORT_ACKNOWLEDGED,
                 REPORT_TRANSFER_OFFERED, REPORT_TRANSFER_DECLINED, REPORT_TRANSFERRED,
                 REPORT_MERGED, REPORT_ACCEPTED, REPORT_MATERIALS_SUPPLIED,
                 REPORT_EXTRA_MATERIALS_REQUESTED, REPORT_ACK_OVERDUE,
                 REPORT_TRANSFER_OVERDUE, REPORT_SAME_DAY_MISSED, REPORT_EVIDENCE_RECORDED)
CASE_EVENTS = (CASE_OPENED, CASE_PROGRESSED, LOSS_RECOVERED, CASE_DEADLINE_WARNING,
               CASE_DEADLINE_MISSED, CASE_ESCALATED, CASE_DEADLINE_SET, CASE_PAUSED,
               CASE_RESUMED, CASE_CONCLUDED, CASE_CLOSED, CASE_REOPENED, CASE_RATED,
               CASE_MEMBER_ADDED, CASE_LEAD_REASSIGNED)
# The case events whose facts case_supervision records as they come: not the
# opening, whose fact the case carries from its insert (accountability.py
# WITH_THE_CASE); taking it was a delivery a report that wrote nothing.
CASE_FACTS = tuple(t for t in CASE_EVENTS if t != CASE_OPENED)
# What case_supervision counts for the ledger and the scorecard (責任倒查).
INTAKE_FACTS = (REPORT_RECEIVED, REPORT_ACKNOWLEDGED, REPORT_TRANSFERRED, REPORT_ACK_OVERDUE,
                REPORT_SAME_DAY_MISSED, REPORT_TRANSFER_OVERDUE)

# Every consumer queue, by (source service, event type). The dispatching side
# declares these at start-up, so an event sent before its consumer's first
# start waits for it; and it publishes these types with mandatory routing.
# tests/unit/test_events_outbox.py checks this table against the handlers.
CONSUMERS: dict[tuple[str, str], list[tuple[str, str]]] = {}


def _consumed(source, event_types, service, method):
    for event_type in event_types:
        CONSUMERS.setdefault((source, event_type), []).append((service, method))


_consumed("intake", [COMPANY_REGISTERED], "notify", "handle_company_registered")
# notify orders each report's and case's notices by sequence, so it takes
# every event of those subjects, told or not (a missing one would hold the rest).
_consumed("intake", REPORT_EVENTS, "notify", "handle_event")
_consumed("case_supervision", CASE_EVENTS, "notify", "handle_event")
_consumed("intake", [REPORT_ACCEPTED], "case_supervision", "handle_report_accepted")
_consumed("intake", [REPORT_EXTRA_MATERIALS_REQUESTED], "case_supervision",
          "handle_extra_materials_requested")
_consumed("intake", [REPORT_MATERIALS_SUPPLIED], "case_supervision",
          "handle_materials_supplied")
_consumed("intake", [REPORT_EVIDENCE_RECORDED], "case_supervision",
          "handle_evidence_recorded")
_consumed("intake", INTAKE_FACTS, "case_supervision", "handle_fact")
_consumed("case_supervision", CASE_FACTS, "case_supervision", "handle_fact")
# An unacknowledged alert's climb is a ledger row (問題臺賬).
_consumed("notify", [ALERT_CLIMBED], "case_supervision", "handle_alert_climbed")

# Queues no handler reads any more: the dispatching side unbinds and deletes
# them at its start. What they hold asked nothing of anyone (the facts of
# case openings, written with each case).
DROPPED = [("case_supervision", CASE_OPENED, "case_supervision", "handle_fact")]


# The handlers that take their events from one queue, in the order they
# were published, not from a queue an event type (issue 19). notify orders
# a report's notices, and its case's after them, by sequence; with a queue
# a type, a backlog in one (the receipts) let the next step (the
# acceptances, from another) overtake it, and nearly every event was stored
# and held to wait for the one before: in a chaos backlog, 3,621 subjects
# of 4,000. From one queue they come as sent: a report's acceptance after
# its receipt, a case's opening (sent once case_supervision took the
# acceptance) after both. Order still rests on the cursors: two instances,
# or a retry, still take one subject's events side by side.
IN_ORDER = {("notify", "handle_event")}


def event_exchange(service):
    # Must equal nameko's own declaration (nameko.standalone.events).
    return Exchange(f"{service}.events", type="topic", durable=True, delivery_mode=2)


def handles(source, event_types):
    """One nameko event handler method for several event types (a queue each)."""
    def decorate(method):
        for event_type in event_types:
            method = event_handler(source, event_type)(method)
        return method
    return decorate


class InOrder(Consumer):
    """An event handler for the event types of several sources, all from its
    one queue (IN_ORDER), bound to each; nameko's acks and prefetch."""

    def __init__(self, types_by_source: dict[str, tuple[str, ...]], **kwargs):
        self.types_by_source = types_by_source
        super().__init__(queue=None, **kwargs)

    def setup(self):
        service = self.container.service_name
        assert (service, self.method_name) in IN_ORDER, "list it in IN_ORDER"
        self.queue = in_order_queue(service, self.method_name, self.types_by_source)
        super().setup()


in_order = InOrder.decorator


def in_order_queue(service, method, types_by_source):
    return Queue(in_order_queue_name(service, method), durable=True, auto_delete=False,
                 exclusive=False, bindings=[
                     binding(event_exchange(source), routing_key=event_type)
                     for source, types in types_by_source.items() for event_type in types])


def queue_name(source, event_type, service, method):
    """The queue a handler takes these events from: its one queue when it
    takes them in order, else nameko's own name for a SERVICE_POOL event
    handler's queue."""
    if (service, method) in IN_ORDER:
        return in_order_queue_name(service, method)
    return nameko_queue_name(source, event_type, service, method)


def in_order_queue_name(service, method):
    return f"evt-in-order--{service}.{method}"


def nameko_queue_name(source, event_type, service, method):
    return f"evt-{source}-{event_type}--{service}.{method}"


class Envelope(TypedDict):
    """An event as it travels: on the bus, in an outbox, at a webhook."""
    specversion: str
    id: str
    source: str
    type: str
    subject: str
    time: str
    datacontenttype: str
    sequence: int
    data: dict[str, Any]
    event_id: str        # deprecated: `id`
    occurred_at: str     # deprecated: `time`


def envelope(*, event_id: str, event_type: str, source: str, subject: str, sequence: int,
             occurred_at: datetime, data: dict[str, Any]) -> Envelope:
    return cloud_event(event_id, event_type, source, subject, sequence,
                       occurred_at.isoformat(), data)


def cloud_event(event_id, event_type, source, subject, sequence, time, data) -> Envelope:
    """The CloudEvents 1.0 attributes and the deprecated pair beside them."""
    return {
        "specversion": SPEC_VERSION,
        "id": event_id,
        "source": source,
        "type": event_type,
        "subject": subject,
        "time": time,
        "datacontenttype": DATA_CONTENT_TYPE,
        "sequence": sequence,
        "data": data,
        "event_id": event_id,
        "occurred_at": time,
    }


class EnvelopeSchema(Schema):
    """What a consumer accepts; unknown attributes are ignored (EXCLUDE),
    so a producer may add attributes without breaking consumers. Consumers
    read `event_id` and `occurred_at`, which every event written so far
    carries; `id` and `time` are checked to agree with them when present."""

    class Meta:
        unknown = EXCLUDE

    id = fields.String(validate=validate.Length(1, 64))
    time = fields.AwareDateTime()
    datacontenttype = fields.String(validate=validate.Equal(DATA_CONTENT_TYPE))
    event_id = fields.UUID(required=True)
    specversion = fields.String(load_default=SPEC_VERSION,
                                validate=validate.Equal(SPEC_VERSION))
    type = fields.String(required=True, validate=validate.Length(1, 64))
    source = fields.String(required=True, validate=validate.Length(1, 64))
    subject = fields.String(required=True, validate=validate.Length(1, 64))
    sequence = fields.Integer(required=True, strict=True,
                              validate=validate.Range(min=1))
    occurred_at = fields.AwareDateTime(required=True)
    data = fields.Dict(required=True)

    @validates_schema
    def agree(self, data, **kwargs):
        if "id" in data and data["id"] != str(data["event_id"]):
            raise ValidationError("id and event_id differ", "id")
        if "time" in data and data["time"] != data["occurred_at"]:
            raise ValidationError("time and occurred_at differ", "time")

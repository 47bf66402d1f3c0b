"""The event envelope, its schema, and who consumes what.

Every event body is one envelope with the CloudEvents 1.0 attributes
(`event_id` is CloudEvents' id), so the same object can leave the system as
a webhook. `sequence` counts per subject from 1: consumers use it to order.
"""
from marshmallow import EXCLUDE, Schema, fields, validate

SPEC_VERSION = "1.0"

# intake
COMPANY_REGISTERED = "company_registered"
REPORT_RECEIVED = "report_received"
REPORT_ACKNOWLEDGED = "report_acknowledged"
REPORT_ACCEPTED = "report_accepted"
STOP_PAYMENT_REQUESTED = "stop_payment_requested"
# case_supervision
CASE_OPENED = "case_opened"

# Every consumer queue, by (source service, event type). The dispatching side
# declares these at start-up: nameko publishes with mandatory=False, so an
# event sent before its consumer's first start would otherwise be dropped.
# tests/unit/test_events.py checks this table against the services' handlers.
CONSUMERS = {
    ("intake", COMPANY_REGISTERED): [("notify", "handle_company_registered")],
    ("intake", REPORT_RECEIVED): [("notify", "handle_event")],
    ("intake", REPORT_ACKNOWLEDGED): [("notify", "handle_event")],
    ("intake", REPORT_ACCEPTED): [("case_supervision", "handle_report_accepted"),
                                  ("notify", "handle_event")],
    ("intake", STOP_PAYMENT_REQUESTED): [("notify", "handle_event")],
    ("case_supervision", CASE_OPENED): [("notify", "handle_event")],
}


def queue_name(source, event_type, service, method):
    """nameko's own name for a SERVICE_POOL event handler's queue."""
    return f"evt-{source}-{event_type}--{service}.{method}"


def envelope(*, event_id, event_type, source, subject, sequence, occurred_at, data):
    return {
        "event_id": event_id,
        "specversion": SPEC_VERSION,
        "type": event_type,
        "source": source,
        "subject": subject,
        "sequence": sequence,
        "occurred_at": occurred_at.isoformat(),
        "data": data,
    }


class EnvelopeSchema(Schema):
    """What a consumer accepts; unknown attributes are ignored (EXCLUDE),
    so a producer may add attributes without breaking consumers."""

    class Meta:
        unknown = EXCLUDE

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

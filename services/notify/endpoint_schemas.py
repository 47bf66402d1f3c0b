"""Wire shapes of the webhook endpoints (endpoints.py): an endpoint in and
out, its delivery log, a replay and a test ping. Unknown fields are refused.
"""
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from services.notify import domain
from services.notify.endpoint_rules import event_types
from services.notify.schemas import AttemptOut, DeliveryOut
from shared.fields import In, ShownTime, line
from shared.pages import PageQuery

EVENT_TYPES = event_types(domain.load_templates())


def event_type_filter():
    """A list of the event types a company can hear of, each once; null (or
    left out) is every event."""
    return fields.List(fields.String(validate=validate.OneOf(EVENT_TYPES)),
                       load_default=None, allow_none=True,
                       validate=[validate.Length(1, len(EVENT_TYPES)), _unique])


def _unique(values):
    if values is not None and len(set(values)) != len(values):
        raise ValidationError("each event type once")


class EndpointIn(In):
    """POST /webhooks: where, which events, and whether it is on."""
    url = fields.String(required=True, validate=validate.Length(1, 2000))
    event_types = event_type_filter()
    enabled = fields.Boolean(load_default=True)
    description = line(200, required=False)


class EndpointChange(In):
    """PATCH /webhooks/{id}: any of the fields, at least one."""
    url = fields.String(validate=validate.Length(1, 2000))
    event_types = fields.List(fields.String(validate=validate.OneOf(EVENT_TYPES)),
                              allow_none=True,
                              validate=[validate.Length(1, len(EVENT_TYPES)), _unique])
    enabled = fields.Boolean()
    description = line(200, required=False)

    @validates_schema
    def _something(self, data, **kwargs):
        if not data:
            raise ValidationError("name at least one field to change")


class EndpointView(Schema):
    """An endpoint as shown: never its secret (only when made or rotated)."""
    endpoint_id = fields.String(attribute="_id")
    url = fields.String(attribute="webhook_url")
    event_types = fields.List(fields.String(), allow_none=True)
    enabled = fields.Boolean()
    disabled_reason = fields.String(allow_none=True)
    disabled_at = ShownTime(allow_none=True)
    description = fields.String(allow_none=True)
    managed_by = fields.String(dump_default="webhooks")
    previous_secret_expires_at = ShownTime(allow_none=True)
    created_at = ShownTime(allow_none=True)
    updated_at = ShownTime(allow_none=True)


class EndpointWithSecret(EndpointView):
    """An endpoint just made or its secret just rotated: the secret, once."""
    secret = fields.String(attribute="webhook_secret")


class EndpointPage(Schema):
    items = fields.List(fields.Nested(EndpointView))
    next = fields.String(allow_none=True)


class DeliveryLogQuery(PageQuery):
    status = fields.String(validate=validate.OneOf(("pending", "delivered", "dead", "skipped")))


class EndpointDeliveryOut(DeliveryOut):
    endpoint_id = fields.String(dump_default="subscription")


class DeliveryLogPage(Schema):
    items = fields.List(fields.Nested(EndpointDeliveryOut))
    next = fields.String(allow_none=True)


class PingOut(Schema):
    """What the receiver answered the test ping."""
    event_id = fields.String()
    ok = fields.Boolean()
    attempt = fields.Nested(AttemptOut)

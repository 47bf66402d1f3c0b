"""Notify's wire shapes: the feed, the subscription, the deliveries."""
from marshmallow import Schema, fields, validate

from services.notify.domain import CHANNELS, LANGUAGES
from shared.fields import In, ShownTime

PHONE = r"\A\+?[0-9][0-9 ()-]{4,30}\Z"


class NoticeQuery(In):
    after = fields.String(validate=validate.Length(1, 200))
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 200))


class NoticeOut(Schema):
    notice_id = fields.String(attribute="_id")
    event_id = fields.String()
    event_type = fields.String()
    subject = fields.String()
    sequence = fields.Integer()
    title = fields.String()
    body = fields.String()
    language = fields.String()
    created_at = ShownTime()


class NoticePage(Schema):
    items = fields.List(fields.Nested(NoticeOut))
    next = fields.String(allow_none=True)


class SubscriptionIn(In):
    """The company's channels; a channel left out or null is off."""

    webhook_url = fields.String(load_default=None, allow_none=True,
                                validate=validate.Length(1, 2000))
    email = fields.Email(load_default=None, allow_none=True,
                         validate=validate.Length(1, 254))
    phone = fields.String(load_default=None, allow_none=True,
                          validate=validate.Regexp(PHONE))
    language = fields.String(load_default=None, allow_none=True,
                             validate=validate.OneOf(LANGUAGES))


class SubscriptionOut(Schema):
    company_id = fields.String(attribute="_id")
    webhook_url = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    language = fields.String(allow_none=True)
    webhook_secret = fields.String()
    previous_secret_expires_at = ShownTime(allow_none=True)
    updated_at = ShownTime()


class DeliveryQuery(In):
    status = fields.String(validate=validate.OneOf(
        ("pending", "delivered", "dead", "skipped")))
    channel = fields.String(validate=validate.OneOf(CHANNELS))
    company_id = fields.String(validate=validate.Length(1, 64))
    event_id = fields.String(validate=validate.Length(1, 64))
    limit = fields.Integer(load_default=100, validate=validate.Range(1, 500))


class AttemptOut(Schema):
    at = ShownTime()
    ok = fields.Boolean()
    target = fields.String(allow_none=True)
    status_code = fields.Integer(allow_none=True)
    error = fields.String()
    detail = fields.String()
    ms = fields.Integer()


class DeliveryOut(Schema):
    delivery_id = fields.String(attribute="_id")
    notice_id = fields.String()
    company_id = fields.String()
    channel = fields.String()
    event_id = fields.String()
    event_type = fields.String()
    subject = fields.String()
    sequence = fields.Integer()
    status = fields.String()
    tries = fields.Integer()
    replays = fields.Integer(dump_default=0)
    follows = fields.String(attribute="after", allow_none=True)
    next_attempt_at = ShownTime(allow_none=True)
    created_at = ShownTime()
    delivered_at = ShownTime(allow_none=True)
    dead_at = ShownTime(allow_none=True)
    attempts = fields.List(fields.Nested(AttemptOut))


class DeliveryList(Schema):
    items = fields.List(fields.Nested(DeliveryOut))

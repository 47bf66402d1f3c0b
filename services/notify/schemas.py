"""Notify's wire shapes: the feed, the subscription, the deliveries.

The subscription's channel fields and the deliveries' channel filter come
from the channel registry (channels/__init__.py): a channel added there
shows here with no change to this module.
"""
from typing import Any

from marshmallow import Schema, fields, validate

from services.notify.channels import REGISTRY, names
from services.notify.domain import LANGUAGES
from shared.fields import In, ShownTime
from shared.pages import MAX_LIMIT, PageQuery


class NoticeQuery(PageQuery):
    """The feed's page: `limit` and the cursor `after` (shared/pages.py)."""


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
    next = fields.String()   # always a cursor: the feed grows at its end


def subscription_in(registry=REGISTRY):
    """PUT /subscription: each channel's target, and the language."""
    declared = {channel.subscription_field: channel.target_field() for channel in registry}
    declared.update(language=fields.String(load_default=None, allow_none=True,
                                           validate=validate.OneOf(LANGUAGES)),
                    __doc__="The company's channels; a channel left out or null is off.",
                    __module__=__name__)  # else the metaclass's module, "abc"
    return type("SubscriptionIn", (In,), declared)


def subscription_out(registry=REGISTRY):
    """The subscription as shown: each channel's target, the language, and
    the webhook signing secret (made and rotated by the subscription routes)."""
    declared: dict[str, Any] = {"company_id": fields.String(attribute="_id")}
    declared.update({channel.subscription_field: fields.String(allow_none=True)
                     for channel in registry})
    declared.update(language=fields.String(allow_none=True),
                    webhook_secret=fields.String(),
                    previous_secret_expires_at=ShownTime(allow_none=True),
                    updated_at=ShownTime(), __module__=__name__)
    return type("SubscriptionOut", (Schema,), declared)


SubscriptionIn = subscription_in()
SubscriptionOut = subscription_out()


class DeliveryQuery(PageQuery):
    status = fields.String(validate=validate.OneOf(
        ("pending", "delivered", "dead", "skipped")))
    channel = fields.String(validate=validate.OneOf(names()))
    company_id = fields.String(validate=validate.Length(1, 64))
    event_id = fields.String(validate=validate.Length(1, 64))
    limit = fields.Integer(load_default=100, validate=validate.Range(1, MAX_LIMIT))


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
    endpoint_id = fields.String()  # its webhook endpoint; absent: the subscription
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
    next = fields.String(allow_none=True)

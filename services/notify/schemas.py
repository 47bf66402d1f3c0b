"""Notify's wire shapes."""
from marshmallow import RAISE, Schema, fields, validate

from shared.fields import ShownTime


class NoticeQuery(Schema):
    class Meta:
        unknown = RAISE

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

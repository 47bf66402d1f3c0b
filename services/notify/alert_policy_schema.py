"""What policy/alerts.yml may say: the rule table of alerts to police.

Checked whole when notify starts (shared.policy.Policy): a misspelt event
type or recipient kind would otherwise page nobody, silently, on the day it
matters.
"""
from marshmallow import ValidationError, fields, validate, validates_schema

from shared.events import CASE_EVENTS, REPORT_EVENTS
from shared.policy import Flag, PolicySchema, Seconds, Table, name, one_of, whole

SEVERITIES = ("info", "warning", "critical")
CHANNELS = ("inbox", "email", "sms", "robot")
EVERY = "every"
ALERTABLE = REPORT_EVENTS + CASE_EVENTS
KINDS = ("on_duty", "supervisors", "officer", "case_lead", "rung")


class FieldNames(fields.Field):
    """A data field's name, or a list of fallbacks (the first present counts)."""

    def _deserialize(self, value, attr, data, **kwargs):
        names = [value] if isinstance(value, str) else value
        if not isinstance(names, list) or not names:
            raise ValidationError("must be a field name or a list of them")
        for n in names:
            name(n)
        return names


class Recipient(PolicySchema):
    on_duty = FieldNames()
    supervisors = FieldNames()
    officer = FieldNames()
    case_lead = FieldNames()
    rung = Flag()

    @validates_schema
    def one_kind(self, data, **kwargs):
        if len(data) != 1:
            raise ValidationError(f"name exactly one of {', '.join(KINDS)}")


class Rule(PolicySchema):
    to = fields.List(fields.Nested(Recipient), required=True, validate=validate.Length(min=1))
    otherwise = fields.List(fields.Nested(Recipient))
    severity = fields.String(required=True, validate=one_of(SEVERITIES))
    needs_ack = Flag()
    at_most = Table(whole(0), keys=name)
    # The rule holds only when each named data field has one of these values
    # (an evidence file the company uploaded, not one an officer did).
    only_when = Table(fields.List(fields.String(), validate=validate.Length(min=1)), keys=name)


class Defaults(PolicySchema):
    info = fields.List(fields.String(validate=one_of(CHANNELS + (EVERY,))), required=True)
    warning = fields.List(fields.String(validate=one_of(CHANNELS + (EVERY,))), required=True)
    critical = fields.List(fields.String(validate=one_of(CHANNELS + (EVERY,))), required=True)


def alertable(value):
    if value not in ALERTABLE:
        raise ValidationError(f"{value!r} is not an event notify takes")


class AlertPolicy(PolicySchema):
    version = whole(1, required=True)
    ack_within_seconds = Seconds(required=True)
    default_channels = fields.Nested(Defaults, required=True)
    rules = Table(fields.Nested(Rule), keys=alertable, required=True)

"""Wire shapes of the alerts to police: the inbox, a person's alert
settings, a unit's duty roster and group robot. Apart from schemas.py, which
holds what a company sends and reads: the two never share a shape."""
from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from services.notify.alert_policy_schema import CHANNELS, EVERY, SEVERITIES
from services.notify.channels.robot import FORMATS, robot_format
from services.notify.channels.sms import PHONE
from services.notify.domain import DEFAULT_LANGUAGE, LANGUAGES
from services.notify.roster import WEEKDAYS
from services.notify.schemas import AttemptOut
from shared.fields import ID_RE, In, ShownTime
from shared.pages import PageQuery
from shared.policy import CLOCK_RE

WECOM_USERID = r"^[A-Za-z0-9_.@-]{1,64}$"   # a WeCom member's userid (账号)


class AlertQuery(PageQuery):
    pass


class AlertOut(Schema):
    alert_id = fields.String(attribute="_id")
    event_id = fields.String()
    event_type = fields.String()
    kind = fields.String()
    subject = fields.String()
    case_id = fields.String(allow_none=True)
    report_id = fields.String(allow_none=True)
    unit_id = fields.String(allow_none=True)
    severity = fields.String()
    rung = fields.String(allow_none=True)   # an escalation's rung (policy/cases.yml ladder)
    title = fields.String()
    body = fields.String()
    needs_ack = fields.Boolean()
    ack_due_at = ShownTime(allow_none=True)
    created_at = ShownTime()
    read_at = ShownTime(allow_none=True)
    acked_at = ShownTime(allow_none=True)
    # An unacknowledged alert that went up the ladder: when, and to whom.
    climbed_at = ShownTime(allow_none=True)
    climbed_to_unit = fields.String(allow_none=True)
    climbed_to = fields.List(fields.String())
    # A climbed alert: whose alert it came from.
    from_person_id = fields.String(allow_none=True)


class AlertPage(Schema):
    items = fields.List(fields.Nested(AlertOut))
    next = fields.String(allow_none=True)
    unread = fields.Integer()


Channel = fields.String(validate=validate.OneOf(CHANNELS + (EVERY,)))


class ChannelChoice(In):
    info = fields.List(Channel, validate=validate.Length(max=5))
    warning = fields.List(Channel, validate=validate.Length(max=5))
    critical = fields.List(Channel, validate=validate.Length(max=5))


class AlertSettings(In):
    email = fields.Email(load_default=None, allow_none=True, validate=validate.Length(1, 254))
    phone = fields.String(load_default=None, allow_none=True, validate=validate.Regexp(PHONE))
    channels = fields.Nested(ChannelChoice, load_default=dict)
    # The person's member id in WeCom, for a WeCom robot to @ them by (<@userid>).
    wecom_userid = fields.String(load_default=None, allow_none=True,
                                 validate=validate.Regexp(WECOM_USERID))
    # The language alerts are written in for this person.
    language = fields.String(load_default=DEFAULT_LANGUAGE, validate=validate.OneOf(LANGUAGES))


class AlertSettingsOut(Schema):
    person_id = fields.String(attribute="_id")
    email = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    channels = fields.Dict()
    wecom_userid = fields.String(allow_none=True)
    language = fields.String(dump_default=DEFAULT_LANGUAGE)
    severities = fields.List(fields.String(), dump_default=list(SEVERITIES))


def clock():
    """A Beijing time of day, "HH:MM"."""
    return fields.String(required=True, validate=validate.Regexp(CLOCK_RE))


class Shift(In):
    start = clock()
    end = clock()   # at or before start: the shift runs past midnight
    officers = fields.List(fields.String(validate=validate.Regexp(ID_RE)), required=True,
                           validate=validate.Length(1, 50))


def shifts():
    return fields.List(fields.Nested(Shift), validate=validate.Length(max=12))


class Override(In):
    date = fields.Date(required=True)
    shifts = fields.List(fields.Nested(Shift), required=True, validate=validate.Length(max=12))
    reason = fields.String(validate=validate.Length(max=200))


# A weekday left out has no shifts.
Weekly = type("Weekly", (In,), {day: shifts() for day in WEEKDAYS})


class RosterIn(In):
    weekly = fields.Nested(Weekly, required=True)
    overrides = fields.List(fields.Nested(Override), load_default=list,
                            validate=validate.Length(max=400))

    @validates_schema
    def one_override_a_day(self, data, **kwargs):
        days = [o["date"] for o in data.get("overrides") or ()]
        if len(days) != len(set(days)):
            raise ValidationError("one override per date", "overrides")


class RosterOut(Schema):
    unit_id = fields.String(attribute="_id")
    timezone = fields.String(dump_default="Asia/Shanghai")
    weekly = fields.Dict()
    overrides = fields.List(fields.Dict())
    on_duty_now = fields.List(fields.String())
    updated_by = fields.String()
    updated_at = ShownTime()


class RobotIn(In):
    url = fields.String(required=True, validate=validate.Length(1, 2000))
    secret = fields.String(load_default=None, allow_none=True,
                           validate=validate.Length(1, 200))
    # dingtalk (signed with `secret`) or wecom (the key in the URL is the
    # credential); `kind` is its first name, still read.
    format = fields.String(validate=validate.OneOf(FORMATS))
    kind = fields.String(validate=validate.OneOf(FORMATS))

    @post_load
    def one_format(self, data, **kwargs):
        if data.get("format") and data.get("kind") and data["format"] != data["kind"]:
            raise ValidationError("format and kind differ", "format")
        chosen = data.pop("format", None) or data.pop("kind", None) or "dingtalk"
        return dict(data, format=chosen, kind=chosen)


class RobotOut(Schema):
    unit_id = fields.String(attribute="_id")
    url = fields.String()
    format = fields.Function(robot_format)
    kind = fields.Function(robot_format)
    signed = fields.Boolean()


class AlertDeliveryQuery(PageQuery):
    status = fields.String(validate=validate.OneOf(("pending", "delivered", "dead")))
    channel = fields.String(validate=validate.OneOf(("email", "sms", "robot")))


class AlertDeliveryOut(Schema):
    delivery_id = fields.String(attribute="_id")
    channel = fields.String()
    alert_id = fields.String()
    event_id = fields.String()
    person_id = fields.String(allow_none=True)
    unit_id = fields.String(allow_none=True)
    mobiles = fields.List(fields.String())
    title = fields.String()
    status = fields.String()
    tries = fields.Integer()
    attempts = fields.List(fields.Nested(AttemptOut))
    created_at = ShownTime()
    delivered_at = ShownTime(allow_none=True)
    dead_at = ShownTime(allow_none=True)


class AlertDeliveryList(Schema):
    items = fields.List(fields.Nested(AlertDeliveryOut))
    next = fields.String(allow_none=True)

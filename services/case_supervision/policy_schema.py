"""What policy/cases.yml and the holidays file it names may say.

Case supervision's own module, beside its policy loader, because the names a
case policy may use are this service's: the escalation ladder's rungs
(escalation.RUNGS), the supervision levels (domain.LEVELS), the deadlines a
case can meet (schemas.DEADLINE_NAMES). Anything else would be run by a
timer hours later and fail there, or worse, be silently ignored: a
misspelt rule condition matches every case, a misspelt deadline is never met.
"""
from datetime import date, time
from typing import Any
from zoneinfo import ZoneInfo

from marshmallow import ValidationError, fields, validate, validates_schema

from services.case_supervision import domain
from services.case_supervision.escalation import RUNGS
from services.case_supervision.schemas import DEADLINE_NAMES
from shared.events import INCIDENT_TYPES
from shared.fields import Money
from shared.policy import (ClockTime, Flag, PolicySchema, Seconds, Table, name, one_of,
                           whole)


class When(PolicySchema):
    """A rule's conditions (domain.matches reads each of them)."""
    min_loss = Money()
    funds_in_transit = Flag()
    incident_type = fields.List(fields.String(validate=one_of(INCIDENT_TYPES)),
                                validate=validate.Length(min=1))
    min_merged = whole(1)
    min_victims = whole(1)


class Rule(PolicySchema):
    when = fields.Nested(When, required=True)
    priority = fields.String(required=True, validate=name)
    level = fields.String(required=True, validate=one_of(domain.LEVELS))


class Share(fields.Field):
    """A share of a deadline's time, above 0 and below 1 (0.8 = 80 %)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not 0 < value < 1:
            raise ValidationError("must be a number above 0 and below 1, e.g. 0.8")
        return value


class Escalation(PolicySchema):
    warn_at = Share(required=True)
    ladder = fields.List(fields.String(validate=one_of(RUNGS)), required=True,
                         validate=validate.Length(min=1))
    repeat_seconds = Seconds(required=True)


def time_zone(value):
    try:
        ZoneInfo(value)
    except (ValueError, KeyError):   # ZoneInfoNotFoundError is a KeyError
        raise ValidationError(f"{value!r} is not a time zone, e.g. Asia/Shanghai") from None


class Hours(fields.List):
    """Working periods of a day: ["09:00", "12:00"] pairs, in order."""

    def __init__(self, **kwargs):
        super().__init__(fields.List(ClockTime(), validate=validate.Length(equal=2)),
                         validate=validate.Length(min=1), **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        hours: Any = super()._deserialize(value, attr, data, **kwargs)  # [[from, to], ...]
        # Working time is counted period by period: one that ends before it
        # starts, or overlaps the one before, would count hours twice or never.
        end = None
        for i, (a, b) in enumerate(hours):
            start, stop = time.fromisoformat(a), time.fromisoformat(b)
            if stop <= start or (end is not None and start < end):
                raise ValidationError({i: [f"{a}-{b} must end after it starts and "
                                           "start after the period before it ends"]})
            end = stop
        return hours


class Calendar(PolicySchema):
    timezone = fields.String(validate=time_zone)
    hours = Hours(required=True)
    holidays_file = fields.String(validate=validate.Length(min=1))


class CasesPolicy(PolicySchema):
    version = whole(1, required=True)
    # The first rule that matches a case sets its priority and level.
    rules = fields.List(fields.Nested(Rule), required=True, validate=validate.Length(min=1))
    # priority -> deadline name -> seconds; the priorities are these keys.
    deadlines = Table(Table(Seconds(), keys=one_of(DEADLINE_NAMES)), keys=name, required=True)
    progress_interval = Table(Seconds(), keys=name, required=True)
    escalation = fields.Nested(Escalation, required=True)
    calendars = Table(fields.Nested(Calendar), keys=name, allow_none=True)
    unit_calendars = Table(fields.String(), keys=name, allow_none=True)

    @validates_schema
    def names_refer_to_what_the_file_defines(self, data, **kwargs):
        errors: dict[str, Any] = {}
        priorities = list(data["deadlines"])
        rules = data["rules"]
        for i, rule in enumerate(rules):
            if rule["priority"] not in priorities:
                errors.setdefault("rules", {})[i] = {"priority": [
                    f"{rule['priority']!r} is not one of {', '.join(priorities)} "
                    "(the priorities under deadlines)"]}
        if rules[-1]["when"]:
            # A case no rule matches could not be opened.
            errors.setdefault("rules", {}).setdefault(len(rules) - 1, {})["when"] = [
                "the last rule must match every case (`when: {}`)"]
        interval = data["progress_interval"]
        for p in priorities:
            if p not in interval:
                errors.setdefault("progress_interval", {})[p] = [
                    "missing: every priority under deadlines needs one"]
        for p in interval:
            if p not in priorities:
                errors.setdefault("progress_interval", {})[p] = [
                    f"{p!r} is not one of {', '.join(priorities)} "
                    "(the priorities under deadlines)"]
        calendars = list(data.get("calendars") or {})
        for unit, cal in (data.get("unit_calendars") or {}).items():
            if cal not in calendars:
                errors.setdefault("unit_calendars", {})[unit] = [
                    f"{cal!r} is not one of {', '.join(calendars)} (the calendars under "
                    "calendars)" if calendars else f"{cal!r}: `calendars` defines none"]
        if errors:
            raise ValidationError(errors)


class Day(fields.Field):
    """A date, as YAML reads 2026-10-01 (or the same text quoted)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, date) and not hasattr(value, "hour"):
            return value
        try:
            return date.fromisoformat(value)
        except (TypeError, ValueError):
            raise ValidationError("must be a date, e.g. 2026-10-01") from None


class DayOrRange(Day):
    """A date, or [first, last] (both included, first not after last)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, list):
            return super()._deserialize(value, attr, data, **kwargs)
        if len(value) != 2:
            raise ValidationError("a range is [first, last]")
        first, last = (super(DayOrRange, self)._deserialize(v, attr, data) for v in value)
        if last < first:
            raise ValidationError(f"the range ends ({last}) before it starts ({first})")
        return first, last


class Year(PolicySchema):
    holidays = fields.List(DayOrRange())
    workdays = fields.List(Day())


def year(value):
    if isinstance(value, bool) or not isinstance(value, int) or not 1970 <= value < 2200:
        raise ValidationError(f"{value!r} is not a year, e.g. 2026")


class Holidays:
    """The holidays file: year -> {holidays, workdays}; loads like a schema."""

    def load(self, data):
        return Table(fields.Nested(Year), keys=year).deserialize(data)

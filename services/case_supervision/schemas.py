"""Case supervision's wire shapes: commands in (unknown fields refused), views out."""
from datetime import datetime, timedelta, timezone

from marshmallow import Schema, ValidationError, fields, validate, validates, validates_schema

from services.case_supervision import domain
from shared.fields import ID_RE, In, Moment, Money, ShownTime, one_line, schema, shown, text
from shared import pages
from shared.pages import PageQuery
from shared.search import SearchQuery

# 限期 is a date a supervisor holds a team to: one in the past holds nobody,
# and one years away is a typing slip, not a deadline.
LONGEST_DEADLINE = timedelta(days=2 * 365)


DEADLINE_NAMES = ("first_action", "first_progress", "conclusion") + domain.STAGES[1:6]


class CaseQuery(SearchQuery):
    """GET /cases: a page of the cases in reach; police search with the
    filters of shared/search.py and these."""
    report_id = fields.String(validate=validate.Length(1, 64))
    # A case number or a report reference a caller quotes: found exactly.
    q = fields.String(validate=[validate.Length(1, 64), one_line])
    status = fields.String(validate=validate.OneOf(domain.STAGES))
    stale = fields.Boolean()
    priority = fields.String(validate=validate.Regexp(ID_RE))   # the policy names them
    supervision = fields.String(validate=validate.OneOf(domain.LEVELS))


class ProgressIn(In):
    stage = fields.String(validate=validate.OneOf(domain.WORKING))
    note = text(4000)
    disclose = fields.Boolean(load_default=False)
    recovered_amount = Money()
    frozen_amount = Money()


class ConcludeIn(In):
    result = fields.String(required=True, validate=validate.OneOf(domain.RESULTS))
    summary = text(4000)


class ReasonIn(In):
    reason = text(2000)


class DeadlineIn(In):
    stage = fields.String(required=True, validate=validate.OneOf(DEADLINE_NAMES))
    due_at = Moment(required=True)
    reason = text(2000)

    @validates("due_at")
    def within_window(self, value, **kwargs):
        now = datetime.now(timezone.utc)
        if not now < value <= now + LONGEST_DEADLINE:
            raise ValidationError("a deadline lies after now and within two years")


class MemberIn(In):
    officer_id = fields.String(required=True, validate=validate.Regexp(ID_RE))


class LeadIn(MemberIn):
    reason = text(2000)


class SatisfactionIn(In):
    rating = fields.Integer(required=True, strict=True, validate=validate.Range(1, 5))
    comment = fields.String(load_default="", validate=validate.Length(0, 2000))


class NoteIn(In):
    note = text(2000)


class Range(In):
    # `from` is a Python keyword: the wire name is kept with data_key.
    start = Moment(data_key="from")
    end = Moment(data_key="to")

    @validates_schema
    def ordered(self, data, **kwargs):
        if data.get("start") and data.get("end") and data["start"] >= data["end"]:
            raise ValidationError("`from` comes before `to`", "from")


class RangeExport(Range):
    format = fields.String(load_default="csv", validate=validate.OneOf(("csv", "xlsx")))


class LedgerExport(RangeExport):
    status = fields.String(validate=validate.OneOf(("open", "resolved")))
    unit_id = fields.String(validate=validate.Regexp(ID_RE))


class LedgerQuery(Range, PageQuery):
    status = fields.String(validate=validate.OneOf(("open", "resolved")))
    unit_id = fields.String(validate=validate.Regexp(ID_RE))
    case_id = fields.String(validate=validate.Length(1, 64))
    limit = fields.Integer(load_default=100, validate=validate.Range(1, pages.MAX_LIMIT))


class SupervisionOut(Schema):
    level = fields.String()
    supervisor_unit_id = fields.String()


class TeamOut(Schema):
    lead_officer_id = fields.String()
    members = fields.List(fields.String())


class LossOut(Schema):
    estimated = Money()
    recovered = Money()
    frozen = Money()


class HistoryOut(Schema):
    action = fields.String()
    actor = fields.String()
    role = fields.String()
    at = ShownTime()
    before = fields.Raw(allow_none=True)
    after = fields.Raw(allow_none=True)
    note = fields.String(allow_none=True)
    disclose = fields.Boolean()
    result = fields.String()
    rung = fields.String()
    escalated_to = fields.String()
    due_at = ShownTime()
    recovered = Money(allow_none=True)
    frozen = Money(allow_none=True)
    file_id = fields.String()       # an evidence file's step (intake's)
    code = fields.String()
    filename = fields.String()
    sha256 = fields.String()
    size = fields.Integer()


class PauseOut(Schema):
    start = ShownTime(attribute="from", data_key="from")
    end = ShownTime(attribute="to", data_key="to", allow_none=True)
    reason = fields.String()
    waiting_for = fields.List(fields.String())


class ConclusionOut(Schema):
    number = fields.Integer()
    result = fields.String()
    summary = fields.String()
    at = ShownTime()


class RatingOut(Schema):
    conclusion = fields.Integer()
    rating = fields.Integer()
    at = ShownTime()


class CaseOut(Schema):
    case_id = fields.String(attribute="_id")
    case_number = fields.String()
    report_id = fields.String()
    reference = fields.String()
    company_id = fields.String()
    incident_type = fields.String()
    summary = fields.String()
    stage = fields.String()
    priority = fields.String()
    victim_count = fields.Integer(dump_default=1)
    supervision = fields.Nested(SupervisionOut)
    team = fields.Nested(TeamOut)
    unit_id = fields.String()
    deadlines = fields.Dict(keys=fields.String(), values=ShownTime(allow_none=True))
    progress_due_at = ShownTime(allow_none=True)
    next_due_at = ShownTime(allow_none=True)
    next_deadline_at = ShownTime(allow_none=True)
    next_deadline = fields.String(allow_none=True)
    next_warning_at = ShownTime(allow_none=True)
    stale = fields.Boolean()
    calendar = fields.String()
    policy_version = fields.Raw()
    escalation_level = fields.Integer()
    paused = fields.Boolean()
    pauses = fields.List(fields.Nested(PauseOut))
    loss = fields.Nested(LossOut)
    result = fields.Raw(allow_none=True)
    conclusion = fields.Nested(ConclusionOut, allow_none=True)
    ratings = fields.List(fields.Nested(RatingOut))
    opened_at = ShownTime()
    history = fields.List(fields.Nested(HistoryOut))


class FileStepOut(Schema):
    """A step of an evidence file the company may see: its own uploads, and
    an officer's file once disclosed. No officer ids, no reasons."""
    at = ShownTime()
    action = fields.String()
    role = fields.String()
    file_id = fields.String()
    code = fields.String()
    filename = fields.String()


class UpdateOut(Schema):
    at = ShownTime()
    stage = fields.String(attribute="after")
    note = fields.String()


def promised(case, deadline):
    """A deadline the company was told, in Beijing time; None if there is none."""
    due = (case.get("deadlines") or {}).get(deadline)
    return shown(due) if due else None


class CompanyCaseOut(Schema):
    """What a company sees of its own case, field by field (an allowlist: a
    field added to the police view never reaches it by accident): the steps
    disclosed to it, the lead's and the unit's names, the deadline promised
    to it, the result and the money. Never: internal notes, history, the
    team, officer ids, deadline warnings or misses, escalations, pauses'
    reasons."""
    case_id = fields.String(attribute="_id")
    case_number = fields.String()
    report_id = fields.String()
    reference = fields.String()
    incident_type = fields.String()
    summary = fields.String()
    stage = fields.String()
    supervision_level = fields.Function(lambda case: case["supervision"]["level"])
    lead_name = fields.Function(lambda case: case["team"].get("lead_name"))
    unit_name = fields.Function(lambda case: case.get("unit_names") or {})
    first_progress_due_at = fields.Function(lambda case: promised(case, "first_progress"))
    paused = fields.Boolean()
    loss = fields.Nested(LossOut)
    result = fields.Raw(allow_none=True)
    conclusion = fields.Nested(ConclusionOut, allow_none=True)
    ratings = fields.List(fields.Nested(RatingOut))
    opened_at = ShownTime()
    updates = fields.Function(lambda case: schema(UpdateOut, many=True).dump(
        [e for e in case["history"] if e["action"] == "progress" and e.get("disclose")]))
    files = fields.Function(lambda case: schema(FileStepOut, many=True).dump(
        [e for e in case["history"] if e["action"] in domain.EVIDENCE_STEPS
         and e.get("disclose")]))


# A case route's answer, by the caller's role (the route dumps it itself).
CASE_VIEWS = (CaseOut, CompanyCaseOut)


class ResolutionOut(Schema):
    by = fields.String()
    unit_id = fields.String()
    at = ShownTime()
    note = fields.String()


class LedgerItemOut(Schema):
    item_id = fields.String(attribute="_id")
    kind = fields.String()
    unit_id = fields.String()
    case_id = fields.String(allow_none=True)
    case_number = fields.String(allow_none=True)
    report_id = fields.String(allow_none=True)
    reference = fields.String(allow_none=True)
    detail = fields.Dict()
    created_at = ShownTime()
    status = fields.String()
    resolution = fields.Nested(ResolutionOut, allow_none=True)


class LedgerList(Schema):
    items = fields.List(fields.Nested(LedgerItemOut))
    next = fields.String(allow_none=True)


class CaseList(Schema):
    items = fields.List(fields.Nested(CaseOut))
    next = fields.String(allow_none=True)


class CompanyCaseList(Schema):
    items = fields.List(fields.Nested(CompanyCaseOut))
    next = fields.String(allow_none=True)


# The views GET /cases chooses from by role (it dumps the answer itself).
CASE_LISTS = (CaseList, CompanyCaseList)


class AckOut(Schema):
    count = fields.Integer()
    median_seconds = fields.Integer(allow_none=True)
    p90_seconds = fields.Integer(allow_none=True)


class SatisfactionOut(Schema):
    average = fields.Decimal(as_string=True, allow_none=True)
    count = fields.Integer()


class ScorecardOut(Schema):
    unit_id = fields.String()
    start = ShownTime(data_key="from")
    end = ShownTime(data_key="to")
    time_to_acknowledge = fields.Nested(AckOut)
    transfers_out = fields.Integer()
    deadlines_missed = fields.Integer()
    ack_overdue = fields.Integer()
    transfer_overdue = fields.Integer()
    escalations = fields.Integer()
    same_day_misses = fields.Integer()
    extra_material_requests = fields.Integer()
    concluded = fields.Dict(keys=fields.String(), values=fields.Integer())
    loss = fields.Nested(LossOut)
    satisfaction = fields.Nested(SatisfactionOut)


class ScorecardList(Schema):
    items = fields.List(fields.Nested(ScorecardOut))

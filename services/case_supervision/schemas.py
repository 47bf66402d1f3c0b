"""Case supervision's wire shapes: queries in, views out."""
from marshmallow import RAISE, Schema, fields, validate

from shared.fields import Money, ShownTime


class CaseQuery(Schema):
    class Meta:
        unknown = RAISE

    report_id = fields.String(validate=validate.Length(1, 64))
    status = fields.String(validate=validate.Length(1, 32))
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 200))


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
    supervision = fields.Nested(SupervisionOut)
    team = fields.Nested(TeamOut)
    deadlines = fields.Dict(keys=fields.String(), values=ShownTime())
    escalation_level = fields.Integer()
    loss = fields.Nested(LossOut)
    result = fields.Raw(allow_none=True)
    opened_at = ShownTime()
    history = fields.List(fields.Nested(HistoryOut))


class CompanyCaseOut(CaseOut):
    """What a company sees of its own case: no internal history or team list."""

    class Meta:
        exclude = ("history", "team")

    lead_officer_id = fields.Function(lambda case: case["team"]["lead_officer_id"])


class CaseList(Schema):
    items = fields.List(fields.Nested(CaseOut))

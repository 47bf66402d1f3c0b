"""Intake's wire shapes: commands in (unknown fields refused), views out."""
from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates

from services.intake import domain
from shared.fields import ID_RE, Money, ShownTime


class In(Schema):
    class Meta:
        unknown = RAISE


def text(max_len, required=True, min_len=1):
    return fields.String(required=required, validate=validate.Length(min_len, max_len))


ident = fields.String(required=True, validate=validate.Regexp(ID_RE))


class UnitIn(In):
    unit_id = fields.String(required=True, validate=validate.Regexp(ID_RE))
    name = text(200)
    kind = fields.String(required=True, validate=validate.OneOf(domain.UNIT_KINDS))
    parent_unit_id = fields.String(required=True, allow_none=True,
                                   validate=validate.Regexp(ID_RE))


class UnitOut(Schema):
    unit_id = fields.String(attribute="_id")
    name = fields.String()
    kind = fields.String()
    parent_unit_id = fields.String(allow_none=True)
    path = fields.List(fields.String())


class OfficerIn(In):
    officer_id = fields.String(required=True, validate=validate.Regexp(ID_RE))
    name = text(100)
    unit_id = fields.String(required=True, validate=validate.Regexp(ID_RE))
    role = fields.String(required=True, validate=validate.OneOf(("officer", "supervisor")))


class OfficerOut(Schema):
    officer_id = fields.String(attribute="_id")
    name = fields.String()
    unit_id = fields.String()
    role = fields.String()
    token = fields.String()


class ContactIn(In):
    name = text(100)
    phone = fields.String(required=True, validate=validate.Regexp(r"^\+?[0-9 -]{5,20}$"))
    email = fields.Email(required=True, validate=validate.Length(max=254))


class CompanyIn(In):
    name = text(200)
    credit_code = fields.String(required=True)
    jurisdiction_unit_id = fields.String(required=True, validate=validate.Regexp(ID_RE))
    contact = fields.Nested(ContactIn, required=True)
    language = fields.String(load_default="zh-CN", validate=validate.OneOf(domain.LANGUAGES))

    @validates("credit_code")
    def check_credit_code(self, value, **kwargs):
        if not domain.credit_code_valid(value):
            raise ValidationError("not a valid unified social credit code (GB 32100-2015)")


class CompanyOut(Schema):
    company_id = fields.String(attribute="_id")
    name = fields.String()
    credit_code = fields.String()
    jurisdiction_unit_id = fields.String()
    language = fields.String()
    token = fields.String()


class ReportIn(In):
    incident_type = fields.String(required=True,
                                  validate=validate.OneOf(domain.INCIDENT_TYPES))
    summary = text(200)
    description = text(10_000)
    occurred_at = fields.AwareDateTime(required=True)
    location = text(500)
    estimated_loss = Money(required=True)
    currency = fields.String(load_default="CNY", validate=validate.Equal("CNY"))
    funds_in_transit = fields.Boolean(load_default=False)
    suspects = fields.List(text(200), load_default=list, validate=validate.Length(max=50))
    # Only when an officer registers a walk-in or phone report.
    company_id = fields.String(validate=validate.Regexp(ID_RE))
    channel = fields.String(validate=validate.OneOf(("phone", "walk_in")))


class MaterialOut(Schema):
    code = fields.String()
    label = fields.String()
    supplied = fields.Boolean()


class OwnerOut(Schema):
    unit_id = fields.String()
    since = ShownTime(attribute="from")
    until = ShownTime(attribute="to", allow_none=True)


class HistoryOut(Schema):
    action = fields.String()
    actor = fields.String()
    role = fields.String()
    unit = fields.String(allow_none=True)
    at = ShownTime()
    before = fields.Raw(allow_none=True)
    after = fields.Raw(allow_none=True)
    note = fields.String()


class ReportOut(Schema):
    report_id = fields.String(attribute="_id")
    reference = fields.String()
    status = fields.String()
    company_id = fields.String()
    channel = fields.String()
    incident_type = fields.String()
    summary = fields.String()
    description = fields.String()
    occurred_at = ShownTime()
    location = fields.String()
    estimated_loss = Money()
    currency = fields.String()
    funds_in_transit = fields.Boolean()
    suspects = fields.List(fields.String())
    owner_unit_id = fields.String()
    owners = fields.List(fields.Nested(OwnerOut))
    ack_due_at = ShownTime()
    received_at = ShownTime()
    materials = fields.List(fields.Nested(MaterialOut))
    case_id = fields.String(allow_none=True)
    history = fields.List(fields.Nested(HistoryOut))


class ReportList(Schema):
    items = fields.List(fields.Nested(ReportOut))


class ReportQuery(In):
    status = fields.String(validate=validate.OneOf(
        ("received", "acknowledged", "transfer_pending", "accepted", "merged")))
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 200))

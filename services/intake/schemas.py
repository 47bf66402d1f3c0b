"""Intake's wire shapes: commands in (unknown fields refused), views out."""
from datetime import datetime, timedelta, timezone

from marshmallow import Schema, ValidationError, fields, validate, validates, validates_schema

from services.intake import domain, evidence, organisation
from shared.auth import KEY_SCOPES
from shared.fields import ID_RE, USERNAME_RE, In, Moment, Money, ShownTime, line, text
from shared.pages import PageQuery
from shared.search import SearchQuery

# Clocks differ a little between a company's machine and ours.
CLOCK_SKEW = timedelta(minutes=5)


class UnitIn(In):
    unit_id = fields.String(required=True, validate=validate.Regexp(ID_RE))
    name = line(200)               # its Chinese name (简体), what a zh-CN company reads
    name_en = line(200, required=False)
    kind = fields.String(required=True, validate=validate.OneOf(organisation.UNIT_KINDS))
    parent_unit_id = fields.String(required=True, allow_none=True,
                                   validate=validate.Regexp(ID_RE))
    # What the routing policy can send here, e.g. economic_crime.
    specialties = fields.List(fields.String(validate=validate.Regexp(ID_RE)),
                              load_default=list, validate=validate.Length(max=10))


class UnitOut(Schema):
    unit_id = fields.String(attribute="_id")
    name = fields.String()
    name_en = fields.String()
    kind = fields.String()
    parent_unit_id = fields.String(allow_none=True)
    specialties = fields.List(fields.String())
    path = fields.List(fields.String())


class OfficerIn(In):
    officer_id = fields.String(required=True, validate=validate.Regexp(ID_RE))
    name = line(100)
    unit_id = fields.String(required=True, validate=validate.Regexp(ID_RE))
    role = fields.String(required=True, validate=validate.OneOf(("officer", "supervisor")))


class UnitList(Schema):
    items = fields.List(fields.Nested(UnitOut))
    next = fields.String(allow_none=True)   # the whole tree is one page: null


class DirectoryOfficerOut(Schema):
    officer_id = fields.String(attribute="_id")
    name = fields.String()
    unit_id = fields.String()
    role = fields.String()


class OfficerList(Schema):
    items = fields.List(fields.Nested(DirectoryOfficerOut))
    next = fields.String(allow_none=True)


class IncidentTypeOut(Schema):
    code = fields.String()
    name = fields.String()
    materials = fields.List(fields.Dict(keys=fields.String(), values=fields.String()))


class IncidentTypeList(Schema):
    items = fields.List(fields.Nested(IncidentTypeOut))
    language = fields.String()
    next = fields.String(allow_none=True)


class OfficerOut(Schema):
    officer_id = fields.String(attribute="_id")
    name = fields.String()
    unit_id = fields.String()
    role = fields.String()
    token = fields.String()
    # The person's account: its username and the single-use code it sets
    # its password with (POST /accounts/password), and when the code expires.
    username = fields.String()
    invite = fields.String()
    invite_expires_at = ShownTime()


class ContactIn(In):
    name = line(100)
    phone = fields.String(required=True, validate=validate.Regexp(r"\A\+?[0-9 -]{5,20}\Z"))
    email = fields.Email(required=True, validate=validate.Length(max=254))


class CompanyIn(In):
    name = line(200)
    credit_code = fields.String(required=True)
    jurisdiction_unit_id = fields.String(required=True, validate=validate.Regexp(ID_RE))
    contact = fields.Nested(ContactIn, required=True)
    language = fields.String(load_default="zh-CN", validate=validate.OneOf(domain.LANGUAGES))
    # The first user's (the owner's) username; its credit code when not given.
    username = fields.String(validate=validate.Regexp(USERNAME_RE))

    @validates("credit_code")
    def check_credit_code(self, value, **kwargs):
        if not organisation.credit_code_valid(value):
            raise ValidationError("not a valid unified social credit code (GB 32100-2015)")


class CompanyOut(Schema):
    company_id = fields.String(attribute="_id")
    name = fields.String()
    credit_code = fields.String()
    jurisdiction_unit_id = fields.String()
    language = fields.String()
    token = fields.String()
    username = fields.String()          # its first user, the owner
    invite = fields.String()
    invite_expires_at = ShownTime()


# -- accounts (signin.py) -----------------------------------------------------
class CompanyUserIn(In):
    username = fields.String(required=True, validate=validate.Regexp(USERNAME_RE))
    role = fields.String(load_default="member", validate=validate.OneOf(("owner", "member")))


class InviteOut(Schema):
    username = fields.String(attribute="_id")
    role = fields.String()
    company_role = fields.String()
    invite = fields.String()
    invite_expires_at = ShownTime()


class PasswordIn(In):
    invite = fields.String(required=True, validate=validate.Length(1, 200))
    username = fields.String(validate=validate.Length(1, 200))
    password = fields.String(required=True, validate=validate.Length(max=1000))


class PasswordChangeIn(In):
    old = fields.String(required=True, validate=validate.Length(max=1000))
    new = fields.String(required=True, validate=validate.Length(max=1000))


class SecondFactorOut(Schema):
    """A new second factor, shown once (services/intake/second_factor.py)."""
    secret = fields.String()                    # base32, for typing into an app
    otpauth_uri = fields.String()               # the same as a QR code's content
    recovery_codes = fields.List(fields.String())


class AccountOut(Schema):
    username = fields.String(attribute="_id")
    role = fields.String()
    company_role = fields.String()
    password_set_at = ShownTime()
    # Only in the answer that enrolled it, when the role requires one.
    second_factor = fields.Nested(SecondFactorOut)


class AdminIn(In):
    username = fields.String(required=True, validate=validate.Regexp(USERNAME_RE))


class SecondFactorIn(In):
    """Proof it is the person: the password, and the current factor's code
    (or a recovery code) when there is one."""
    password = fields.String(required=True, validate=validate.Length(max=1000))
    otp = fields.String(validate=validate.Length(1, 64))


class RecoveryCodesOut(Schema):
    recovery_codes = fields.List(fields.String())


class AuditQuery(PageQuery):
    event = fields.String(validate=validate.Length(1, 64))
    actor = fields.String(validate=validate.Length(1, 200))


class AuditOut(Schema):
    audit_id = fields.String(attribute="_id")
    at = ShownTime()
    event = fields.String()
    actor = fields.String()
    source = fields.String()
    subject = fields.String(allow_none=True)
    detail = fields.Dict(keys=fields.String())


class AuditPage(Schema):
    items = fields.List(fields.Nested(AuditOut))
    next = fields.String(allow_none=True)


# -- principals (principals.py): company API keys, the admin's accounts ------
class ApiKeyIn(In):
    name = line(100)        # what the company calls it: "ERP integration"
    scope = fields.String(required=True, validate=validate.OneOf(KEY_SCOPES))


class ApiKeyOut(Schema):
    key_id = fields.String(attribute="_id")
    client_id = fields.Function(lambda key: key["_id"])    # the same: its OAuth 2.0 name
    name = fields.String()
    scope = fields.String()
    created_at = ShownTime()
    created_by = fields.String(allow_none=True)
    last_used_at = ShownTime(allow_none=True)
    revoked_at = ShownTime(allow_none=True)
    # Only in the answer that made the key: it is never shown again.
    client_secret = fields.String()


class ApiKeyList(Schema):
    items = fields.List(fields.Nested(ApiKeyOut))
    next = fields.String(allow_none=True)


class AccountQuery(PageQuery):
    role = fields.String(validate=validate.OneOf(("officer", "supervisor", "company")))
    subject = fields.String(validate=validate.Length(1, 128))   # an officer or company id
    active = fields.Boolean()


POLICE_ROLES = ("officer", "supervisor")
COMPANY_ROLES = ("owner", "member")


class AccountUpdateIn(In):
    """What the admin changes of a principal: its display name, its role
    (officer or supervisor; a company user's owner or member) and an
    officer's unit (a move)."""
    name = line(100, required=False)
    role = fields.String(validate=validate.OneOf(POLICE_ROLES + COMPANY_ROLES))
    unit_id = fields.String(validate=validate.Regexp(ID_RE))

    @validates_schema
    def not_empty(self, data, **kwargs):
        if not data:
            raise ValidationError("name, role or unit_id is required")


class AccountAdminOut(Schema):
    username = fields.String(attribute="_id")
    role = fields.String()
    subject = fields.String()           # the officer id, or the company id
    active = fields.Boolean()
    name = fields.String()
    unit_id = fields.String()           # police
    company_role = fields.String()      # company users
    created_at = ShownTime()
    password_set_at = ShownTime(allow_none=True)
    deactivated_at = ShownTime()


class AccountAdminList(Schema):
    items = fields.List(fields.Nested(AccountAdminOut))
    next = fields.String(allow_none=True)


class RotatedOut(Schema):
    kid = fields.String()                       # the key that signs from now on
    published = fields.List(fields.String())    # every kid in the JWK set


class ReportIn(In):
    incident_type = fields.String(required=True,
                                  validate=validate.OneOf(domain.INCIDENT_TYPES))
    summary = line(200)
    description = text(10_000)
    occurred_at = Moment(required=True)
    location = line(500)
    estimated_loss = Money(required=True)
    currency = fields.String(load_default="CNY", validate=validate.Equal("CNY"))
    funds_in_transit = fields.Boolean(load_default=False)
    suspects = fields.List(line(200), load_default=list, validate=validate.Length(max=50))
    # How many people or businesses this incident harmed (涉眾: one scheme,
    # many victims); the case policy weighs it when it flags the case.
    victim_count = fields.Integer(load_default=1, strict=True,
                                  validate=validate.Range(1, domain.MAX_VICTIMS))
    # Only when an officer registers a walk-in or phone report.
    company_id = fields.String(validate=validate.Regexp(ID_RE))
    channel = fields.String(validate=validate.OneOf(("phone", "walk_in")))

    @validates("occurred_at")
    def not_in_future(self, value, **kwargs):
        if value > datetime.now(timezone.utc) + CLOCK_SKEW:
            raise ValidationError("an incident cannot have occurred in the future")


class TransferIn(In):
    to_unit_id = fields.String(required=True, validate=validate.Regexp(ID_RE))
    reason = text(1000)


class ReasonIn(In):
    reason = text(1000)


class MergeIn(In):
    into_report_id = fields.String(required=True, validate=validate.Length(1, 64))
    reason = text(1000)


class MaterialsIn(In):
    supplied = fields.List(fields.String(validate=validate.Regexp(ID_RE)), required=True,
                           validate=validate.Length(1, 50))


class ExtraItemIn(In):
    code = fields.String(required=True, validate=validate.Regexp(ID_RE))
    label = line(200)


class ExtraMaterialsIn(In):
    items = fields.List(fields.Nested(ExtraItemIn), required=True,
                        validate=validate.Length(1, 20))
    reason = text(1000)


class MaterialOut(Schema):
    code = fields.String()
    label = fields.String()
    supplied = fields.Boolean()
    extra = fields.Boolean()
    # Why an officer found what was handed in not enough (asked again).
    insufficient = fields.String()


class TransferOut(Schema):
    from_unit_id = fields.String()
    to_unit_id = fields.String()
    reason = fields.String()
    offered_by = fields.String()
    offered_at = ShownTime()
    respond_by = ShownTime()


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
    step = fields.Integer()
    escalated_to_unit_id = fields.String(allow_none=True)
    to_unit_id = fields.String()
    into_report_id = fields.String()
    day = fields.String()
    code = fields.String()          # an evidence file's checklist item
    file_id = fields.String()
    sha256 = fields.String()
    size = fields.Integer()
    filename = fields.String()


class FiledReportOut(Schema):
    """A report as anyone who may read it sees it: what was filed, its status,
    the checklist and the dates promised to the company. The company's view
    is exactly this plus the owner unit's name; the police view adds what
    only police read. Nothing internal belongs here."""
    report_id = fields.String(attribute="_id")
    reference = fields.String()
    status = fields.String()
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
    victim_count = fields.Integer(dump_default=1)
    received_at = ShownTime()
    ack_due_at = ShownTime()
    acknowledged_at = ShownTime()
    accepted_at = ShownTime()
    materials = fields.List(fields.Nested(MaterialOut))
    case_id = fields.String(allow_none=True)
    merged_into = fields.String(allow_none=True)


class ReportOut(FiledReportOut):
    """The police view: the owner, its trail, a pending transfer offer, the
    escalation step, merges and likely duplicates, the history."""
    company_id = fields.String()
    owner_unit_id = fields.String()
    owners = fields.List(fields.Nested(OwnerOut))
    ack_escalation_step = fields.Integer(attribute="ack_step")
    transfer = fields.Nested(TransferOut, allow_none=True)
    merged_reports = fields.List(fields.String())
    likely_duplicate_of = fields.List(fields.String())
    history = fields.List(fields.Nested(HistoryOut))


class ReportList(Schema):
    items = fields.List(fields.Nested(ReportOut))
    next = fields.String(allow_none=True)


class CompanyReportOut(FiledReportOut):
    """What a company reads of its own report (an allowlist: FiledReportOut
    and the owner unit's name). Never: the history, officer ids, a transfer
    offer or its reason, the owners' trail, internal flags."""
    owner_unit_name = fields.Dict(attribute="owner_unit_names", keys=fields.String(),
                                  values=fields.String())


class CompanyReportList(Schema):
    items = fields.List(fields.Nested(CompanyReportOut))
    next = fields.String(allow_none=True)


# The two views of a report: the route answers the one for the caller's role.
REPORT_VIEWS = (ReportOut, CompanyReportOut)
REPORT_LISTS = (ReportList, CompanyReportList)


class ReportExport(In):
    status = fields.String(validate=validate.OneOf(
        ("received", "acknowledged", "transfer_pending", "accepted", "merged")))
    format = fields.String(load_default="csv", validate=validate.OneOf(("csv", "xlsx")))


class ReportQuery(SearchQuery):
    """GET /reports: a page of the reports in reach; police search with the
    filters of shared/search.py."""
    status = fields.String(validate=validate.OneOf(
        ("received", "acknowledged", "transfer_pending", "accepted", "merged")))
    # A reference a caller quotes (FT-20261130-000010): found exactly, never as
    # a pattern.
    q = line(64, required=False)


# -- evidence files ------------------------------------------------------------
class OtherEvidenceQuery(In):
    """POST /reports/{id}/files: `disclose=true` shows an officer's file to
    the company at once (a company's own files it always sees)."""
    disclose = fields.Boolean(load_default=False)


class UploadedOut(Schema):
    """The answer to an upload (API.md: file_id, sha256, size, content_type,
    filename), with its item and scan state."""
    file_id = fields.String(attribute="_id")
    sha256 = fields.String()
    size = fields.Integer()
    content_type = fields.String()
    filename = fields.String()
    code = fields.String()
    scan = fields.String(attribute="scan.state")


class SupersededOut(Schema):
    at = ShownTime()
    reason = fields.String()
    by_role = fields.String()


class EvidenceOut(UploadedOut):
    """An evidence record as the company reads it: no officer ids."""
    report_id = fields.String()
    uploaded_at = ShownTime()
    uploaded_by_role = fields.String(attribute="uploaded_by.role")
    superseded = fields.Nested(SupersededOut, allow_none=True)
    integrity = fields.String(attribute="integrity.state")


class PoliceEvidenceOut(EvidenceOut):
    """The police view adds who uploaded it and whether the company sees it."""
    uploaded_by = fields.String(attribute="uploaded_by.subject")
    disclosed = fields.Function(lambda record: evidence.company_sees(record))
    uploaded_by_unit = fields.String(attribute="uploaded_by.unit", allow_none=True)
    scan_detail = fields.String(attribute="scan.detail", allow_none=True)


class EvidenceList(Schema):
    items = fields.List(fields.Nested(PoliceEvidenceOut))
    next = fields.String(allow_none=True)


class CompanyEvidenceList(Schema):
    items = fields.List(fields.Nested(EvidenceOut))
    next = fields.String(allow_none=True)


EVIDENCE_LISTS = (EvidenceList, CompanyEvidenceList)

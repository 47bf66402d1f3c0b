"""What policy/intake.yml may say: intake's own module, because the names it
uses are intake's (incident types, the languages a checklist is told in).

Checked when the service starts (shared.policy.Policy): a misspelt key or
incident type would otherwise be ignored in silence, and a mistyped time or
duration fail later inside a timer.
"""
from marshmallow import fields, validate

from services.intake.domain import INCIDENT_TYPES, LANGUAGES
from shared.auth import ROLES
from shared.policy import ClockTime, PolicySchema, Seconds, Table, name, one_of, whole

# A checklist item: its code, and its label in each language we tell it in.
# zh-CN is required: it is the label shown when a company's language has none.
Material = PolicySchema.from_dict({
    "code": fields.String(required=True, validate=name),
    **{lang: fields.String(required=lang == "zh-CN", validate=validate.Length(1, 500))
       for lang in LANGUAGES}}, name="Material")


# Evidence files (services/intake/evidence.py): what one upload, one report
# and one checklist item may hold.
Evidence = PolicySchema.from_dict({
    "max_file_bytes": whole(1, 2 ** 31, required=True),
    "max_report_bytes": whole(1, 2 ** 40, required=True),
    "max_files_per_item": whole(1, 1000, required=True)}, name="Evidence")


class SigninThrottle(PolicySchema):
    """Failed sign-ins (services/intake/throttle.py)."""
    account_failures = whole(1, 1000, required=True)
    source_failures = whole(1, 100_000, required=True)
    lockout_seconds = Seconds(required=True)
    lockout_max_seconds = Seconds(required=True)
    forget_seconds = Seconds(required=True)


class IntakePolicy(PolicySchema):
    version = whole(1, required=True)
    ack_seconds = Seconds(required=True)
    ack_escalation_interval_seconds = Seconds(required=True)
    transfer_respond_seconds = Seconds(required=True)
    same_day_end = ClockTime(required=True)
    # At most a century: that already reaches back before 1970, the earliest
    # date the API takes; a larger number is a typing slip.
    oldest_incident_years = whole(1, 100, required=True)
    # incident type -> the specialty of the unit that takes it (首接首辦).
    routing = Table(fields.String(validate=name), keys=one_of(INCIDENT_TYPES))
    common_materials = fields.List(fields.Nested(Material), required=True)
    # An invite (a new account's, or a reset's) sets a password within this time.
    invite_seconds = Seconds(required=True)
    evidence = fields.Nested(Evidence, required=True)
    # The account roles that must sign in with a second factor (TOTP).
    second_factor_roles = fields.List(fields.String(validate=one_of(ROLES)), required=True)
    signin_throttle = fields.Nested(SigninThrottle, required=True)
    materials = Table(fields.List(fields.Nested(Material)), keys=one_of(INCIDENT_TYPES),
                      required=True)

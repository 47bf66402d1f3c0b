"""Who is calling, and who may do what: the one place for both.

PERMISSIONS, at the end, is the one table of who may call what: each action
names the roles that may attempt it and the rule (a can_* function) that
says whether this principal may act on this resource. A route declares its
action (`@api(..., action="report.accept")`): its roles, the 403 for any
other role and the roles in the OpenAPI document all come from the table.

Tokens are EdDSA (Ed25519) JWTs. Only intake, the issuer, holds a private
key (services/intake/signing_keys.py); every service verifies with the
public keys intake publishes at /.well-known/jwks.json (shared/jwks.py), the
key named by the token's `kid` header. A token carries `iss`, `aud`, `sub`,
`role`, `exp`, `iat`, `jti` and, for officers and supervisors, the unit with
its ancestors (`units`), so a supervisor's reach over its subtree needs no
lookup; for a company, the language it registered (`lang`), which its errors
are told in when a request names none (shared/language.py), and a signed-in
company user's role in it (`company_role`: owner or member). The admin token
is the operator's FASTTRACK_ADMIN_TOKEN, compared in constant time: the
break-glass way in (the first admin account, emergencies), marked on the
Principal so that every use is logged and audited (shared/http.py). An admin
account signs in like anyone (intake) and gets an admin token naming it.

A token a company's API key was exchanged for (client_credentials) is a
company token with a `scope` (`read` or `write`) and the key's `client_id`.
Each action in PERMISSIONS names the scope a key needs for it (`key_scope`):
`read` for reading reports, cases and the feed, `write` for filing reports
and supplying materials, none for everything else, which no key may do. A
person's token has no scope: its role alone counts.
"""
import base64
import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass, field
from typing import Callable, Protocol
from datetime import datetime, timedelta, timezone

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (Ed25519PrivateKey,
                                                               Ed25519PublicKey)

from shared.errors import Forbidden, Unauthorized

ISSUER = "fasttrack"
AUDIENCE = "fasttrack"      # the three services; a token for anything else is refused
ALGORITHM = "EdDSA"         # Ed25519 (RFC 8037); the only algorithm accepted
ROLES = ("company", "officer", "supervisor", "admin")
POLICE = ("officer", "supervisor")
KEY_SCOPES = ("read", "write")  # an API key's: write includes read

@dataclass(frozen=True)
class Principal:
    role: str
    subject: str
    unit: str | None = None
    units: tuple = field(default_factory=tuple)  # own unit first, then ancestors
    language: str | None = None     # a company's registered language (zh-CN, en)
    account: str | None = None      # the signed-in account's username (`acct`), if any
    # The operator's FASTTRACK_ADMIN_TOKEN, not an account: every use is
    # logged (shared/http.py) and, in intake, audited.
    break_glass: bool = False
    scope: str | None = None        # an API key's scope (read, write); None for a person
    client_id: str | None = None    # the API key a token was exchanged for
    company_role: str | None = None     # a signed-in company user's: owner or member

    @property
    def is_police(self):
        return self.role in POLICE


# Who calls a public route (health, metrics, the OpenAPI document): no role
# in PERMISSIONS names it, so it may do nothing else.
ANONYMOUS = Principal("anonymous", "anonymous")


def _b64(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def public_jwk(public_key, kid):
    """The RFC 7517 / RFC 8037 JWK of an Ed25519 public key."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return {"kty": "OKP", "crv": "Ed25519", "x": _b64(raw), "kid": kid,
            "alg": ALGORITHM, "use": "sig"}


def thumbprint(public_key):
    """The key's RFC 7638 JWK thumbprint (SHA-256): its `kid`."""
    jwk = public_jwk(public_key, "")
    canonical = json.dumps({k: jwk[k] for k in ("crv", "kty", "x")},
                           separators=(",", ":"), sort_keys=True)
    return _b64(hashlib.sha256(canonical.encode()).digest())


def key_from_jwk(jwk):
    """The Ed25519 public key of one JWK, or None when it is not one we use."""
    if not isinstance(jwk, dict) or jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519" \
            or jwk.get("use", "sig") != "sig" or jwk.get("alg", ALGORITHM) != ALGORITHM \
            or not isinstance(jwk.get("kid"), str) or not isinstance(jwk.get("x"), str):
        return None
    try:
        raw = base64.urlsafe_b64decode(jwk["x"] + "=" * (-len(jwk["x"]) % 4))
        return Ed25519PublicKey.from_public_bytes(raw)
    except ValueError:
        return None


@dataclass(frozen=True)
class SigningKey:
    """An issuer's private key and its `kid`. Only intake has one."""
    kid: str
    private_key: Ed25519PrivateKey

    @classmethod
    def generate(cls):
        private = Ed25519PrivateKey.generate()
        return cls(thumbprint(private.public_key()), private)

    @classmethod
    def from_pem(cls, pem):
        private = serialization.load_pem_private_key(
            pem.encode() if isinstance(pem, str) else pem, password=None)
        if not isinstance(private, Ed25519PrivateKey):
            raise ValueError("not an Ed25519 private key")
        return cls(thumbprint(private.public_key()), private)

    def pem(self):
        return self.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()).decode()

    @property
    def public_key(self):
        return self.private_key.public_key()

    def jwk(self):
        return public_jwk(self.public_key, self.kid)


class PublicKeys(Protocol):
    """Where a verifier finds the public key a token names (its `kid`):
    intake's own key store, or the JWKS it publishes (shared/jwks.py)."""

    def public_key(self, kid: str) -> Ed25519PublicKey | None: ...


class StaticKeys(dict):
    """A fixed {kid: public key} (PublicKeys): for tests and tools."""

    def public_key(self, kid):
        return self.get(kid)


EXP_LEEWAY_SECONDS = 1


def issue_token(key, role, subject, unit=None, units=(), now=None, ttl_days=365, lang=None,
                ttl=None, account=None, scope=None, client_id=None, company_role=None):
    """A token signed with the issuer's SigningKey; it expires (`exp`) so a
    leaked one does not live forever, and has its own id (`jti`). `ttl` (a
    timedelta) overrides `ttl_days`: an access token from /oauth/token lives
    minutes. `account` is the signed-in account's username (claim `acct`);
    `scope` and `client_id` those of the API key a token was exchanged for."""
    if not isinstance(key, SigningKey):
        raise TypeError("issue_token signs with a SigningKey, not a shared secret")
    now = now or datetime.now(timezone.utc)
    claims = {"iss": ISSUER, "aud": AUDIENCE, "role": role, "sub": subject,
              "iat": int(now.timestamp()), "jti": uuid.uuid4().hex,
              "exp": int((now + (ttl if ttl is not None else timedelta(days=ttl_days)))
                         .timestamp())}
    if unit:
        claims["unit"] = unit
        claims["units"] = list(units) or [unit]
    if lang:
        claims["lang"] = lang
    if account:
        claims["acct"] = account
    if company_role:
        claims["company_role"] = company_role
    if scope:
        if scope not in KEY_SCOPES or not client_id:
            raise ValueError("an API key's token has its scope and its key")
        claims["scope"], claims["client_id"] = scope, client_id
    return jwt.encode(claims, key.private_key, algorithm=ALGORITHM,
                      headers={"kid": key.kid})


def authenticate(header, admin_token, keys):
    """The principal behind an Authorization header, or Unauthorized.

    `keys` (PublicKeys) answers the public key of the token's `kid`; only
    EdDSA is accepted, so `alg: none` or an HS256 token made with a public
    key as its secret is refused before any key is looked up.
    """
    if not header or not header.startswith("Bearer "):
        raise Unauthorized("a bearer token is required")
    token = header[len("Bearer "):].strip()
    if admin_token and hmac.compare_digest(token.encode(), admin_token.encode()):
        return Principal("admin", "admin", break_glass=True)
    try:
        head = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise Unauthorized("the token is not valid")
    kid = head.get("kid")
    if head.get("alg") != ALGORITHM or not isinstance(kid, str) or not kid:
        raise Unauthorized("the token is not valid")
    public_key = keys.public_key(kid)
    if public_key is None:
        raise Unauthorized("the token is not valid")
    try:
        # `exp` and `iat` are whole seconds, the issue time truncated: a token
        # issued at x.9 s would lose up to a second of its lifetime (a
        # one-second one die at once) without that second of leeway.
        claims = jwt.decode(token, public_key, algorithms=[ALGORITHM], issuer=ISSUER,
                            audience=AUDIENCE, leeway=EXP_LEEWAY_SECONDS,
                            options={"require": ["iss", "aud", "sub", "role", "exp", "iat",
                                                 "jti"]})
    except jwt.PyJWTError:
        raise Unauthorized("the token is not valid")
    role = claims.get("role")
    lang, account = claims.get("lang"), claims.get("acct")
    if role not in ROLES:
        raise Unauthorized("the token is not valid")
    # An admin token is an admin account's sign-in (intake's password grant,
    # with its second factor): it names that account, and only that.
    if role == "admin" and (not isinstance(account, str) or account != claims["sub"]):
        raise Unauthorized("the token is not valid")
    if role in POLICE and not claims.get("unit"):
        raise Unauthorized("the token is not valid")
    scope, client_id = claims.get("scope"), claims.get("client_id")
    if scope is not None and (role != "company" or scope not in KEY_SCOPES
                              or not isinstance(client_id, str)):
        raise Unauthorized("the token is not valid")
    company_role = claims.get("company_role")
    return Principal(role, str(claims["sub"]), claims.get("unit"),
                     tuple(claims.get("units") or ()), lang if isinstance(lang, str) else None,
                     account if isinstance(account, str) else None, scope=scope,
                     client_id=client_id if scope else None,
                     company_role=company_role if isinstance(company_role, str) else None)


def in_reach(principal, unit_path):
    """Police reach: an officer its own unit; a supervisor its unit's subtree.

    `unit_path` is the resource unit's path from itself up to the root.
    """
    if principal.role == "officer":
        return bool(unit_path) and unit_path[0] == principal.unit
    if principal.role == "supervisor":
        return principal.unit in unit_path
    return False


def can_read_report(principal, report):
    """A company its own; police their reach over the owner, or over the unit
    a transfer is offered to (it must see what it is asked to take)."""
    if principal.role == "company":
        return report["company_id"] == principal.subject
    if principal.is_police:
        offer = report.get("transfer") or {}
        return (in_reach(principal, report["owner_unit_path"])
                or in_reach(principal, offer.get("to_unit_path") or []))
    return principal.role == "admin"


def report_filter(principal):
    """The Mongo filter of the reports a principal may list (as
    can_read_report), through the keys of report_reach."""
    if principal.role == "company":
        return {REACH: f"company:{principal.subject}"}
    if principal.role == "admin":
        return {REACH: "all"}
    kinds = ("owner", "offer") if principal.role == "officer" else ("owner-in", "offer-in")
    return {"$or": [{REACH: f"{kind}:{principal.unit}"} for kind in kinds]}


# Who may list a report, as one list of keys indexed with the list's sort
# (intake's repository): its company (`company:`), the owner unit
# (`owner:`), each unit from it up (`owner-in:`), the same for a unit it is
# offered to, and `all` (the admin). One index for what took six, each
# rewritten by every write of a report (issue 19).
REACH = "reach"


def report_reach(report):
    """The keys report_filter finds `report` under: who can_read_report
    lets read it, as stored keys."""
    offer = report.get("transfer") or {}
    keys = ["all", f"company:{report['company_id']}", f"owner:{report['owner_unit_id']}"]
    keys += [f"owner-in:{unit}" for unit in report["owner_unit_path"]]
    if offer.get("to_unit_id"):
        keys.append(f"offer:{offer['to_unit_id']}")
        keys += [f"offer-in:{unit}" for unit in offer.get("to_unit_path") or []]
    return keys


def can_act_on_report(principal, report):
    """Acknowledge, accept, transfer, merge, ask for more: police of the owner
    unit itself (首接首辦: the unit that owns it acts on it)."""
    return principal.is_police and principal.unit == report["owner_unit_id"]


def can_answer_transfer(principal, report):
    """Accept or decline an offer: police of the unit it is offered to."""
    offer = report.get("transfer") or {}
    return principal.is_police and principal.unit == offer.get("to_unit_id")


def can_supply_materials(principal, report):
    """The company hands materials in; the owner unit records them too."""
    if principal.role == "company":
        return report["company_id"] == principal.subject
    return can_act_on_report(principal, report)


def can_read_case(principal, case):
    if principal.role == "company":
        return case["company_id"] == principal.subject
    if principal.is_police:
        return (principal.subject in case["team"]["members"]
                or in_reach(principal, case["unit_path"]))
    return principal.role == "admin"


def case_filter(principal):
    """The Mongo filter of the cases a principal may list, through the keys
    of case_reach: a company its own; an officer the cases it works on and
    its unit's; anyone else those of its unit and the units below it."""
    if principal.role == "company":
        return {REACH: f"company:{principal.subject}"}
    if principal.role == "officer":
        return {"$or": [{REACH: f"member:{principal.subject}"},
                        {REACH: f"unit:{principal.unit}"}]}
    return {REACH: f"in:{principal.unit}"}


def case_reach(case):
    """The keys case_filter finds `case` under, one index for what took
    four (case_supervision's repository; issue 19): its company
    (`company:`), its unit (`unit:`), each unit from it up (`in:`), each
    member of its team (`member:`)."""
    keys = [f"company:{case['company_id']}", f"unit:{case['unit_id']}"]
    keys += [f"in:{unit}" for unit in case["unit_path"]]
    keys += [f"member:{member}" for member in case["team"]["members"]]
    return keys


def can_work_case(principal, case):
    """Progress, conclude, pause: the case's team members."""
    return principal.is_police and principal.subject in case["team"]["members"]


def can_supervise_case(principal, case):
    """Escalate, set a deadline, reassign the lead: a supervisor of the case's
    unit or a unit above it."""
    return principal.role == "supervisor" and in_reach(principal, case["unit_path"])


def can_manage_team(principal, case):
    """Add team members: the lead, or a supervisor over the case."""
    return (principal.is_police and principal.subject == case["team"]["lead_officer_id"]
            or can_supervise_case(principal, case))


def can_sign_off_case(principal, case):
    """Close (sign off): a supervisor of the unit the case is flagged to
    (掛牌督辦), or of a unit above that one."""
    path = case["unit_path"]
    flagged = case["supervision"]["supervisor_unit_id"]
    above = path[path.index(flagged):] if flagged in path else path
    return principal.role == "supervisor" and principal.unit in above


def can_reopen_case(principal, case):
    if principal.role == "company":
        return case["company_id"] == principal.subject
    return can_supervise_case(principal, case)


def can_rate_case(principal, case):
    return principal.role == "company" and case["company_id"] == principal.subject


def ledger_filter(principal):
    """Ledger items of the supervisor's unit and the units below it."""
    return {"unit_path": principal.unit}


def can_resolve_ledger_item(principal, item):
    return principal.role == "supervisor" and in_reach(principal, item["unit_path"])


def can_read_scorecard(principal, unit_path):
    """A unit's figures: its officers, supervisors above it, the admin."""
    if principal.role == "admin":
        return True
    return principal.is_police and in_reach(principal, unit_path)


def can_manage_api_keys(principal, company_id):
    """A company's API keys: an owner of that company, signed in as a person
    (a key cannot make keys; key_scope None already refuses it)."""
    return (principal.role == "company" and principal.company_role == "owner"
            and principal.account is not None and principal.subject == company_id)


def can_read_roster(principal, unit_path):
    """A unit's duty roster and robot: its own police and the supervisors above."""
    return principal.role == "admin" or (principal.is_police and in_reach(principal, unit_path))


def can_manage_roster(principal, unit_path):
    """Edit a unit's duty roster and robot: a supervisor of it or of a unit above."""
    return principal.role == "supervisor" and in_reach(principal, unit_path)


@dataclass(frozen=True)
class Permission:
    roles: frozenset
    rule: Callable | None = None   # (principal, resource) -> bool; None: the role suffices
    key_scope: str | None = None   # the API-key scope it needs; None: no key may


def _allow(roles, rule=None, key=None):
    return Permission(frozenset(roles), rule, key)


def key_may(scope, needed):
    """Whether an API key of `scope` may do what needs `needed` (write includes read)."""
    return needed is not None and (scope == needed or scope == "write")


PEOPLE = ("company", *POLICE)
# `key=`: the scope a company's API key needs (read: reports, cases, feed;
# write: also file reports and supply materials); any other action no key may do.
PERMISSIONS = {
    "admin.manage": _allow({"admin"}),
    "admin.read_failures": _allow({"admin"}),
    "directory.read": _allow({*POLICE, "admin"}),        # the unit tree, its officers
    "incident_type.list": _allow({*PEOPLE, "admin"}, key="read"),
    "account.change_password": _allow({*PEOPLE, "admin"}),   # a signed-in person's own
    "account.second_factor": _allow({*PEOPLE, "admin"}),     # its own: (re)enrol, new codes
    "audit.read": _allow({"admin"}),
    "api_key.manage": _allow({"company"}, can_manage_api_keys),     # its owners
    "report.file": _allow(PEOPLE, key="write"),
    "report.list": _allow(PEOPLE, key="read"),
    "report.export": _allow({"officer", "supervisor", "admin"}),
    "report.read": _allow(PEOPLE, can_read_report, key="read"),
    # acknowledge, accept, transfer, merge, ask for more: the owner unit
    "report.act": _allow(POLICE, can_act_on_report),
    "report.answer_transfer": _allow(POLICE, can_answer_transfer),
    "report.supply_materials": _allow(PEOPLE, can_supply_materials, key="write"),
    "case.list": _allow(PEOPLE, key="read"),
    "case.read": _allow(PEOPLE, can_read_case, key="read"),
    "case.work": _allow(POLICE, can_work_case),           # progress, conclude, pause
    "case.manage_team": _allow(POLICE, can_manage_team),
    "case.supervise": _allow({"supervisor"}, can_supervise_case),  # escalate, 限期, lead
    "case.sign_off": _allow({"supervisor"}, can_sign_off_case),
    "case.reopen": _allow({"company", "supervisor"}, can_reopen_case),
    "case.rate": _allow({"company"}, can_rate_case),
    "ledger.read": _allow({"supervisor"}),
    "ledger.resolve": _allow({"supervisor"}, can_resolve_ledger_item),   # 銷號
    "scorecard.read": _allow({"officer", "supervisor", "admin"}, can_read_scorecard),
    "notice.read": _allow({"company"}, key="read"),
    "subscription.manage": _allow({"company"}),
    "webhook.manage": _allow({"company"}),               # its own endpoints (notify)
    "delivery.read": _allow({"admin"}),
    "delivery.replay": _allow({"admin"}),
    # Alerts to police (notify): a person's own inbox and settings, never a company's.
    "alert.read": _allow(POLICE),
    "alert.settings": _allow(POLICE),
    "roster.read": _allow({*POLICE, "admin"}, can_read_roster),
    "roster.manage": _allow({"supervisor"}, can_manage_roster),   # the roster and the robot
}


def roles_for(action):
    return tuple(sorted(PERMISSIONS[action].roles))


def require(principal, action):
    """403 unless the principal's role may attempt `action`, and, for an API
    key's token, unless its scope covers it."""
    if principal.role not in PERMISSIONS[action].roles:
        raise Forbidden(f"the {principal.role} role may not do this")
    if principal.scope is not None and not key_may(principal.scope,
                                                   PERMISSIONS[action].key_scope):
        raise Forbidden(f"an API key with the {principal.scope} scope may not do this")


def allows(principal, action, resource):
    """Whether the principal may do `action` on this resource (report, case,
    ledger item, unit path); its role was checked when the route was called."""
    permission = PERMISSIONS[action]
    if principal.scope is not None and not key_may(principal.scope, permission.key_scope):
        return False
    rule = permission.rule
    return principal.role in permission.roles and (rule is None or rule(principal, resource))

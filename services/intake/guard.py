"""What guards the accounts (intake's routes and hooks, mixed into
IntakeService beside signin.py's): the second factor, sign-in throttling,
the audit log, admin accounts.

signin.py calls the hooks (signin_gate, signin_failed, signin_succeeded,
second_factor_check, enrol_on_invite, audit); the rules are in
second_factor.py and throttle.py, the log in audit.py.

Token endpoint answers added here, in RFC 6749's shape:
- 400 invalid_grant with `"mfa_required": true` when the account has a
  second factor and the password was right but `otp` is missing (not a
  failure: the client asks for the code next) or wrong (a failure).
- 429 `slow_down` with Retry-After (and `retry_after`, the same seconds)
  while a lockout holds. RFC 6749 has no "too many tries"; slow_down is the
  registered token-endpoint error that means "wait" (RFC 8628 §3.5), and
  429 with Retry-After is what HTTP clients know to back off on.
"""
import logging
from typing import Any

from services.intake import accounts, audit, second_factor, throttle
from services.intake import schemas as s
from services.intake.signin import OAuthError
from shared import clock, pages, remote
from shared.errors import ApiError, Forbidden
from shared.http import Call, api

log = logging.getLogger(__name__)

SECOND_FACTOR_MISSING = "a second factor code is required"
SECOND_FACTOR_WRONG = "the second factor code is wrong or was used already"
MUST_ENROL = "this account must enrol a second factor: ask the admin for a new invite"
LOCKED = "too many failed sign-ins; try again later"


class TooManyTries(ApiError):
    """A lockout holds (a problem, on the routes that are not RFC 6749's)."""
    status, code = 429, "too_many_requests"


class GuardRoutes:
    """Supplied by IntakeService (see signin.AccountRoutes)."""
    repo: Any
    policy: Any
    config: Any
    new_account: Any

    # -- the audit log ---------------------------------------------------------
    def source_of(self, request):
        return remote.source(request, self.config)

    def audit(self, request, event, actor, subject=None, **detail):
        audit.record(self.repo.db, event, actor=actor, source=self.source_of(request),
                     subject=subject, **detail)

    def audit_call(self, call, event, subject=None, **detail):
        """An event of a signed-in caller (an admin, a person)."""
        self.audit(call.request, event, audit.actor_of(call.who), subject, **detail)

    @api("GET", "/admin/audit", action="audit.read", query=s.AuditQuery, answer=s.AuditPage)
    def list_audit(self, call: Call) -> Any:
        """The audit log, newest first, cursor-paged; `event` and `actor` filter."""
        q = call.query
        found, nxt = audit.page(self.repo.db, q, q["limit"], q.get("after"))
        return pages.Page(call, found, nxt)

    @api("POST", "/admin/admins", action="admin.manage", body=s.AdminIn, answer=s.InviteOut,
         status=201)
    def create_admin(self, call: Call) -> Any:
        """An admin account, and the invite it sets its password (and enrols
        its second factor) with. The break-glass token makes the first one."""
        return self.new_account(call.body["username"], "admin", call.body["username"],
                                by=call)

    # -- throttling (the password grant) --------------------------------------
    def signin_gate(self, request, username, source):
        """429 while the username or the address is locked out; the same
        answer, and no password checked, whether or not the account exists."""
        wait = throttle.locked_for(self.repo.db, throttle.keys(username, source), clock.now())
        if wait:
            raise OAuthError("slow_down", LOCKED, 429, extra={"retry_after": wait},
                             headers={"Retry-After": str(wait)})

    def signin_failed(self, request, username, source, reason, count=True):
        """A failed sign-in: audited, and counted against the username and the
        address (the same writes whether or not the account exists)."""
        self.audit(request, "signin.failed", username, username, reason=reason)
        if not count:
            return
        now, rules = clock.now(), self.policy["signin_throttle"]
        for key in throttle.keys(username, source):
            seconds = throttle.failed(self.repo.db, key, now, rules)
            if seconds:
                log.warning("sign-in lockout of %s for %ss", key.split(":")[0], seconds)
                self.audit(request, "signin.lockout", username, username,
                           key=key.split(":")[0], seconds=seconds)

    def signin_succeeded(self, request, account, source, factor):
        throttle.succeeded(self.repo.db, throttle.keys(account["_id"], source)[0])
        self.audit(request, "signin.succeeded", account["_id"], account["_id"],
                   second_factor=factor)
        if factor == "recovery":
            self.audit(request, "second_factor.recovery_used", account["_id"], account["_id"],
                       left=len(((self.repo.account(account["_id"]) or {})
                                 .get("second_factor") or {}).get("recovery") or []))

    # -- the second factor ---------------------------------------------------------
    def second_factor_check(self, request, account, code, source):
        """After the right password: how the second factor was shown
        ("totp", "recovery"), None when the account has none and needs none;
        OAuthError otherwise."""
        if not account.get("second_factor"):
            if second_factor.required(account["role"], self.policy):
                self.signin_failed(request, account["_id"], source, "not_enrolled", count=False)
                raise OAuthError("invalid_grant", MUST_ENROL)
            return None
        if not code:
            self.signin_failed(request, account["_id"], source, "second_factor_missing",
                               count=False)
            raise OAuthError("invalid_grant", SECOND_FACTOR_MISSING,
                             extra={"mfa_required": True})
        used = second_factor.use(self.repo.db, account, code, clock.now())
        if used is None:
            self.signin_failed(request, account["_id"], source, "second_factor_wrong")
            raise OAuthError("invalid_grant", SECOND_FACTOR_WRONG, extra={"mfa_required": True})
        return used

    def enrol_on_invite(self, request, account):
        """When the account's role needs a factor, enrol one as the password
        is set from an invite: what to show once, or None."""
        if not second_factor.required(account["role"], self.policy):
            return None
        return self._enrol(request, account["_id"], account["_id"])

    def _enrol(self, request, username, actor):
        shown, stored = second_factor.enrolment(username)
        if not second_factor.store(self.repo.db, username, stored, clock.now()):
            return None
        self.audit(request, "second_factor.enrolled", actor, username)
        return shown

    def _reauthenticated(self, call):
        """The signed-in person's account, when the password (and the code of
        a factor it has) in the body are right; 403 otherwise."""
        username = call.who.account
        account = username and self.repo.account(username)
        if not account or not account.get("active"):
            raise Forbidden("sign in to change your second factor")
        source = self.source_of(call.request)
        # The same lockout as the token endpoint's: a stolen access token
        # may not guess the password here instead.
        if throttle.locked_for(self.repo.db, throttle.keys(username, source), clock.now()):
            raise TooManyTries(LOCKED)
        if not accounts.password_matches(account.get("password_hash"), call.body["password"]):
            self.signin_failed(call.request, username, source, "password")
            raise Forbidden("the current password is wrong")
        if account.get("second_factor") and second_factor.use(
                self.repo.db, account, call.body.get("otp"), clock.now()) is None:
            self.signin_failed(call.request, username, source, "second_factor_wrong")
            raise Forbidden(SECOND_FACTOR_WRONG)
        return account

    @api("POST", "/accounts/second-factor", action="account.second_factor",
         body=s.SecondFactorIn, answer=s.SecondFactorOut, status=201)
    def enrol_second_factor(self, call: Call) -> Any:
        """(Re)enrol: a new secret and recovery codes, shown once; the old
        ones stop working. The password, and the current code if any, prove
        it is the person and not a stolen access token."""
        account = self._reauthenticated(call)
        shown = self._enrol(call.request, account["_id"], account["_id"])
        if shown is None:
            raise Forbidden("sign in to change your second factor")
        return shown

    @api("POST", "/accounts/second-factor/recovery-codes", action="account.second_factor",
         body=s.SecondFactorIn, answer=s.RecoveryCodesOut, status=201)
    def new_recovery_codes(self, call: Call) -> Any:
        """Ten new recovery codes, shown once; the earlier ones stop working."""
        account = self._reauthenticated(call)
        factor = account.get("second_factor")
        codes = factor and second_factor.new_codes(self.repo.db, account["_id"],
                                                   factor["secret"], clock.now())
        if not codes:
            raise Forbidden("enrol a second factor first")
        self.audit_call(call, "second_factor.recovery_codes_renewed", account["_id"])
        return {"recovery_codes": codes}

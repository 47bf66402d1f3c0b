"""Accounts and sign-in (intake's routes, mixed into IntakeService).

People have accounts in intake, which owns the organisation they belong to
(officers, units, companies) and holds the only key tokens are signed with:
an account's token is made from its officer's unit or its company's language
as they are at that moment, with no other service asked.

- An account (collection `accounts`, _id its username) is an officer's or
  supervisor's (username: the officer_id) or a company user's (`owner` or
  `member`; the first, the owner, is named when the company is created).
  Admin creation answers an invite: a single-use code, expiring after the
  policy's `invite_seconds`, stored as its SHA-256, with which the person
  sets a password (POST /accounts/password). The admin can invite again
  (a reset): the earlier invite stops working, and setting the password
  ends every session of the account.
- POST /oauth/token (RFC 6749) answers an access token (an EdDSA JWT, at
  most 15 minutes) and a refresh token (opaque, stored as its SHA-256, one
  family per sign-in). A refresh token is used once: each refresh answers
  a new one and marks the old used; an old one used again means it was
  stolen or copied, so the whole family is revoked (and logged), and the
  holder of the newest one must sign in again. POST /oauth/revoke (RFC
  7009) revokes a refresh token's family and always answers 200.
  grant_type=client_credentials exchanges a company's API key for an
  access token only (principals.py). A deactivated account's sign-in gets
  the answer of a wrong password.
- The token endpoints answer errors in RFC 6749's shape, which §5.2
  requires of them: {"error": "invalid_grant", "error_description": ...},
  application/json, 400 (401 for invalid_client). Every other route,
  /accounts/... included, answers RFC 9457 problems as before. A database
  that does not answer is a 503 problem everywhere, the token endpoints too
  (RFC 6749 names no error for it).
- The second factor, sign-in throttling and the audit log are guard.py's;
  the routes here call its hooks (signin_gate, signin_failed, ...).
"""
import logging
import uuid
from datetime import timedelta
from typing import Any

from services.intake import accounts
from services.intake import schemas as s
from services.intake.repository import COMPANIES
from shared import auth, clock, language
from shared.errors import BadRequest, Conflict, Forbidden, Invalid, NotFound
from shared.idempotency_key import ANSWER
from shared.http import Call, api, json_response

log = logging.getLogger(__name__)

ACCESS_TTL_MAX = 900            # seconds: an access token lives at most 15 minutes
REFRESH_TTL_DAYS = 14           # a refresh token not used for this long has expired
FORM = "application/x-www-form-urlencoded"
MAX_FORM_BYTES = 8192
# The same answer for an unknown username, a wrong password and an account
# with no password yet: nobody learns which accounts exist.
WRONG = "the username or password is wrong"


class OAuthError(Exception):
    """An error of the token endpoints, in RFC 6749's own shape (§5.2)."""

    def __init__(self, error, description, status=400, extra=None, headers=None):
        super().__init__(description)
        self.error, self.description, self.status = error, description, status
        # More members (`mfa_required`, `retry_after`) and headers (Retry-After): guard.py.
        self.extra, self.headers = extra or {}, headers or {}


def oauth_response(status, data, request=None):
    response = json_response(status, data)
    # RFC 6749 §5.1: an answer carrying tokens is never cached.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    if request is not None:
        response.headers["Content-Language"] = language.chosen(
            request.headers.get("Accept-Language"))
        response.vary.add("Accept-Language")
    return response


def oauth_error(exc, request):
    lang = language.chosen(request.headers.get("Accept-Language"))
    response = oauth_response(exc.status, {
        "error": exc.error, "error_description": language.say(exc.description, lang),
        **exc.extra}, request)
    response.headers.update(exc.headers)
    if exc.status == 401:
        response.headers["WWW-Authenticate"] = 'Basic realm="fasttrack"'
    return response


def form_of(request):
    """The form of a token request: urlencoded, small, each parameter once
    (RFC 6749 §3.2); OAuthError otherwise."""
    mimetype = request.mimetype
    if mimetype != FORM:
        raise OAuthError("invalid_request", "the body must be application/x-www-form-urlencoded")
    request.max_content_length = MAX_FORM_BYTES
    try:
        form = request.form
    except Exception:   # too large, or not decodable
        raise OAuthError("invalid_request", "the body is not a valid form")
    if len(request.get_data(cache=True)) > MAX_FORM_BYTES:
        raise OAuthError("invalid_request", "the body is not a valid form")
    for name in form:
        if len(form.getlist(name)) > 1:
            raise OAuthError("invalid_request", "a parameter appears twice")
    return form


def required(form, *names):
    values = []
    for name in names:
        value = form.get(name)
        if not value:
            raise OAuthError("invalid_request", "a required parameter is missing")
        if len(value) > 1000:
            raise OAuthError("invalid_request", "a parameter is too long")
        values.append(value)
    return values


class AccountRoutes:
    """The account and token routes; IntakeService supplies these."""
    repo: Any
    policy: Any
    config: Any
    token_keys: Any
    # guard.py's hooks: the audit log, throttling, the second factor.
    audit: Any
    audit_call: Any
    source_of: Any
    signin_gate: Any
    signin_failed: Any
    signin_succeeded: Any
    second_factor_check: Any
    enrol_on_invite: Any
    _client_credentials_grant: Any      # principals.PrincipalRoutes

    # -- invites (admin) ---------------------------------------------------
    def new_account(self, username, role, subject, company_role=None, by=None):
        """An account with no password yet, and its invite; Conflict if the
        username is taken. `by`: the admin's Call, for the audit log."""
        now = clock.now()
        doc = {"_id": username, "role": role, "subject": subject, "active": True,
               "password_hash": None, "password_set_at": None, "created_at": now}
        if company_role:
            doc["company_role"] = company_role
        if not self.repo.insert("accounts", doc):
            raise Conflict("an account with this username exists")
        return dict(doc, **self.invite(username, by, role))

    def invite(self, username, by=None, role=None):
        now = clock.now()
        code = accounts.new_secret()
        expires_at = now + timedelta(seconds=self.policy["invite_seconds"])
        self.repo.add_invite(username, accounts.digest(code), now, expires_at)
        if by is not None:
            self.audit_call(by, "invite.created", username, role=role)
        return {"invite": code, "invite_expires_at": expires_at}

    @api("POST", "/admin/companies/<company_id>/users", action="admin.manage",
         body=s.CompanyUserIn, answer=s.InviteOut, status=201, keyed=ANSWER)
    def add_company_user(self, call: Call, company_id: str) -> Any:
        """Another user of a company (`owner` or `member`), and the invite
        it sets its password with."""
        if self.repo.get(COMPANIES, company_id) is None:
            raise NotFound("no such company")
        return self.new_account(call.body["username"], "company", company_id,
                                call.body["role"], by=call)

    @api("POST", "/admin/accounts/<username>/invite", action="admin.manage",
         answer=s.InviteOut, status=201, keyed=ANSWER)
    def reinvite(self, call: Call, username: str) -> Any:
        """A new invite (a password reset): the earlier one stops working;
        the password stays until the person sets a new one with it."""
        account = self.repo.account(username)
        if account is None:
            raise NotFound("no such account")
        return dict(account, **self.invite(username, call, account["role"]))

    # -- passwords (the person) ----------------------------------------------
    @api("POST", "/accounts/password", body=s.PasswordIn, answer=s.AccountOut)
    def set_password(self, call: Call) -> Any:
        """Set a password with an invite: public; the invite is the proof."""
        body = call.body
        self._check_password(body["password"], "password", body.get("username"))
        now = clock.now()
        invite = self.repo.use_invite(accounts.digest(body["invite"]), now,
                                      body.get("username"))
        account = invite and self.repo.account(invite["username"])
        if not account or not account.get("active"):
            raise BadRequest("the invite is not valid: unknown, used or expired",
                             {"invite": ["not valid: unknown, used or expired"]})
        if not self.repo.set_password(account["_id"], accounts.hash_password(body["password"]),
                                      now):
            raise Conflict("it changed meanwhile; read it again")
        # A reset: whoever held the old password's sessions holds them no more.
        self.repo.revoke_sessions(account["_id"], now)
        log.info("password set from an invite for account %s", account["_id"])
        self.audit(call.request, "password.set", account["_id"], account["_id"])
        # A role that must have a second factor enrols it now, shown once.
        factor = self.enrol_on_invite(call.request, account)
        answer = self.repo.account(account["_id"])
        return dict(answer, second_factor=factor) if factor else answer

    @api("POST", "/accounts/password/change", action="account.change_password",
         body=s.PasswordChangeIn, answer=s.AccountOut)
    def change_password(self, call: Call) -> Any:
        """A signed-in person changes its own password; its other sessions end."""
        username = call.who.account
        account = username and self.repo.account(username)
        if not account or not account.get("active"):
            raise Forbidden("sign in to change your password")
        if not accounts.password_matches(account.get("password_hash"), call.body["old"]):
            raise Forbidden("the current password is wrong")
        self._check_password(call.body["new"], "new", username)
        now = clock.now()
        if not self.repo.set_password(username, accounts.hash_password(call.body["new"]), now,
                                      old_hash=account["password_hash"]):
            raise Conflict("it changed meanwhile; read it again")
        self.repo.revoke_sessions(username, now)
        log.info("password changed for account %s", username)
        self.audit_call(call, "password.changed", username)
        return self.repo.account(username)

    @staticmethod
    def _check_password(password, field, *names):
        problem = accounts.password_problem(password, *names)
        if problem:
            raise Invalid("the password is not accepted", {field: [problem]})

    # -- OAuth 2.0 -----------------------------------------------------------
    @api("POST", "/oauth/token", oauth=True, limit="oauth.token",
         summary="OAuth 2.0 token endpoint (RFC 6749): grant_type password (and `otp`, a "
                 "TOTP or recovery code, for an account with a second factor), refresh_token "
                 "or client_credentials (a company's API key)")
    def oauth_token(self, call: Call) -> Any:
        request = call.request
        try:
            form = form_of(request)
            grant = form.get("grant_type")
            if not grant:
                raise OAuthError("invalid_request", "a required parameter is missing")
            if grant == "password":
                username, password = required(form, "username", "password")
                answer = self._password_grant(request, username, password, form.get("otp"))
            elif grant == "refresh_token":
                (token,) = required(form, "refresh_token")
                answer = self._refresh_grant(request, token)
            elif grant == "client_credentials":     # principals.py: a company's API key
                answer = self._client_credentials_grant(
                    request.headers.get("Authorization"), form)
            else:
                raise OAuthError("unsupported_grant_type", "this grant type is not supported")
        except OAuthError as exc:
            return oauth_error(exc, request)
        return oauth_response(200, answer, request)

    @api("POST", "/oauth/revoke", oauth=True,
         summary="OAuth 2.0 token revocation (RFC 7009): a refresh token and its family")
    def oauth_revoke(self, call: Call) -> Any:
        request = call.request
        try:
            (token,) = required(form_of(request), "token")
        except OAuthError as exc:
            return oauth_error(exc, request)
        # RFC 7009 §2.2: 200 whether or not the token was known or live;
        # an access token is not revocable here (it lives minutes).
        found = self.repo.refresh_token(accounts.digest(token))
        if found is not None:
            self.repo.revoke_family(found["family"], clock.now())
            self.audit(request, "token.revoked", found["username"], found["username"])
        return oauth_response(200, {})

    def _password_grant(self, request, username, password, otp):
        source = self.source_of(request)
        self.signin_gate(request, username, source)     # 429 during a lockout (guard.py)
        account = self.repo.account(username)
        # The hash is verified even when there is no account, and a failure is
        # counted and audited the same way: the same time, the same answer.
        if not accounts.password_matches((account or {}).get("password_hash"), password):
            log.info("sign-in refused: wrong username or password")
            self.signin_failed(request, username, source, "password")
            raise OAuthError("invalid_grant", WRONG)
        if not account.get("active"):
            # The answer of a wrong password: a deactivated account is not told apart.
            self.signin_failed(request, username, source, "deactivated")
            raise OAuthError("invalid_grant", WRONG)
        factor = self.second_factor_check(request, account, otp, source)
        if accounts.needs_rehash(account["password_hash"]):
            self.repo.set_password(username, accounts.hash_password(password), clock.now(),
                                   old_hash=account["password_hash"])
        answer = self._tokens(account, uuid.uuid4().hex)
        self.signin_succeeded(request, account, source, factor)
        return answer

    def _refresh_grant(self, request, token):
        now = clock.now()
        token_digest = accounts.digest(token)
        used = self.repo.use_refresh_token(token_digest, now)
        if used is None:
            found = self.repo.refresh_token(token_digest)
            if found is not None and found["used_at"] is not None \
                    and found["revoked_at"] is None:
                # A used one again: stolen or copied. End the whole family.
                revoked = self.repo.revoke_family(found["family"], now)
                log.warning("refresh token reused for account %s: family %s revoked "
                            "(%d live tokens)", found["username"], found["family"], revoked)
                self.audit(request, "refresh.reused", found["username"], found["username"],
                           family=found["family"], revoked=revoked)
            raise OAuthError("invalid_grant", "the refresh token is not valid")
        account = self.repo.account(used["username"])
        if account is None or not account.get("active"):
            self.repo.revoke_family(used["family"], now)
            raise OAuthError("invalid_grant", "the refresh token is not valid")
        answer = self._tokens(account, used["family"])
        # A reuse revoking the family meanwhile must not miss the new token.
        if self.repo.family_revoked(used["family"]):
            self.repo.revoke_family(used["family"], now)
            raise OAuthError("invalid_grant", "the refresh token is not valid")
        return answer

    def _tokens(self, account, family):
        """The access token, made from the organisation as it is now, and a
        new refresh token of the family."""
        ttl = self._access_ttl()
        key = self.token_keys.signing_key()
        subject, username = account["subject"], account["_id"]
        if account["role"] == "admin":
            access = auth.issue_token(key, "admin", username, ttl=ttl, account=username)
        elif account["role"] == "company":
            company = self.repo.get(COMPANIES, subject)
            if company is None:
                raise OAuthError("invalid_grant", "this account is deactivated")
            access = auth.issue_token(key, "company", subject, ttl=ttl,
                                      lang=company["language"], account=username,
                                      company_role=account.get("company_role"))
        else:
            officer = self.repo.get("officers", subject)
            unit = officer and self.repo.get("units", officer["unit_id"])
            if not unit:
                raise OAuthError("invalid_grant", "this account is deactivated")
            access = auth.issue_token(key, officer["role"], subject, unit["_id"], unit["path"],
                                      ttl=ttl, account=username)
        now = clock.now()
        refresh = accounts.new_secret()
        self.repo.add_refresh_token(accounts.digest(refresh), username, family, now,
                                    now + timedelta(days=self._refresh_ttl_days()))
        return {"access_token": access, "token_type": "Bearer",
                "expires_in": int(ttl.total_seconds()), "refresh_token": refresh}

    def _access_ttl(self):
        seconds = int(self.config.get("ACCESS_TOKEN_TTL_SECONDS") or ACCESS_TTL_MAX)
        return timedelta(seconds=max(1, min(seconds, ACCESS_TTL_MAX)))

    def _refresh_ttl_days(self):
        return int(self.config.get("REFRESH_TOKEN_TTL_DAYS") or REFRESH_TTL_DAYS)

"""Principals: a company's API keys and the admin's routes over accounts
(intake's routes, mixed into IntakeService beside signin.AccountRoutes).

- A company owner (a person signed in, company_role `owner`) makes named
  API keys, `read` or `write` (api_keys.py): POST /company/api-keys answers
  the secret once; GET lists them with their last use; POST
  /company/api-keys/{id}/revoke ends one. Another company's key is "no such
  API key", as an unknown one is. The admin lists a company's keys and
  revokes one too (a leak while the company cannot act).
- A key is exchanged at POST /oauth/token (grant_type=client_credentials)
  for an access token only: no refresh token, so revoking the key ends its
  exchanges at once and its access tokens within their lifetime (at most
  15 minutes). The token is the company's, with the key's `scope`:
  shared/auth.py's PERMISSIONS refuses it (403) whatever the scope does not
  cover, in every service.
- The admin lists (cursor-paged), shows, updates (name, role, an officer's
  unit: a move) and deactivates or reactivates accounts. What changes a
  principal's reach — deactivation, a move, a role — ends its refresh-token
  families at once; its access tokens end within their lifetime; the next
  sign-in is made from the account as it is then. A deactivated person's
  sign-in gets the answer of a wrong password.
- Each of these changes is written to the audit log (audit.py).
"""
import hmac
import logging
from typing import Any

from services.intake import accounts, api_keys, audit
from services.intake import schemas as s
from services.intake.repository import COMPANIES
from services.intake.signin import OAuthError
from shared import auth, clock, idempotency_key, pages
from shared.errors import Conflict, Forbidden, Invalid, NotFound
from shared.http import Call, api

log = logging.getLogger(__name__)

# The same answer for an unknown key, a wrong secret and a revoked key.
UNKNOWN_CLIENT = "the client is unknown, revoked, or its secret is wrong"
MAX_LIVE_KEYS = 20      # a company's integrations, not one key per request


class PrincipalRoutes:
    """The API-key and account-admin routes; IntakeService supplies these."""
    repo: Any
    config: Any
    token_keys: Any
    _access_ttl: Any        # signin.AccountRoutes
    _unit: Any              # service.IntakeService

    audit_call: Any         # guard.GuardRoutes: who, when and from where

    def _audit(self, call, event, subject, **detail):
        self.audit_call(call, event, subject, **detail)

    # -- a company's API keys (its owner) -------------------------------------
    @api("POST", "/company/api-keys", action="api_key.manage", body=s.ApiKeyIn,
         answer=s.ApiKeyOut, status=201, keyed=True)
    def create_api_key(self, call: Call) -> Any:
        """A named key; its `client_secret` is in this answer only. A retry
        with the same Idempotency-Key answers the key without it."""
        company_id = self._key_owner(call.who)
        if self.repo.live_api_keys(company_id) >= MAX_LIVE_KEYS:
            raise Conflict("a company has at most 20 live API keys; revoke one first")
        now, secret = clock.now(), api_keys.new_key_secret()
        doc = {"_id": api_keys.new_key_id(), "company_id": company_id, **call.body,
               "secret_digest": accounts.digest(secret), "created_at": now,
               "created_by": call.who.account, "last_used_at": None, "revoked_at": None,
               **idempotency_key.on_create(call.key, now)}
        saved, created = self.repo.insert_api_key(doc)
        if not created:
            idempotency_key.same_creation(saved, call.key)
            return 200, saved
        self._audit(call, "api_key.created", saved["_id"], company_id=company_id,
                    name=saved["name"], scope=saved["scope"])
        return dict(saved, client_secret=secret)

    @api("GET", "/company/api-keys", action="api_key.manage", query=pages.PageQuery,
         answer=s.ApiKeyList)
    def list_api_keys(self, call: Call) -> Any:
        """The company's keys, newest first, revoked ones too; never a secret."""
        found, nxt = self.repo.api_keys_page(self._key_owner(call.who), call.query["limit"],
                                             call.query.get("after"))
        return pages.Page(call, found, nxt)

    @api("POST", "/company/api-keys/<key_id>/revoke", action="api_key.manage",
         answer=s.ApiKeyOut)
    def revoke_api_key(self, call: Call, key_id: str) -> Any:
        """Its exchanges end now; tokens it was exchanged for, within their lifetime."""
        return self._revoke_key(call, key_id, self._key_owner(call.who))

    @api("GET", "/admin/companies/<company_id>/api-keys", action="admin.manage",
         query=pages.PageQuery, answer=s.ApiKeyList)
    def admin_list_api_keys(self, call: Call, company_id: str) -> Any:
        """A company's keys, for the admin answering a leak."""
        if self.repo.get(COMPANIES, company_id) is None:
            raise NotFound("no such company")
        found, nxt = self.repo.api_keys_page(company_id, call.query["limit"],
                                             call.query.get("after"))
        return pages.Page(call, found, nxt)

    @api("POST", "/admin/api-keys/<key_id>/revoke", action="admin.manage", answer=s.ApiKeyOut)
    def admin_revoke_api_key(self, call: Call, key_id: str) -> Any:
        """A leaked key ended by the admin when its company cannot act in time."""
        key = self.repo.api_key(key_id)
        if key is None:
            raise NotFound("no such API key")
        return self._revoke_key(call, key_id, key["company_id"])

    def _revoke_key(self, call, key_id, company_id):
        revoked = self.repo.revoke_api_key(key_id, company_id, clock.now(),
                                           call.who.account or audit.actor_of(call.who))
        if revoked is None:
            key = self.repo.api_key(key_id)
            if key is None or key["company_id"] != company_id:
                raise NotFound("no such API key")
            return key      # revoked already: the same answer, nothing more to do
        self._audit(call, "api_key.revoked", key_id, company_id=company_id)
        return revoked

    def _key_owner(self, who):
        """The caller's company, when the caller is its owner as the account
        stands now (not only as the token says: a demotion bites at once)."""
        account = who.account and self.repo.account(who.account)
        if not (auth.allows(who, "api_key.manage", who.subject) and account
                and account.get("active") and account.get("company_role") == "owner"
                and account["subject"] == who.subject):
            raise Forbidden("only an owner of the company, signed in, manages its API keys")
        return who.subject

    def _client_credentials_grant(self, authorization, form):
        """RFC 6749 §4.4: an API key's id and secret for an access token."""
        try:
            found = api_keys.client_credentials(authorization, form)
        except api_keys.TwoWays:
            raise OAuthError("invalid_request", "the client authenticates one way only")
        except api_keys.ClientAuthFailed:
            found = None
        key = found and self.repo.api_key(found[0])
        if not key or key["revoked_at"] is not None or not hmac.compare_digest(
                key["secret_digest"], accounts.digest(found[1])):
            log.info("client_credentials refused: unknown client, revoked or wrong secret")
            raise OAuthError("invalid_client", UNKNOWN_CLIENT, 401)
        scope = api_keys.granted_scope(key["scope"], form.get("scope"))
        if scope is None:
            raise OAuthError("invalid_scope", "the key's scope does not cover the scope asked for")
        company = self.repo.get(COMPANIES, key["company_id"])
        # Conditional on the key still live: a revocation a moment ago wins.
        if company is None or not self.repo.use_api_key(key["_id"], key["secret_digest"],
                                                        clock.now()):
            raise OAuthError("invalid_client", UNKNOWN_CLIENT, 401)
        ttl = self._access_ttl()
        access = auth.issue_token(self.token_keys.signing_key(), "company", company["_id"],
                                  ttl=ttl, lang=company["language"], scope=scope,
                                  client_id=key["_id"])
        return {"access_token": access, "token_type": "Bearer",
                "expires_in": int(ttl.total_seconds()), "scope": scope}

    # -- accounts (the admin) --------------------------------------------------
    @api("GET", "/admin/accounts", action="admin.manage", query=s.AccountQuery,
         answer=s.AccountAdminList)
    def list_accounts(self, call: Call) -> Any:
        query = {k: call.query[k] for k in ("role", "subject", "active") if k in call.query}
        found, nxt = self.repo.accounts_page(query, call.query["limit"],
                                             call.query.get("after"))
        return pages.Page(call, self._account_views(found), nxt)

    @api("GET", "/admin/accounts/<username>", action="admin.manage", answer=s.AccountAdminOut)
    def get_account(self, call: Call, username: str) -> Any:
        return self._account_views([self._account(username)])[0]

    @api("PATCH", "/admin/accounts/<username>", action="admin.manage",
         body=s.AccountUpdateIn, answer=s.AccountAdminOut)
    def update_account(self, call: Call, username: str) -> Any:
        """Name, role, an officer's unit (a move). A new role or unit ends
        the account's sessions: its next sign-in carries the new reach."""
        account = self._account(username)
        if account["role"] == "company":
            before, after = self._update_company_user(account, call.body)
        else:
            before, after = self._update_officer(account, call.body)
        ended = 0
        if {"role", "unit_id", "company_role"} & set(after):
            # After the write: a refresh racing it either mints the new reach
            # or holds a token revoked here; never the old reach beyond one
            # access token's lifetime.
            ended = self.repo.revoke_sessions(username, clock.now())
        if "unit_id" in after:
            self._audit(call, "account.moved", username, from_unit=before["unit_id"],
                        to_unit=after["unit_id"], sessions_ended=ended)
        others = {k: v for k, v in after.items() if k != "unit_id"}
        if others:
            self._audit(call, "account.updated", username, sessions_ended=ended,
                        before={k: before[k] for k in others}, after=others)
        return self._account_views([self._account(username)])[0]

    def _update_officer(self, account, body):
        if body.get("role", "officer") not in s.POLICE_ROLES:
            raise Invalid("the request does not validate",
                          {"role": ["an officer's role is officer or supervisor"]})
        if "unit_id" in body:
            self._unit(body["unit_id"], "unit_id")
        officer = self.repo.get("officers", account["subject"])
        after = {k: body[k] for k in ("name", "role", "unit_id")
                 if k in body and body[k] != officer.get(k)}
        if after:
            self.repo.update_officer(officer["_id"], after)
        if "role" in after:
            self.repo.update_account(account["_id"], {"role": after["role"]})
        return {k: officer.get(k) for k in after}, after

    def _update_company_user(self, account, body):
        if "unit_id" in body:
            raise Invalid("the request does not validate",
                          {"unit_id": ["a company user has no unit"]})
        if body.get("role", "owner") not in s.COMPANY_ROLES:
            raise Invalid("the request does not validate",
                          {"role": ["a company user's role is owner or member"]})
        wanted = {"name": body.get("name"), "company_role": body.get("role")}
        after = {k: v for k, v in wanted.items() if v is not None and v != account.get(k)}
        if after:
            self.repo.update_account(account["_id"], after)
        return {k: account.get(k) for k in after}, after

    @api("POST", "/admin/accounts/<username>/deactivate", action="admin.manage",
         answer=s.AccountAdminOut)
    def deactivate_account(self, call: Call, username: str) -> Any:
        """No more sign-ins or refreshes, at once; access tokens end within
        their lifetime."""
        self._account(username)
        now = clock.now()
        changed = self.repo.set_active(username, False, now)
        # After the flag: a refresh racing this finds the account inactive, or
        # holds a token revoked here.
        ended = self.repo.revoke_sessions(username, now)
        if changed:
            self._audit(call, "account.deactivated", username, sessions_ended=ended)
        return self._account_views([self._account(username)])[0]

    @api("POST", "/admin/accounts/<username>/reactivate", action="admin.manage",
         answer=s.AccountAdminOut)
    def reactivate_account(self, call: Call, username: str) -> Any:
        """Sign-ins work again; the sessions it had stay ended."""
        self._account(username)
        if self.repo.set_active(username, True, clock.now()):
            self._audit(call, "account.reactivated", username)
        return self._account_views([self._account(username)])[0]

    def _account(self, username):
        account = self.repo.account(username)
        if account is None:
            raise NotFound("no such account")
        return account

    def _account_views(self, found):
        """Accounts as the admin reads them: a police account with its
        officer's name, role and unit as they are now; never a hash."""
        officers = self.repo.officers_by_id(a["subject"] for a in found
                                            if a["role"] != "company")
        views = []
        for account in found:
            view = {k: v for k, v in account.items() if k != "password_hash"}
            officer = officers.get(account["subject"]) if account["role"] != "company" else None
            if officer:
                view.update(name=officer["name"], role=officer["role"],
                            unit_id=officer["unit_id"])
            views.append(view)
        return views

"""Accounts and sign-in on the real broker and database: an invite sets a
password, the password signs in at /oauth/token, the access token is
verified by case_supervision through intake's JWK set, a refresh token is
used once and a reused one ends its family, /oauth/revoke ends it too."""
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import jwt
import pytest
import requests

from services.case_supervision.service import CaseSupervisionService
from services.intake.service import IntakeService
from shared import clock
from support.client import Client
from support.codes import credit_code
from support.organisation import Org

PASSWORD = "violet-anchor-harbour-93"
TIMEOUT = 15


@pytest.fixture
def org(running):
    running.start(IntakeService)
    return Org(running.urls["intake"], running.config["ADMIN_TOKEN"])


def create_officer(org, officer_id, role="officer"):
    r = org.admin.post("/admin/officers", {"officer_id": officer_id, "name": "Sun",
                                           "unit_id": org.station, "role": role})
    assert r.status_code == 201, r.text
    return r.json()


def token(url, **form):
    return requests.post(url + "/oauth/token", data=form, timeout=TIMEOUT)


def sign_in(url, username, password=PASSWORD):
    return token(url, grant_type="password", username=username, password=password)


def refresh(url, refresh_token):
    return token(url, grant_type="refresh_token", refresh_token=refresh_token)


def set_password(url, invite, password=PASSWORD, **extra):
    return requests.post(url + "/accounts/password",
                         json={"invite": invite, "password": password, **extra},
                         headers={"Accept-Language": "en"}, timeout=TIMEOUT)


def assert_invalid_grant(r):
    assert r.status_code == 400, r.text
    assert r.headers["Content-Type"].startswith("application/json")
    assert r.json()["error"] == "invalid_grant", r.text
    assert r.headers["Cache-Control"] == "no-store"


def test_invite_password_sign_in_case_route_refresh_reuse_and_revoke(running, org):
    url = running.urls["intake"]
    created = create_officer(org, f"acc-{org.bureau}")
    # The scripted set-up's token is still there, and now an invite.
    assert created["token"] and created["invite"] and created["username"] == created["officer_id"]
    assert "password_hash" not in created
    r = set_password(url, created["invite"], username=created["username"])
    assert r.status_code == 200, r.text
    assert r.json()["username"] == created["username"] and "password_hash" not in r.json()

    r = sign_in(url, created["username"])
    assert r.status_code == 200, r.text
    first = r.json()
    assert first["token_type"] == "Bearer" and 0 < first["expires_in"] <= 900
    assert r.headers["Cache-Control"] == "no-store"
    claims = jwt.decode(first["access_token"], options={"verify_signature": False})
    assert {"iss", "aud", "sub", "role", "exp", "iat", "jti"} <= set(claims)
    assert claims["exp"] - claims["iat"] <= 900
    assert claims["sub"] == created["officer_id"] and claims["role"] == "officer"
    assert claims["unit"] == org.station and claims["units"] == [org.station, org.bureau]
    assert jwt.get_unverified_header(first["access_token"])["kid"]

    # case_supervision verifies intake's access token through the JWK set.
    running.start(CaseSupervisionService, **running.with_intake_keys())
    cases = Client(running.urls["case_supervision"], first["access_token"])
    r = cases.get("/cases")
    assert r.status_code == 200, r.text
    assert Client(running.urls["case_supervision"], "x" + first["access_token"]) \
        .get("/cases").status_code == 401

    # Refresh rotates: a new refresh token; the old one is used.
    r = refresh(url, first["refresh_token"])
    assert r.status_code == 200, r.text
    second = r.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert cases.as_(second["access_token"]).get("/cases").status_code == 200

    # The old one again: stolen or copied. The family ends; the newest fails too.
    assert_invalid_grant(refresh(url, first["refresh_token"]))
    assert_invalid_grant(refresh(url, second["refresh_token"]))
    tokens = list(running.db("intake").refresh_tokens.find({"username": created["username"]}))
    assert tokens and all(t["revoked_at"] is not None for t in tokens)
    assert all(len(t["_id"]) == 64 for t in tokens)          # stored as sha256 only
    assert not any(t["_id"] in (first["refresh_token"], second["refresh_token"])
                   for t in tokens)

    # A new sign-in, then RFC 7009 revocation: 200, and the token is dead.
    third = sign_in(url, created["username"]).json()
    r = requests.post(url + "/oauth/revoke", data={"token": third["refresh_token"]},
                      timeout=TIMEOUT)
    assert r.status_code == 200, r.text
    assert_invalid_grant(refresh(url, third["refresh_token"]))
    # Unknown tokens revoke "successfully" too (RFC 7009 §2.2).
    assert requests.post(url + "/oauth/revoke", data={"token": "nothing"},
                         timeout=TIMEOUT).status_code == 200


def test_an_invite_is_single_use_even_at_once_and_expires(running, org):
    url = running.urls["intake"]
    created = create_officer(org, f"once-{org.bureau}")
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: set_password(url, created["invite"]).status_code,
                                range(4)))
    assert sorted(answers) == [200, 400, 400, 400], answers
    r = set_password(url, created["invite"])
    assert r.status_code == 400 and r.json()["code"] == "bad_request", r.text
    assert r.headers["Content-Type"].startswith("application/problem+json")

    # The admin invites again (a reset); the new invite expires.
    r = org.admin.post(f"/admin/accounts/{created['username']}/invite")
    assert r.status_code == 201, r.text
    invite = r.json()["invite"]
    running.db("intake").invites.update_many(
        {"username": created["username"]},
        {"$set": {"expires_at": clock.now() - timedelta(seconds=1)}})
    assert set_password(url, invite, "another-good-passphrase-17").status_code == 400
    assert sign_in(url, created["username"]).status_code == 200   # the old password stays

    # A reset's invite used: the new password, and earlier sessions end.
    session = sign_in(url, created["username"]).json()
    invite = org.admin.post(f"/admin/accounts/{created['username']}/invite").json()["invite"]
    older = org.admin.post(f"/admin/accounts/{created['username']}/invite").json()["invite"]
    assert set_password(url, invite, "another-good-passphrase-17").status_code == 400, \
        "a newer invite replaces the older one"
    assert set_password(url, older, "another-good-passphrase-17").status_code == 200
    assert_invalid_grant(refresh(url, session["refresh_token"]))
    assert_invalid_grant(sign_in(url, created["username"]))
    assert sign_in(url, created["username"], "another-good-passphrase-17").status_code == 200


def test_short_common_and_wrong_passwords(running, org):
    url = running.urls["intake"]
    created = create_officer(org, f"pw-{org.bureau}")
    for bad, why in (("Short1!", "at least 12 characters"),
                     ("password1234", "too common or too easy to guess"),
                     ("qwertyuiopas", "too common or too easy to guess")):
        r = set_password(url, created["invite"], bad)
        assert r.status_code == 422, r.text
        assert r.json()["fields"]["password"] == [why]
    # A refused password does not spend the invite.
    assert set_password(url, created["invite"]).status_code == 200

    wrong = sign_in(url, created["username"], "not-the-password-at-all")
    unknown = sign_in(url, "nobody-" + org.bureau, PASSWORD)
    assert_invalid_grant(wrong)
    assert_invalid_grant(unknown)
    assert wrong.json() == unknown.json(), "no account enumeration"

    # Change: the old password must be right; the new one obeys the rules.
    session = sign_in(url, created["username"]).json()
    me = Client(url, session["access_token"])
    r = me.post("/accounts/password/change", {"old": "wrong-wrong-wrong", "new": "x" * 12})
    assert r.status_code == 403, r.text
    r = me.post("/accounts/password/change", {"old": PASSWORD, "new": "short"})
    assert r.status_code == 422, r.text
    r = me.post("/accounts/password/change", {"old": PASSWORD, "new": "maple-quartz-lantern-58"})
    assert r.status_code == 200, r.text
    assert_invalid_grant(refresh(url, session["refresh_token"]))
    assert sign_in(url, created["username"], "maple-quartz-lantern-58").status_code == 200
    # An admin-created token is no account's: it cannot change a password.
    r = Client(url, created["token"]).post("/accounts/password/change",
                                           {"old": PASSWORD, "new": "maple-quartz-lantern-59"})
    assert r.status_code == 403, r.text


def test_company_users_a_deactivated_account_and_bad_requests(running, org):
    url = running.urls["intake"]
    r = org.admin.post("/admin/companies", {
        "name": "Accounts Co", "credit_code": credit_code(),
        "jurisdiction_unit_id": org.station, "language": "zh-CN",
        "contact": {"name": "Chen", "phone": "+86 591 0000", "email": "ops@example.com"}})
    assert r.status_code == 201, r.text
    company = r.json()
    assert company["token"] and company["invite"]
    assert company["username"] == company["credit_code"]
    assert set_password(url, company["invite"]).status_code == 200
    access = sign_in(url, company["username"]).json()["access_token"]
    claims = jwt.decode(access, options={"verify_signature": False})
    assert claims["role"] == "company" and claims["sub"] == company["company_id"]
    assert claims["lang"] == "zh-CN"

    r = org.admin.post(f"/admin/companies/{company['company_id']}/users",
                       {"username": f"clerk@{org.bureau}.example", "role": "member"})
    assert r.status_code == 201, r.text
    assert r.json()["company_role"] == "member"
    assert set_password(url, r.json()["invite"]).status_code == 200
    member = sign_in(url, f"clerk@{org.bureau}.example").json()
    assert jwt.decode(member["access_token"],
                      options={"verify_signature": False})["sub"] == company["company_id"]
    r = org.admin.post(f"/admin/companies/{company['company_id']}/users",
                       {"username": f"clerk@{org.bureau}.example"})
    assert r.status_code == 409, r.text
    assert org.admin.post("/admin/companies/nope/users",
                          {"username": "someone"}).status_code == 404

    # Deactivated: no tokens, neither by password nor by refresh.
    running.db("intake").accounts.update_one({"_id": f"clerk@{org.bureau}.example"},
                                             {"$set": {"active": False}})
    assert_invalid_grant(sign_in(url, f"clerk@{org.bureau}.example"))
    assert_invalid_grant(refresh(url, member["refresh_token"]))
    assert_invalid_grant(refresh(url, "not-a-token"))

    # RFC 6749 errors at the token endpoint.
    r = requests.post(url + "/oauth/token", json={"grant_type": "password"}, timeout=TIMEOUT)
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"
    r = token(url, grant_type="client_secret_jwt")
    assert r.status_code == 400 and r.json()["error"] == "unsupported_grant_type"
    r = token(url, grant_type="password", username="x")
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"
    r = requests.post(url + "/oauth/token", data="grant_type=password&grant_type=refresh_token",
                      headers={"Content-Type": "application/x-www-form-urlencoded",
                               "Accept-Language": "zh-CN"}, timeout=TIMEOUT)
    assert r.status_code == 400 and r.json() == {"error": "invalid_request",
                                                 "error_description": "有参数出现了两次"}
    assert requests.post(url + "/oauth/revoke", data={}, timeout=TIMEOUT).status_code == 400


def test_a_moved_officers_new_unit_applies_from_the_next_refresh(running, org):
    url = running.urls["intake"]
    created = create_officer(org, f"move-{org.bureau}")
    set_password(url, created["invite"])
    first = sign_in(url, created["username"]).json()
    other = org.add_unit(f"other-{org.bureau}")
    running.db("intake").officers.update_one({"_id": created["username"]},
                                             {"$set": {"unit_id": other}})
    claims = jwt.decode(refresh(url, first["refresh_token"]).json()["access_token"],
                        options={"verify_signature": False})
    assert claims["unit"] == other


def test_an_access_token_expires_after_the_setting(running):
    running.start(IntakeService, ACCESS_TOKEN_TTL_SECONDS=1)
    url = running.urls["intake"]
    org = Org(url, running.config["ADMIN_TOKEN"])
    created = create_officer(org, f"brief-{org.bureau}")
    set_password(url, created["invite"])
    answer = sign_in(url, created["username"]).json()
    assert answer["expires_in"] == 1
    me = Client(url, answer["access_token"])
    assert me.get("/units").status_code == 200
    time.sleep(2.1)
    assert me.get("/units").status_code == 401
    # The refresh token still answers a fresh one.
    assert me.as_(refresh(url, answer["refresh_token"]).json()["access_token"]) \
        .get("/units").status_code == 200

"""What guards the accounts, on the real broker and database: the second
factor a supervisor or admin signs in with (TOTP, single use; recovery
codes, once each), the lockout after failed sign-ins (the same for an
account that exists and one that does not; per address, and X-Forwarded-For
only from a trusted proxy), the append-only audit log and GET /admin/audit,
and every use of the break-glass admin token audited."""
import logging
import os
import time
import uuid

import jwt
import pyotp
import pytest
import requests
import yaml

from services.case_supervision.service import CaseSupervisionService
from services.intake.service import IntakeService
from shared.policy import ROOT
from support.client import Client
from support.organisation import Org

PASSWORD = "violet-anchor-harbour-93"
TIMEOUT = 15


@pytest.fixture
def intake(running, tmp_path):
    """Start intake with the shipped policy, `throttle` overriding its
    sign-in throttle; answers (url, Org, its database)."""
    def start(throttle=None, **settings):
        with open(os.path.join(ROOT, "policy", "intake.yml"), encoding="utf-8") as f:
            policy = yaml.safe_load(f)
        policy["signin_throttle"].update(throttle or {})
        path = tmp_path / f"intake-{uuid.uuid4().hex[:6]}.yml"
        path.write_text(yaml.safe_dump(policy, allow_unicode=True), encoding="utf-8")
        running.start(IntakeService, INTAKE_POLICY=str(path), **settings)
        url = running.urls["intake"]
        return url, Org(url, running.config["ADMIN_TOKEN"]), running.db("intake")
    return start


def person(org, username, role):
    """A new officer/supervisor (or admin) account; the admin's answer."""
    if role == "admin":
        r = org.admin.post("/admin/admins", {"username": username})
    else:
        r = org.admin.post("/admin/officers", {"officer_id": username, "name": "Sun",
                                               "unit_id": org.station, "role": role})
    assert r.status_code == 201, r.text
    return r.json()


def set_password(url, invite, password=PASSWORD):
    r = requests.post(url + "/accounts/password", json={"invite": invite, "password": password},
                      timeout=TIMEOUT)
    assert r.status_code == 200, r.text
    return r.json()


def sign_in(url, username, password=PASSWORD, headers=None, **extra):
    return requests.post(url + "/oauth/token", data={
        "grant_type": "password", "username": username, "password": password, **extra},
        headers=headers, timeout=TIMEOUT)


def refresh(url, token):
    return requests.post(url + "/oauth/token", data={"grant_type": "refresh_token",
                                                     "refresh_token": token}, timeout=TIMEOUT)


def code_at(secret, offset_seconds=0):
    return pyotp.TOTP(secret).at(time.time() + offset_seconds)


def a_wrong_code(secret):
    right = {code_at(secret, s) for s in (-30, 0, 30)}
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in right)


def mfa_refused(r):
    assert r.status_code == 400, r.text
    assert r.json()["error"] == "invalid_grant" and r.json()["mfa_required"] is True, r.text
    assert r.headers["Cache-Control"] == "no-store"
    return r.json()["error_description"]


def test_a_supervisor_signs_in_with_a_totp_code_once_each_and_a_recovery_code_once(intake):
    url, org, db = intake()
    created = person(org, f"sup2-{org.bureau}", "supervisor")
    answer = set_password(url, created["invite"])
    factor = answer["second_factor"]
    secret, codes = factor["secret"], factor["recovery_codes"]
    assert factor["otpauth_uri"].startswith("otpauth://totp/FastTrack:")
    assert f"secret={secret}" in factor["otpauth_uri"]
    assert len(codes) == 10 == len(set(codes))
    username = created["username"]

    # Stored: the secret (to verify with), the recovery codes only hashed.
    stored = db.accounts.find_one({"_id": username})
    assert stored["second_factor"]["secret"] == secret
    assert len(stored["second_factor"]["recovery"]) == 10
    assert not set(codes) & set(stored["second_factor"]["recovery"])
    assert all(len(d) == 64 for d in stored["second_factor"]["recovery"])

    # The right password alone: asked for the code. A wrong code: refused.
    missing = mfa_refused(sign_in(url, username, headers={"Accept-Language": "en"}))
    assert missing == "a second factor code is required"
    wrong = mfa_refused(sign_in(url, username, otp=a_wrong_code(secret),
                                headers={"Accept-Language": "en"}))
    assert wrong == "the second factor code is wrong or was used already"
    assert mfa_refused(sign_in(url, username, otp=a_wrong_code(secret),
                               headers={"Accept-Language": "zh-CN"})) == \
        "第二重验证码不正确或已被使用"
    # A wrong password with no code is the plain wrong-password answer:
    # nothing says the account has a factor.
    r = sign_in(url, username, "not-the-password-at-all")
    assert r.status_code == 400 and "mfa_required" not in r.json(), r.text

    code = code_at(secret)
    r = sign_in(url, username, otp=code)
    assert r.status_code == 200, r.text
    claims = jwt.decode(r.json()["access_token"], options={"verify_signature": False})
    assert claims["role"] == "supervisor" and claims["sub"] == username
    # The same code again, within its window: a replay, refused.
    mfa_refused(sign_in(url, username, otp=code))
    # The next step's code (an app a little ahead) is still fine, once.
    assert sign_in(url, username, otp=code_at(secret, 30)).status_code == 200

    # A recovery code, typed in capitals without dashes: once.
    typed = codes[3].replace("-", "").upper()
    assert sign_in(url, username, otp=typed).status_code == 200
    mfa_refused(sign_in(url, username, otp=codes[3]))
    assert len(db.accounts.find_one({"_id": username})["second_factor"]["recovery"]) == 9

    # An officer's role needs no factor (as shipped): no enrolment, no code.
    officer = person(org, f"off2-{org.bureau}", "officer")
    assert "second_factor" not in set_password(url, officer["invite"])
    assert sign_in(url, officer["username"]).status_code == 200


def test_a_person_re_enrols_and_renews_recovery_codes_with_password_and_code(intake):
    url, org, db = intake()
    created = person(org, f"sup3-{org.bureau}", "supervisor")
    factor = set_password(url, created["invite"])["second_factor"]
    username = created["username"]
    session = sign_in(url, username, otp=code_at(factor["secret"])).json()
    me = Client(url, session["access_token"])

    # Without the current code (or with a wrong password): refused, nothing changes.
    assert me.post("/accounts/second-factor", {"password": PASSWORD}).status_code == 403
    assert me.post("/accounts/second-factor", {"password": "wrong-wrong-wrong-1",
                                               "otp": factor["recovery_codes"][0]}
                   ).status_code == 403
    assert db.accounts.find_one({"_id": username})["second_factor"]["secret"] == factor["secret"]

    r = me.post("/accounts/second-factor", {"password": PASSWORD,
                                            "otp": factor["recovery_codes"][0]})
    assert r.status_code == 201, r.text
    new = r.json()
    assert new["secret"] != factor["secret"] and len(new["recovery_codes"]) == 10
    # The old secret and the old codes are gone; the new ones work.
    mfa_refused(sign_in(url, username, otp=factor["recovery_codes"][1]))
    assert sign_in(url, username, otp=new["recovery_codes"][0]).status_code == 200

    r = me.post("/accounts/second-factor/recovery-codes",
                {"password": PASSWORD, "otp": code_at(new["secret"])})
    assert r.status_code == 201, r.text
    renewed = r.json()["recovery_codes"]
    assert len(renewed) == 10 and not set(renewed) & set(new["recovery_codes"])
    mfa_refused(sign_in(url, username, otp=new["recovery_codes"][1]))
    assert sign_in(url, username, otp=renewed[0]).status_code == 200
    # No answer but the enrolling one carries the secret.
    assert new["secret"] not in r.text

    # Guessing the password here counts like at the token endpoint, and locks both.
    for _ in range(5):
        assert me.post("/accounts/second-factor", {"password": "wrong-wrong-wrong-1",
                                                   "otp": renewed[1]}).status_code == 403
    r = me.post("/accounts/second-factor", {"password": PASSWORD, "otp": renewed[1]})
    assert r.status_code == 429 and r.json()["code"] == "too_many_requests", r.text
    assert sign_in(url, username, otp=renewed[1]).status_code == 429


def locked(r):
    assert r.status_code == 429, r.text
    assert r.json()["error"] == "slow_down", r.text
    assert r.headers["Retry-After"] == str(r.json()["retry_after"])
    return int(r.headers["Retry-After"])


def test_five_failures_lock_an_account_and_a_missing_one_alike_and_the_lockout_grows(intake):
    url, org, db = intake(throttle={"lockout_seconds": 1, "lockout_max_seconds": 4,
                                "source_failures": 1000})
    officer = person(org, f"lock-{org.bureau}", "officer")
    set_password(url, officer["invite"])
    exists, missing = officer["username"], f"nobody-{org.bureau}"
    answers = {}
    for username in (exists, missing):
        for _ in range(5):
            r = sign_in(url, username, "not-the-password-at-all")
            assert r.status_code == 400 and r.json()["error"] == "invalid_grant", r.text
        # Locked: even the right password is refused, unread.
        answers[username] = sign_in(url, username, PASSWORD)
        assert locked(answers[username]) == 1
    assert answers[exists].json() == answers[missing].json(), "no account enumeration"
    assert answers[exists].headers["Retry-After"] == answers[missing].headers["Retry-After"]

    time.sleep(1.2)
    # Over: the right password signs in and clears the account's count ...
    assert sign_in(url, exists).status_code == 200
    # ... while the missing one, failing again, is locked twice as long.
    for _ in range(5):
        sign_in(url, missing, "not-the-password-at-all")
    assert locked(sign_in(url, missing)) == 2
    for _ in range(5):
        sign_in(url, exists, "not-the-password-at-all")
    assert locked(sign_in(url, exists)) == 1, "a success started the growth over"
    time.sleep(2.2)
    for _ in range(5):
        sign_in(url, missing, "not-the-password-at-all")
    assert locked(sign_in(url, missing)) == 4
    time.sleep(4.2)
    for _ in range(5):
        sign_in(url, missing, "not-the-password-at-all")
    assert locked(sign_in(url, missing)) == 4, "at most lockout_max_seconds"

    # Counted in the database, so a second intake instance sees the same lockout.
    rows = {d["_id"]: d for d in db.signin_throttle.find({})}
    assert rows[f"account:{missing}"]["lockouts"] == 4


def test_an_address_is_locked_across_usernames_and_forwarded_for_counts_only_from_a_trusted_proxy(
        intake, running):
    throttle = {"lockout_seconds": 60, "account_failures": 100, "source_failures": 3}
    url, org, db = intake(throttle=throttle, TRUSTED_PROXIES="127.0.0.1, 10.0.0.0/8")
    officer = person(org, f"src-{org.bureau}", "officer")
    set_password(url, officer["invite"])
    far = {"X-Forwarded-For": "198.51.100.9, 203.0.113.7, 10.0.0.3"}
    for n in range(3):
        r = sign_in(url, f"guess-{n}", "not-the-password-at-all", headers=far)
        assert r.status_code == 400, r.text
    # That address is locked for every username, the real one too.
    locked(sign_in(url, officer["username"], headers=far))
    # Another client behind the same proxy is not.
    near = {"X-Forwarded-For": "203.0.113.8"}
    assert sign_in(url, officer["username"], headers=near).status_code == 200
    rows = list(db.audit.find({"event": "signin.failed"}))
    assert {r["source"] for r in rows} == {"203.0.113.7"}

    # An intake that trusts no proxy reads the peer's address: the header
    # someone sent changes nothing, so it cannot pick a fresh address.
    running.start(IntakeService, INTAKE_POLICY=running.config["INTAKE_POLICY"])
    plain = running.urls["intake"]
    assert sign_in(plain, officer["username"], headers=far).status_code == 200
    assert db.audit.find_one({"event": "signin.succeeded"},
                                    sort=[("at", -1)])["source"] == "127.0.0.1"


def test_the_audit_log_records_who_when_and_from_where_and_pages_for_the_admin(
        intake, running, caplog):
    url, org, db = intake(throttle={"source_failures": 1000})
    # The first admin account, made with the break-glass token.
    admin = person(org, f"admin-{org.bureau}", "admin")
    factor = set_password(url, admin["invite"])["second_factor"]
    assert sign_in(url, admin["username"], "wrong-password-here-1").status_code == 400
    r = sign_in(url, admin["username"], otp=code_at(factor["secret"]))
    assert r.status_code == 200, r.text
    session = r.json()
    claims = jwt.decode(session["access_token"], options={"verify_signature": False})
    assert claims["role"] == "admin" and claims["acct"] == admin["username"]
    me = Client(url, session["access_token"])

    # More events: a recovery code, a refresh reused, a password changed, a lockout.
    assert sign_in(url, admin["username"], otp=factor["recovery_codes"][0]).status_code == 200
    second = refresh(url, session["refresh_token"]).json()
    assert refresh(url, session["refresh_token"]).status_code == 400
    officer = person(org, f"aud-{org.bureau}", "officer")
    set_password(url, officer["invite"])
    access = sign_in(url, officer["username"]).json()["access_token"]
    assert Client(url, access).post("/accounts/password/change", {
        "old": PASSWORD, "new": "maple-quartz-lantern-58"}).status_code == 200
    for _ in range(5):
        sign_in(url, f"ghost-{org.bureau}", "not-the-password-at-all")
    # The break-glass token refused by a route's roles is audited too.
    assert org.admin.post("/reports", {}).status_code == 403

    rows = list(db.audit.find({}))
    seen = {r["event"] for r in rows}
    assert {"invite.created", "password.set", "second_factor.enrolled", "signin.failed",
            "signin.succeeded", "second_factor.recovery_used", "refresh.reused",
            "password.changed", "signin.lockout", "break_glass.used"} <= seen, seen
    for row in rows:
        assert row["at"] and row["actor"] and row["source"] == "127.0.0.1", row
    by = {(r["event"], r["subject"]): r for r in rows}
    assert by[("invite.created", admin["username"])]["actor"] == "break-glass"
    assert by[("signin.lockout", f"ghost-{org.bureau}")]["detail"]["key"] == "account"
    assert by[("refresh.reused", admin["username"])]["detail"]["revoked"] == 2   # the used one and the live one
    assert any(r["event"] == "break_glass.used" and r["detail"] == {
        "method": "POST", "path": "/reports"} for r in rows)
    # No secret in any row.
    text = repr(rows)
    for secret in (PASSWORD, factor["secret"], factor["recovery_codes"][0],
                   session["refresh_token"], second["refresh_token"],
                   running.config["ADMIN_TOKEN"]):
        assert secret not in text

    # GET /admin/audit: the admin account reads it, newest first, by cursor.
    before = db.audit.count_documents({})
    page = me.get("/admin/audit", limit=3)
    assert page.status_code == 200, page.text
    assert 'rel="next"' in page.headers["Link"]
    assert db.audit.count_documents({}) == before, "an admin account is no break-glass use"
    items, after = page.json()["items"], page.json()["next"]
    while after:
        more = me.get("/admin/audit", limit=3, after=after).json()
        items += more["items"]
        after = more["next"]
    assert len(items) == before == len({i["audit_id"] for i in items})
    assert [i["at"] for i in items] == sorted((i["at"] for i in items), reverse=True)
    assert set(items[0]) == {"audit_id", "at", "event", "actor", "source", "subject",
                             "detail"}
    failed = me.get("/admin/audit", event="signin.failed", limit=200).json()["items"]
    assert failed and {i["event"] for i in failed} == {"signin.failed"}
    mine = me.get("/admin/audit", actor=admin["username"], limit=200).json()["items"]
    assert mine and {i["actor"] for i in mine} == {admin["username"]}
    assert me.get("/admin/audit", after="bm90LWEtY3Vyc29y").status_code == 400

    # Not for anyone else; the break-glass token reads it and is audited.
    assert Client(url, access).get("/admin/audit").status_code == 403
    assert org.admin.get("/admin/audit").status_code == 200
    last = db.audit.find_one({"event": "break_glass.used"}, sort=[("at", -1), ("_id", -1)])
    assert last["detail"] == {"method": "GET", "path": "/admin/audit"}
    assert last["actor"] == "break-glass"

    # case_supervision: the admin account's token verifies there; the
    # break-glass token's use is a warning line, without the token.
    running.start(CaseSupervisionService, **running.with_intake_keys())
    cases = running.urls["case_supervision"]
    assert Client(cases, second["access_token"]).get("/admin/failures").status_code == 200
    with caplog.at_level(logging.WARNING, logger="shared.http"):
        assert Client(cases, running.config["ADMIN_TOKEN"]).get(
            "/admin/failures").status_code == 200
    lines = [r.getMessage() for r in caplog.records if r.name == "shared.http"]
    assert any("break-glass admin token used: GET /admin/failures from 127.0.0.1" in line
               for line in lines), lines
    assert not any(running.config["ADMIN_TOKEN"] in line for line in lines)

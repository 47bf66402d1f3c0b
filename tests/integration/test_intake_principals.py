"""Company API keys and the admin's account routes on the real broker and
database: an owner makes a key (its secret shown once), exchanges it at
/oauth/token (client_credentials) for an access token only, whose scope
every service enforces; a revoked key exchanges no more. Deactivating a
person or moving an officer ends its refresh tokens at once and its access
tokens within their (here: seconds-long) lifetime; each change is audited."""
import time

import pytest
import requests

from services.case_supervision.service import CaseSupervisionService
from services.intake.service import IntakeService
from support.accounts import claims, refresh, sign_in, signed_in, token_request
from support.client import Client
from support.codes import credit_code
from support.organisation import Org
from support.reports import report_body

SHORT = 8       # seconds: the access-token lifetime of the timing tests


@pytest.fixture
def org(running):
    running.start(IntakeService)
    return Org(running.urls["intake"], running.config["ADMIN_TOKEN"])


def new_company(org, name="Keys Co"):
    r = org.admin.post("/admin/companies", {
        "name": name, "credit_code": credit_code(), "jurisdiction_unit_id": org.station,
        "contact": {"name": "Chen", "phone": "+86 591 0000", "email": "ops@example.com"},
        "language": "en"})
    assert r.status_code == 201, r.text
    return r.json()


def owner_of(org, url, name="Keys Co"):
    """A new company and its owner, signed in: (company, Client as the owner)."""
    company = new_company(org, name)
    return company, Client(url, signed_in(url, company)["access_token"])


def make_key(owner, scope, name="ERP", key="k-1"):
    r = owner.post("/company/api-keys", {"name": name, "scope": scope},
                   headers={"Idempotency-Key": key})
    assert r.status_code == 201, r.text
    return r.json()


def exchange(url, key, **form):
    return token_request(url, auth=(key["client_id"], key["client_secret"]),
                         grant_type="client_credentials", **form)


def audited(running, event, subject):
    return list(running.db("intake").audit.find({"event": event, "subject": subject}))


def assert_invalid_client(r):
    assert r.status_code == 401, r.text
    assert r.json()["error"] == "invalid_client"
    assert r.headers["WWW-Authenticate"].startswith("Basic")
    assert r.headers["Cache-Control"] == "no-store"


def test_a_key_is_shown_once_exchanged_and_its_scope_is_enforced_by_every_service(
        running, org):
    url = running.urls["intake"]
    company, owner = owner_of(org, url)
    keys = running.db("intake").api_keys

    key = make_key(owner, "read")
    assert key["client_secret"].startswith("ftks_") and key["client_id"] == key["key_id"]
    assert key["scope"] == "read" and key["last_used_at"] is None
    stored = keys.find_one({"_id": key["key_id"]})
    assert stored["secret_digest"] != key["client_secret"] and len(stored["secret_digest"]) == 64
    assert key["client_secret"] not in str(stored)
    # Who made it: the owner's own account (its username, the credit code here).
    assert audited(running, "api_key.created", key["key_id"])[0]["actor"] == \
        company["username"]
    # A retry (same Idempotency-Key, same body): the same key, its secret not again.
    again = owner.post("/company/api-keys", {"name": "ERP", "scope": "read"},
                       headers={"Idempotency-Key": "k-1"})
    assert again.status_code == 200 and again.json()["key_id"] == key["key_id"]
    assert "client_secret" not in again.json()
    # The same key with another body: 422 (the IETF draft).
    assert owner.post("/company/api-keys", {"name": "other", "scope": "read"},
                      headers={"Idempotency-Key": "k-1"}).status_code == 422
    listed = owner.get("/company/api-keys").json()
    assert [k["key_id"] for k in listed["items"]] == [key["key_id"]]
    assert "client_secret" not in listed["items"][0] and "secret_digest" not in listed["items"][0]

    # Basic (RFC 6749 §2.3.1) or form fields: an access token only.
    r = exchange(url, key)
    assert r.status_code == 200, r.text
    answer = r.json()
    assert set(answer) == {"access_token", "token_type", "expires_in", "scope"}
    assert answer["scope"] == "read" and 0 < answer["expires_in"] <= 900
    assert r.headers["Cache-Control"] == "no-store"
    got = claims(answer["access_token"])
    assert (got["role"], got["sub"], got["scope"], got["client_id"]) == (
        "company", company["company_id"], "read", key["key_id"])
    assert got["exp"] - got["iat"] <= 900
    r = token_request(url, grant_type="client_credentials", client_id=key["client_id"],
                      client_secret=key["client_secret"])
    assert r.status_code == 200, r.text
    reader = Client(url, answer["access_token"])

    # Read: its reports. Write: refused, in every service, and nothing is filed.
    filed = owner.post("/reports", report_body()).json()
    assert reader.get(f"/reports/{filed['report_id']}").status_code == 200
    assert reader.get("/reports").status_code == 200
    before = running.db("intake").reports.count_documents({})
    for r in (reader.post("/reports", report_body(summary="by a read key")),
              reader.post(f"/reports/{filed['report_id']}/materials",
                          {"supplied": ["reporter_id"]}),
              reader.get("/company/api-keys"),
              reader.post("/company/api-keys", {"name": "more", "scope": "write"})):
        assert r.status_code == 403, r.text
        assert r.headers["Content-Type"].startswith("application/problem+json")
        assert r.json()["code"] == "forbidden"
    assert running.db("intake").reports.count_documents({}) == before
    assert not any(m["supplied"] for m in running.db("intake").reports.find_one(
        {"_id": filed["report_id"]})["materials"])
    running.start(CaseSupervisionService, **running.with_intake_keys())
    cases = Client(running.urls["case_supervision"], answer["access_token"])
    assert cases.get("/cases").status_code == 200
    r = cases.post("/cases/any/satisfaction", {"rating": 5})
    assert r.status_code == 403 and "scope" in r.json()["detail"], r.text

    # The list shows its last use.
    assert owner.get("/company/api-keys").json()["items"][0]["last_used_at"] is not None

    # A write key files reports and supplies materials.
    writer_key = make_key(owner, "write", "Filing", key="k-2")
    writer = Client(url, exchange(url, writer_key).json()["access_token"])
    r = writer.post("/reports", report_body(summary="filed by a write key"),
                    headers={"Idempotency-Key": "w-1"})
    assert r.status_code == 201, r.text
    r = writer.post(f"/reports/{r.json()['report_id']}/materials", {"supplied": ["reporter_id"]})
    assert r.status_code == 200, r.text
    # A narrower scope may be asked for; a wider one not, and nothing changes.
    assert claims(exchange(url, writer_key, scope="read").json()["access_token"])["scope"] \
        == "read"
    used = keys.find_one({"_id": key["key_id"]})["last_used_at"]
    r = exchange(url, key, scope="write")
    assert r.status_code == 400 and r.json()["error"] == "invalid_scope", r.text
    assert keys.find_one({"_id": key["key_id"]})["last_used_at"] == used
    listed = owner.get("/company/api-keys", limit=1)
    assert listed.json()["items"][0]["key_id"] == writer_key["key_id"]   # newest first
    assert listed.json()["next"] and 'rel="next"' in listed.headers["Link"]
    rest = owner.get("/company/api-keys", limit=1, after=listed.json()["next"]).json()
    assert [k["key_id"] for k in rest["items"]] == [key["key_id"]] and rest["next"] is None

    # The admin, answering a leak: lists the company's keys and revokes one.
    r = org.admin.get(f"/admin/companies/{company['company_id']}/api-keys")
    assert [k["key_id"] for k in r.json()["items"]] == [writer_key["key_id"], key["key_id"]]
    assert org.admin.get("/admin/companies/nope/api-keys").status_code == 404
    r = org.admin.post(f"/admin/api-keys/{writer_key['key_id']}/revoke")
    assert r.status_code == 200 and r.json()["revoked_at"], r.text
    assert exchange(url, writer_key).status_code == 401
    assert audited(running, "api_key.revoked", writer_key["key_id"])[0]["actor"] == \
        "break-glass"
    assert org.admin.post("/admin/api-keys/ftk_nope/revoke").status_code == 404
    assert owner.post(f"/admin/api-keys/{key['key_id']}/revoke").status_code == 403


def test_only_a_signed_in_owner_manages_keys_and_bad_input_changes_nothing(running, org):
    url = running.urls["intake"]
    company, owner = owner_of(org, url)
    r = org.admin.post(f"/admin/companies/{company['company_id']}/users",
                       {"username": f"clerk-{org.bureau}", "role": "member"})
    member = Client(url, signed_in(url, dict(r.json(), username=f"clerk-{org.bureau}"))[
        "access_token"])
    keys = running.db("intake").api_keys
    for who in (member, owner.as_(company["token"]), owner.as_(org.officer_token),
                owner.as_(org.company_token)):
        assert who.post("/company/api-keys", {"name": "x", "scope": "read"}).status_code == 403
        assert who.get("/company/api-keys").status_code == 403
    for body in ({"name": "x", "scope": "read", "extra": 1}, {"name": "x", "scope": "admin"},
                 {"name": "", "scope": "read"}, {"name": "a\nb", "scope": "read"},
                 {"scope": "read"}):
        r = owner.post("/company/api-keys", body)
        assert r.status_code == 422, (body, r.text)
    assert keys.count_documents({"company_id": company["company_id"]}) == 0

    key = make_key(owner, "read")
    # Another company's owner: the key does not exist for it.
    _, stranger = owner_of(org, url, "Other Co")
    mine = stranger.post(f"/company/api-keys/{key['key_id']}/revoke")
    unknown = stranger.post("/company/api-keys/ftk_nope/revoke")
    assert mine.status_code == unknown.status_code == 404
    assert {k: v for k, v in mine.json().items() if k != "instance"} == \
        {k: v for k, v in unknown.json().items() if k != "instance"}
    assert stranger.get("/company/api-keys").json()["items"] == []
    assert keys.find_one({"_id": key["key_id"]})["revoked_at"] is None

    # Wrong secret, unknown id: one answer, and the key's last use unchanged.
    wrong = token_request(url, auth=(key["client_id"], key["client_secret"] + "x"),
                          grant_type="client_credentials")
    nobody = token_request(url, auth=("ftk_nobody", key["client_secret"]),
                           grant_type="client_credentials")
    assert_invalid_client(wrong)
    assert_invalid_client(nobody)
    assert wrong.json() == nobody.json()
    assert_invalid_client(token_request(url, grant_type="client_credentials"))
    r = token_request(url, auth=(key["client_id"], key["client_secret"]),
                      grant_type="client_credentials", client_id=key["client_id"],
                      client_secret=key["client_secret"])
    assert r.status_code == 400 and r.json()["error"] == "invalid_request", r.text
    r = requests.post(url + "/oauth/token", data={"grant_type": "client_credentials"},
                      headers={"Authorization": "Basic not-base64!"}, timeout=15)
    assert_invalid_client(r)
    assert keys.find_one({"_id": key["key_id"]})["last_used_at"] is None

    # Revoked: its exchange is refused with the same answer, and there is no
    # refresh token that could outlive it.
    session = exchange(url, key).json()
    assert "refresh_token" not in session
    used = keys.find_one({"_id": key["key_id"]})["last_used_at"]
    r = owner.post(f"/company/api-keys/{key['key_id']}/revoke")
    assert r.status_code == 200 and r.json()["revoked_at"], r.text
    revoked = exchange(url, key)
    assert_invalid_client(revoked)
    assert revoked.json() == wrong.json()
    assert keys.find_one({"_id": key["key_id"]})["last_used_at"] == used
    again = owner.post(f"/company/api-keys/{key['key_id']}/revoke")
    assert again.status_code == 200 and again.json()["revoked_at"] == r.json()["revoked_at"]
    assert len(audited(running, "api_key.revoked", key["key_id"])) == 1

    # A demoted owner's token, still within its lifetime, manages keys no more.
    assert org.admin.patch(f"/admin/accounts/{company['username']}",
                           {"role": "member"}).status_code == 200
    assert owner.get("/company/api-keys").status_code == 403


def test_deactivation_ends_refresh_at_once_and_access_within_its_lifetime(running):
    running.start(IntakeService, ACCESS_TOKEN_TTL_SECONDS=SHORT)
    url = running.urls["intake"]
    org = Org(url, running.config["ADMIN_TOKEN"])
    r = org.admin.post("/admin/officers", {"officer_id": f"gone-{org.bureau}", "name": "Sun",
                                           "unit_id": org.station, "role": "officer"})
    person = r.json()
    session = signed_in(url, person)
    assert session["expires_in"] == SHORT
    expires = claims(session["access_token"])["exp"]
    me = Client(url, session["access_token"])

    r = org.admin.post(f"/admin/accounts/{person['username']}/deactivate")
    assert r.status_code == 200 and r.json()["active"] is False, r.text
    assert r.json()["deactivated_at"]
    # The access token already given lives out its lifetime (and no longer, below).
    assert time.time() < expires, "the steps above took the whole lifetime"
    assert me.get("/units").status_code == 200
    r = refresh(url, session["refresh_token"])
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant", r.text
    # The right password answers as a wrong one does.
    right, wrong = sign_in(url, person["username"]), sign_in(url, person["username"], "x" * 20)
    assert right.status_code == wrong.status_code == 400
    assert right.json() == wrong.json()
    time.sleep(max(0.0, expires - time.time()) + 1.5)
    assert me.get("/units").status_code == 401

    audit = audited(running, "account.deactivated", person["username"])
    assert len(audit) == 1 and audit[0]["actor"] == "break-glass"
    assert audit[0]["detail"]["sessions_ended"] >= 1 and audit[0]["source"] == "127.0.0.1"
    assert org.admin.post(f"/admin/accounts/{person['username']}/deactivate") \
        .status_code == 200
    assert len(audited(running, "account.deactivated", person["username"])) == 1
    r = org.admin.post(f"/admin/accounts/{person['username']}/reactivate")
    assert r.status_code == 200 and r.json()["active"] is True and "deactivated_at" not in \
        r.json()
    assert len(audited(running, "account.reactivated", person["username"])) == 1
    assert sign_in(url, person["username"]).status_code == 200
    r = refresh(url, session["refresh_token"])
    assert r.status_code == 400, "the sessions it had stay ended"
    assert org.admin.post("/admin/accounts/nobody/deactivate").status_code == 404
    assert Client(url, org.officer_token).post(
        f"/admin/accounts/{person['username']}/deactivate").status_code == 403


def test_a_moved_officer_loses_the_old_units_reports(running):
    running.start(IntakeService, ACCESS_TOKEN_TTL_SECONDS=SHORT)
    url = running.urls["intake"]
    org = Org(url, running.config["ADMIN_TOKEN"])
    other = org.add_unit(f"other-{org.bureau}")
    r = org.admin.post("/admin/officers", {"officer_id": f"mover-{org.bureau}", "name": "Sun",
                                           "unit_id": org.station, "role": "officer"})
    person = r.json()
    report = org.file_report()
    session = signed_in(url, person)
    old = Client(url, session["access_token"])
    expires = claims(session["access_token"])["exp"]
    assert old.get(f"/reports/{report['report_id']}").status_code == 200

    r = org.admin.patch(f"/admin/accounts/{person['username']}", {"unit_id": other})
    assert r.status_code == 200, r.text
    assert r.json()["unit_id"] == other and r.json()["role"] == "officer"
    r = refresh(url, session["refresh_token"])
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant", r.text
    new = sign_in(url, person["username"]).json()
    assert claims(new["access_token"])["unit"] == other
    assert claims(new["access_token"])["units"] == [other, org.bureau]
    assert old.as_(new["access_token"]).get(f"/reports/{report['report_id']}") \
        .status_code == 404
    # The old unit's reach ends with the old token's lifetime.
    time.sleep(max(0.0, expires - time.time()) + 1.5)
    assert old.get(f"/reports/{report['report_id']}").status_code == 401
    # The next refresh is made from the officer as it is then.
    assert claims(refresh(url, new["refresh_token"]).json()["access_token"])["unit"] == other
    moved = audited(running, "account.moved", person["username"])
    assert [(a["detail"]["from_unit"], a["detail"]["to_unit"]) for a in moved] == [
        (org.station, other)]

    # A role and a name: the role ends the sessions too; the directory shows both.
    r = org.admin.patch(f"/admin/accounts/{person['username']}",
                        {"role": "supervisor", "name": "Sun Wei"})
    assert r.status_code == 200 and (r.json()["role"], r.json()["name"]) == (
        "supervisor", "Sun Wei")
    assert refresh(url, new["refresh_token"]).status_code == 400
    # A supervisor signs in with a second factor (policy): without one
    # enrolled, sign-in says so, and a new invite enrols it.
    refused = sign_in(url, person["username"])
    assert refused.status_code == 400 and refused.json()["error_description"] == \
        "该账户须先绑定第二重验证：请向管理员申请新的邀请码"      # no Accept-Language: zh-CN
    updated = audited(running, "account.updated", person["username"])
    assert updated[0]["detail"]["before"] == {"role": "officer", "name": "Sun"}

    # Bad input: a clear 422 or 404, and the officer stays as it is.
    officer = running.db("intake").officers.find_one({"_id": person["username"]})
    for body in ({"unit_id": "no-such-unit"}, {}, {"unit_id": other, "extra": 1},
                 {"role": "owner"}, {"role": "admin"}, {"name": "a\nb"}):
        r = org.admin.patch(f"/admin/accounts/{person['username']}", body)
        assert r.status_code == 422, (body, r.text)
    assert org.admin.patch("/admin/accounts/nobody", {"name": "x"}).status_code == 404
    assert running.db("intake").officers.find_one({"_id": person["username"]}) == officer
    company = new_company(org)
    r = org.admin.patch(f"/admin/accounts/{company['username']}", {"unit_id": other})
    assert r.status_code == 422 and "unit_id" in r.json()["fields"], r.text


def test_the_admin_lists_accounts_page_by_page_and_shows_one(running, org):
    company = new_company(org)
    for n in range(3):
        org.admin.post(f"/admin/companies/{company['company_id']}/users",
                       {"username": f"user{n}-{org.bureau}"})
    seen, after = [], None
    while True:
        params = {"subject": company["company_id"], "limit": 2}
        r = org.admin.get("/admin/accounts", **(dict(params, after=after) if after else params))
        assert r.status_code == 200, r.text
        seen += r.json()["items"]
        after = r.json()["next"]
        if not after:
            break
    assert sorted(a["username"] for a in seen) == sorted(
        [company["username"]] + [f"user{n}-{org.bureau}" for n in range(3)])
    assert all("password_hash" not in a and a["role"] == "company" for a in seen)
    assert {a["company_role"] for a in seen} == {"owner", "member"}

    r = org.admin.get(f"/admin/accounts/{org.officer_id}")
    assert r.status_code == 200, r.text
    assert (r.json()["unit_id"], r.json()["name"], r.json()["active"]) == (
        org.station, "Li", True)
    supervisors = org.admin.get("/admin/accounts", role="supervisor", limit=200).json()
    assert supervisors["items"] and {a["role"] for a in supervisors["items"]} == {"supervisor"}
    assert org.admin.get("/admin/accounts/nobody").status_code == 404
    assert org.admin.get("/admin/accounts", after="bogus").status_code == 400
    assert org.admin.get("/admin/accounts", colour="red").status_code == 422
    assert Client(org.admin.base, org.company_token).get("/admin/accounts").status_code == 403

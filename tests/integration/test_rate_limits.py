"""Rate limits (shared/ratelimit.py, policy/limits.yml): a flood from one
company or one address is answered 429 with Retry-After, changes nothing,
and slows that one only; the counts are shared by every instance."""
import json
import time

import requests

from services.intake.service import IntakeService
from support.client import Client
from support.codes import credit_code
from support.organisation import Org
from support.reports import report_body

TIGHT = {"version": 1, "limits": {
    "report.file": {"window_seconds": 3600, "per_principal": 3, "per_source": 100},
    "report.supply_materials": {"window_seconds": 3600, "per_principal": 100},
    "report.upload": {"window_seconds": 3600, "per_principal": 100},
    "oauth.token": {"window_seconds": 3600, "per_source": 100},
    "webhook.ping": {"window_seconds": 3600, "per_principal": 100}}}


def limits_file(tmp_path, limits):
    path = tmp_path / "limits.yml"
    path.write_text(json.dumps(limits))
    return str(path)


def reports_of(running, company_id):
    return running.db("intake").reports.count_documents({"company_id": company_id})


def address_times(running):
    return {d["_id"]: d["tat"] for d in running.db("intake").rate_limits.find()
            if d["_id"].startswith("report.file|source|")}


def test_a_flooding_company_is_told_to_wait_and_others_file_on(running, tmp_path):
    running.start(IntakeService, LIMITS_POLICY=limits_file(tmp_path, TIGHT))
    org = Org(running.urls["intake"], running.config["ADMIN_TOKEN"], language="zh-CN",
              companies=2)
    flooder = Client(running.urls["intake"], org.companies[0][1])
    for _ in range(3):
        assert flooder.post("/reports", report_body()).status_code == 201
    address_time = address_times(running)
    refused = flooder.post("/reports", report_body())
    assert refused.status_code == 429
    # Refused by the company's limit, it costs the address's nothing.
    assert address_times(running) == address_time
    assert refused.headers["Content-Type"] == "application/problem+json"
    assert 0 < int(refused.headers["Retry-After"]) <= 3600   # the window's rest
    assert refused.json()["detail"] == "请求过于频繁，请稍后再试"   # the company's language
    assert refused.json()["code"] == "too_many_requests"
    assert reports_of(running, org.companies[0][0]) == 3           # nothing changed
    other = Client(running.urls["intake"], org.companies[1][1])
    assert other.post("/reports", report_body()).status_code == 201


def test_every_instance_counts_against_the_same_limit(running, tmp_path):
    settings = {"LIMITS_POLICY": limits_file(tmp_path, TIGHT)}
    running.start(IntakeService, **settings)
    first = running.urls["intake"]
    org = Org(first, running.config["ADMIN_TOKEN"])
    running.start(IntakeService, **settings)
    second = running.urls["intake"]
    answers = [Client(url, org.company_token).post("/reports", report_body()).status_code
               for url in (first, second, first, second)]
    assert answers == [201, 201, 201, 429]


def test_an_address_behind_the_front_door_is_counted_on_its_own(running, tmp_path):
    by_address = {"version": 1, "limits": dict(TIGHT["limits"], **{
        "report.file": {"window_seconds": 3600, "per_source": 2}})}
    running.start(IntakeService, LIMITS_POLICY=limits_file(tmp_path, by_address),
                  TRUSTED_PROXIES="127.0.0.1")
    org = Org(running.urls["intake"], running.config["ADMIN_TOKEN"])

    def file_from(address):
        return requests.post(running.urls["intake"] + "/reports", json=report_body(),
                             timeout=15, headers={"Authorization": f"Bearer {org.company_token}",
                                                  "X-Forwarded-For": address}).status_code
    # Loopback is the trusted front door here: the address it forwards is the client.
    assert [file_from("203.0.113.7") for _ in range(3)] == [201, 201, 429]
    assert file_from("198.51.100.2") == 201
    # A forged hop before the proxy's own does not buy a new allowance.
    assert file_from("198.51.100.9, 203.0.113.7") == 429


def test_token_requests_from_one_address_are_limited_whatever_their_grant(running, tmp_path):
    tight_tokens = {"version": 1, "limits": dict(TIGHT["limits"], **{
        "oauth.token": {"window_seconds": 3600, "per_source": 3}})}
    running.start(IntakeService, LIMITS_POLICY=limits_file(tmp_path, tight_tokens),
                  TRUSTED_PROXIES="127.0.0.1")
    org = Org(running.urls["intake"], running.config["ADMIN_TOKEN"])
    created = org.admin.post("/admin/companies", {
        "name": "Token Flood Ltd", "credit_code": credit_code(),
        "jurisdiction_unit_id": org.station, "language": "zh-CN",
        "contact": {"name": "Chen", "phone": "+86 591 0000", "email": "ops@example.com"}}).json()
    assert requests.post(running.urls["intake"] + "/accounts/password", timeout=15, json={
        "invite": created["invite"], "password": Org.PASSWORD}).status_code == 200

    def token_from(address, password):
        return requests.post(running.urls["intake"] + "/oauth/token", timeout=15, data={
            "grant_type": "password", "username": created["username"], "password": password},
            headers={"X-Forwarded-For": address, "Accept-Language": "zh-CN"})

    guesses = [token_from("203.0.113.7", "not-the-password-%d" % n).status_code
               for n in range(2)]
    assert guesses == [400, 400]
    assert token_from("203.0.113.7", Org.PASSWORD).status_code == 200
    # The fourth request of the window is refused before the password is
    # looked at: the right one too, so a flood learns nothing by going on.
    refused = token_from("203.0.113.7", Org.PASSWORD)
    assert refused.status_code == 429
    assert refused.headers["Content-Type"] == "application/problem+json"
    assert 0 < int(refused.headers["Retry-After"]) <= 3600
    assert refused.json()["detail"] == "请求过于频繁，请稍后再试"
    assert "access_token" not in refused.json()
    # Another address, and the account itself, are not held by that flood.
    assert token_from("198.51.100.2", Org.PASSWORD).status_code == 200


def test_past_its_burst_a_company_files_at_its_limits_pace(running, tmp_path):
    # Two a 4 s window, one at a time: a filing every 2 s, however fast it sends.
    paced = {"version": 1, "limits": dict(TIGHT["limits"], **{
        "report.file": {"window_seconds": 4, "per_principal": 2, "burst": 1}})}
    running.start(IntakeService, LIMITS_POLICY=limits_file(tmp_path, paced))
    org = Org(running.urls["intake"], running.config["ADMIN_TOKEN"])
    company = Client(running.urls["intake"], org.company_token)
    assert company.post("/reports", report_body()).status_code == 201
    refused = company.post("/reports", report_body())
    assert refused.status_code == 429
    wait = int(refused.headers["Retry-After"])
    assert 1 <= wait <= 2                       # the pace's two seconds, not the window's four
    assert company.post("/reports", report_body()).status_code == 429   # still waiting
    time.sleep(wait + 0.2)
    assert company.post("/reports", report_body()).status_code == 201
    assert reports_of(running, org.company_id) == 2

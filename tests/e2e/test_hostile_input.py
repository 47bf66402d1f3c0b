"""Hostile input against every route of every service, on the running
processes: each answer is a 4xx with the JSON error, and nothing changes."""
import json

from urllib.parse import quote

import pytest
import requests

from support.codes import credit_code
from support.reports import report_body
from tests.helpers import bad_tokens

SERVICES = ("intake", "case_supervision", "notify")
FORM = "application/x-www-form-urlencoded"
HOSTILE_BODIES = {  # what the parser must refuse whatever the route
    "operator key": b'{"$where": "sleep(1000)"}',
    "nested operator": b'{"summary": {"$gt": ""}}',
    "operator in a list": b'{"supplied": [{"$ne": null}]}',
    "dotted key": b'{"contact.email": "x@y.z"}',
    "NaN": b'{"estimated_loss": NaN}',
    "Infinity": b'{"estimated_loss": -Infinity}',
    "not an object": b'["summary"]',
    "broken JSON": b'{"summary": "x"',
    "duplicate key": b'{"reason": "a", "reason": "b"}',
    "control character": b'{"reason": "bell\\u0007"}',
    "deep nesting": b'{"a":' * 100 + b'1' + b'}' * 100,
}


def routes_with_bodies(system):
    for name in SERVICES:
        spec = system.client(name).get("/openapi.json").json()
        for path, ops in spec["paths"].items():
            for method, op in ops.items():
                # JSON bodies; the OAuth endpoints take a form (below).
                if "application/json" in op.get("requestBody", {}).get("content", {}):
                    yield name, method.upper(), path.replace("{", "x").replace("}", "x"), op


def send(system, name, method, path, body, token, content_type="application/json"):
    return requests.request(method, system.stack.service_url(name) + path, data=body,
                            headers={"Authorization": f"Bearer {token}",
                                     "Content-Type": content_type}, timeout=30)


@pytest.fixture(scope="module")
def world(running_system):
    system = running_system
    org = system.org()
    tokens = {"company": org.company_token, "officer": org.officer_token,
              "supervisor": org.supervisor_token,
              "admin": system.stack.env["FASTTRACK_ADMIN_TOKEN"]}
    return system, org, tokens


def snapshot(system, org):
    """What the company and its officer can see: must not change."""
    company = system.client("intake", org.company_token)
    officer = system.client("intake", org.officer_token)
    return (company.get("/reports").json(), officer.get("/reports").json(),
            # The feed's items: its cursor also says when it was read.
            system.client("notify", org.company_token).get("/notices").json()["items"])


def test_every_body_route_refuses_hostile_json_with_a_clear_error(world):
    system, org, tokens = world
    before = snapshot(system, org)
    routes = list(routes_with_bodies(system))
    assert len(routes) >= 8  # the suite must see the routes it claims to cover
    for name, method, path, op in routes:
        parsed = False
        for role, token in tokens.items():
            for label, body in HOSTILE_BODIES.items():
                r = send(system, name, method, path, body, token)
                assert 400 <= r.status_code < 500, (name, method, path, role, label, r.text)
                error = r.json()["error"]
                assert error["code"] and error["message"], (path, label)
                parsed = parsed or r.status_code == 400
        assert parsed, f"no role reached the body parser of {method} {path}"
    assert snapshot(system, org) == before


@pytest.mark.parametrize("path", ["/oauth/token", "/oauth/revoke"])
def test_the_oauth_endpoints_refuse_hostile_bodies_in_rfc_6749s_shape(world, path):
    """RFC 6749 §5.2: the token endpoint's errors are its own JSON shape,
    not a problem; nothing is issued and nothing changes."""
    system, org, tokens = world
    before = snapshot(system, org)
    hostile = {**{label: (body, "application/json") for label, body in HOSTILE_BODIES.items()},
               "form twice": (b"grant_type=password&grant_type=password", FORM),
               "huge form": (b"grant_type=password&username=" + b"a" * 100_000, FORM),
               "broken percent": (b"grant_type=%ZZ&username=%", FORM),
               "NUL": (b"grant_type=password&username=a%00&password=b", FORM),
               "not UTF-8": (b"grant_type=password&username=%ff%fe&password=b", FORM)}
    for label, (body, content_type) in hostile.items():
        r = send(system, "intake", "POST", path, body, tokens["company"], content_type)
        assert r.status_code == 400, (path, label, r.text)
        assert set(r.json()) <= {"error", "error_description"}, (path, label)
        assert r.json()["error"] in ("invalid_request", "invalid_grant",
                                     "unsupported_grant_type"), (path, label)
    assert snapshot(system, org) == before


def test_a_ten_megabyte_body_is_refused_before_it_is_read(world):
    system, org, tokens = world
    body = json.dumps(report_body(description="x" * (10 * 1024 * 1024))).encode()
    try:
        r = send(system, "intake", "POST", "/reports", body, tokens["company"])
        assert r.status_code == 413 and r.json()["error"]["code"] == "too_large"
    except requests.ConnectionError:
        pass  # the server may close before the client finished sending: also refused
    assert system.client("intake", org.company_token).get("/reports").json()["items"] == []
    assert system.client("intake").get("/health").status_code == 200


@pytest.mark.parametrize("amount", ["1e400", "NaN", "-1.00", "1.005", "Infinity", 1e300,
                                    "１２３", "0x10", "1_000"])
def test_money_that_is_not_exact_cny_is_refused(world, amount):
    system, org, tokens = world
    r = system.client("intake", org.company_token).post(
        "/reports", report_body(estimated_loss=amount))
    assert r.status_code == 422 and "estimated_loss" in r.json()["error"]["fields"]


@pytest.mark.parametrize("field,value", [
    ("summary", "漢" * 201), ("description", "字" * 10_001), ("location", "🚓" * 501),
    ("suspects", ["x"] * 51), ("incident_type", "fraud\u202e"),
])
def test_overlong_unicode_and_lookalikes_are_refused(world, field, value):
    system, org, tokens = world
    r = system.client("intake", org.company_token).post("/reports",
                                                        report_body(**{field: value}))
    assert r.status_code == 422 and field in r.json()["error"]["fields"]
    assert system.client("intake", org.company_token).get("/reports").json()["items"] == []


@pytest.mark.parametrize("report_id", [
    '{"$ne": null}', "../../admin/units", "%00", "x" * 300, "' OR 1=1 --", "null"])
def test_ids_that_are_not_ids_find_nothing(world, report_id):
    system, org, tokens = world
    r = requests.get(system.stack.service_url("intake") + "/reports/" + quote(report_id, safe=""),
                     headers={"Authorization": f"Bearer {org.company_token}"}, timeout=10)
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


def test_expired_forged_and_wrong_role_tokens_are_refused(world):
    system, org, tokens = world
    # Made with intake's own key where a key is needed (expired, admin claimed,
    # another audience...), or with keys and algorithms it does not publish.
    refused = dict(bad_tokens(system.issuer_key()), empty="", bare="Bearer")
    for what, token in refused.items():
        for name, path in (("intake", "/reports"), ("case_supervision", "/cases"),
                           ("notify", "/notices")):
            r = system.client(name, token).get(path)
            assert r.status_code == 401, (what, name, path, r.text)
    # A valid token of the wrong role: 403, not a peek.
    assert system.client("intake", org.company_token).post(
        "/admin/units", {"unit_id": "u", "name": "u", "kind": "station",
                         "parent_unit_id": None}).status_code == 403
    assert system.client("notify", org.officer_token).get("/notices").status_code == 403


def test_unknown_routes_and_methods_answer_json_too(world):
    system, org, tokens = world
    for name in SERVICES:
        base = system.stack.service_url(name)
        missing = requests.get(base + "/no/such/route", timeout=10)
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
        wrong = requests.delete(base + "/health", timeout=10)
        assert wrong.status_code == 405
        assert wrong.json()["error"]["code"] == "method_not_allowed"


@pytest.mark.parametrize("field,value", [
    ("summary", "line one\r\nline two"), ("summary", "a\u2028b"), ("location", "x\ny"),
    ("summary", "x\u2029y"), ("location", "x\u0085y"), ("suspects", ["Zhang\nBcc: x@y.z"])])
def test_a_one_line_field_refuses_line_breaks_naming_the_field(world, field, value):
    system, org, tokens = world
    r = system.client("intake", org.company_token).post("/reports",
                                                        report_body(**{field: value}))
    assert r.status_code == 422 and field in r.json()["error"]["fields"], r.text
    assert system.client("intake", org.company_token).get("/reports").json()["items"] == []


def test_a_company_name_with_a_header_injection_is_refused_and_a_description_keeps_lines(world):
    system, org, tokens = world
    admin = system.client("intake", tokens["admin"])
    r = admin.post("/admin/companies", {
        "name": "Acme\r\nBcc: victim@example.com", "credit_code": credit_code(),
        "jurisdiction_unit_id": org.station,
        "contact": {"name": "Chen", "phone": "+86 591 0000", "email": "ops@example.com"}})
    assert r.status_code == 422 and "name" in r.json()["error"]["fields"], r.text
    _, token = org.add_company("Lines Ltd")  # its own company: the others file nothing
    company = system.client("intake", token)
    r = company.post("/reports", report_body(description="first line\nsecond line"))
    assert r.status_code == 201 and r.json()["description"] == "first line\nsecond line"


def test_errors_are_rfc9457_problems_that_keep_the_earlier_shape(world):
    system, org, tokens = world
    r = requests.post(system.stack.service_url("intake") + "/reports", timeout=10,
                      json=report_body(estimated_loss=1.5),
                      headers={"Authorization": f"Bearer {org.company_token}",
                               "Accept-Language": "en"})
    assert r.status_code == 422
    assert r.headers["Content-Type"].startswith("application/problem+json")
    body = r.json()
    assert body["type"] == "urn:fasttrack:problem:invalid" and body["status"] == 422
    assert body["title"] == "Unprocessable Entity" and body["instance"] == "/reports"
    assert body["detail"] == body["error"]["message"] and "estimated_loss" in body["fields"]
    assert body["code"] == body["error"]["code"] == "invalid"
    missing = requests.get(system.stack.service_url("case_supervision") + "/cases/nope",
                           headers={"Authorization": f"Bearer {org.company_token}",
                                    "Accept-Language": "zh-CN"}, timeout=10).json()
    assert missing["status"] == 404 and missing["title"] == "未找到"
    assert missing["type"] == "urn:fasttrack:problem:not_found"

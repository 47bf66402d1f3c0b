"""Errors in the caller's language, on the running processes: the header's
language, else the company's registered one, else Simplified Chinese; the
code never changes."""
import pytest
import requests

from tests.conftest import ADMIN_TOKEN
from support.reports import report_body

BAD_REPORT = report_body(estimated_loss=21000.5, summary="", surprise=True)
del BAD_REPORT["occurred_at"]


@pytest.fixture(scope="module")
def world(running_system):
    system = running_system
    return system, system.org("en"), system.org("zh-CN")


def call(system, service, method, path, token=None, language=None, **kw):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if language:
        headers["Accept-Language"] = language
    headers.update(kw.pop("headers", {}))
    return requests.request(method, system.stack.service_url(service) + path,
                            headers=headers, timeout=30, **kw)


def error_of(r, status, code):
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] == code, r.text
    return r.json()["error"]


def test_a_bad_report_is_refused_in_the_language_the_header_asks_for(world):
    system, en_company, zh_company = world
    zh = error_of(call(system, "intake", "POST", "/reports", en_company.company_token,
                       "zh-CN,en;q=0.5", json=BAD_REPORT), 422, "invalid")
    assert zh["message"] == "请求未通过校验"
    assert zh["fields"] == {
        "occurred_at": ["缺少必填字段。"],
        "summary": ["长度必须在 1 到 200 之间。"],
        "estimated_loss": ['金额须为最多两位小数的十进制字符串，例如 "21000.00"'],
        "surprise": ["未知字段。"]}
    r = call(system, "intake", "POST", "/reports", zh_company.company_token, "en-US",
             json=BAD_REPORT)
    en = error_of(r, 422, "invalid")
    assert r.headers["Content-Language"] == "en"
    assert en["message"] == "the request does not validate"
    assert en["fields"]["occurred_at"] == ["Missing data for required field."]
    assert en["fields"]["surprise"] == ["Unknown field."]
    assert set(en["fields"]) == set(zh["fields"])


def test_without_a_header_a_company_is_told_in_its_registered_language(world):
    system, en_company, zh_company = world
    r = call(system, "intake", "POST", "/reports", zh_company.company_token, json=BAD_REPORT)
    zh = error_of(r, 422, "invalid")
    assert r.headers["Content-Language"] == "zh-CN"
    assert zh["message"] == "请求未通过校验"
    assert zh["fields"]["occurred_at"] == ["缺少必填字段。"]
    en = error_of(call(system, "intake", "POST", "/reports", en_company.company_token,
                       json=BAD_REPORT), 422, "invalid")
    assert en["message"] == "the request does not validate"


def test_not_found_in_both_languages(world):
    system, en_company, zh_company = world
    for service, path, english, chinese in (
            ("intake", "/reports/nope", "no such report", "报案不存在"),
            ("case_supervision", "/cases/nope", "no such case", "案件不存在")):
        assert error_of(call(system, service, "GET", path, en_company.company_token, "zh-CN"),
                        404, "not_found")["message"] == chinese
        assert error_of(call(system, service, "GET", path, zh_company.company_token, "en"),
                        404, "not_found")["message"] == english
        assert error_of(call(system, service, "GET", path, zh_company.company_token),
                        404, "not_found")["message"] == chinese
    # A route that does not exist: no token is read, so the header or zh-CN.
    assert error_of(call(system, "notify", "GET", "/nowhere", language="en"), 404,
                    "not_found")["message"].startswith("The requested URL was not found")
    assert error_of(call(system, "notify", "GET", "/nowhere"), 404,
                    "not_found")["message"].startswith("服务器上没有所请求的 URL")


def test_conflict_in_both_languages(world):
    system, en_company, zh_company = world
    report = en_company.file_report()
    officer = en_company.officer_token
    path = f"/reports/{report['report_id']}/acknowledge"
    assert call(system, "intake", "POST", path, officer).status_code == 200
    zh = error_of(call(system, "intake", "POST", path, officer, "zh-Hans"), 409, "conflict")
    assert zh["message"] == "状态为 acknowledged 的报案不能执行“acknowledge”"
    en = error_of(call(system, "intake", "POST", path, officer, "en"), 409, "conflict")
    assert en["message"] == "a report that is acknowledged cannot take 'acknowledge'"
    # A company's own conflict, told in its registered language with no header.
    key = {"Idempotency-Key": "lang-test-1"}
    assert call(system, "intake", "POST", "/reports", zh_company.company_token,
                json=report_body(), headers=key).status_code == 201
    again = call(system, "intake", "POST", "/reports", zh_company.company_token,
                 json=report_body(summary="another"), headers=key)
    assert error_of(again, 422, "invalid")["message"] == "此 Idempotency-Key 已用于另一个请求"


def test_police_and_strangers_without_a_header_are_told_in_chinese(world):
    system, en_company, _ = world
    assert error_of(call(system, "intake", "GET", "/reports"), 401,
                    "unauthorized")["message"] == "需要 Bearer 令牌"
    r = call(system, "intake", "POST", "/admin/units", en_company.officer_token,
             json={"unit_id": "u", "name": "u", "kind": "station", "parent_unit_id": None})
    assert error_of(r, 403, "forbidden")["message"] == "officer 角色无权执行此操作"
    r = call(system, "intake", "POST", "/admin/units", ADMIN_TOKEN, "en",
             json={"unit_id": en_company.station, "name": "x", "kind": "station",
                   "parent_unit_id": None})
    assert error_of(r, 409, "conflict")["message"] == "a unit with this id exists"

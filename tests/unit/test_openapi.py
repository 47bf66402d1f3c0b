"""The OpenAPI 3.1 documents: each service's and the merged one validate,
and every operation says what an integrator needs (operationId, tag,
summary, its answer's schema, its errors as problems, its roles); money,
Idempotency-Key and pages are described as the code treats them; the docs
page loads nothing from another host."""
import re

import pytest
from openapi_spec_validator import OpenAPIV31SpecValidator

from shared.docs_page import DOCS_DIR
from shared.fields import MONEY_RE
from shared.openapi import PREFIXES, TAGS
from tools.openapi import documents, merged_document

DOCS = documents()
MERGED = merged_document()
METHODS = {"get", "put", "post", "delete", "patch"}


def operations(doc):
    return [(path, method, op) for path, item in doc["paths"].items()
            for method, op in item.items() if method in METHODS]


def resolve(doc, schema):
    while "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].split("/")[-1]]
    return schema


@pytest.mark.parametrize("name", [*DOCS, "merged"])
def test_the_document_validates_as_openapi_3_1(name):
    doc = MERGED if name == "merged" else DOCS[name]
    assert doc["openapi"] == "3.1.0"
    errors = list(OpenAPIV31SpecValidator(doc).iter_errors())
    assert errors == []


@pytest.mark.parametrize("name", [*DOCS, "merged"])
def test_every_operation_has_an_id_a_tag_an_answer_and_its_errors(name):
    doc = MERGED if name == "merged" else DOCS[name]
    ids = [op["operationId"] for _, _, op in operations(doc)]
    assert len(ids) == len(set(ids)) and len(ids) > 8
    declared = {t["name"] for t in doc["tags"]}
    for path, method, op in operations(doc):
        where = (path, method)
        assert re.fullmatch(r"[a-z][a-z0-9_]*", op["operationId"]), where
        assert op["summary"] and op["tags"] and set(op["tags"]) <= declared <= set(TAGS), where
        ok = [code for code in op["responses"] if code.startswith("2")]
        assert ok, where
        for code in ok:
            content = op["responses"][code]["content"]
            assert all(media.get("schema") for media in content.values()), where
        assert "503" in op["responses"], where
        errors = [code for code in op["responses"] if code[0] in "45"]
        for code in errors:
            media = op["responses"][code]["content"]
            if "application/problem+json" in media:
                assert media["application/problem+json"]["schema"] == {
                    "$ref": "#/components/schemas/Problem"}, where
                assert media["application/problem+json"]["example"]["status"] == int(code)
            else:   # only the OAuth endpoints answer RFC 6749's own shape (401:
                # invalid_client, from the token endpoint's client_credentials)
                assert "oauth" in path and code in ("400", "401"), where
        if op["security"]:   # a token is read: who may call it, and the two refusals
            assert op["x-roles"] and f"Roles: {', '.join(op['x-roles'])}." in op["description"]
            assert {"401", "403"} <= set(op["responses"]), where
        else:
            assert "x-roles" not in op, where
        if "{" in path:
            assert "404" in op["responses"], where
        if "requestBody" in op and "oauth" not in path:
            assert {"400", "413", "422"} <= set(op["responses"]), where


def test_a_problem_has_every_rfc_9457_member_and_our_extensions():
    problem = DOCS["intake"]["components"]["schemas"]["Problem"]
    assert set(problem["required"]) >= {"type", "title", "status", "detail", "instance",
                                         "code", "fields"}


def test_money_is_a_string_with_the_pattern_the_code_enforces():
    doc = DOCS["intake"]
    loss = resolve(doc, doc["components"]["schemas"]["ReportIn"])["properties"][
        "estimated_loss"]
    assert loss["type"] == "string"
    for amount in ("0", "21000.00", "1.5", "999999999999999.99", "01", "1.001", "1e3", "-1",
                   "1.00\n", ""):
        assert bool(re.fullmatch(loss["pattern"].strip("^$"), amount)) == bool(
            MONEY_RE.match(amount)), amount
    progress = DOCS["case_supervision"]["components"]["schemas"]["ProgressIn"]
    assert progress["properties"]["recovered_amount"]["pattern"] == loss["pattern"]


def test_no_pattern_uses_python_only_anchors():
    for doc in DOCS.values():
        for pattern in re.findall(r"'pattern': '([^']*)'", str(doc)):
            assert "\\A" not in pattern and "\\Z" not in pattern, pattern


def test_keyed_routes_take_an_idempotency_key_and_lists_their_page_and_link():
    for name, doc in DOCS.items():
        for path, method, op in operations(doc):
            params = {p["name"]: p for p in op.get("parameters", [])}
            if path.endswith("/cases/{case_id}/progress") or path == "/reports" and \
                    method == "post":
                assert params["Idempotency-Key"]["in"] == "header", path
            if "Idempotency-Key" in params:
                assert "409" in op["responses"] and "422" in op["responses"], path
            if "after" in params:
                assert "limit" in params and "Link" in op["responses"]["200"]["headers"], path
    notices = DOCS["notify"]["paths"]["/notices"]["get"]
    assert {"after", "limit"} <= {p["name"] for p in notices["parameters"]}
    assert "Link" in notices["responses"]["200"]["headers"]


def test_the_case_routes_declare_their_answers_by_role():
    doc = DOCS["case_supervision"]
    for path in ("/cases/{case_id}", "/cases/{case_id}/close"):
        item = doc["paths"][path]
        op = item.get("get") or item["post"]
        refs = [s["$ref"].split("/")[-1] for s in
                op["responses"]["200"]["content"]["application/json"]["schema"]["anyOf"]]
        assert refs == ["CaseOut", "CompanyCaseOut"]


def test_the_merged_document_routes_as_the_front_door():
    paths = set(MERGED["paths"])
    for name, doc in DOCS.items():
        assert {PREFIXES[name] + p for p in doc["paths"]} <= paths
    assert len(paths) == sum(len(d["paths"]) for d in DOCS.values())
    flows = MERGED["components"]["securitySchemes"]["oauth2"]["flows"]["password"]
    assert flows["tokenUrl"] == "/api/intake/oauth/token"
    assert MERGED["components"]["securitySchemes"]["bearer"]["bearerFormat"] == "JWT"
    ids = {op["operationId"] for _, _, op in operations(MERGED)}
    assert {"intake_get_health", "case_supervision_get_health", "file_report"} <= ids
    # Every reference points at a schema the document holds.
    for ref in re.findall(r"#/components/schemas/([A-Za-z0-9_.-]+)", str(MERGED)):
        assert ref in MERGED["components"]["schemas"], ref


def test_the_docs_page_loads_only_its_own_files():
    html = (DOCS_DIR / "index.html").read_text()
    assert not re.search(r"(?i)\b(https?:)?//", html)
    scripts = re.findall(r'<script[^>]*src="([^"]+)"', html)
    assert scripts == ["swagger-ui-bundle.js", "init.js"]
    assert "<script>" not in html   # no inline script: a strict CSP still shows the page
    assert not re.search(r"(?i)https?://", (DOCS_DIR / "init.js").read_text())


def test_every_example_body_is_one_the_route_accepts():
    from nameko.containers import ServiceContainer

    from shared.http import JsonHttp
    from shared.openapi import EXAMPLES
    from tools.openapi import service_classes
    bodies = {ep.method_name: ep.body_schema for cls in service_classes()
              for ep in ServiceContainer(cls, {"AMQP_URI": "memory://"}).entrypoints
              if isinstance(ep, JsonHttp)}
    assert set(EXAMPLES) <= set(bodies)
    for name, example in EXAMPLES.items():
        bodies[name]().load(example)    # raises if the example is refused
    shown = [op["requestBody"]["content"]["application/json"]["example"]
             for _, _, op in operations(MERGED)
             if "example" in op.get("requestBody", {}).get("content", {}).get(
                 "application/json", {})]
    assert len(shown) == len(EXAMPLES)

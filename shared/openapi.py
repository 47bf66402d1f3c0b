"""OpenAPI 3.1 for a service, generated from its JsonHttp entrypoints and
their marshmallow schemas (apispec), so clients, the docs page and
schemathesis see the contract the code enforces; and the one document of
the three services as the front door routes them (`merged`).

What each operation says comes from the route itself: its operationId is
the handler's name, its summary and description the handler's docstring,
its roles the PERMISSIONS table (shared/auth.py) as `x-roles` and a line of
the description, its errors the ones its parts can raise (a token: 401 and
403; a body: 400, 413, 422; an id, or the caller's own resource: 404; a
change: 409; a rate limit: 429; any route: 503), each an RFC 9457 problem.
"""
import copy
import inspect
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import Schema, fields
from werkzeug.http import HTTP_STATUS_CODES

from shared import auth, idempotency_key
from shared.fields import Money
from shared.http import PROBLEM_JSON, PROBLEM_TYPE, JsonHttp

VERSION = "3.1.0"
# The front door's prefix of each service (API.md "Front door").
PREFIXES = {"intake": "/api/intake", "case_supervision": "/api/cases",
            "notify": "/api/notify"}
TOKEN_URL = "/oauth/token"
# The docs page and its files are for people, not an API.
HIDDEN = {"/docs", "/docs/", "/docs/<name>"}
# ECMA-262, as JSON Schema reads patterns: shared.fields.MONEY_RE.
MONEY = {"type": "string", "pattern": r"^(0|[1-9][0-9]{0,14})(\.[0-9]{1,2})?$",
         "examples": ["21000.00"],
         "description": "CNY as a decimal string with at most 2 places; never a number"}


class ErrorBody(Schema):
    code = fields.String(required=True)
    message = fields.String(required=True)
    fields_ = fields.Dict(data_key="fields", required=True)


class ErrorOut(Schema):
    """An RFC 9457 problem (shared/http.problem): `code` and `fields` are
    extension members; `error` repeats them as before (deprecated)."""
    type = fields.String(required=True, metadata={
        "description": f"{PROBLEM_TYPE} and the stable code"})
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String(required=True, metadata={
        "description": "in the caller's language (Accept-Language, else its token's)"})
    instance = fields.String(required=True)
    code = fields.String(required=True, metadata={"description": "stable; never translated"})
    fields_ = fields.Dict(data_key="fields", required=True, metadata={
        "description": "field name: its problems"})
    error = fields.Nested(ErrorBody, required=True, metadata={"deprecated": True})


class OAuthErrorOut(Schema):
    """An error of an OAuth 2.0 endpoint, in RFC 6749 §5.2's shape."""
    error = fields.String(required=True)
    error_description = fields.String()


class OAuthTokenForm(Schema):
    """A token request (RFC 6749 §4.3, §6): grant_type password with
    username and password, or refresh_token with refresh_token; a revocation
    (RFC 7009) sends token."""
    grant_type = fields.String()
    username = fields.String()
    password = fields.String()
    refresh_token = fields.String()
    token = fields.String()


class OAuthTokenOut(Schema):
    access_token = fields.String(required=True)
    token_type = fields.String(required=True)
    expires_in = fields.Integer(required=True)
    refresh_token = fields.String()


class HealthOut(Schema):
    status = fields.String(required=True)
    service = fields.String(required=True)


class JwkSetOut(Schema):
    keys = fields.List(fields.Dict(), required=True)


ERRORS = {"400": "malformed request: not JSON, a bad cursor, a bad Idempotency-Key",
          "401": "no valid token", "403": "not for this role, or not on this resource",
          "404": "no such resource, or not one the caller may see",
          "409": "conflicts with the current state, or the same key is still running",
          "413": "body too large", "415": "not an allowed type, or not what it says",
          "416": "the byte range lies beyond the file", "422": "does not validate",
          "429": "over a rate limit: retry after Retry-After seconds",
          "503": "the database or broker does not answer; nothing was changed"}
RETRY_AFTER = {"description": "seconds to wait", "schema": {"type": "integer"}}
LINK = {"description": 'the next page: `<…?after=…>; rel="next"` (RFC 8288), '
                       "when `next` is not null", "schema": {"type": "string"}}
CODES = {"400": "bad_request", "401": "unauthorized", "403": "forbidden", "404": "not_found",
         "409": "conflict", "413": "too_large", "415": "unsupported_media_type",
         "416": "range_not_satisfiable", "422": "invalid", "429": "too_many_requests",
         "503": "unavailable"}


def problem_example(status):
    code = CODES[status]
    fields_ = {"estimated_loss": ["money is a decimal string"]} if status == "422" else {}
    detail = ERRORS[status].split(":")[0]
    return {"type": PROBLEM_TYPE + code, "title": HTTP_STATUS_CODES[int(status)],
            "status": int(status), "detail": detail, "instance": "/reports/r-1", "code": code,
            "fields": fields_, "error": {"code": code, "message": detail, "fields": fields_}}


# Answers that are not JSON, by the route's URL.
CSV = "text/csv"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
NOT_JSON = {"/metrics": {"text/plain": {"schema": {"type": "string"}}}}
EXPORT = {CSV: {"schema": {"type": "string"}},
          XLSX: {"schema": {"type": "string", "contentMediaType": XLSX,
                            "contentEncoding": "binary"}}}
ANSWERS = {"/health": HealthOut, "/.well-known/jwks.json": JwkSetOut}

# A request body an integrator can start from, by operationId.
EXAMPLES = {
    "file_report": {
        "incident_type": "fraud", "summary": "Fake supplier invoice paid",
        "description": "We paid an invoice from a supplier that does not exist.",
        "occurred_at": "2026-11-27T10:00:00+08:00", "location": "No. 1 Harbour Road",
        "estimated_loss": "21000.00", "currency": "CNY", "funds_in_transit": True,
        "suspects": []},
    "progress_case": {"stage": "investigating", "note": "Bank records requested"},
    "rate_case": {"rating": 5, "comment": "Quick and clear"},
    "put_subscription": {"webhook_url": "https://erp.example.invalid/fasttrack",
                         "language": "zh-CN"},
}

# The tags, by the first segment of a route's path.
TAGS = {
    "Reports": "A business's incident report from arrival until a case opens",
    "Cases": "The dedicated, supervised case opened from an accepted report",
    "Directory": "Units, their officers and the incident types with their checklists",
    "Notices": "The company's feed of what happened, in its language",
    "Webhooks": "The company's webhook subscription and its deliveries",
    "Supervision": "The accountability ledger and the units' scorecards",
    "Accounts": "Passwords, OAuth 2.0 tokens and the public keys tokens verify with",
    "Administration": "The organisation (admin), failed events",
    "Service": "Health, metrics and this document",
}
AREAS = {"reports": "Reports", "cases": "Cases", "units": "Directory",
         "incident-types": "Directory", "notices": "Notices", "subscription": "Webhooks",
         "deliveries": "Webhooks", "ledger": "Supervision", "scorecards": "Supervision",
         "accounts": "Accounts", "oauth": "Accounts", ".well-known": "Accounts",
         "admin": "Administration"}


def tag_of(url):
    if url.endswith("/scorecard"):
        return "Supervision"
    return AREAS.get(url.strip("/").split("/")[0], "Service")


def errors_of(ep, params):
    """The problems a route can answer, from the parts it has."""
    codes = {"503"}
    if ep.roles is not None:
        codes |= {"401", "403"}
    if ep.body_schema or ep.query_schema:
        codes |= {"400", "422"}
    if ep.body_schema:
        codes.add("413")
    if "requestBody" in ep.doc:   # a body that is not JSON (a file): malformed, too large
        codes |= {"400", "413", "422"}
    if params or (ep.roles is not None and not _is_list(ep)):
        codes.add("404")    # an id that names nothing; the caller's own one not made yet
    if ep.method != "GET":
        codes.add("409")
    if ep.keyed:   # a malformed key; the same key with another request
        codes |= {"400", "409", "422"}
    if ep.limit:
        codes.add("429")
    return sorted(codes)


def _money(self, field, **kwargs):
    return {k: v for k, v in MONEY.items() if k != "type"} if isinstance(field, Money) else {}


def _words(ep, container):
    """The handler's docstring: its first paragraph the summary, the rest
    the description."""
    doc = inspect.getdoc(getattr(container.service_cls, ep.method_name, None)) or ""
    first, _, rest = doc.partition("\n\n")
    summary = ep.summary or " ".join(first.split()) or \
        ep.method_name.replace("_", " ").capitalize()
    return summary, rest.strip()


def security_schemes(token_url):
    return {
        "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                   "description": "An EdDSA JWT from POST /oauth/token (or an admin create); "
                                  "the admin's is the operator's FASTTRACK_ADMIN_TOKEN"},
        "oauth2": {"type": "oauth2", "description": "RFC 6749 password grant",
                   "flows": {"password": {"tokenUrl": token_url, "refreshUrl": token_url,
                                          "scopes": {}}}}}


def openapi(container, title, token_url=None):
    """The service's OpenAPI 3.1 document. `token_url`: where tokens are had
    (intake's own route; the front door's for the others)."""
    name = container.service_name
    token_url = token_url or (TOKEN_URL if name == "intake"
                              else PREFIXES["intake"] + TOKEN_URL)
    plugin = MarshmallowPlugin()
    spec = APISpec(title=title, version="1.0.0", openapi_version=VERSION, plugins=[plugin],
                   info={"description": (
                       "Every error is an RFC 9457 problem (application/problem+json). "
                       "Lists answer `items` and `next`: pass `next` back as `after`. "
                       "Money is a decimal string. Each operation names its roles "
                       "(`x-roles`).")})
    plugin.map_to_openapi_type(Money, "string", None)
    assert plugin.converter is not None     # made by APISpec(plugins=…)
    plugin.converter.add_attribute_function(_money)
    for scheme, body in security_schemes(token_url).items():
        spec.components.security_scheme(scheme, body)
    spec.components.schema("Problem", schema=ErrorOut)
    spec.components.schema("OAuthError", schema=OAuthErrorOut)
    used = set()
    for ep in sorted((e for e in container.entrypoints if isinstance(e, JsonHttp)),
                     key=lambda e: (e.url, e.method)):
        if ep.url in HIDDEN:
            continue
        url = ep.url.replace("<", "{").replace(">", "}")
        params = [{"in": "path", "name": p.split("{")[-1], "required": True,
                   "schema": {"type": "string"}}
                  for p in url.split("}") if "{" in p]
        op = operation(ep, container, params)
        used.add(op["tags"][0])
        spec.path(path=url, operations={ep.method.lower(): op})
    doc = ecma_patterns(spec.to_dict())
    doc["tags"] = [{"name": t, "description": d} for t, d in TAGS.items() if t in used]
    return doc


def operation(ep, container, params):
    ok: dict[str, Any] = {"description": "OK"}
    answer = ep.answer_schema or ANSWERS.get(ep.url)
    if isinstance(answer, tuple):   # one view per role
        ok["content"] = {"application/json": {"schema": {"anyOf": list(answer)}}}
    elif answer:
        ok["content"] = {"application/json": {"schema": answer}}
    elif ep.url in NOT_JSON:
        ok["content"] = NOT_JSON[ep.url]
    elif ep.url.endswith("/export"):
        ok["content"] = EXPORT
    else:   # the document itself
        ok["content"] = {"application/json": {"schema": {"type": "object"}}}
    if _is_page(ep):
        ok["headers"] = {"Link": LINK}
    summary, description = _words(ep, container)
    op: dict[str, Any] = {"operationId": ep.method_name, "summary": summary,
                          "tags": [tag_of(ep.url)], "responses": {str(ep.status): ok}}
    for code in errors_of(ep, params):
        op["responses"][code] = {"description": ERRORS[code], "content": {PROBLEM_JSON: {
            "schema": "Problem", "example": problem_example(code)}}}
    if "429" in op["responses"]:
        op["responses"]["429"]["headers"] = {"Retry-After": RETRY_AFTER}
    if ep.status == 201:  # an idempotent repeat answers the same thing with 200
        op["responses"]["200"] = copy.deepcopy(ok)
    if ep.oauth:    # RFC 6749's own error shape; only an unreachable database is a problem
        ok["content"] = {"application/json": {"schema": OAuthTokenOut}} \
            if ep.url.endswith("/token") else {"application/json": {"schema": {
                "type": "object"}}}
        op["responses"] = {"200": ok, "400": {
            "description": "RFC 6749 error", "content": {
                "application/json": {"schema": "OAuthError"}}},
            "503": {"description": ERRORS["503"], "content": {PROBLEM_JSON: {
                "schema": "Problem", "example": problem_example("503")}}}}
        if ep.url.endswith("/token"):   # client_credentials: an unknown or revoked key
            op["responses"]["401"] = {"description": "RFC 6749 invalid_client",
                                      "content": {"application/json": {
                                          "schema": "OAuthError"}}}
        op["requestBody"] = {"required": True, "content": {
            "application/x-www-form-urlencoded": {"schema": OAuthTokenForm}}}
    if ep.body_schema:
        body: dict[str, Any] = {"schema": ep.body_schema}
        if ep.method_name in EXAMPLES:
            body["example"] = EXAMPLES[ep.method_name]
        op["requestBody"] = {"required": True, "content": {"application/json": body}}
    for key, value in ep.doc.items():   # a body or an answer that is not JSON
        if key == "responses":
            op["responses"].update(value)
        else:   # a copy: the parameters below are added to it
            op[key] = list(value) if isinstance(value, list) else value
    if ep.query_schema:
        # Before any the route's doc names (a file upload's Idempotency-Key).
        op["parameters"] = [{"in": "query", "schema": ep.query_schema},
                            *op.get("parameters", [])]
    if ep.keyed:
        op.setdefault("parameters", []).append(idempotency_key.HEADER)
    if ep.roles is not None:
        op["security"] = [{"bearer": []}, {"oauth2": []}]
        roles = ", ".join(ep.roles)
        description = f"{description}\n\nRoles: {roles}." if description else f"Roles: {roles}."
        op["x-roles"] = list(ep.roles)
        if auth.PERMISSIONS[ep.action].key_scope:   # what a company's API key needs
            op["x-api-key-scope"] = auth.PERMISSIONS[ep.action].key_scope
    else:
        op["security"] = []   # public: no token is read
    if description:
        op["description"] = description
    if params:
        op.setdefault("parameters", []).extend(params)
    return op


def _answers(ep):
    answers = ep.answer_schema if isinstance(ep.answer_schema, tuple) else (ep.answer_schema,)
    return [a for a in answers if a is not None]


def _is_list(ep):
    return any("items" in a._declared_fields for a in _answers(ep))


def _is_page(ep):
    """A list answers a page: `next` in its answer, `after` in its query."""
    return any("next" in a._declared_fields for a in _answers(ep)) or (
        ep.query_schema is not None and "after" in ep.query_schema._declared_fields)


# -- one document for the three services ---------------------------------------
def merged(documents, title="FastTrack"):
    """The services' documents as one, their paths under the front door's
    prefixes ({service name: document}). A schema two services name alike
    but define differently is renamed for the later one (`CaseSupervision…`); an
    operationId two services share (health, metrics …) gets its service's
    name in front, so every operationId stays unique."""
    shared_ids: dict[str, int] = {}
    for doc in documents.values():
        for op in _operations(doc):
            shared_ids[op["operationId"]] = shared_ids.get(op["operationId"], 0) + 1
    out: dict[str, Any] = {
        "openapi": VERSION,
        "info": {"title": title, "version": "1.0.0", "description": (
            "The three services under one origin, as the front door routes them: "
            + ", ".join(f"`{p}/…` {n}" for n, p in PREFIXES.items())
            + ". " + next(iter(documents.values()))["info"].get("description", ""))},
        "paths": {}, "tags": [],
        "components": {"schemas": {},
                       "securitySchemes": security_schemes(PREFIXES["intake"] + TOKEN_URL)}}
    schemas = out["components"]["schemas"]
    for name, doc in documents.items():
        doc = copy.deepcopy(doc)
        renamed = {}
        for schema_name, schema in doc.get("components", {}).get("schemas", {}).items():
            if schema_name in schemas and schemas[schema_name] != _renamed(schema, {}):
                renamed[schema_name] = _camel(name) + schema_name
        for schema_name, schema in doc.get("components", {}).get("schemas", {}).items():
            schemas[renamed.get(schema_name, schema_name)] = _renamed(schema, renamed)
        for op in _operations(doc):
            if shared_ids[op["operationId"]] > 1:
                op["operationId"] = f"{name}_{op['operationId']}"
        for path, item in doc["paths"].items():
            out["paths"][PREFIXES[name] + path] = _renamed(item, renamed)
        for tag in doc.get("tags", []):
            if tag not in out["tags"]:
                out["tags"].append(tag)
    out["tags"].sort(key=lambda t: list(TAGS).index(t["name"]))
    return out


def _operations(doc):
    return [op for item in doc["paths"].values() for op in item.values()
            if isinstance(op, dict) and "operationId" in op]


def _camel(service):
    return "".join(part.capitalize() for part in service.split("_"))


def _renamed(value, renamed):
    """`value` with each $ref to a renamed schema pointing at its new name."""
    if isinstance(value, dict):
        out = {k: _renamed(v, renamed) for k, v in value.items()}
        ref = out.get("$ref")
        prefix = "#/components/schemas/"
        if isinstance(ref, str) and ref.startswith(prefix) and ref[len(prefix):] in renamed:
            out["$ref"] = prefix + renamed[ref[len(prefix):]]
        return out
    if isinstance(value, list):
        return [_renamed(v, renamed) for v in value]
    return value


def ecma_patterns(value):
    """Our validators' patterns anchor with Python's \\A and \\Z (shared/fields.py);
    JSON Schema reads patterns as ECMA-262, where those are ^ and $."""
    if isinstance(value, dict):
        out = {k: ecma_patterns(v) for k, v in value.items()}
        pattern = out.get("pattern")
        if isinstance(pattern, str):
            if pattern.startswith("\\A"):
                pattern = "^" + pattern[2:]
            if pattern.endswith("\\Z"):
                pattern = pattern[:-2] + "$"
            out["pattern"] = pattern
        return out
    if isinstance(value, list):
        return [ecma_patterns(v) for v in value]
    return value

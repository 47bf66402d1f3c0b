"""OpenAPI 3 for a service, generated from its JsonHttp entrypoints and their
marshmallow schemas (apispec), errors included, so clients and schemathesis
see the same contract the code enforces."""
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import Schema, fields

from shared import auth, idempotency_key
from shared.http import JsonHttp


class ErrorBody(Schema):
    code = fields.String(required=True)
    message = fields.String(required=True)
    fields_ = fields.Dict(data_key="fields", required=True)


class ErrorOut(Schema):
    """An RFC 9457 problem (shared/http.problem)."""
    type = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String(required=True)
    instance = fields.String(required=True)
    code = fields.String(required=True)
    fields_ = fields.Dict(data_key="fields", required=True)
    error = fields.Nested(ErrorBody, required=True)   # deprecated: the same, as before


class OAuthErrorOut(Schema):
    """An error of an OAuth 2.0 endpoint, in RFC 6749 §5.2's shape."""
    error = fields.String(required=True)
    error_description = fields.String()


class OAuthTokenForm(Schema):
    """A token request (RFC 6749 §4.3, §4.4, §6): grant_type password with
    username and password, refresh_token with refresh_token, or
    client_credentials with an API key's client_id and client_secret (or
    those in HTTP Basic, §2.3.1) and an optional narrower scope; a
    revocation (RFC 7009) sends token."""
    grant_type = fields.String()
    username = fields.String()
    password = fields.String()
    refresh_token = fields.String()
    client_id = fields.String()
    client_secret = fields.String()
    scope = fields.String()
    token = fields.String()


class OAuthTokenOut(Schema):
    access_token = fields.String(required=True)
    token_type = fields.String(required=True)
    expires_in = fields.Integer(required=True)
    refresh_token = fields.String()     # not for client_credentials
    scope = fields.String()             # an API key's token: read or write


ERRORS = {"400": "malformed request", "401": "no valid token", "403": "not for this role",
          "404": "no such resource", "409": "conflicts with the current state",
          "413": "body too large", "422": "does not validate",
          "503": "the database or broker does not answer; nothing was changed"}


def openapi(container, title):
    spec = APISpec(title=title, version="1.0.0", openapi_version="3.0.3",
                   plugins=[MarshmallowPlugin()])
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    spec.components.schema("Error", schema=ErrorOut)
    error = {"application/problem+json": {"schema": "Error"}}
    spec.components.schema("OAuthError", schema=OAuthErrorOut)
    for ep in sorted((e for e in container.entrypoints if isinstance(e, JsonHttp)),
                     key=lambda e: (e.url, e.method)):
        ok: dict[str, Any] = {"description": "OK"}
        if isinstance(ep.answer_schema, tuple):   # one view per role
            ok["content"] = {"application/json": {"schema": {
                "anyOf": list(ep.answer_schema)}}}
        elif ep.answer_schema:
            ok["content"] = {"application/json": {"schema": ep.answer_schema}}
        op: dict[str, Any] = {
            "summary": ep.summary or ep.method_name.replace("_", " "),
            "responses": {str(ep.status): ok, **{
                code: {"description": text, "content": error}
                for code, text in ERRORS.items()}}}
        if ep.oauth:    # RFC 6749's own error shape; only an unreachable database is a problem
            ok["content"] = {"application/json": {"schema": OAuthTokenOut}} \
                if ep.url.endswith("/token") else {"application/json": {"schema": {
                    "type": "object"}}}
            op["responses"] = {"200": ok, "400": {
                "description": "RFC 6749 error", "content": {
                    "application/json": {"schema": "OAuthError"}}},
                "503": {"description": ERRORS["503"], "content": error}}
            if ep.url.endswith("/token"):   # client_credentials: an unknown or revoked key
                op["responses"]["401"] = {"description": "RFC 6749 invalid_client",
                                          "content": {"application/json": {
                                              "schema": "OAuthError"}}}
            op["requestBody"] = {"required": True, "content": {
                "application/x-www-form-urlencoded": {"schema": OAuthTokenForm}}}
        if ep.status == 201:  # an idempotent repeat answers the same thing with 200
            op["responses"]["200"] = ok
        if ep.body_schema:
            op["requestBody"] = {"required": True, "content": {
                "application/json": {"schema": ep.body_schema}}}
        for key, value in ep.doc.items():
            if key == "responses":
                op["responses"].update(value)
            else:
                op[key] = value
        if ep.query_schema:
            op["parameters"] = [{"in": "query", "schema": ep.query_schema}]
        if ep.keyed:
            op.setdefault("parameters", []).append(idempotency_key.HEADER)
        if ep.roles is not None:
            op["security"] = [{"bearer": []}]
            op["description"] = f"Roles: {', '.join(ep.roles)}."
            op["x-roles"] = list(ep.roles)
            if auth.PERMISSIONS[ep.action].key_scope:   # what a company's API key needs
                op["x-api-key-scope"] = auth.PERMISSIONS[ep.action].key_scope
        url = ep.url.replace("<", "{").replace(">", "}")
        params = [{"in": "path", "name": p.split("{")[-1], "required": True,
                   "schema": {"type": "string"}}
                  for p in url.split("}") if "{" in p]
        if params:
            op.setdefault("parameters", []).extend(params)
        spec.path(path=url, operations={ep.method.lower(): op})
    return spec.to_dict()



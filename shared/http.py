"""HTTP for every service: one JSON error format, strict JSON bodies,
authentication before the worker runs, OpenAPI from the schemas, and the
/health, /metrics and /openapi.json routes every service serves.

An entrypoint is declared as

    @api("POST", "/reports", roles=("company",), body=ReportIn, answer=ReportOut, status=201)
    def file_report(self, call): ...

and receives a `Call` (principal, loaded body and query, raw request); it
returns the answer's data, or (status, data).
"""
import json
import logging
import re
import time
from dataclasses import dataclass
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from kombu import Connection
from marshmallow import RAISE, Schema, ValidationError, fields, validate
from nameko.extensions import DependencyProvider
from nameko.timer import timer
from nameko.web.handlers import HttpRequestHandler
from nameko.web.server import WebServer, WsgiApp
from pymongo.errors import ConnectionFailure
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.wrappers import Request, Response

from shared import auth
from shared.errors import ApiError, BadRequest, Forbidden, Invalid, TooLarge, Unavailable
from shared.fields import ShownTime
from shared.idempotency import InboxProvider
from shared.mongo import Mongo

REQUESTS = Counter("fasttrack_http_requests_total", "HTTP requests answered",
                   ["service", "route", "status"])
LATENCY = Histogram("fasttrack_http_request_seconds", "HTTP answer time",
                    ["service", "route"])
MAX_DEPTH = 32
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
log = logging.getLogger(__name__)


@dataclass
class Call:
    request: Any
    who: auth.Principal | None
    body: Any = None
    query: Any = None

    def header(self, name):
        return self.request.headers.get(name)


def json_response(status, data):
    return Response(json.dumps(data, ensure_ascii=False), status=status,
                    mimetype="application/json")


def _reject_constant(name):
    raise BadRequest(f"{name} is not a number JSON allows")


def _checked_object(pairs):
    obj = {}
    for key, value in pairs:
        # Mongo reads `$`-keys as operators and dots as paths: never store them.
        if key.startswith("$") or "." in key or "\x00" in key:
            raise BadRequest(f"field name {key[:64]!r} is not allowed")
        if key in obj:
            raise BadRequest(f"field {key[:64]!r} appears twice")
        obj[key] = value
    return obj


def _check_values(value, level=0):
    """Bounded depth, and no control characters but tab and newlines in text."""
    if level > MAX_DEPTH:
        raise BadRequest("the body is nested too deeply")
    if isinstance(value, dict):
        for v in value.values():
            _check_values(v, level + 1)
    elif isinstance(value, list):
        for v in value:
            _check_values(v, level + 1)
    elif isinstance(value, str) and CONTROL.search(value):
        raise BadRequest("text may not contain control characters")


def parse_json(raw):
    """Strict JSON: an object, no NaN/Infinity, no operator or dotted keys."""
    if not raw:
        raise BadRequest("a JSON body is required")
    try:
        data = json.loads(raw, object_pairs_hook=_checked_object,
                          parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        if isinstance(exc, ApiError):
            raise
        raise BadRequest("the body is not valid JSON")
    if not isinstance(data, dict):
        raise BadRequest("the body must be a JSON object")
    _check_values(data)
    return data


def load(schema_cls, data):
    try:
        return schema_cls().load(data)
    except ValidationError as exc:
        raise Invalid("the request does not validate", fields=exc.messages)


class JsonWsgiApp(WsgiApp):
    """nameko's WSGI app with JSON errors for unknown routes and methods too."""

    def __call__(self, environ, start_response):
        request = Request(environ, shallow=True)
        adapter = self.url_map.bind_to_environ(environ)
        try:
            provider, values = adapter.match()
            request.path_values = values
            response = provider.handle_request(request)
        except HTTPException as exc:
            code = (exc.name or "error").lower().replace(" ", "_")
            response = json_response(exc.code, {"error": {
                "code": code, "message": exc.description or exc.name, "fields": {}}})
        return response(environ, start_response)


class JsonWebServer(WebServer):
    def get_wsgi_app(self):
        return JsonWsgiApp(self)


class JsonHttp(HttpRequestHandler):
    server = JsonWebServer()

    def __init__(self, method, url, roles=None, body=None, query=None,
                 answer=None, status=200, summary=None, **kwargs):
        self.roles = roles          # None: public route
        self.body_schema = body
        self.query_schema = query
        self.answer_schema = answer
        self.status = status
        self.summary = summary
        # A 4xx is the caller's mistake: nameko logs it as a warning, not an error.
        kwargs.setdefault("expected_exceptions", ApiError)
        super().__init__(method, url, **kwargs)

    def get_entrypoint_parameters(self, request):
        config = self.container.config
        who = None
        if self.roles is not None:
            who = auth.authenticate(request.headers.get("Authorization"),
                                    config.get("ADMIN_TOKEN"), config["SIGNING_KEY"])
            if who.role not in self.roles:
                raise Forbidden(f"the {who.role} role may not do this")
        call = Call(request, who)
        if self.body_schema is not None:
            request.max_content_length = int(config.get("MAX_BODY_BYTES") or 65536)
            try:
                raw = request.get_data(cache=True)
            except RequestEntityTooLarge:
                raise TooLarge("the body is too large")
            call.body = load(self.body_schema, parse_json(raw))
        if self.query_schema is not None:
            call.query = load(self.query_schema, request.args.to_dict())
        return (call,), request.path_values

    def handle_request(self, request):
        started = time.perf_counter()
        response = super().handle_request(request)
        name = self.container.service_name
        REQUESTS.labels(name, self.url, response.status_code).inc()
        LATENCY.labels(name, self.url).observe(time.perf_counter() - started)
        return response

    def response_from_result(self, result):
        if isinstance(result, Response):
            return result
        status, data = result if isinstance(result, tuple) else (self.status, result)
        if self.answer_schema is not None:
            data = self.answer_schema().dump(data)
        return json_response(status, data)

    def response_from_exception(self, exc):
        if isinstance(exc, ApiError):
            return json_response(exc.status, exc.to_dict())
        if isinstance(exc, RequestEntityTooLarge):
            return json_response(413, TooLarge("the body is too large").to_dict())
        if isinstance(exc, ConnectionFailure):
            # Every change is one document write: when it could not be made,
            # nothing was changed, and the same request can simply be sent again.
            return json_response(503, Unavailable(
                "the database does not answer; nothing was changed, try again").to_dict())
        log.error("unhandled error on %s %s", self.method, self.url, exc_info=exc)
        return json_response(500, {"error": {"code": "internal", "fields": {},
                                             "message": "internal error"}})


api = JsonHttp.decorator


class ErrorBody(Schema):
    code = fields.String(required=True)
    message = fields.String(required=True)
    fields_ = fields.Dict(data_key="fields", required=True)


class ErrorOut(Schema):
    error = fields.Nested(ErrorBody, required=True)


ERRORS = {"400": "malformed request", "401": "no valid token", "403": "not for this role",
          "404": "no such resource", "409": "conflicts with the current state",
          "413": "body too large", "422": "does not validate",
          "503": "the database or broker does not answer; nothing was changed"}


def openapi(container, title):
    spec = APISpec(title=title, version="1.0.0", openapi_version="3.0.3",
                   plugins=[MarshmallowPlugin()])
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    spec.components.schema("Error", schema=ErrorOut)
    error = {"application/json": {"schema": "Error"}}
    for ep in sorted((e for e in container.entrypoints if isinstance(e, JsonHttp)),
                     key=lambda e: (e.url, e.method)):
        ok = {"description": "OK"}
        if ep.answer_schema:
            ok["content"] = {"application/json": {"schema": ep.answer_schema}}
        op = {"summary": ep.summary or ep.method_name.replace("_", " "),
              "responses": {str(ep.status): ok, **{
                  code: {"description": text, "content": error}
                  for code, text in ERRORS.items()}}}
        if ep.status == 201:  # an idempotent repeat answers the same thing with 200
            op["responses"]["200"] = ok
        if ep.body_schema:
            op["requestBody"] = {"required": True, "content": {
                "application/json": {"schema": ep.body_schema}}}
        if ep.query_schema:
            op["parameters"] = [{"in": "query", "schema": ep.query_schema}]
        if ep.roles is not None:
            op["security"] = [{"bearer": []}]
        url = ep.url.replace("<", "{").replace(">", "}")
        params = [{"in": "path", "name": p.split("{")[-1], "required": True,
                   "schema": {"type": "string"}}
                  for p in url.split("}") if "{" in p]
        if params:
            op.setdefault("parameters", []).extend(params)
        spec.path(path=url, operations={ep.method.lower(): op})
    return spec.to_dict()


class Health(DependencyProvider):
    """Checks that the service's database and broker answer now."""

    def start(self):
        self.mongo = next(d for d in self.container.dependencies if isinstance(d, Mongo))

    def get_dependency(self, worker_ctx):
        return self

    def check(self):
        problems = {}
        try:
            self.mongo.ping()
        except Exception as exc:
            problems["database"] = type(exc).__name__
        try:
            with Connection(self.container.config["AMQP_URI"], connect_timeout=2) as conn:
                conn.ensure_connection(max_retries=1, timeout=2)
        except Exception as exc:
            problems["broker"] = type(exc).__name__
        return problems


class FailureOut(Schema):
    id = fields.String(attribute="_id")
    handler = fields.String()
    event_id = fields.String()
    type = fields.String()
    status = fields.String()
    attempts = fields.Integer()
    last_error = fields.String()
    received_at = ShownTime()
    next_attempt_at = ShownTime()


class FailureQuery(Schema):
    class Meta:
        unknown = RAISE

    status = fields.String(validate=validate.OneOf(("failed", "dead")))


class FailureList(Schema):
    items = fields.List(fields.Nested(FailureOut))


class ServiceBase:
    """What every service has: health, metrics, OpenAPI, the inbox of
    consumed events and its failures; mixed into each service class."""

    health = Health()
    inbox = InboxProvider()

    @api("GET", "/health")
    def get_health(self, call):
        problems = self.health.check()
        if problems:
            raise Unavailable("a dependency does not answer", fields=problems)
        return {"status": "ok", "service": self.name}

    @api("GET", "/metrics")
    def get_metrics(self, call):
        return Response(generate_latest(), mimetype=CONTENT_TYPE_LATEST)

    @api("GET", "/openapi.json")
    def get_openapi(self, call):
        return openapi(self.health.container, f"FastTrack {self.name}")

    @api("GET", "/admin/failures", roles=("admin",), query=FailureQuery, answer=FailureList)
    def list_failures(self, call):
        """Event handlers that failed (retrying) or gave up (dead letters)."""
        return {"items": self.inbox.failures(call.query.get("status"))}

    @timer(interval=2)
    def retry_failed_events(self):
        self.inbox.retry_due()

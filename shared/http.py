"""HTTP for every service: one JSON error format, strict JSON bodies, and
authentication before the worker runs (the routes every service serves are
in shared/base.py, the OpenAPI document in shared/openapi.py).

An entrypoint is declared as

    @api("POST", "/reports", action="report.file", body=ReportIn, answer=ReportOut, status=201)
    def file_report(self, call): ...

and receives a `Call` (principal, loaded body and query, raw request); it
returns the answer's data, or (status, data).

Errors are raised in English and told here in the caller's language
(shared/language.py): its Accept-Language, else the language its token
carries, else zh-CN. Only `message` and the `fields` texts change; `code`
never does.
"""
import json
import logging
import re
import time
from dataclasses import dataclass
from typing import Any

from marshmallow import ValidationError
from nameko.web.handlers import HttpRequestHandler
from nameko.web.server import WebServer, WsgiApp
from pymongo.errors import ConnectionFailure
from prometheus_client import Counter, Histogram
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.wrappers import Request, Response

from shared import auth, clock, idempotency_key, jwks, language, pages, ratelimit, remote
from shared.errors import ApiError, BadRequest, Invalid, TooLarge, Unavailable
from shared.fields import SURROGATE, schema
from shared.mongo import Mongo

REQUESTS = Counter("fasttrack_http_requests_total", "HTTP requests answered",
                   ["service", "route", "status"])
LATENCY = Histogram("fasttrack_http_request_seconds", "HTTP answer time",
                    ["service", "route"])
MAX_DEPTH = 32
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
log = logging.getLogger(__name__)


@dataclass(repr=False)
class Call:
    request: Any
    who: auth.Principal             # auth.ANONYMOUS on a public route
    body: Any = None
    query: Any = None
    key: Any = None     # shared.idempotency_key.Key of a keyed route, when the client sent one

    def __repr__(self):
        # nameko logs a worker's arguments with an expected error: the body
        # may hold a password or an invite, and never reaches a log.
        return f"<Call {self.request.method} {self.request.path} by {self.who.role}>"


def json_response(status, data):
    return Response(json.dumps(data, ensure_ascii=False), status=status,
                    mimetype="application/json")


# RFC 9457: each kind of error is a problem type named by this URI plus its
# stable code (README "Errors" lists them).
PROBLEM_TYPE = "urn:fasttrack:problem:"
PROBLEM_JSON = "application/problem+json"


def problem(status, error, instance, lang):
    """An RFC 9457 problem: `type`, `title`, `status`, `detail`, `instance`,
    with our `code` and `fields` as extension members, and the earlier
    {"error": {code, message, fields}} kept for the clients written against
    it (deprecated)."""
    error = language.told(error, lang)
    return {"type": PROBLEM_TYPE + error["code"], "status": status,
            "title": language.say(HTTP_STATUS_CODES.get(status, "Error"), lang),
            "detail": error["message"], "instance": instance, "code": error["code"],
            "fields": error["fields"], "error": error}


def error_response(status, error, request, who=None):
    """An error's problem+json answer, its words in the caller's language
    (`who`: the principal, once the token was read)."""
    lang = language.chosen(request.headers.get("Accept-Language"),
                           getattr(who, "language", None))
    response = Response(json.dumps(problem(status, error, request.path, lang),
                                   ensure_ascii=False), status=status, mimetype=PROBLEM_JSON)
    response.headers["Content-Language"] = lang
    response.vary.add("Accept-Language")
    return response


@dataclass
class Refusal:
    """An error not yet put into words: JsonHttp.response_from_exception is
    not given the request, so handle_request tells it, in the caller's language."""
    status: int
    error: dict
    headers: Any = None     # e.g. Retry-After on a 429


def _reject_constant(name):
    raise BadRequest(f"{name} is not a number JSON allows")


def _checked_object(pairs):
    obj = {}
    for key, value in pairs:
        # Mongo reads `$`-keys as operators and dots as paths: never store them.
        if key.startswith("$") or "." in key or "\x00" in key or SURROGATE.search(key):
            raise BadRequest(f"field name {key[:64]!r} is not allowed")
        if key in obj:
            raise BadRequest(f"field {key[:64]!r} appears twice")
        obj[key] = value
    return obj


def _check_values(value, level=0, where="body"):
    """Bounded depth; text with no control characters but tab and newlines,
    and no lone surrogate (JSON can spell "\\ud800"; no database can store it)."""
    if level > MAX_DEPTH:
        raise BadRequest("the body is nested too deeply")
    if isinstance(value, dict):
        for k, v in value.items():
            _check_values(v, level + 1, k)
    elif isinstance(value, list):
        for v in value:
            _check_values(v, level + 1, where)
    elif isinstance(value, str):
        if CONTROL.search(value):
            raise BadRequest("text may not contain control characters",
                             {where: ["control characters are not allowed"]})
        if SURROGATE.search(value):
            raise BadRequest("text must be valid Unicode",
                             {where: ["a lone surrogate is not a character"]})


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
        return schema(schema_cls).load(data)
    except ValidationError as exc:
        raise Invalid("the request does not validate", fields=exc.messages)


class JsonWsgiApp(WsgiApp):
    """nameko's WSGI app with JSON errors for unknown routes and methods too."""

    def __call__(self, environ, start_response):
        request = Request(environ, shallow=True)
        adapter = self.url_map.bind_to_environ(environ)
        try:
            provider, values = adapter.match()
            request.path_values = values  # type: ignore[attr-defined]  # nameko reads it here
            response = provider.handle_request(request)
        except HTTPException as exc:
            # No route ran, so no token was read: the header's language or zh-CN.
            code = (exc.name or "error").lower().replace(" ", "_")
            response = error_response(exc.code, {
                "code": code, "message": exc.description or exc.name, "fields": {}}, request)
        return response(environ, start_response)


class JsonWebServer(WebServer):
    def get_wsgi_app(self):
        return JsonWsgiApp(self)


class JsonHttp(HttpRequestHandler):
    server = JsonWebServer()

    def __init__(self, method, url, action=None, body=None, query=None,
                 answer=None, status=200, summary=None, keyed=False, oauth=False, limit=None,
                 doc=None, **kwargs):
        self.action = action        # its roles: shared.auth.PERMISSIONS; None: public
        self.roles = auth.roles_for(action) if action else None
        self.body_schema = body
        self.query_schema = query
        self.answer_schema = answer
        self.status = status
        self.summary = summary
        # Honours Idempotency-Key (shared/idempotency_key.py): True, the changed
        # document remembers it; idempotency_key.ANSWER, the answer is stored.
        self.keyed = keyed
        # An OAuth 2.0 endpoint (RFC 6749, 7009): a form in, its errors in
        # RFC 6749's shape (the handler answers them; services/intake/signin.py).
        self.oauth = oauth
        self.limit = limit          # its rate limit's name in policy/limits.yml
        # More of the route's OpenAPI operation (shared/openapi.py): a body
        # that is not JSON, answers that are not JSON, statuses beyond ERRORS.
        self.doc = doc or {}
        # A 4xx is the caller's mistake: nameko logs it as a warning, not an error.
        kwargs.setdefault("expected_exceptions", ApiError)
        super().__init__(method, url, **kwargs)

    def _token_keys(self):
        """The service's public keys (shared/jwks.py): intake's own store, or
        the JWK set intake publishes."""
        return next(d for d in self.container.dependencies if isinstance(d, jwks.TokenKeys))

    def _rate_limits(self):
        return next(d for d in self.container.dependencies if isinstance(d, ratelimit.RateLimits))

    def _break_glass_used(self, request):
        """The operator's admin token was used: logged here (never the token),
        and told to any dependency that keeps an audit log (intake's
        services/intake/audit.py). Before the role check: a refused use counts
        too. A witness that cannot record refuses the request (its error)."""
        source = remote.source(request, self.container.config)
        log.warning("break-glass admin token used: %s %s from %s", request.method,
                    request.path, source)
        for dependency in self.container.dependencies:
            witness = getattr(dependency, "break_glass_used", None)
            if witness is not None:
                witness(request, source)

    def get_entrypoint_parameters(self, request):
        config = self.container.config
        who = auth.ANONYMOUS
        if self.roles is not None:
            who = auth.authenticate(request.headers.get("Authorization"),
                                    config.get("ADMIN_TOKEN"), self._token_keys())
            request.who = who   # an error's answer speaks its language
            if who.break_glass:
                self._break_glass_used(request)
            auth.require(who, self.action)
        if self.limit:  # before the body is read: a flood costs one counter write
            self._rate_limits().check(self.limit, who, request)
        call = Call(request, who)
        parsed = None
        if self.body_schema is not None:
            limit = int(config.get("MAX_BODY_BYTES") or 65536)
            request.max_content_length = limit
            chunked = "chunked" in request.headers.get("Transfer-Encoding", "").lower()
            if chunked:
                # eventlet decodes a chunked body and ends it, but does not say
                # so; without the flag werkzeug reads such a body as empty. Its
                # stream stops quietly at the limit: one byte more tells.
                request.environ["wsgi.input_terminated"] = True
                request.max_content_length = limit + 1
            try:
                raw = request.get_data(cache=True)
            except RequestEntityTooLarge:
                raise TooLarge("the body is too large")
            if chunked and len(raw) > limit:
                raise TooLarge("the body is too large")
            parsed = parse_json(raw)
            call.body = load(self.body_schema, parsed)
        if self.query_schema is not None:
            call.query = load(self.query_schema, request.args.to_dict())
        if self.keyed:  # a route without a body never reads one, whatever is sent
            call.key = idempotency_key.from_request(request, who, parsed)
        if self.keyed == idempotency_key.ANSWER and call.key is not None:
            answers = self._answers()
            idempotency_key.begin(answers, call.key, clock.now())   # or Replay, 409, 422
            request.answer_key = (answers, call.key)   # handle_request stores the answer
        return (call,), request.path_values

    def _answers(self):
        """This service's collection of stored answers (keyed=ANSWER routes)."""
        mongo = next(d for d in self.container.dependencies if isinstance(d, Mongo))
        assert mongo.db is not None, "a request before the service started"
        return mongo.db[idempotency_key.ANSWERS]

    def handle_request(self, request):
        started = time.perf_counter()
        response = super().handle_request(request)
        if isinstance(response, Refusal):
            refusal = response
            response = error_response(refusal.status, refusal.error, request,
                                      getattr(request, "who", None))
            response.headers.extend(refusal.headers or {})
        answer_key = getattr(request, "answer_key", None)
        if answer_key is not None:
            answers, key = answer_key
            idempotency_key.finish(answers, key, response)
        name = self.container.service_name
        REQUESTS.labels(name, self.url, response.status_code).inc()
        LATENCY.labels(name, self.url).observe(time.perf_counter() - started)
        return response

    def response_from_result(self, result):
        if isinstance(result, Response):
            return result
        status, data = result if isinstance(result, tuple) else (self.status, result)
        link = data.link() if isinstance(data, pages.Page) else None
        # A tuple names the views a handler chooses from by role: it dumped
        # the answer itself; the tuple is for the OpenAPI document.
        if self.answer_schema is not None and not isinstance(self.answer_schema, tuple):
            data = schema(self.answer_schema).dump(data)
        response = json_response(status, data)
        if link:
            response.headers["Link"] = link
        return response

    def response_from_exception(self, exc):
        if isinstance(exc, idempotency_key.Replay):
            answer = exc.answer
            response = Response(answer["body"], status=answer["status"],
                                mimetype=answer["mimetype"], headers=answer["headers"])
            response.headers["Idempotent-Replayed"] = "true"
            return response
        if isinstance(exc, RequestEntityTooLarge):
            exc = TooLarge("the body is too large")
        if isinstance(exc, ConnectionFailure):
            # Every change is one document write: when it could not be made,
            # nothing was changed, and the same request can simply be sent again.
            exc = Unavailable("the database does not answer; nothing was changed, try again")
        if isinstance(exc, ApiError):
            return Refusal(exc.status, exc.to_dict()["error"], exc.headers)
        log.error("unhandled error on %s %s", self.method, self.url, exc_info=exc)
        return Refusal(500, {"code": "internal", "fields": {}, "message": "internal error"})


api = JsonHttp.decorator

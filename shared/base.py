"""What every service class mixes in: /health, /metrics, /openapi.json, the
inbox of consumed events, its failures for admins, and its retry timer."""
from kombu import Connection
from marshmallow import Schema, fields, validate
from nameko.extensions import DependencyProvider
from nameko.timer import timer
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from werkzeug.utils import redirect
from werkzeug.wrappers import Response

from shared import docs_page, pages
from shared.errors import Unavailable
from shared.fields import ShownTime
from shared.http import api
from shared.inbox import InboxProvider
from shared.jwks import JwksKeys
from shared.mongo import Mongo
from shared.ratelimit import RateLimits
from shared.openapi import openapi
from shared.pages import PageQuery


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


class FailureQuery(PageQuery):
    status = fields.String(validate=validate.OneOf(("failed", "dead")))


class FailureList(Schema):
    items = fields.List(fields.Nested(FailureOut))
    next = fields.String(allow_none=True)


class ServiceBase:
    """What every service has: health, metrics, OpenAPI, the inbox of
    consumed events and its failures; mixed into each service class."""

    name: str   # the service class's nameko name

    health = Health()
    inbox = InboxProvider()
    # The public keys tokens are verified with: intake's JWK set, fetched and
    # cached (shared/jwks.py); intake itself overrides it with its key store.
    token_keys = JwksKeys()
    # Counters for the routes that name a rate limit (policy/limits.yml).
    rate_limits = RateLimits()

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

    # The docs page (shared/docs_page.py): /docs/ and its files, relative
    # links all, so the same page works behind the front door's prefix.
    @api("GET", "/docs")
    def get_docs_page(self, call):
        return redirect("docs/", 301)   # relative: kept under any prefix

    @api("GET", "/docs/")
    def get_docs_index(self, call):
        return docs_page.asset("index.html")

    @api("GET", "/docs/<name>")
    def get_docs_file(self, call, name):
        """The page's script and style, and the service's own document."""
        if name == "openapi.json":
            return self.get_openapi(call)
        return docs_page.asset(name)

    @api("GET", "/admin/failures", action="admin.read_failures", query=FailureQuery,
         answer=FailureList)
    def list_failures(self, call):
        """Event handlers that failed (retrying) or gave up (dead letters)."""
        found, nxt = self.inbox.failures(call.query.get("status"), call.query["limit"],
                                         call.query.get("after"))
        return pages.Page(call, found, nxt)

    @timer(interval=2)
    def retry_failed_events(self):
        self.inbox.retry_due()

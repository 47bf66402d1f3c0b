"""Rate limits: a flood from one principal or one address slows that one only.

A route names its limit (`@api(..., limit="report.file")`); policy/limits.yml
gives each limit a window and how many requests fit in it per principal and
per source address. Counts live in the service's own database — one counter
document per limit, key and window, bumped by a single upsert — so every
instance of a service shares them, and a restart forgets nothing.

Over the limit is a 429 problem with `Retry-After` (the seconds left in the
window); the request is refused before its body is read or anything changes.
A fixed window lets a client send up to twice the limit across a window's
edge; for holding a flood that is close enough, and it costs one write.

Each process deletes the counters of windows gone by, once per window.
"""
import math
import time
from typing import Any

from marshmallow import fields
from nameko.extensions import DependencyProvider

from shared import remote
from shared.errors import TooMany
from shared.mongo import Mongo
from shared.policy import (PolicyError, PolicySchema, Table, dotted_name, load_policy,
                           policy_path, whole)

COUNTERS = "rate_limits"


class Limit(PolicySchema):
    window_seconds = whole(1, 86400, required=True)
    per_principal = whole(1)
    per_source = whole(1)


class LimitsPolicy(PolicySchema):
    version = whole(1, required=True)
    limits = Table(fields.Nested(Limit), keys=dotted_name, required=True)


class RateLimits(DependencyProvider):
    """The counters, for shared/http.py's routes that name a limit."""

    def __init__(self):
        self.policy: dict = {}
        self.db: Any = None
        self.cleaned: dict = {}
        self.proxies: tuple = ()

    def setup(self):
        config = self.container.config
        self.policy = load_policy(config, "limits", LimitsPolicy())["limits"]
        self.proxies = remote.trusted_networks(config.get("TRUSTED_PROXIES"))
        # A route naming a limit the file lacks stops the service at start,
        # not its first caller with a 500.
        named = {str(e.limit) for e in self.container.entrypoints if getattr(e, "limit", None)}
        missing = sorted(named - set(self.policy))
        if missing:
            raise PolicyError(policy_path(config, "limits"),
                              [(f"limits.{m}", "a route names this limit") for m in missing])

    def start(self):
        mongo = next(d for d in self.container.dependencies if isinstance(d, Mongo))
        self.db = mongo.db
        self.db[COUNTERS].create_index([("limit", 1), ("window", 1)])

    def get_dependency(self, worker_ctx):
        return self

    def check(self, limit, who, request, now=None):
        """Count this request; TooMany (429) when it is over either limit."""
        rule = self.policy.get(limit)
        if rule is None:
            raise KeyError(f"policy/limits.yml names no limit {limit!r}")
        now = time.time() if now is None else now
        span = rule["window_seconds"]
        window = int(now // span)
        self._clean(limit, window)
        retry_after = max(1, math.ceil((window + 1) * span - now))
        keys = []
        if rule.get("per_principal") and who.subject:
            keys.append(("principal", who.subject, rule["per_principal"]))
        if rule.get("per_source"):
            source = remote.source_address(request.remote_addr,
                                           request.headers.get("X-Forwarded-For"), self.proxies)
            keys.append(("source", source, rule["per_source"]))
        for kind, key, allowed in keys:
            counter = f"{limit}|{kind}|{key}|{window}"
            self.db[COUNTERS].update_one(
                {"_id": counter}, {"$inc": {"n": 1}, "$setOnInsert": {
                    "limit": limit, "window": window}}, upsert=True)
            count = self.db[COUNTERS].find_one({"_id": counter}, {"n": 1})["n"]
            if count > allowed:
                raise TooMany("too many requests; try again later",
                              retry_after=retry_after)

    def _clean(self, limit, window):
        if self.cleaned.get(limit) != window:
            self.cleaned[limit] = window
            self.db[COUNTERS].delete_many({"limit": limit, "window": {"$lt": window - 1}})

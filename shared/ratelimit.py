"""Rate limits: a flood from one principal or one address slows that one only.

A route names its limit (`@api(..., limit="report.file")`); policy/limits.yml
gives each limit a window, how many requests fit in it per principal and per
source address, and how many of them may come at once (`burst`, the whole
window's worth unless said). The counting is GCRA, the generic cell rate
algorithm (a leaky bucket kept as one time): a key's "theoretical arrival
time" moves a fair share of the window on with each request admitted, and a
request is refused while that time is more than the burst ahead of now. So a
client at its limit's pace is never refused, a flood is admitted at exactly
that pace — evenly, not a window's worth at each window's start, and never
twice the limit across a window's edge — and Retry-After says when the next
request will fit.

The times live in the service's own database, one document per limit and
key, moved by conditional updates, so every instance of a service shares
them and a restart forgets nothing. A request's keys (its principal's, its
address's) move in one ordered command, a conditional upsert each (issue
19: two to four round trips a filing before): the first that refuses stops
it, so a refusal by the principal's limit costs its address nothing. A
refusal is also remembered in the process until the time it names: a key's
time only ever moves on, so while it is remembered the database would
refuse too, and a flood's refusals cost no database work at all.

Over the limit is a 429 problem with `Retry-After`; the request is refused
before its body is read or anything changes. Each process deletes the
documents of keys idle long enough to be as good as absent, once a minute.
"""
import math
import time
from typing import Any

from marshmallow import ValidationError, fields, validates_schema
from nameko.extensions import DependencyProvider
from pymongo import UpdateOne
from pymongo.errors import BulkWriteError

from shared import remote
from shared.errors import TooMany
from shared.mongo import Mongo
from shared.policy import (PolicyError, PolicySchema, Table, dotted_name, load_policy,
                           policy_path, whole)

COUNTERS = "rate_limits"
CLEAN_EVERY = 60     # seconds between one process's sweeps of idle keys
DUPLICATE_KEY = 11000


class Limit(PolicySchema):
    window_seconds = whole(1, 86400, required=True)
    per_principal = whole(1)
    per_source = whole(1)
    burst = whole(1)     # at most this many at once; the window's count unless said

    @validates_schema
    def _burst_within_the_window(self, data, **kwargs):
        count = data.get("per_principal") or data.get("per_source")
        if data.get("burst") and count and data["burst"] > count:
            raise ValidationError("must not be above the window's count", "burst")


class LimitsPolicy(PolicySchema):
    version = whole(1, required=True)
    limits = Table(fields.Nested(Limit), keys=dotted_name, required=True)


def pace(rule, allowed):
    """(interval, tolerance) of a key allowed `allowed` a window: each request
    moves its time on by the interval, and up to its burst fit at once. The
    policy's burst is the principal's (or, without one, the address's); an
    address's is the same share of its count."""
    interval = rule["window_seconds"] / allowed
    burst = allowed
    if rule.get("burst"):
        count = rule.get("per_principal") or rule["per_source"]
        burst = max(1, min(allowed, round(rule["burst"] * allowed / count)))
    return interval, (burst - 1) * interval


def admits(tat, now, interval, tolerance):
    """GCRA: a request at `now` fits a key whose time is `tat` (None: unseen);
    its new time when it does, None when it does not. RateLimits._take asks
    the database the same (moved_on), and this when it refuses."""
    start = now if tat is None or tat < now else tat
    return start + interval if start - now <= tolerance else None


def moved_on(key, now, interval, tolerance):
    """admits() as one conditional upsert: a key unseen or within the
    tolerance moves on from its time or now, whichever is later; one
    further ahead fails to match, and its upsert with a duplicate key."""
    return UpdateOne({"_id": key, "tat": {"$not": {"$gt": now + tolerance}}},
                     [{"$set": {"tat": {"$add": [{"$max": ["$tat", now]}, interval]}}}],
                     upsert=True)


class RateLimits(DependencyProvider):
    """The limits, for shared/http.py's routes that name one."""

    def __init__(self):
        self.policy: dict = {}
        self.db: Any = None
        self.refusing: dict = {}     # key -> until when the database refuses it
        self.cleaned_at = 0.0
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
        self.db[COUNTERS].create_index("tat")
        self.db[COUNTERS].delete_many({"tat": {"$exists": False}})   # a fixed window's counters

    def get_dependency(self, worker_ctx):
        return self

    def check(self, limit, who, request, now=None):
        """Count this request; TooMany (429) when it is over either limit."""
        rule = self.policy.get(limit)
        if rule is None:
            raise KeyError(f"policy/limits.yml names no limit {limit!r}")
        now = time.time() if now is None else now
        self._clean(now)
        keys = []
        if rule.get("per_principal") and who.subject:
            keys.append((f"{limit}|principal|{who.subject}", rule["per_principal"]))
        if rule.get("per_source"):
            source = remote.source_address(request.remote_addr,
                                           request.headers.get("X-Forwarded-For"), self.proxies)
            keys.append((f"{limit}|source|{source}", rule["per_source"]))
        wait = self._take([(key, *pace(rule, allowed)) for key, allowed in keys], now)
        if wait is not None:
            raise TooMany("too many requests; try again later",
                          retry_after=max(1, math.ceil(wait)))

    def _take(self, keys, now):
        """None when every key of `keys` [(key, interval, tolerance)] admits a
        request at `now` (their times moved on), else the seconds until the
        first that refuses will admit one."""
        if not keys:
            return None
        for key, _, _ in keys:
            until = self.refusing.get(key)
            if until is not None and now < until:
                return until - now
            self.refusing.pop(key, None)
        for _ in range(3):   # a key swept away, or made at once by another request
            try:
                self.db[COUNTERS].bulk_write([moved_on(key, now, interval, tolerance)
                                              for key, interval, tolerance in keys])
                return None
            except BulkWriteError as exc:
                error = exc.details["writeErrors"][0]
                if error["code"] != DUPLICATE_KEY:
                    raise
            # The upsert of keys[i] found its time too far ahead (or lost a
            # race to make it); the ones before it moved, the ones after not.
            keys = keys[error["index"]:]
            key, interval, tolerance = keys[0]
            found = self.db[COUNTERS].find_one({"_id": key}, {"tat": 1})
            if found is not None and admits(found["tat"], now, interval, tolerance) is None:
                self.refusing[key] = found["tat"] - tolerance   # when it admits again
                return found["tat"] - tolerance - now
        return None   # swept thrice over: it is idle, let the request by

    def _clean(self, now):
        """Forget idle keys: a time gone by admits like no document."""
        if now - self.cleaned_at >= CLEAN_EVERY:
            self.cleaned_at = now
            self.db[COUNTERS].delete_many({"tat": {"$lt": now - CLEAN_EVERY}})
            self.refusing = {k: u for k, u in self.refusing.items() if u > now}

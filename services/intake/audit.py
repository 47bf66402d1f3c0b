"""The audit log of every sign-in and account event: append-only.

One document per event in intake's collection `audit`: when (`at`), what
(`event`, e.g. "signin.succeeded"), who (`actor`: the account's username, or
"break-glass" for the operator's FASTTRACK_ADMIN_TOKEN), from where
(`source`: the client's address, shared/remote.py), about whom (`subject`)
and the event's own `detail`. This module only ever inserts: no code path
updates or deletes an audit row (tests/unit/test_guard.py reads the code to
hold that), so what happened stays as it was written.

Events: signin.succeeded, signin.failed, signin.lockout, refresh.reused,
token.revoked, password.set, password.changed, invite.created,
admin.created, second_factor.enrolled, second_factor.recovery_used,
break_glass.used.

Secrets never enter it: no password, code, token or TOTP secret is a
parameter here; a username someone typed is (it is what was attempted).
"""
import re

from nameko.extensions import DependencyProvider

from shared import clock, pages
from shared.mongo import Mongo

AUDIT = "audit"
ORDER = [("at", -1), ("_id", -1)]      # newest first; the id breaks ties
INDEXES: dict[str, list] = {AUDIT: [([("at", -1), ("_id", -1)], {}),
                                   ([("event", 1), ("at", -1), ("_id", -1)], {}),
                                   ([("actor", 1), ("at", -1), ("_id", -1)], {})]}
MAX_TEXT = 200     # a typed username or a path is kept, but bounded
# Whoever reads the log reads what an attacker typed as a username: no
# control characters (a forged line, a terminal escape) reach them.
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _short(value):
    return CONTROL.sub("?", value[:MAX_TEXT]) if isinstance(value, str) else value


def actor_of(principal):
    """Who acted: the account signed in, or the operator's break-glass token."""
    if principal.break_glass:
        return "break-glass"
    return principal.account or principal.subject


def record(db, event, *, actor, source, subject=None, **detail):
    """Append one event to the log (db: intake's pymongo Database)."""
    db[AUDIT].insert_one({"_id": clock.new_id(), "at": clock.now(), "event": event,
                          "actor": _short(actor), "source": _short(source),
                          "subject": _short(subject),
                          "detail": {k: _short(v) for k, v in detail.items()}})


def page(db, query, limit, after):
    """One page of the log, newest first, and the next page's cursor."""
    where = {k: query[k] for k in ("event", "actor") if query.get(k)}
    return pages.read(db[AUDIT], where, ORDER, limit, after, "audit")


class BreakGlassWitness(DependencyProvider):
    """Audits each use of the operator's admin token, which shared/http.py
    reports before the route runs (a refused use too). Should the row not
    be written, the request fails with the database's error: an
    unaudited break-glass use does not happen."""

    def break_glass_used(self, request, source):
        mongo = next(d for d in self.container.dependencies if isinstance(d, Mongo))
        record(mongo.db, "break_glass.used", actor="break-glass", source=source,
               method=request.method, path=request.path)

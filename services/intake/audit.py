"""The audit log: who did what to which principal, when and from where.

A minimal stand-in with the one interface the routes use; the fuller,
append-only log (its reading route, its guarantees) replaces this module.
"""
from shared import clock

AUDIT = "audit"


def record(db, event, *, actor, source, subject=None, **detail):
    """Append one entry: `event` (e.g. "api_key.created"), `actor` (the acting
    principal's subject, or "break-glass"), `source` (the request's remote
    address), `subject` (whom or what it was done to) and any detail."""
    db[AUDIT].insert_one({"event": event, "actor": actor, "source": source,
                          "subject": subject, "detail": detail, "at": clock.now()})

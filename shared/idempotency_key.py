"""Idempotency-Key on the routes that change one report or case.

A client whose answer was lost (a timeout, a dropped connection, a 503)
sends the same request again with the same key: the first effect is found
and nothing happens twice. The document remembers its last KEEP keys in
the same conditional write as the change itself, so a change and the
memory of it cannot part. A key is the caller's own (scoped to its
principal); the same key with another request is a 409, as on POST /reports.
"""
import hashlib
import json
from dataclasses import dataclass

from shared.errors import BadRequest, Conflict

KEEP = 50          # keys remembered per document: retries come within minutes
MAX_KEY = 255
HEADER = {"in": "header", "name": "Idempotency-Key", "required": False,
          "description": "The same key with the same request answers without a second "
                         "effect; with another request, 409.",
          "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY}}


@dataclass(frozen=True)
class Key:
    key: str
    fingerprint: str


def from_request(request, who, body):
    """The request's key, or None when the client sent none. `body` is the
    parsed JSON body (None for a route that takes none): the same request
    is the same route and the same JSON, whatever its key order or spacing."""
    raw = request.headers.get("Idempotency-Key")
    if raw is None:
        return None
    if not raw.strip() or len(raw) > MAX_KEY:
        raise BadRequest(f"Idempotency-Key must be 1 to {MAX_KEY} characters")
    key = _sha(f"{who.role}\0{who.subject}\0{raw}".encode())
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    fingerprint = _sha(f"{request.method} {request.path}\0{canonical}".encode())
    return Key(key, fingerprint)


def seen(doc, key):
    """True when this request already changed `doc`."""
    if key is None:
        return False
    for earlier in doc.get("requests", ()):
        if earlier["key"] == key.key:
            if earlier["fingerprint"] != key.fingerprint:
                raise Conflict("this Idempotency-Key was used with another request")
            return True
    return False


def remember(key, now):
    """The part of the change's update that remembers the key."""
    if key is None:
        return {}
    entry = {"key": key.key, "fingerprint": key.fingerprint, "at": now}
    return {"$push": {"requests": {"$each": [entry], "$slice": -KEEP}}}


def on_create(key, now):
    """The fields a created document carries for the key that created it:
    remembered like any other request's, and `idempotency_key` once more
    under a unique index, so that two creations with one key make one
    document."""
    if key is None:
        return {}
    return {"requests": [{"key": key.key, "fingerprint": key.fingerprint, "at": now}],
            "idempotency_key": key.key}


def same_creation(doc, key):
    """True when `doc` was created by this very request (its key and body);
    a Conflict when its key came with another body."""
    if seen(doc, key):
        return True
    # Reports created before the key was kept in `requests` kept its body's hash.
    if doc.get("body_hash") == key.fingerprint:
        return True
    raise Conflict("this Idempotency-Key was used with another request")


def _sha(data):
    return hashlib.sha256(data).hexdigest()

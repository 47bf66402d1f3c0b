"""Idempotency-Key (draft-ietf-httpapi-idempotency-key-header) on every
POST that creates or changes something.

A client whose answer was lost (a timeout, a dropped connection, a 503)
sends the same request again with the same key: the first effect is found
and nothing happens twice. A key is the caller's own (scoped to its
principal); the same key with another request is a 422, as the draft says.

Two ways, chosen per route (`keyed=` on @api):
- `keyed=True`, a route that changes one report or case: the document
  remembers its last KEEP keys in the same conditional write as the change
  itself, so a change and the memory of it cannot part; a retry answers
  the document as it is now. Two tries at once cannot both change it (the
  write is conditional), so there is no "still running" to report.
- `keyed=ANSWER`, any other route (admin creates, secret rotation, ledger
  resolve, replay …): the first answer is stored under the key, and a retry
  gets that very answer — a created officer's token and invite are never
  lost to a dropped connection. While the first try runs, a retry is a 409.
  A 5xx is not stored (nothing was done: try again with the same key).
"""
import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import timedelta

from pymongo.errors import DuplicateKeyError

from shared.errors import BadRequest, Conflict, Invalid

KEEP = 50          # keys remembered per document: retries come within minutes
MAX_KEY = 255
ANSWER = "answer"  # keyed=ANSWER: the route's first answer is stored under the key
ANSWERS = "idempotency_answers"
# A stored answer is replayed this long; it may hold a token or an invite,
# so it is kept no longer than a client's retries need.
ANSWER_KEPT = timedelta(hours=24)
# A first try that has not answered after this is taken to have died.
RUNNING_LEASE = timedelta(seconds=60)
INDEXES: dict[str, list] = {ANSWERS: [([("expires_at", 1)], {"expireAfterSeconds": 0})]}
REUSED = "this Idempotency-Key was used with another request"
HEADER = {"in": "header", "name": "Idempotency-Key", "required": False,
          "description": "The same key with the same request answers without a second "
                         "effect; with another request, 422; while the first request "
                         "with it still runs, 409.",
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
                raise Invalid(REUSED)
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
    remembered like any other request's, and `idempotency_key` once more:
    under a unique index where the collection has one (evidence, API keys),
    so that two creations with one key make one document; a report's id is
    made from the key instead (created_id)."""
    if key is None:
        return {}
    return {"requests": [{"key": key.key, "fingerprint": key.fingerprint, "at": now}],
            "idempotency_key": key.key}


def created_id(kind, key):
    """The id of the document a keyed creation of `kind` makes: the same key
    (a Key, or its stored hash), the same id, so the `_id` index alone
    refuses a second — no index of its own on the key, written by every
    write of the document (issue 19)."""
    hashed = key.key if isinstance(key, Key) else key
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"fasttrack:{kind}:{hashed}"))


def same_creation(doc, key):
    """True when `doc` was created by this very request (its key and body);
    a 422 when its key came with another body."""
    if seen(doc, key):
        return True
    # Reports created before the key was kept in `requests` kept its body's hash.
    if doc.get("body_hash") == key.fingerprint:
        return True
    raise Invalid(REUSED)


# -- keyed=ANSWER: the first answer, stored -----------------------------------
class Replay(Exception):
    """The stored answer of this key's first request (shared/http.py sends it)."""

    def __init__(self, answer):
        super().__init__("replayed")
        self.answer = answer


def begin(coll, key, now):
    """Claim the key for this request; a Replay of the stored answer, a 409
    while the first request runs, a 422 when the key came with another one."""
    running = {"_id": key.key, "fingerprint": key.fingerprint, "state": "running",
               "started_at": now, "expires_at": now + ANSWER_KEPT}
    try:
        coll.insert_one(running)
        return
    except DuplicateKeyError:
        earlier = coll.find_one({"_id": key.key})
    if earlier is None or earlier["expires_at"] <= now or (
            earlier["state"] == "running" and earlier["started_at"] <= now - RUNNING_LEASE):
        # Forgotten, or its first try died: this one takes the key over, if
        # no other retry took it first.
        taken = coll.replace_one({"_id": key.key, "started_at": earlier["started_at"]}
                                 if earlier else {"_id": key.key}, running,
                                 upsert=earlier is None)
        if taken.modified_count or taken.upserted_id:
            return
        earlier = coll.find_one({"_id": key.key}) or running
    if earlier["fingerprint"] != key.fingerprint:
        raise Invalid(REUSED)
    if earlier["state"] == "running":
        raise Conflict("a request with this Idempotency-Key is still being handled")
    raise Replay(earlier["answer"])


def finish(coll, key, response):
    """Store the answer for retries; a 5xx frees the key instead."""
    if response.status_code >= 500:
        coll.delete_one({"_id": key.key, "fingerprint": key.fingerprint, "state": "running"})
        return
    coll.update_one({"_id": key.key, "fingerprint": key.fingerprint, "state": "running"},
                    {"$set": {"state": "done", "answer": {
                        "status": response.status_code, "mimetype": response.mimetype,
                        "body": response.get_data(as_text=True),
                        "headers": {k: v for k, v in response.headers.items()
                                    if k in ("Content-Language", "Location", "Link")}}}})


def _sha(data):
    return hashlib.sha256(data).hexdigest()

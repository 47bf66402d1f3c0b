"""Intake's signing keys: the only private keys tokens are made with.

They live in intake's database, collection `signing_keys`, one document a
key: {_id: kid, private_key (PKCS#8 PEM), created_at, retired_at}. The
database, not files: every intake instance (DESIGN: more instances share
the work with no code change) must sign with the same key and publish the
same set, and the database is what they already share; no other service
reads intake's database.

- The newest key signs. The first start creates one.
- Rotation (`rotate`, POST /admin/signing-keys/rotate) adds a new key,
  which signs from then on, and marks the older ones retired. A retired key
  stays published (GET /.well-known/jwks.json) and verifying until the
  last token it can have signed has expired (retired_at + the token TTL),
  so rotation needs no downtime and logs nobody out.
- Two instances rotating or starting at once each add a key: both are
  published, the newest signs; nothing is lost.
"""
import threading
import time
from datetime import timedelta

import pymongo

from shared import auth, clock
from shared.jwks import TokenKeys
from shared.mongo import Mongo

COLLECTION = "signing_keys"
LEEWAY = timedelta(hours=1)     # a published key outlives its last token by this
RELOAD_MIN_SECONDS = 1.0        # an unknown kid rereads the store at most this often


def add_key(db, now):
    """A new signing key, stored; it signs from now on. The older ones retire."""
    key = auth.SigningKey.generate()
    db[COLLECTION].insert_one({"_id": key.kid, "private_key": key.pem(),
                               "public_jwk": key.jwk(), "created_at": now,
                               "retired_at": None})
    db[COLLECTION].update_many({"_id": {"$ne": key.kid}, "retired_at": None,
                                "created_at": {"$lte": now}},
                               {"$set": {"retired_at": now}})
    return key


def current_key(db):
    """The key that signs: the newest one (None before the first start)."""
    for doc in db[COLLECTION].find().sort([("created_at", pymongo.DESCENDING),
                                           ("_id", pymongo.DESCENDING)]).limit(1):
        return auth.SigningKey.from_pem(doc["private_key"])
    return None


def published_docs(db, now, ttl_days):
    """The keys whose tokens may still be valid: not retired, or retired
    less than a token's lifetime ago."""
    since = now - timedelta(days=ttl_days) - LEEWAY
    return list(db[COLLECTION].find({"$or": [{"retired_at": None},
                                             {"retired_at": {"$gt": since}}]},
                                    {"private_key": 0}).sort("created_at", pymongo.DESCENDING))


class SigningKeys(TokenKeys):
    """Intake's key store: signs tokens, publishes and verifies with its keys."""

    def setup(self):
        self.ttl_days = int(self.container.config.get("TOKEN_TTL_DAYS") or 365)
        self.keys = {}
        self.loaded_at = None
        self.lock = threading.Lock()

    def start(self):
        mongo = next(d for d in self.container.dependencies if isinstance(d, Mongo))
        assert mongo.db is not None, "the database is set up before any start"
        self.db = mongo.db
        if self.db[COLLECTION].find_one({}, {"_id": 1}) is None:
            add_key(self.db, clock.now())
        self._load()

    def _load(self):
        self.loaded_at = time.monotonic()
        self.keys = {doc["_id"]: auth.key_from_jwk(doc["public_jwk"])
                     for doc in published_docs(self.db, clock.now(), self.ttl_days)}

    def public_key(self, kid):
        key = self.keys.get(kid)
        if key is None:
            # Another instance may have rotated: reread, at most once a second.
            with self.lock:
                if self.loaded_at is None or time.monotonic() - self.loaded_at >= \
                        RELOAD_MIN_SECONDS:
                    self._load()
                key = self.keys.get(kid)
        return key

    def signing_key(self):
        key = current_key(self.db)
        if key is None:     # only if someone emptied the collection while running
            key = add_key(self.db, clock.now())
        return key

    def jwks(self):
        return {"keys": [doc["public_jwk"]
                         for doc in published_docs(self.db, clock.now(), self.ttl_days)]}

    def rotate(self):
        key = add_key(self.db, clock.now())
        self._load()
        return key

"""The public keys tokens are verified with, as a nameko dependency.

Every service has a `token_keys` dependency (shared/base.py) that the HTTP
entrypoints ask for the public key a token's `kid` names. Intake answers
from its own key store (services/intake/signing_keys.py); case_supervision
and notify from the JWK set intake publishes at /.well-known/jwks.json
(JWKS_URL), kept here:

- fetched on first need (intake may start after them), then cached;
- refetched when older than JWKS_MAX_AGE_SECONDS, so a key intake stopped
  publishing stops verifying here too;
- an unknown `kid` triggers one refetch; refetches are rate-limited per
  process (a token bucket: a burst of JWKS_REFRESH_BURST, then one per
  JWKS_REFRESH_MIN_SECONDS) however many unknown kids arrive, so a flood of
  made-up kids cannot hammer intake, while a rotation's new kid, arriving
  in ordinary times, always finds a fetch allowed; a kid still unknown
  after its refetch (or with no fetch allowed) is a 401;
- intake not answering: the cached keys go on verifying; with none cached
  yet, a 503 (nothing can be verified), never a 401.

These services hold no private key: they cannot mint a token.
"""
import json
import logging
import threading
import time

import requests
from nameko.extensions import DependencyProvider

from shared import auth
from shared.errors import Unavailable

DEFAULT_JWKS_URL = "http://127.0.0.1:8001/.well-known/jwks.json"
MAX_JWKS_BYTES = 256 * 1024
log = logging.getLogger(__name__)


class TokenKeys(DependencyProvider):
    """What the HTTP entrypoints verify tokens with (auth.PublicKeys)."""

    def get_dependency(self, worker_ctx):
        return self

    def public_key(self, kid):
        raise NotImplementedError


def parse_jwks(data):
    """{kid: public key} of a JWK set; keys not Ed25519 signing keys are skipped."""
    if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
        raise ValueError("not a JWK set")
    keys = {}
    for jwk in data["keys"]:
        key = auth.key_from_jwk(jwk)
        if key is not None:
            keys[jwk["kid"]] = key
    return keys


def fetch_jwks(url, timeout=5):
    with requests.get(url, timeout=(2, timeout), stream=True) as r:
        r.raise_for_status()
        body = r.raw.read(MAX_JWKS_BYTES + 1, decode_content=True)
    if len(body) > MAX_JWKS_BYTES:
        raise ValueError("the JWK set is too large")
    return parse_jwks(json.loads(body))


class JwksCache:
    """The cached JWK set and when to fetch it again (see the module doc)."""

    def __init__(self, fetch, min_refresh=1.0, max_age=300.0, clock=time.monotonic, burst=3):
        self.fetch = fetch
        self.min_refresh = min_refresh
        self.max_age = max_age
        self.clock = clock
        self.burst = burst
        self.allowance = float(burst)   # fetches allowed now (the bucket)
        self.refilled_at = None
        self.keys = {}
        self.fetched_at = None      # last successful fetch
        self.attempted_at = None    # last fetch, successful or not
        self.fetches = 0
        self.lock = threading.Lock()    # green under eventlet: one fetch at a time

    def _fresh(self, now):
        return self.fetched_at is not None and now - self.fetched_at < self.max_age

    def _may_fetch(self, now):
        if self.refilled_at is not None:
            refill = (now - self.refilled_at) / self.min_refresh if self.min_refresh else \
                self.burst
            self.allowance = min(float(self.burst), self.allowance + refill)
        self.refilled_at = now
        return self.allowance >= 1

    def public_key(self, kid):
        key = self.keys.get(kid)
        if key is not None and self._fresh(self.clock()):
            return key
        with self.lock:
            now = self.clock()
            key = self.keys.get(kid)
            if (key is None or not self._fresh(now)) and self._may_fetch(now):
                self._refresh(now)
                key = self.keys.get(kid)
            if self.fetched_at is None:
                raise Unavailable("the keys that verify tokens cannot be fetched from intake; "
                                  "try again")
            return key

    def _refresh(self, now):
        self.attempted_at = now
        self.allowance -= 1
        self.fetches += 1
        try:
            keys = self.fetch()
        except Exception as exc:
            log.warning("fetching the JWK set failed: %s", exc)
            return
        self.keys, self.fetched_at = keys, self.clock()


class JwksKeys(TokenKeys):
    """case_supervision's and notify's view of intake's public keys."""

    def setup(self):
        config = self.container.config
        url = config.get("JWKS_URL") or DEFAULT_JWKS_URL
        self.cache = JwksCache(lambda: fetch_jwks(url),
                               float(config.get("JWKS_REFRESH_MIN_SECONDS") or 1),
                               float(config.get("JWKS_MAX_AGE_SECONDS") or 300),
                               burst=int(config.get("JWKS_REFRESH_BURST") or 3))

    def public_key(self, kid):
        return self.cache.public_key(kid)

"""Company API keys' pure rules: their ids and secrets, their scopes, and
how a client proves itself at the token endpoint.

- A key is named by its id (`ftk_…`: the OAuth 2.0 client_id, not secret)
  and proved by its secret (`ftks_…`: 256 random bits), shown once when the
  key is made. Only the secret's SHA-256 is stored (accounts.digest), as for
  refresh tokens: a random secret of 256 bits cannot be guessed back from its
  hash, so a fast hash suffices. The prefixes let secret scanners (and
  people) tell a leaked key from any other string.
- A key's scope is `read` (reports, cases, the feed) or `write` (also filing
  reports and supplying materials); shared/auth.py's PERMISSIONS says which
  actions need which. A token request may ask for a narrower scope (RFC 6749
  §3.3), never a wider one.
- A client authenticates (RFC 6749 §2.3.1) with HTTP Basic — client_id and
  client_secret each form-urlencoded, joined by a colon, base64 — or with
  the two as form fields; never both at once.
"""
import base64
import binascii
import secrets
from urllib.parse import unquote_plus

from shared.auth import KEY_SCOPES, key_may

KEY_PREFIX = "ftk_"
SECRET_PREFIX = "ftks_"
MAX_CREDENTIAL = 200        # an id or a secret longer than this is none of ours


class ClientAuthFailed(ValueError):
    """The request's client authentication is malformed (RFC 6749: invalid_client)."""


class TwoWays(ValueError):
    """The client authenticated twice, by header and by form (invalid_request)."""


def new_key_id():
    return KEY_PREFIX + secrets.token_hex(12)


def new_key_secret():
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def client_credentials(authorization, form):
    """(client_id, client_secret) of a token request, or None when it names
    no client. `authorization` is the Authorization header (or None); only
    HTTP Basic authenticates a client there, so another scheme is no client."""
    from_form = form.get("client_id"), form.get("client_secret")
    if authorization is not None and authorization.strip().partition(" ")[0].lower() != "basic":
        authorization = None
    if authorization is None:
        if not any(from_form):
            return None
        if not all(from_form):
            raise ClientAuthFailed("client_id and client_secret go together")
        found = from_form
    else:
        if any(from_form):
            raise TwoWays("one way of client authentication only")
        found = _basic(authorization)
    if any(len(part) > MAX_CREDENTIAL for part in found):
        raise ClientAuthFailed("too long")
    return found


def _basic(header):
    scheme, _, encoded = header.strip().partition(" ")
    if scheme.lower() != "basic" or not encoded.strip():
        raise ClientAuthFailed("not HTTP Basic credentials")
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise ClientAuthFailed("not base64 of UTF-8")
    client_id, colon, secret = decoded.partition(":")
    if not colon or not client_id or not secret:
        raise ClientAuthFailed("no id:secret")
    # §2.3.1: each is form-urlencoded before it is joined (our ids and
    # secrets are URL-safe, so this only matters to a general client).
    return unquote_plus(client_id), unquote_plus(secret)


def granted_scope(key_scope, asked):
    """The scope a token gets: the key's own, or the narrower one asked for
    (space-separated, RFC 6749 §3.3); None when the key does not cover it."""
    if not asked:
        return key_scope
    wanted = set(asked.split(" "))
    if not wanted <= set(KEY_SCOPES) or not all(key_may(key_scope, w) for w in wanted):
        return None
    return "write" if "write" in wanted else "read"

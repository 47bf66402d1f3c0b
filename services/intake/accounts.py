"""Accounts' pure rules: passwords, invites and refresh tokens as secrets.

- A password is hashed with argon2id (argon2-cffi's PasswordHasher and its
  defaults); the hash never leaves intake's database and is never logged.
  A password has at least 12 characters and is refused when zxcvbn finds
  it common or easy to guess (its lists include the 30 000 most common
  passwords), the person's own names counting against it.
- An invite and a refresh token are random secrets (256 bits) handed out
  once; only their SHA-256 is stored, so a copy of the database signs
  nobody in. A fast hash suffices for them: unlike a password, a random
  secret of 256 bits cannot be guessed from its hash.
"""
import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn import zxcvbn

MIN_LENGTH = 12
MAX_LENGTH = 256        # argon2 takes any length; a bound keeps the work bounded
STRONG_ENOUGH = 3       # zxcvbn's score: 3 is "safely unguessable" online and slowed offline
ZXCVBN_CHARS = 100      # zxcvbn's cost grows with the length; the head tells enough
COMPANY_ROLES = ("owner", "member")

HASHER = PasswordHasher()
# Verified when no account (or no password) matches, so a wrong username
# costs the same time as a wrong password and tells nothing.
_NOBODY = HASHER.hash(secrets.token_urlsafe(32))


def password_problem(password, *names):
    """Why this password may not be used, or None. `names` are the person's
    own (username, name): a password made of them is easy to guess."""
    if len(password) < MIN_LENGTH:
        return "at least 12 characters"
    if len(password) > MAX_LENGTH:
        return "at most 256 characters"
    found = zxcvbn(password[:ZXCVBN_CHARS], user_inputs=[n for n in names if n])
    if found["score"] < STRONG_ENOUGH:
        return "too common or too easy to guess"
    return None


def hash_password(password):
    return HASHER.hash(password)


def password_matches(password_hash, password):
    """Whether the password is the one hashed; the same work when there is no hash."""
    try:
        return HASHER.verify(password_hash or _NOBODY, password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash):
    """True when the hash was made with weaker parameters than today's."""
    return HASHER.check_needs_rehash(password_hash)


def new_secret():
    """An invite code or a refresh token: 256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def digest(secret):
    """What is stored of a secret: its SHA-256, hex."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()

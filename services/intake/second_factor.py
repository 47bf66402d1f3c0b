"""The second factor: TOTP (RFC 6238, pyotp) and single-use recovery codes.

- Policy (`second_factor_roles` in policy/intake.yml) names the account roles
  that must have one: admin and supervisor as shipped. Such a person enrols
  when setting a password from an invite (a reset's invite too: that is the
  way back for a lost phone, with the admin's say). Anyone signed in may
  (re)enrol or take new recovery codes (guard.py); once enrolled, the
  factor is asked at every password sign-in, whatever the role.
- The TOTP secret (160 random bits) is answered once, at enrolment, and kept
  in the account's document in intake's database, which it must be read
  from to verify a code; it is never logged and no view of an account
  carries it (the answer schemas are allowlists).
- A code is accepted for the current 30-second step or the one either side
  (clock drift), and only for a step after the last one used: a code seen
  once cannot be replayed, not even within its window. The step is claimed
  by one conditional write, so two sign-ins with the same code at once
  cannot both pass.
- Ten recovery codes of 80 random bits each, stored only as their SHA-256
  (like invites: a random secret that size cannot be guessed from its
  hash); each one works once, removed by one conditional write.
"""
import hmac
import re
import secrets
import base64
from datetime import datetime

import pyotp

from services.intake import accounts

ISSUER = "FastTrack"
WINDOW = 1               # steps either side of now that are accepted
RECOVERY_CODES = 10
TOTP_RE = re.compile(r"\A[0-9]{6}\Z")


# -- pure rules -------------------------------------------------------------
def required(role, policy):
    return role in policy["second_factor_roles"]


def new_secret():
    return pyotp.random_base32(32)


def otpauth_uri(secret, username):
    """What an authenticator app reads (as a QR code) to add the account."""
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)


def new_recovery_codes():
    """Ten codes, 16 base32 letters each, shown as xxxx-xxxx-xxxx-xxxx."""
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = base64.b32encode(secrets.token_bytes(10)).decode().lower()
        codes.append("-".join(raw[i:i + 4] for i in range(0, 16, 4)))
    return codes


def recovery_digest(code):
    """What is stored of a recovery code; typed with or without the dashes."""
    return accounts.digest(re.sub(r"[\s-]", "", code).lower())


def matching_step(secret, code, now: datetime):
    """The TOTP step the code is right for (now ±WINDOW), or None."""
    if not TOTP_RE.match(code or ""):
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    found = None
    for step in range(current - WINDOW, current + WINDOW + 1):
        # Every step compared, in constant time: no early answer to time.
        if hmac.compare_digest(totp.generate_otp(step), code):
            found = step
    return found


def enrolment(username):
    """A new factor: what the person is shown once, and what is stored."""
    secret, codes = new_secret(), new_recovery_codes()
    shown = {"secret": secret, "otpauth_uri": otpauth_uri(secret, username),
             "recovery_codes": codes}
    stored = {"secret": secret, "last_step": -1,
              "recovery": [recovery_digest(c) for c in codes]}
    return shown, stored


# -- storage (the account's document in `accounts`) --------------------------
def store(db, username, stored, now):
    """Enrol (or enrol again): the earlier secret and codes stop working."""
    return db.accounts.update_one({"_id": username, "active": True}, {"$set": {
        "second_factor": dict(stored, enrolled_at=now)}}).modified_count == 1


def new_codes(db, username, secret, now):
    """New recovery codes for the same secret; the earlier ones stop working."""
    codes = new_recovery_codes()
    done = db.accounts.update_one(
        {"_id": username, "second_factor.secret": secret},
        {"$set": {"second_factor.recovery": [recovery_digest(c) for c in codes],
                  "second_factor.codes_at": now}}).modified_count == 1
    return codes if done else None


def use(db, account, code, now):
    """Check a code against the account's factor and spend it: "totp",
    "recovery", or None when it is wrong, replayed or already used."""
    factor = account.get("second_factor") or {}
    username = account["_id"]
    step = matching_step(factor.get("secret", ""), code, now)
    if step is not None:
        claimed = db.accounts.update_one(
            {"_id": username, "second_factor.secret": factor["secret"],
             "second_factor.last_step": {"$lt": step}},
            {"$set": {"second_factor.last_step": step}}).modified_count == 1
        return "totp" if claimed else None
    if TOTP_RE.match(code or ""):
        return None
    digest = recovery_digest(code or "")
    spent = db.accounts.update_one(
        {"_id": username, "second_factor.recovery": digest},
        {"$pull": {"second_factor.recovery": digest}}).modified_count == 1
    return "recovery" if spent else None

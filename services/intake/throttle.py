"""Failed sign-ins slow the guesser down: per account and per source address.

Counted in intake's database (collection `signin_throttle`, one document
per key: "account:<username>" or "source:<address>"), so every intake
instance sees the same counts; process memory would give each instance its
own five tries.

The rules (policy/intake.yml, `signin_throttle`):
- `account_failures` failed sign-ins of one username, or `source_failures`
  from one address, start a lockout of that key: `lockout_seconds`, doubling
  with each further lockout of the key, at most `lockout_max_seconds`.
  During it every sign-in of that key is refused with 429 and Retry-After,
  the right password too, without the password being checked.
- A username counts whether or not an account has it: a lockout tells
  nothing about which accounts exist, and the refusal is the same.
- A sign-in that succeeds clears its account's count and growth. A
  source's count is not cleared by a success (one good account of his own
  would let a guesser reset his address); a key with no failure for
  `forget_seconds` starts again from nothing.
- Per source more tries are allowed than per account: a police station or a
  company signs in from behind one address.
"""
import math
from datetime import timedelta

from pymongo.errors import DuplicateKeyError

THROTTLE = "signin_throttle"
INDEXES: dict[str, list] = {THROTTLE: [([("locked_until", 1)], {"sparse": True})]}


# -- pure rules -------------------------------------------------------------
def keys(username, source):
    return "account:" + username[:200], "source:" + source


def limit_of(key, rules):
    return rules["account_failures" if key.startswith("account:") else "source_failures"]


def lockout_seconds(lockouts_before, rules):
    """How long the next lockout of a key lasts: doubling from the first."""
    base, cap = rules["lockout_seconds"], rules["lockout_max_seconds"]
    return min(cap, base * 2 ** min(lockouts_before, 32))


def retry_after(locked_until, now):
    """Whole seconds to wait (Retry-After), at least 1."""
    return max(1, math.ceil((locked_until - now).total_seconds()))


# -- storage ----------------------------------------------------------------
def locked_for(db, key_list, now):
    """Seconds until every lockout of these keys has ended; 0 when none holds."""
    found = db[THROTTLE].find({"_id": {"$in": list(key_list)}, "locked_until": {"$gt": now}},
                              {"locked_until": 1})
    return max((retry_after(d["locked_until"], now) for d in found), default=0)


def failed(db, key, now, rules):
    """Count a failure of `key`; the seconds of the lockout it started, or None.

    Conditional writes on the key's one document: of two instances counting
    the failure that reaches the limit at once, one starts the lockout."""
    forget = now - timedelta(seconds=rules["forget_seconds"])
    db[THROTTLE].update_one({"_id": key, "last_failure_at": {"$lt": forget}},
                            {"$set": {"failures": 0, "lockouts": 0}})
    change = {"$inc": {"failures": 1}, "$set": {"last_failure_at": now}}
    try:
        db[THROTTLE].update_one({"_id": key}, change, upsert=True)
    except DuplicateKeyError:       # another instance made the document first
        db[THROTTLE].update_one({"_id": key}, change)
    doc = db[THROTTLE].find_one({"_id": key}) or {}
    failures, lockouts = doc.get("failures", 0), doc.get("lockouts", 0)
    if failures < limit_of(key, rules):
        return None
    seconds = lockout_seconds(lockouts, rules)
    started = db[THROTTLE].update_one(
        {"_id": key, "failures": failures},
        {"$set": {"failures": 0, "locked_until": now + timedelta(seconds=seconds)},
         "$inc": {"lockouts": 1}}).modified_count == 1
    return seconds if started else None


def succeeded(db, key):
    """The account signed in: its count and its lockouts' growth start over."""
    db[THROTTLE].update_one({"_id": key}, {"$set": {"failures": 0, "lockouts": 0},
                                           "$unset": {"locked_until": ""}})

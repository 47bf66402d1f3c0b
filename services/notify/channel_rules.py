"""Pure rules of the outbound channels: retry delays, the webhook secret and
its rotation, and which webhook targets are allowed (no SSRF).

No clock, no randomness, no DNS: those come in as arguments.
"""
import base64
import ipaddress
from datetime import timedelta
from urllib.parse import urlsplit

SECRET_PREFIX = "whsec_"
FINISHED = ("delivered", "dead", "skipped")  # a delivery its successor need not wait for


def retry_delay(tries, base, cap, rand):
    """Exponential backoff with jitter: base·2^(n-1), capped, times [0.5, 1).

    With the shipped base 10 s and cap 1 h, twelve tries span about 4 hours;
    tests shrink base to fractions of a second.
    """
    return timedelta(seconds=min(cap, base * 2 ** (tries - 1)) * (0.5 + rand / 2))


def after_failure(tries, max_tries, now, delay):
    """The $set of a delivery whose try number `tries` failed."""
    if tries >= max_tries:
        return {"status": "dead", "dead_at": now, "next_attempt_at": None}
    return {"status": "pending", "next_attempt_at": now + delay}


# -- the webhook secret -------------------------------------------------------
def new_secret(random_bytes):
    """A Standard Webhooks secret: whsec_ + base64 of 24 random bytes."""
    return SECRET_PREFIX + base64.b64encode(random_bytes).decode()


def rotated(subscription, secret, now, overlap_seconds):
    """The old secret keeps signing beside the new one for the overlap, so a
    company can switch its verifier without losing a webhook."""
    return {"webhook_secret": secret,
            "previous_secret": subscription.get("webhook_secret"),
            "previous_secret_expires_at": now + timedelta(seconds=overlap_seconds)}


def signing_secrets(subscription, now):
    """The secrets each webhook is signed with now: newest first."""
    secrets = [subscription["webhook_secret"]]
    expires = subscription.get("previous_secret_expires_at")
    if subscription.get("previous_secret") and expires and now < expires:
        secrets.append(subscription["previous_secret"])
    return secrets


# -- SSRF --------------------------------------------------------------------
def url_problem(url, allow_private):
    """Why a webhook URL is refused before any lookup, or None."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        return "not a valid URL"
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return "must be an https URL"
    if parts.scheme == "http" and not allow_private:
        return "must be an https URL"
    if parts.username or parts.password:
        return "must not carry credentials"
    return None


def address_problem(address, allow_private):
    """Why a resolved address may not be a webhook target, or None.

    Loopback, private, link-local (cloud metadata), shared, reserved and
    multicast ranges are inside someone's network; only public addresses
    are reachable unless allow_private (local demos and tests).
    """
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    if ip.is_global and not ip.is_multicast:
        return None
    if allow_private and not ip.is_multicast and not ip.is_unspecified:
        return None
    return f"{address} is not a public address"


def target_problem(url, addresses, allow_private):
    """Why this URL with these resolved addresses is refused, or None.
    Every address must pass: a name may resolve to several."""
    problem = url_problem(url, allow_private)
    if problem:
        return problem
    if not addresses:
        return "the host does not resolve"
    scheme = urlsplit(url).scheme
    for address in addresses:
        problem = address_problem(address, allow_private)
        if problem:
            return problem
        if scheme == "http" and address_problem(address, False) is None:
            return "must be an https URL"  # plain http only to local receivers
    return None

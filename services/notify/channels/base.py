"""What every notice channel is: one class with one interface, listed in the
registry (channels/__init__.py). The courier, the subscription's schema and
the provider know channels only through it.

A channel is built once per service start from notify's config; its send
runs in a green thread of the courier and must time out.
"""
from urllib.parse import urlsplit

import requests
from marshmallow import fields


class DeliveryFailed(Exception):
    """A try that failed; status_code is the receiver's answer, if any, and
    retry_after the seconds its Retry-After asked for (429, 503)."""

    def __init__(self, message, status_code=None, retry_after=None):
        super().__init__(message)
        self.status_code = status_code
        self.retry_after = retry_after


def post_to(session, url, **kw):
    """session.post, with a failure to reach the target told without its
    path or query: a robot's key or a receiver's token often rides in the
    URL, and requests puts the whole URL in its exceptions, which end in the
    log and on the delivery's record."""
    try:
        return session.post(url, **kw)
    except requests.RequestException as exc:
        where = urlsplit(url)
        told = f"{type(exc).__name__} reaching {where.scheme}://{where.hostname}" + (
            f":{where.port}" if where.port else "")
        # The egress guard's reason holds no part of the URL: it is kept.
        reason = getattr(exc.args[0], "reason", None) if exc.args else None
        problem = getattr(reason, "problem", None)
        if problem:
            told += f": connected address refused: {problem}"
        raise DeliveryFailed(told) from None


def flag(value):
    """A config switch: "1", "true", "yes" or "on" (any case) is on."""
    return str(value).strip().lower() in ("1", "true", "yes", "on")


class Channel:
    """One way a notice reaches a company, besides the feed.

    A subclass sets `name` (a delivery's `channel`, its lane, the
    GET /deliveries filter), `subscription_field` (the PUT /subscription
    field that holds the target; left out or null, the channel is off) and
    `label` (how an error names that target), and defines `target_field`
    and `send`; `refused` and `enabled` when it has something to say.
    """

    name: str = ""
    subscription_field: str = ""
    label: str = ""

    @classmethod
    def target_field(cls):
        """The marshmallow field that checks a target's shape when a company
        subscribes: it loads None when left out, and null turns it off."""
        return fields.String(load_default=None, allow_none=True)

    def __init__(self, config, timeout):
        """Read this channel's own settings from notify's config; `timeout`
        (DELIVERY_TIMEOUT, seconds) bounds each send."""
        self.timeout = timeout

    @property
    def enabled(self):
        """Whether notices go out on this channel at all with this config
        (email needs an SMTP host); a disabled channel gets no deliveries."""
        return True

    @classmethod
    def target(cls, subscription):
        """Where this channel points now: read at each try, since a company
        may change or clear it between tries."""
        return (subscription or {}).get(cls.subscription_field)

    def refused(self, target):
        """Why a target of the right shape may still not be used (checked
        when subscribing), or None."""
        return None

    def send(self, target, notice, subscription, now, delivery_id):
        """Deliver one notice to the target: a short detail for the record,
        or raise (DeliveryFailed, or anything else) and the try is retried."""
        raise NotImplementedError

    def close(self):
        """Release what the channel holds open (the service stops)."""

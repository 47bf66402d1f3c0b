"""The webhook channel: the event envelope, signed per Standard Webhooks,
POSTed to the company's https URL.

A URL is checked against SSRF when the company subscribes and again before
each try (its host's addresses now), and the connection checks the address
it actually reached (egress.py). The I/O is green under nameko's eventlet
monkey patching (requests, socket.getaddrinfo) and has a timeout.
"""
import json
import socket
from urllib.parse import urlsplit

from marshmallow import fields, validate
from standardwebhooks.webhooks import Webhook

from services.notify.channel_rules import signing_secrets, target_problem
from services.notify.channels.base import Channel, DeliveryFailed, flag, post_to
from services.notify.egress import webhook_session
from services.notify.endpoint_rules import THROTTLED, retry_after_seconds


def resolve(url):
    """Every address the URL's host resolves to now (empty if none)."""
    parts = urlsplit(url)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = socket.getaddrinfo(parts.hostname, port, proto=socket.IPPROTO_TCP)
    except (OSError, ValueError, UnicodeError):
        return []
    return sorted({info[4][0] for info in infos})


def webhook_problem(url, allow_private):
    """Why a webhook URL may not be used, checked on its resolved addresses."""
    return target_problem(url, resolve(url), allow_private)


def signed_request(envelope, secrets, now):
    """(body, headers) per Standard Webhooks: one v1 signature per secret."""
    body = json.dumps(envelope, ensure_ascii=False, separators=(",", ":"))
    msg_id = envelope["event_id"]
    signature = " ".join(Webhook(secret).sign(msg_id, now, body) for secret in secrets)
    return body, {"webhook-id": msg_id, "webhook-timestamp": str(int(now.timestamp())),
                  "webhook-signature": signature,
                  "content-type": "application/cloudevents+json; charset=utf-8",
                  "user-agent": "FastTrack-Webhooks/1"}


class WebhookChannel(Channel):
    name = "webhook"
    subscription_field = "webhook_url"
    label = "webhook URL"

    @classmethod
    def target_field(cls):
        return fields.String(load_default=None, allow_none=True,
                             validate=validate.Length(1, 2000))

    @classmethod
    def target(cls, subscription):
        """None once its receiver answered 410 Gone, until the company PUTs
        its subscription again."""
        if (subscription or {}).get("webhook_gone_at"):
            return None
        return super().target(subscription)

    def __init__(self, config, timeout):
        super().__init__(config, timeout)
        # 1 for local demos and tests: loopback and private receivers allowed.
        self.allow_private = flag(config.get("WEBHOOK_ALLOW_PRIVATE"))
        self.session = webhook_session(self.allow_private)

    def refused(self, url):
        return webhook_problem(url, self.allow_private)

    def send(self, url, notice, subscription, now, delivery_id):
        return f"receiver answered {self.post(url, notice['envelope'], subscription, now)}"

    def post(self, url, envelope, subscription, now):
        """One signed POST of the envelope: the receiver's 2xx status, or raise
        (a test ping calls this directly, endpoints.py)."""
        problem = webhook_problem(url, self.allow_private)
        if problem:
            raise DeliveryFailed(f"target refused: {problem}")
        body, headers = signed_request(envelope, signing_secrets(subscription, now), now)
        # No redirects: a 3xx to an internal address would undo the check above.
        r = post_to(self.session, url, data=body.encode(), headers=headers,
                    timeout=self.timeout, allow_redirects=False)
        if not 200 <= r.status_code < 300:
            wait = (retry_after_seconds(r.headers.get("Retry-After"), now)
                    if r.status_code in THROTTLED else None)
            raise DeliveryFailed(f"receiver answered {r.status_code}", r.status_code, wait)
        return r.status_code

    def close(self):
        self.session.close()

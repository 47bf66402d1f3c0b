"""The outbound channels: signed webhooks, email over SMTP, SMS through an
adapter. Each send raises DeliveryFailed (or anything else) on failure and
returns a short detail on success; the courier records either.

All I/O here is green under nameko's eventlet monkey patching (requests,
smtplib, socket.getaddrinfo), so a slow receiver never blocks the hub; each
call has a timeout.
"""
import json
import logging
import smtplib
import socket
import ssl
from email.message import EmailMessage
from urllib.parse import urlsplit

import requests
from nameko.extensions import DependencyProvider
from standardwebhooks.webhooks import Webhook

from services.notify.channel_rules import signing_secrets, target_problem
from services.notify.egress import webhook_session

log = logging.getLogger(__name__)


class DeliveryFailed(Exception):
    def __init__(self, message, status_code=None):
        super().__init__(message)
        self.status_code = status_code


def flag(value):
    return str(value).strip().lower() in ("1", "true", "yes", "on")


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
                  "content-type": "application/json; charset=utf-8",
                  "user-agent": "FastTrack-Webhooks/1"}


class RecordingSms:
    """The default SMS adapter: no gateway; the message is kept on the
    delivery's record (GET /deliveries) and in the log for an operator."""

    def send(self, phone, text, message_id):
        log.info("SMS for %s (%s): %s", phone, message_id, text)
        return f"recorded for the operator: {text}"


class HttpGatewaySms:
    """Posts {to, text, id} as JSON to a gateway; any 2xx is accepted."""

    def __init__(self, url, token, timeout):
        self.url, self.token, self.timeout = url, token, timeout

    def send(self, phone, text, message_id):
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        r = requests.post(self.url, json={"to": phone, "text": text, "id": message_id},
                          headers=headers, timeout=self.timeout, allow_redirects=False)
        if not 200 <= r.status_code < 300:
            raise DeliveryFailed(f"SMS gateway answered {r.status_code}", r.status_code)
        return f"gateway accepted ({r.status_code})"


class Channels(DependencyProvider):
    """Channel settings read once from config; workers get this object."""

    def setup(self):
        c = self.container.config
        self.allow_private = flag(c.get("WEBHOOK_ALLOW_PRIVATE"))
        self.webhooks = webhook_session(self.allow_private)
        self.timeout = float(c.get("DELIVERY_TIMEOUT") or 10)
        self.base_delay = float(c.get("DELIVERY_RETRY_BASE_DELAY") or 10)
        self.max_delay = float(c.get("DELIVERY_RETRY_MAX_DELAY") or 3600)
        self.max_tries = int(c.get("DELIVERY_MAX_ATTEMPTS") or 12)
        self.smtp = {"host": c.get("SMTP_HOST") or None,
                     "port": int(c.get("SMTP_PORT") or 587),
                     "starttls": flag(c.get("SMTP_STARTTLS")),
                     # A relay whose certificate a private CA signed.
                     "ca_file": c.get("SMTP_CA_FILE") or None,
                     "user": c.get("SMTP_USER") or None,
                     "password": str(c.get("SMTP_PASSWORD") or ""),
                     "sender": c.get("SMTP_FROM") or "fasttrack@localhost"}
        if (c.get("SMS_ADAPTER") or "record") == "http":
            self.sms = HttpGatewaySms(c["SMS_GATEWAY_URL"], c.get("SMS_GATEWAY_TOKEN"),
                                      self.timeout)
        else:
            self.sms = RecordingSms()
        if not self.smtp["host"]:
            log.warning("SMTP_HOST is not set: notices go to no email address")

    def stop(self):
        self.webhooks.close()

    @property
    def email_on(self):
        return bool(self.smtp["host"])

    def get_dependency(self, worker_ctx):
        return self

    def target(self, channel, subscription):
        """Where this channel points now (a company may change it between tries)."""
        key = {"webhook": "webhook_url", "email": "email", "sms": "phone"}[channel]
        return (subscription or {}).get(key)

    def send(self, channel, target, notice, subscription, now, delivery_id):
        if channel == "webhook":
            return self.send_webhook(target, notice["envelope"], subscription, now)
        if channel == "email":
            return self.send_email(target, notice, delivery_id)
        return self.sms.send(target, notice["title"], delivery_id)

    def send_webhook(self, url, envelope, subscription, now):
        problem = webhook_problem(url, self.allow_private)
        if problem:
            raise DeliveryFailed(f"target refused: {problem}")
        body, headers = signed_request(envelope, signing_secrets(subscription, now), now)
        # No redirects: a 3xx to an internal address would undo the check above.
        r = self.webhooks.post(url, data=body.encode(), headers=headers,
                               timeout=self.timeout, allow_redirects=False)
        if not 200 <= r.status_code < 300:
            raise DeliveryFailed(f"receiver answered {r.status_code}", r.status_code)
        return f"receiver answered {r.status_code}"

    def send_email(self, address, notice, delivery_id):
        s = self.smtp
        msg = EmailMessage()
        msg["Subject"] = notice["title"]
        msg["From"] = s["sender"]
        msg["To"] = address
        msg["Message-ID"] = f"<{delivery_id}@fasttrack>"
        msg["X-FastTrack-Event-Id"] = notice["event_id"]
        msg.set_content(notice["body"])
        msg["Content-Language"] = notice["language"]  # set_content clears Content-*
        try:
            with smtplib.SMTP(s["host"], s["port"], timeout=self.timeout) as smtp:
                if s["starttls"]:
                    smtp.starttls(context=ssl.create_default_context(cafile=s["ca_file"]))
                if s["user"]:
                    smtp.login(s["user"], s["password"])
                smtp.send_message(msg)
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryFailed(f"SMTP: {type(exc).__name__}: {exc}"[:500])
        return f"accepted by {s['host']}:{s['port']}"

"""The email channel: the notice's title and body in the company's language,
through an SMTP relay (STARTTLS verified against the system's CAs or a
private one). Without SMTP_HOST the channel is off: no email deliveries.

smtplib's sockets are green under nameko's eventlet monkey patching, and
the connection has a timeout.
"""
import logging
import smtplib
import ssl
from email.message import EmailMessage

from marshmallow import fields, validate

from services.notify.channels.base import Channel, DeliveryFailed, flag
from shared.fields import header_value

log = logging.getLogger(__name__)


class EmailChannel(Channel):
    name = "email"
    subscription_field = "email"
    label = "email address"

    @classmethod
    def target_field(cls):
        return fields.Email(load_default=None, allow_none=True,
                            validate=validate.Length(1, 254))

    def __init__(self, config, timeout):
        super().__init__(config, timeout)
        c = config
        self.host = c.get("SMTP_HOST") or None
        self.port = int(c.get("SMTP_PORT") or 587)
        self.starttls = flag(c.get("SMTP_STARTTLS"))
        self.ca_file = c.get("SMTP_CA_FILE") or None  # a relay a private CA signed
        self.user = c.get("SMTP_USER") or None
        self.password = str(c.get("SMTP_PASSWORD") or "")
        self.sender = c.get("SMTP_FROM") or "fasttrack@localhost"
        if not self.host:
            log.warning("SMTP_HOST is not set: notices go to no email address")

    @property
    def enabled(self):
        return bool(self.host)

    def message(self, address, notice, delivery_id):
        """The mail: the title a one-line Subject (RFC 2047-encoded when not
        ASCII), the body as text; nothing from the notice makes a header."""
        msg = EmailMessage()
        msg["Subject"] = header_value(notice["title"])
        msg["From"] = self.sender
        msg["To"] = address
        msg["Message-ID"] = f"<{delivery_id}@fasttrack>"
        msg["X-FastTrack-Event-Id"] = header_value(notice["event_id"])
        msg.set_content(notice["body"])
        msg["Content-Language"] = notice["language"]  # set_content clears Content-*
        return msg

    def send(self, address, notice, subscription, now, delivery_id):
        msg = self.message(address, notice, delivery_id)
        try:
            assert self.host, "no email deliveries without an SMTP host (enabled)"
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context(cafile=self.ca_file))
                if self.user:
                    smtp.login(self.user, self.password)
                smtp.send_message(msg)
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryFailed(f"SMTP: {type(exc).__name__}: {exc}"[:500])
        return f"accepted by {self.host}:{self.port}"

"""The SMS channel: the notice's title to the company's phone, through one
small adapter interface, send(phone, text, message_id) -> detail.

SMS_ADAPTER "record" (the default) keeps the message on the delivery's
record (GET /deliveries) and in the log for an operator; "http" posts
{to, text, id} to SMS_GATEWAY_URL with Bearer SMS_GATEWAY_TOKEN.
"""
import logging

import requests
from marshmallow import fields, validate

from services.notify.channels.base import Channel, DeliveryFailed

log = logging.getLogger(__name__)
PHONE = r"\A\+?[0-9][0-9 ()-]{4,30}\Z"


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


class SmsChannel(Channel):
    name = "sms"
    subscription_field = "phone"
    label = "phone number"

    @classmethod
    def target_field(cls):
        return fields.String(load_default=None, allow_none=True,
                             validate=validate.Regexp(PHONE))

    def __init__(self, config, timeout):
        super().__init__(config, timeout)
        self.adapter: HttpGatewaySms | RecordingSms
        if (config.get("SMS_ADAPTER") or "record") == "http":
            self.adapter = HttpGatewaySms(config["SMS_GATEWAY_URL"],
                                          config.get("SMS_GATEWAY_TOKEN"), timeout)
        else:
            self.adapter = RecordingSms()

    def send(self, phone, notice, subscription, now, delivery_id):
        return self.adapter.send(phone, notice["title"], delivery_id)

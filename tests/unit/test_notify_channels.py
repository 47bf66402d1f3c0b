"""Channels as plugins: the registry is the one list of channels, and a new
channel is one class and one registry line. Everything else (the
subscription's fields, which channels a company has, where a delivery goes,
how the courier sends it) follows from the registry."""
from datetime import datetime, timezone
from types import SimpleNamespace

import pytest
from marshmallow import ValidationError, fields, validate

from services.notify import channels, schemas
from services.notify.channels import REGISTRY, Channels
from services.notify.channels.base import Channel, DeliveryFailed
from services.notify.courier import Courier

NOW = datetime(2026, 11, 28, 2, 0, tzinfo=timezone.utc)


class FaxChannel(Channel):
    """A channel as its own module would hold it: nothing else is changed."""

    name = "fax"
    subscription_field = "fax_number"
    label = "fax number"

    @classmethod
    def target_field(cls):
        return fields.String(load_default=None, allow_none=True,
                             validate=validate.Regexp(r"\A\+[0-9]{6,20}\Z"))

    def __init__(self, config, timeout):
        super().__init__(config, timeout)
        self.sent = []
        self.banned = config.get("FAX_BANNED_PREFIX")  # its own setting, its own key

    def refused(self, number):
        return "a banned number" if self.banned and number.startswith(self.banned) else None

    def send(self, number, notice, subscription, now, delivery_id):
        if number.endswith("0"):
            raise DeliveryFailed("line busy")
        self.sent.append((number, notice["title"], delivery_id))
        return "faxed"


def provider(registry=REGISTRY, **config):
    ch = Channels(registry)
    ch.container = SimpleNamespace(config=config)
    ch.setup()
    return ch


class Deliveries:
    """The courier's store, keeping only what a try records."""

    def __init__(self):
        self.recorded = []

    def record(self, delivery, attempt, fields):
        self.recorded.append((delivery["_id"], attempt, fields))


def test_each_channel_has_its_own_name_and_subscription_field():
    names = [c.name for c in REGISTRY]
    fields_ = [c.subscription_field for c in REGISTRY]
    assert names == ["webhook", "email", "sms"]  # the order deliveries are written in
    assert fields_ == ["webhook_url", "email", "phone"]
    assert len(set(fields_)) == len(fields_) and "language" not in fields_
    assert channels.names() == tuple(names)


def test_a_company_gets_the_channels_it_filled_in_that_config_delivers_on():
    sub = {"webhook_url": "https://x", "email": "a@b.cn", "phone": None}
    assert channels.channels_of(sub) == ["webhook", "email"]
    assert channels.channels_of(None) == []
    assert provider(SMTP_HOST="smtp.example").of(sub) == ["webhook", "email"]
    assert provider().of(sub) == ["webhook"]  # no SMTP host: no email deliveries
    assert channels.target("sms", {"phone": "+86 591 8888"}) == "+86 591 8888"
    assert provider().target("email", None) is None


def test_a_webhook_url_into_a_private_network_is_refused_when_subscribing():
    refused, why = provider().refusal({"webhook_url": "http://127.0.0.1/hook",
                                       "email": "a@b.cn"})
    assert (refused.subscription_field, refused.label) == ("webhook_url", "webhook URL")
    assert why == "must be an https URL"
    assert provider().refusal({"email": "a@b.cn", "phone": "+86 591 8888"}) is None


def test_a_new_channel_is_one_class_and_one_registry_line():
    registry = REGISTRY + (FaxChannel,)  # the one line; no other code is touched

    # PUT /subscription takes its field, checks its shape, and shows it back.
    body = schemas.subscription_in(registry)().load({"fax_number": "+8659188881",
                                                     "email": "a@b.cn"})
    assert body == {"webhook_url": None, "email": "a@b.cn", "phone": None,
                    "fax_number": "+8659188881", "language": None}
    with pytest.raises(ValidationError) as bad:
        schemas.subscription_in(registry)().load({"fax_number": "not a number"})
    assert list(bad.value.messages) == ["fax_number"]
    shown = schemas.subscription_out(registry)().dump(dict(body, _id="c1"))
    assert shown["fax_number"] == "+8659188881"

    # Which channels the company has, and where each points.
    assert channels.channels_of(body, registry) == ["email", "fax"]
    assert channels.target("fax", body, registry) == "+8659188881"
    ch = provider(registry, FAX_BANNED_PREFIX="+1900")
    assert ch.of(body) == ["fax"]  # email has no SMTP host here
    refused, why = ch.refusal({"fax_number": "+19005550100"})
    assert (refused.label, why) == ("fax number", "a banned number")

    # The courier sends on it, and records its success and its failure.
    store = Deliveries()
    courier = Courier(SimpleNamespace(deliveries=store), ch, lambda: NOW, rand=lambda: 0.5)
    notice = {"title": "Case opened"}
    finished = []
    for number, delivery_id in (("+8659188881", "n1:fax"), ("+8659188880", "n2:fax")):
        courier.try_once({"_id": delivery_id, "channel": "fax", "tries": 0},
                         dict(body, fax_number=number), notice, finished)
    assert ch.by_name["fax"].sent == [("+8659188881", "Case opened", "n1:fax")]
    (_, ok, done), (_, failed, retry) = store.recorded
    assert ok["ok"] and ok["detail"] == "faxed" and done["status"] == "delivered"
    assert failed["error"] == "line busy" and retry["status"] == "pending"
    assert finished == ["n1:fax"]


def test_a_target_not_reached_is_told_without_the_urls_path_or_query():
    import requests

    from services.notify.channels.base import DeliveryFailed, post_to

    url = "https://qyapi.example.com:8443/cgi-bin/webhook/send?key=TOPSECRET-robot-key"

    class Unreachable:
        def post(self, url, **kw):      # requests puts the whole URL in its message
            raise requests.ConnectionError(
                f"HTTPSConnectionPool(host='qyapi.example.com', port=8443): Max retries "
                f"exceeded with url: {url.split('8443', 1)[1]}")
    with pytest.raises(DeliveryFailed) as failed:
        post_to(Unreachable(), url, data=b"{}", timeout=1)
    assert str(failed.value) == "ConnectionError reaching https://qyapi.example.com:8443"
    assert "TOPSECRET" not in str(failed.value) and failed.value.__cause__ is None

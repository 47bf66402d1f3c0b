"""The notice channels, as plugins: one module per channel, each a Channel
subclass (base.py), and REGISTRY below, the one place that lists them.

Everything else follows from REGISTRY: which channels a subscription has
(channels_of), where a delivery goes (target), the channel fields of
PUT and GET /subscription and the GET /deliveries filter (schemas.py), the
settings read from config (each channel reads its own), and which channel
the courier sends a delivery on. Adding a channel is one new module here
and its line in REGISTRY (with the import above it); a channel with
settings also lists them in config.yml, which maps the environment to them.
"""
from nameko.extensions import DependencyProvider

from services.notify.channels.email import EmailChannel
from services.notify.channels.sms import SmsChannel
from services.notify.channels.webhook import WebhookChannel

# A notice's deliveries are written in this order, and the subscription's
# fields listed in it.
REGISTRY = (WebhookChannel, EmailChannel, SmsChannel)


def names(registry=REGISTRY):
    """Every channel a delivery may be on."""
    return tuple(channel.name for channel in registry)


def channels_of(subscription, channels=REGISTRY):
    """The channels a company has asked for, besides the feed: each whose
    target it filled in, in the registry's order."""
    return [channel.name for channel in channels if channel.target(subscription)]


def target(name, subscription, registry=REGISTRY):
    """Where the named channel points for this subscription now."""
    return {channel.name: channel for channel in registry}[name].target(subscription)


class Channels(DependencyProvider):
    """The registered channels, built once from config; every worker gets
    this one object. It also holds the courier's timeout and retry settings,
    which are the same for every channel."""

    def __init__(self, registry=REGISTRY):
        self.registry = registry

    def setup(self):
        c = self.container.config
        self.timeout = float(c.get("DELIVERY_TIMEOUT") or 10)
        self.base_delay = float(c.get("DELIVERY_RETRY_BASE_DELAY") or 10)
        self.max_delay = float(c.get("DELIVERY_RETRY_MAX_DELAY") or 3600)
        self.max_tries = int(c.get("DELIVERY_MAX_ATTEMPTS") or 12)
        self.by_name = {cls.name: cls(c, self.timeout) for cls in self.registry}

    def stop(self):
        for channel in self.by_name.values():
            channel.close()

    def get_dependency(self, worker_ctx):
        return self

    def of(self, subscription):
        """The channels a company has asked for that this config delivers
        on (no SMTP host, no email deliveries)."""
        return channels_of(subscription, [ch for ch in self.by_name.values() if ch.enabled])

    def refusal(self, subscription):
        """(channel, why) for a target the company may not use, or None."""
        for channel in self.by_name.values():
            value = channel.target(subscription)
            problem = value and channel.refused(value)
            if problem:
                return channel, problem
        return None

    def target(self, name, subscription):
        """Where this channel points now (a company may change it between tries)."""
        return self.by_name[name].target(subscription)

    def send(self, name, target, notice, subscription, now, delivery_id):
        return self.by_name[name].send(target, notice, subscription, now, delivery_id)

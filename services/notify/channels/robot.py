"""A unit's group-chat robot: a signed POST in the DingTalk custom-robot
format, so a duty room sees an alert in the phone app it already uses.

DingTalk's 加签: `timestamp` (milliseconds) and `sign` = URL-encoded
base64(HMAC-SHA256(key=secret, "timestamp\\nsecret")) added to the robot's
webhook URL; the body is {"msgtype": "markdown", "markdown": {"title",
"text"}, "at": {"atMobiles": [...], "isAtAll": false}}, and each mobile
@-ed is also written in the text ("@138…"), which is how the app shows it.
DingTalk answers 200 with {"errcode": 0} on success; anything else fails.

Only for alerts to police: it is not in the company channels' REGISTRY.
The URL is checked against SSRF like a company's webhook (egress.py).
"""
import base64
import hashlib
import hmac
import json
from urllib.parse import quote_plus

from nameko.extensions import DependencyProvider

from services.notify.channels.base import DeliveryFailed, flag
from services.notify.channels.webhook import webhook_problem
from services.notify.egress import webhook_session


def sign(secret, timestamp_ms):
    """DingTalk's signature of a timestamp, URL-encoded."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(),
                      hashlib.sha256).digest()
    return quote_plus(base64.b64encode(digest).decode())


def signed_url(url, secret, timestamp_ms):
    if not secret:
        return url
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}timestamp={timestamp_ms}&sign={sign(secret, timestamp_ms)}"


def message(title, body, mobiles):
    """The markdown message, @-ing these mobile numbers."""
    at = " ".join(f"@{m}" for m in mobiles)
    text = f"#### {title}\n\n" + body.replace("\n", "\n\n") + (f"\n\n{at}" if at else "")
    return {"msgtype": "markdown", "markdown": {"title": title, "text": text},
            "at": {"atMobiles": list(mobiles), "isAtAll": False}}


class RobotChannel:
    name = "robot"

    def __init__(self, config, timeout):
        self.timeout = timeout
        self.allow_private = flag(config.get("WEBHOOK_ALLOW_PRIVATE"))
        self.session = webhook_session(self.allow_private)

    def refused(self, url):
        return webhook_problem(url, self.allow_private)

    def send(self, robot, title, body, mobiles, now):
        problem = self.refused(robot["url"])
        if problem:
            raise DeliveryFailed(f"target refused: {problem}")
        url = signed_url(robot["url"], robot.get("secret"), int(now.timestamp() * 1000))
        payload = json.dumps(message(title, body, mobiles), ensure_ascii=False)
        r = self.session.post(url, data=payload.encode(), timeout=self.timeout,
                              headers={"Content-Type": "application/json; charset=utf-8"},
                              allow_redirects=False)
        try:
            answer = r.json()
        except ValueError:
            answer = {}
        if r.status_code != 200 or answer.get("errcode", 0) != 0:
            raise DeliveryFailed(f"robot answered {r.status_code} {answer.get('errmsg', '')}"
                                 .strip(), r.status_code)
        return f"robot answered {r.status_code}"

    def close(self):
        self.session.close()


class Robot(DependencyProvider):
    """The robot channel, built once from notify's config for every worker."""

    def setup(self):
        c = self.container.config
        self.channel = RobotChannel(c, float(c.get("DELIVERY_TIMEOUT") or 10))

    def stop(self):
        self.channel.close()

    def get_dependency(self, worker_ctx):
        return self.channel

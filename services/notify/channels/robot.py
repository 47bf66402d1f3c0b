"""A unit's group-chat robot: a POST in the format of the DingTalk custom
robot or of the WeCom (企业微信) group robot, as the unit's robot chooses
(`format`), so a duty room sees an alert in the phone app it already uses.

DingTalk's 加签: `timestamp` (milliseconds) and `sign` = URL-encoded
base64(HMAC-SHA256(key=secret, "timestamp\\nsecret")) added to the robot's
webhook URL; the body is {"msgtype": "markdown", "markdown": {"title",
"text"}, "at": {"atMobiles": [...], "isAtAll": false}}, and each mobile
@-ed is also written in the text ("@138…"), which is how the app shows it.
DingTalk answers 200 with {"errcode": 0} on success; anything else fails.

WeCom's group robot (群机器人配置说明): no signature, the `key` in the
webhook URL is the credential. A markdown message is {"msgtype":
"markdown", "markdown": {"content"}} (at most 4096 bytes) and @-s members
only by `<@userid>` in its content; @-ing by mobile number needs a text
message, {"msgtype": "text", "text": {"content", "mentioned_mobile_list"}}
(content at most 2048 bytes). So: markdown when everyone named has a WeCom
userid (or nobody is named), else one text message that @-s the rest by
mobile — one POST either way, so a retry repeats nothing. WeCom answers 200
with {"errcode": 0} too.

Only for alerts to police: it is not in the company channels' REGISTRY.
The URL is checked against SSRF like a company's webhook (egress.py).
"""
import base64
import hashlib
import hmac
import json
from urllib.parse import quote_plus

from nameko.extensions import DependencyProvider

from services.notify.channels.base import DeliveryFailed, flag, post_to
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


FORMATS = ("dingtalk", "wecom")
WECOM_MARKDOWN_BYTES = 4096
WECOM_TEXT_BYTES = 2048


def message(title, body, mobiles):
    """The markdown message, @-ing these mobile numbers."""
    at = " ".join(f"@{m}" for m in mobiles)
    text = f"#### {title}\n\n" + body.replace("\n", "\n\n") + (f"\n\n{at}" if at else "")
    return {"msgtype": "markdown", "markdown": {"title": title, "text": text},
            "at": {"atMobiles": list(mobiles), "isAtAll": False}}


def clipped(text, limit):
    """The text cut to at most `limit` UTF-8 bytes, on a character boundary."""
    raw = text.encode()
    if len(raw) <= limit:
        return text
    return raw[:limit - 3].decode(errors="ignore") + "…"


def wecom_message(title, body, mobiles, userids):
    """WeCom's message @-ing these userids (`<@userid>`) and mobile numbers."""
    at = "".join(f"<@{u}>" for u in userids)
    tail = f"\n{at}" if at else ""     # never clipped away: it is who is paged
    if not mobiles:
        text = clipped(f"### {title}\n{body}", WECOM_MARKDOWN_BYTES - len(tail.encode()))
        return {"msgtype": "markdown", "markdown": {"content": text + tail}}
    text = clipped(f"【{title}】\n{body}", WECOM_TEXT_BYTES - len(tail.encode())) + tail
    return {"msgtype": "text", "text": {"content": text,
                                        "mentioned_mobile_list": list(mobiles)}}


def payload(robot, title, body, mentions, now):
    """(URL, body) of the robot's POST in its format. `mentions`: the people
    named, each {"mobile", "wecom_userid"} (either may be None)."""
    if robot_format(robot) == "wecom":
        userids = sorted({m["wecom_userid"] for m in mentions if m.get("wecom_userid")})
        mobiles = sorted({m["mobile"] for m in mentions if m.get("mobile")
                          and not m.get("wecom_userid")})
        return robot["url"], wecom_message(title, body, mobiles, userids)
    mobiles = sorted({m["mobile"] for m in mentions if m.get("mobile")})
    return (signed_url(robot["url"], robot.get("secret"), int(now.timestamp() * 1000)),
            message(title, body, mobiles))


def robot_format(robot):
    """The robot's format; robots saved before WeCom named theirs `kind`."""
    return robot.get("format") or robot.get("kind") or "dingtalk"


class RobotChannel:
    name = "robot"

    def __init__(self, config, timeout):
        self.timeout = timeout
        self.allow_private = flag(config.get("WEBHOOK_ALLOW_PRIVATE"))
        self.session = webhook_session(self.allow_private)

    def refused(self, url):
        return webhook_problem(url, self.allow_private)

    def send(self, robot, title, body, mentions, now):
        problem = self.refused(robot["url"])
        if problem:
            raise DeliveryFailed(f"target refused: {problem}")
        url, content = payload(robot, title, body, mentions, now)
        raw = json.dumps(content, ensure_ascii=False)
        r = post_to(self.session, url, data=raw.encode(), timeout=self.timeout,
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

"""A group-chat robot's endpoint, written from DingTalk's custom-robot
documentation (自定义机器人, 加签): it checks `timestamp` (milliseconds,
within an hour of now) and `sign` = URL-encoded base64 of HMAC-SHA256 keyed
with the secret over "timestamp\\nsecret", and the markdown body with its
`at.atMobiles`. It answers as DingTalk does: HTTP 200 with errcode 0, or
errcode 310000 "sign not match" for a bad signature."""
import base64
import hashlib
import hmac
import json
import time
from urllib.parse import parse_qs, urlsplit

from support.json_endpoint import JsonEndpoint


class RobotReceiver(JsonEndpoint):
    def __init__(self, secret):
        self.secret = secret
        self.messages = []      # the bodies whose signature held, in arrival order
        self.refused = []       # (query, body) of those whose did not
        super().__init__()
        self.url = f"{self.base}/robot/send?access_token=t0k"

    def expected_sign(self, timestamp):
        digest = hmac.new(self.secret.encode(), f"{timestamp}\n{self.secret}".encode(),
                          hashlib.sha256).digest()
        return base64.b64encode(digest).decode()

    def take(self, path, body):
        # parse_qs undoes the URL-encoding: what is left must be the base64 itself.
        query = parse_qs(urlsplit(path).query)
        timestamp = (query.get("timestamp") or [""])[0]
        signature = (query.get("sign") or [""])[0]
        fresh = timestamp.isdigit() and abs(time.time() * 1000 - int(timestamp)) < 3600_000
        good = fresh and query.get("access_token") == ["t0k"] and hmac.compare_digest(
            signature, self.expected_sign(timestamp))
        with self.lock:
            if not good:
                self.refused.append((query, body))
                return {"errcode": 310000, "errmsg": "sign not match"}
            message = json.loads(body)
            if message.get("msgtype") != "markdown" or not message["markdown"].get("title"):
                self.refused.append((query, body))
                return {"errcode": 40035, "errmsg": "bad message"}
            self.messages.append(message)
        return {"errcode": 0, "errmsg": "ok"}

    def titled(self, part):
        return [m for m in self.messages if part in m["markdown"]["title"]]


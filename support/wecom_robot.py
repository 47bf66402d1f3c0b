"""A WeCom (企业微信) group robot's endpoint, written from WeCom's group
robot documentation (群机器人配置说明): POST JSON to
/cgi-bin/webhook/send?key=KEY, the key being the robot's only credential
(no signature); `msgtype` text — `text.content` at most 2048 bytes, with
optional `mentioned_list` (userids) and `mentioned_mobile_list` (mobile
numbers) — or markdown — `markdown.content` at most 4096 bytes, @-ing
members only by `<@userid>` in the content. It answers as WeCom does: HTTP
200 with {"errcode": 0, "errmsg": "ok"}, or an errcode: 93000 for a key that
is not the robot's, 40008 for a message type it does not know, 44004 for an
empty content, 40058 for a field out of its bounds."""
import json
import re
from urllib.parse import parse_qs, urlsplit

from support.json_endpoint import JsonEndpoint

LIMITS = {"text": 2048, "markdown": 4096}
MENTION = re.compile(r"<@([^>]+)>")


class WeComReceiver(JsonEndpoint):
    def __init__(self, key="wecom-key-1"):
        self.key = key
        self.messages = []      # the bodies it took, in arrival order
        self.refused = []       # (errcode, body) of those it did not
        super().__init__()
        self.url = f"{self.base}/cgi-bin/webhook/send?key={key}"

    def take(self, path, body):
        parts = urlsplit(path)
        with self.lock:
            if parts.path != "/cgi-bin/webhook/send" or \
                    parse_qs(parts.query).get("key") != [self.key]:
                return self._refuse(93000, "invalid webhook url", body)
            try:
                message = json.loads(body)
            except ValueError:
                return self._refuse(40058, "invalid json", body)
            kind = message.get("msgtype")
            if kind not in LIMITS or not isinstance(message.get(kind), dict):
                return self._refuse(40008, "invalid message type", body)
            content = message[kind].get("content")
            if not isinstance(content, str) or not content:
                return self._refuse(44004, "empty content", body)
            if len(content.encode()) > LIMITS[kind]:
                return self._refuse(40058, f"content exceeds {LIMITS[kind]} bytes", body)
            allowed = {"content"} | ({"mentioned_list", "mentioned_mobile_list"}
                                     if kind == "text" else set())
            extra = set(message[kind]) - allowed
            lists = [message[kind].get(f) for f in ("mentioned_list", "mentioned_mobile_list")
                     if f in message[kind]]
            if extra or not all(isinstance(v, list) and all(isinstance(x, str) for x in v)
                                for v in lists):
                return self._refuse(40058, f"invalid {kind} fields", body)
            self.messages.append(message)
        return {"errcode": 0, "errmsg": "ok"}

    def _refuse(self, code, why, body):
        self.refused.append((code, body))
        return {"errcode": code, "errmsg": why}

    @staticmethod
    def content(message):
        return message[message["msgtype"]]["content"]

    @staticmethod
    def mentioned(message):
        """(userids @-ed by <@userid>, mobiles @-ed by mentioned_mobile_list)."""
        part = message[message["msgtype"]]
        return (MENTION.findall(part["content"]) + list(part.get("mentioned_list") or ()),
                list(part.get("mentioned_mobile_list") or ()))


"""What only the tests need: waiting for an effect, a free port, a tap on the
broker, tokens no service may accept. What tools and bench need too (the
client, the organisation, the webhook receiver) is in support/."""
import socket
import time
import uuid
from datetime import datetime, timedelta, timezone

import jwt
import requests
from kombu import Connection, Queue

from shared.auth import issue_token
from shared.outbox import event_exchange
from tests.conftest import ADMIN_TOKEN, SIGNING_KEY


def eventually(check, timeout=20, interval=0.2, what="the expected state"):
    """Poll `check` until it returns a truthy value; that value is returned."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = check()
            if last:
                return last
        except (AssertionError, requests.ConnectionError) as exc:
            last = exc
        time.sleep(interval)
    raise AssertionError(f"{what} not reached in {timeout}s; last: {last!r}")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Tap:
    """A queue bound to every event of a service: what the broker carried."""

    def __init__(self, amqp_uri, source):
        self.conn = Connection(amqp_uri)
        self.queue = Queue(f"tap-{uuid.uuid4().hex[:8]}", exchange=event_exchange(source),
                           routing_key="#", auto_delete=True)
        self.queue(self.conn.channel()).declare()
        self.seen = []

    def drain(self):
        simple = self.conn.SimpleQueue(self.queue)
        while True:
            try:
                message = simple.get(block=False)
            except simple.Empty:
                break
            self.seen.append(message.payload)
            message.ack()
        simple.close()
        return self.seen

    def of(self, event_type, **data):
        """The events of a type whose data has these values."""
        return [e for e in self.drain() if e["type"] == event_type
                and all(e["data"].get(k) == v for k, v in data.items())]


def bad_tokens(key=SIGNING_KEY):
    """Tokens no service may accept: each is answered 401."""
    now = datetime.now(timezone.utc)
    claims = {"iss": "fasttrack", "role": "supervisor", "sub": "s-b1", "unit": "b1",
              "units": ["b1", "city"], "exp": int((now + timedelta(days=1)).timestamp())}
    forged = jwt.encode(claims, "another-key-" + "k" * 32, algorithm="HS256")
    return {"no token": None, "garbage": "forged.token.value",
            "admin token with a suffix": ADMIN_TOKEN + "x",
            "signed with another key": forged,
            "unsigned (alg none)": jwt.encode(claims, None, algorithm="none"),
            "expired": issue_token(key, "supervisor", "s-b1", "b1", ["b1", "city"],
                                   now=now - timedelta(days=2), ttl_days=1),
            "admin claimed in a token": issue_token(key, "admin", "admin"),
            "police without a unit": issue_token(key, "supervisor", "s-b1")}

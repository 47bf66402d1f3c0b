"""What only the tests need: waiting for an effect, a free port, a tap on the
broker, tokens no service may accept. What tools and bench need too (the
client, the organisation, the webhook receiver) is in support/."""
import contextlib
import socket
import time
import uuid
from datetime import datetime, timedelta, timezone

import jwt
import requests
from kombu import Connection, Queue
from pymongo import monitoring

from shared.auth import SigningKey, issue_token
from shared.kept import Memory
from shared.mongo import connect
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
    """Tokens no service may accept: each is answered 401. `key` is the
    issuer's (the test issuer, or intake's own read from its database)."""
    now = datetime.now(timezone.utc)
    claims = {"iss": "fasttrack", "aud": "fasttrack", "role": "supervisor", "sub": "s-b1",
              "unit": "b1", "units": ["b1", "city"], "iat": int(now.timestamp()),
              "jti": uuid.uuid4().hex, "exp": int((now + timedelta(days=1)).timestamp())}
    stranger = SigningKey.generate()    # a key in no JWK set
    kid = {"kid": key.kid}
    return {"no token": None, "garbage": "forged.token.value",
            "admin token with a suffix": ADMIN_TOKEN + "x",
            "HS256 with a shared secret": jwt.encode(claims, "another-key-" + "k" * 32,
                                                     algorithm="HS256", headers=kid),
            # The public key as an HMAC secret: the classic algorithm confusion.
            "HS256 with the public key": jwt.encode(claims, key.jwk()["x"], algorithm="HS256",
                                                    headers=kid),
            "unsigned (alg none)": jwt.encode(claims, None, algorithm="none", headers=kid),
            "a key not in the JWK set": issue_token(stranger, "supervisor", "s-b1", "b1",
                                                    ["b1", "city"]),
            "a key not in the JWK set, claiming a published kid": jwt.encode(
                claims, stranger.private_key, algorithm="EdDSA", headers=kid),
            "no kid": jwt.encode(claims, key.private_key, algorithm="EdDSA"),
            "another audience": jwt.encode(dict(claims, aud="elsewhere"), key.private_key,
                                           algorithm="EdDSA", headers=kid),
            "no audience": jwt.encode({k: v for k, v in claims.items() if k != "aud"},
                                      key.private_key, algorithm="EdDSA", headers=kid),
            "another issuer": jwt.encode(dict(claims, iss="elsewhere"), key.private_key,
                                         algorithm="EdDSA", headers=kid),
            "expired": issue_token(key, "supervisor", "s-b1", "b1", ["b1", "city"],
                                   now=now - timedelta(days=2), ttl_days=1),
            "admin claimed in a token": issue_token(key, "admin", "admin"),
            "police without a unit": issue_token(key, "supervisor", "s-b1")}


# An error answer holds these members and nothing else (RFC 9457, with our
# extension members and the deprecated `error` object): no resource leaks.
PROBLEM = {"type", "title", "status", "detail", "instance", "code", "fields", "error"}


def refusal(response):
    """An error answer without `instance` (the path the caller sent, its own
    id in it): what must be the same for an id that exists and one that does
    not, so a refusal does not tell which."""
    return response.status_code, {k: v for k, v in response.json().items()
                                  if k != "instance"}


def all_pages(client, path, **params):
    """Every item of a cursor-paged list, following `next` until it is null,
    and the pages' sizes. Each page's `Link: <…>; rel="next"` header must
    name the same cursor as its `next` (and be absent when `next` is null)."""
    from urllib.parse import parse_qs, urlsplit
    items, sizes, after = [], [], None
    while True:
        r = client.get(path, **params, **({"after": after} if after else {}))
        assert r.status_code == 200, r.text
        page = r.json()
        items += page["items"]
        sizes.append(len(page["items"]))
        after = page["next"]
        link = r.headers.get("Link")
        if after is None:
            assert link is None, link
            return items, sizes
        assert link and link.endswith('>; rel="next"'), link
        target = urlsplit(link[1:link.index(">")])
        assert target.path == path and parse_qs(target.query)["after"] == [after]
        assert len(sizes) < 1000, "the cursor does not move"


class Finds(monitoring.CommandListener):
    """The collections each `find` a client sent read, in order."""

    def __init__(self):
        self.collections = []

    def started(self, event):
        if event.command_name == "find":
            self.collections.append(event.command["find"])

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass


@contextlib.contextmanager
def two_instances(uri, repository_class):
    """(handling, finds): a fresh database; `handling("a")` or ("b") makes
    one handling's repository on that instance (each process keeps its own
    copies, shared/kept.py); `finds` the collections read since."""
    finds = Finds()
    client = connect(uri, event_listeners=[finds])
    db = client[f"kept_{uuid.uuid4().hex[:8]}"]
    memories = {"a": Memory(), "b": Memory()}
    try:
        yield (lambda instance: repository_class(db, memories[instance])), finds
    finally:
        client.drop_database(db.name)
        client.close()

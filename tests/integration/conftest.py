"""Integration tests: nameko containers in this process, each test with its
own vhost (nameko's rabbit_config) and its own databases, on the real broker
and the real database started by the `stack` fixture.

The fixtures the tests of one service share are here too: case_supervision's
`world`, notify's `notify`, `receivers`, `smtp_server` and `tls_smtp_server`."""
import json
import uuid

import pytest
from kombu import Connection

from services.notify.service import NotifyService
from shared.mongo import connect, database_name
from shared.outbox import event_exchange
from support.client import Client
from support.receiver import Receiver
from tests.conftest import ADMIN_TOKEN
from tests.helpers import Tap, free_port
from tests.integration.case_world import World, fast, write_policy
from tests.integration.notify_world import FAST, private_ca, smtp_process


class Running:
    def __init__(self, container_factory, service_config):
        self.factory = container_factory
        self.make_config = service_config
        self.urls = {}
        self.config = None

    def start(self, service_cls, **settings):
        port = free_port()
        self.config = dict(self.make_config(port), **settings)
        container = self.factory(service_cls, self.config)
        container.start()
        self.urls[service_cls.name] = f"http://127.0.0.1:{port}"
        return container

    def with_intake_keys(self):
        """Settings for a service that verifies the tokens of the intake
        running here (through its JWK set), not the test issuer's."""
        return {"JWKS_URL": self.urls["intake"] + "/.well-known/jwks.json"}

    def admin(self, name):
        return Client(self.urls[name], ADMIN_TOKEN)

    def db(self, service):
        client = connect(self.config["MONGO_URI"])
        return client[database_name(self.config, service)]

    def publish(self, source, body, routing_key):
        """Put a message on a service's event exchange, as a broker would
        deliver it (including twice, or malformed)."""
        with Connection(self.config["AMQP_URI"]) as conn:
            producer = conn.Producer(serializer="json")
            producer.publish(body, exchange=event_exchange(source), routing_key=routing_key,
                             declare=[event_exchange(source)], retry=True)


@pytest.fixture
def tap(running):
    taps = []

    def make(source):
        taps.append(Tap(running.config["AMQP_URI"], source))
        return taps[-1]
    yield make
    for t in taps:
        t.conn.release()


@pytest.fixture
def running(container_factory, service_config):
    return Running(container_factory, service_config)


@pytest.fixture
def world(running, tmp_path):
    """case_supervision's World (tests/integration/case_world.py), made with
    a policy whose clocks are the given seconds (see `fast`)."""
    def make(**clocks):
        path = str(tmp_path / f"cases-{uuid.uuid4().hex[:6]}.yml")
        write_policy(path, fast(**clocks))
        return World(running, path)
    return make


# -- notify ----------------------------------------------------------------------
@pytest.fixture
def smtp_server(tmp_path):
    """A real aiosmtpd server (its own process), requiring AUTH; mail lands in a folder."""
    port, box = free_port(), tmp_path / "mail"
    box.mkdir()
    proc = smtp_process(port, box)
    yield {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": port, "SMTP_STARTTLS": "false",
           "SMTP_USER": "fasttrack", "SMTP_PASSWORD": "s3cret",
           "SMTP_FROM": "notices@fasttrack.example", "box": box}
    proc.kill()
    proc.wait()


@pytest.fixture
def tls_smtp_server(tmp_path):
    """The same server requiring STARTTLS (and AUTH only over TLS), with a
    certificate from a private CA."""
    ca, cert, key = private_ca(tmp_path)
    port, box = free_port(), tmp_path / "mail"
    box.mkdir()
    proc = smtp_process(port, box, str(cert), str(key))
    yield {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": port, "SMTP_STARTTLS": "true",
           "SMTP_USER": "fasttrack", "SMTP_PASSWORD": "s3cret",
           "SMTP_FROM": "notices@fasttrack.example", "box": box, "ca": ca}
    proc.kill()
    proc.wait()


@pytest.fixture
def receivers():
    """Webhook receivers (support/receiver.py) made by the test, closed after it."""
    made = []

    def make(**kw):
        made.append(Receiver(**kw))
        return made[-1]
    yield make
    for r in made:
        r.close()


@pytest.fixture
def notify(running, tmp_path):
    """Start notify with quick retries; `policy` overrides policy/notify.yml."""
    def start(policy=None, **settings):
        if policy:
            path = tmp_path / f"notify-{uuid.uuid4().hex[:6]}.yml"
            path.write_text(json.dumps(dict({"version": 1, "follow_up_after_seconds": 3600,
                                             "order_max_hold_seconds": 3600,
                                             "secret_overlap_seconds": 3600}, **policy)))
            settings["NOTIFY_POLICY"] = str(path)
        return running.start(NotifyService, **dict(FAST, **settings))
    return start

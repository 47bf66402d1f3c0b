"""Integration tests: nameko containers in this process, each test with its
own vhost (nameko's rabbit_config) and its own databases, on the real broker
and the real database started by the `stack` fixture."""
import pytest
from kombu import Connection

from shared.mongo import connect, database_name
from shared.outbox import event_exchange
from tests.conftest import ADMIN_TOKEN
from tests.helpers import Client, Tap, free_port


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

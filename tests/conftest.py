"""Test policy: real RabbitMQ and a real MongoDB-protocol server for every
test beyond tests/unit; nothing in-memory stands in for them.

The broker and database start lazily (the `stack` fixture), once per
session, on the test profile's own ports with empty data, and stop at the
end. With AMQP_URI / MONGO_URI set, those are used instead.
"""
from shared.quiet import quiet_eventlet

# No secret the suite meets may reach a log (support/secret_watch.py).
pytest_plugins = ["support.secret_watch"]

quiet_eventlet()

import eventlet  # noqa: E402

eventlet.monkey_patch()  # before anything opens a socket: nameko and pymongo run green

import contextlib  # noqa: E402
import os  # noqa: E402
import secrets  # noqa: E402
import shutil  # noqa: E402

import pytest  # noqa: E402
import requests  # noqa: E402

from shared.auth import SigningKey  # noqa: E402
from shared.mongo import connect  # noqa: E402
from support.jwks_server import JwksServer  # noqa: E402
from tools.stack import PORTS, Stack, rabbit_api_uri  # noqa: E402

# The tests' own issuer: it stands in for intake before the case_supervision
# and notify containers of tests/integration, which verify its tokens through
# the JWK set `jwks_server` publishes. On the real stack (tests/e2e) intake
# signs with its own key, which the tests never hold.
SIGNING_KEY = SigningKey.generate()
ADMIN_TOKEN = "test-admin-" + secrets.token_hex(8)
ROOMY_LIMITS = os.path.join(os.path.dirname(os.path.dirname(__file__)), "policy",
                            "limits-roomy.yml")
OFFSET = int(os.environ.get("FASTTRACK_PORT_OFFSET") or 0)
RABBIT_API = os.environ.get("FASTTRACK_RABBIT_API_URI",
                            rabbit_api_uri(PORTS["test"]["mgmt"] + OFFSET))


def pytest_configure(config):
    # nameko's pytest plugin gives each integration test its own vhost.
    config.option.RABBIT_AMQP_URI = os.environ.get(
        "AMQP_URI", f"amqp://guest:guest@127.0.0.1:{PORTS['test']['amqp'] + OFFSET}/")
    config.option.RABBIT_API_URI = RABBIT_API
    config.option.suppress_eventlet_notification = True


@pytest.fixture(scope="session")
def stack():
    s = Stack("test")
    if s.own_broker or s.own_db:
        s.stop_all()
        for part in ("db", "rabbitmq"):
            shutil.rmtree(os.path.join(s.var, part), ignore_errors=True)
    s.env.update({
        "FASTTRACK_ADMIN_TOKEN": ADMIN_TOKEN,
        "FASTTRACK_WEBHOOK_ALLOW_PRIVATE": "1",
        "FASTTRACK_RETRY_BASE_DELAY": "0.5",
        "FASTTRACK_RETRY_MAX_ATTEMPTS": "3",
        # Every test's client is 127.0.0.1: the shipped per-address limits
        # would count the whole suite as one client (policy/limits-roomy.yml).
        "FASTTRACK_LIMITS_POLICY": ROOMY_LIMITS,
    })
    s.start_infra()
    yield s
    s.stop_all()


@pytest.fixture(autouse=True)
def healthy_stack(request):
    """Before each test on the stack: its broker and database can serve.
    If not (a crashed node, a raised disk or memory alarm), every later test
    would fail by timeout; stop the run now and say why instead."""
    if "stack" in request.fixturenames:
        problem = request.getfixturevalue("stack").health_problem()
        if problem:
            pytest.exit(f"the test stack cannot serve: {problem}", returncode=3)


def _disk_free():
    free = shutil.disk_usage(os.path.dirname(os.path.dirname(__file__))).free
    return f"disk free for var/: {free // 2**20} MB"


def pytest_report_header(config):
    return _disk_free()


def pytest_terminal_summary(terminalreporter):
    terminalreporter.write_line(_disk_free())


@pytest.fixture(scope="session")
def jwks_server():
    server = JwksServer([SIGNING_KEY])
    yield server
    server.close()


@pytest.fixture
def db_prefix(request):
    prefix = f"t{secrets.token_hex(4)}_"
    yield prefix
    # The test's databases go with it (its services stopped before this
    # runs): the database's files stop growing over the run, which a small
    # CI disk needs.
    if "stack" in request.fixturenames:
        drop_databases(request.getfixturevalue("stack"), prefix)


def drop_databases(stack, prefix):
    client = connect(stack.env["MONGO_URI"])
    try:
        for name in client.list_database_names():
            if name.startswith(prefix):
                client.drop_database(name)
    finally:
        client.close()


@pytest.fixture
def service_config(stack, rabbit_config, db_prefix, jwks_server):
    """A nameko config for one container: its own vhost and databases."""
    def make(port):
        return {
            "AMQP_URI": rabbit_config["AMQP_URI"],
            "MONGO_URI": stack.env["MONGO_URI"],
            "WEB_SERVER_ADDRESS": f"127.0.0.1:{port}",
            "DB_PREFIX": db_prefix,
            "JWKS_URL": jwks_server.url,
            "ADMIN_TOKEN": ADMIN_TOKEN,
            "RETRY_BASE_DELAY": 0.2,
            "RETRY_MAX_ATTEMPTS": 3,
            "max_workers": 10,
            # As on the shared stack: a test files as fast as it can; the
            # limits' own tests pass a file of their own.
            "LIMITS_POLICY": ROOMY_LIMITS,
        }
    return make


@contextlib.contextmanager
def fresh_vhost(stack):
    """A fresh vhost on the broker: a fresh install, as far as queues go."""
    name = f"ft_{secrets.token_hex(4)}"
    api = RABBIT_API.rstrip("/")
    requests.put(f"{api}/api/vhosts/{name}", timeout=10).raise_for_status()
    requests.put(f"{api}/api/permissions/{name}/guest", timeout=10,
                 json={"configure": ".*", "write": ".*", "read": ".*"}).raise_for_status()
    base = stack.env["AMQP_URI"].rstrip("/")
    yield f"{base}/{name}"
    requests.delete(f"{api}/api/vhosts/{name}", timeout=10)


@pytest.fixture
def vhost(stack):
    with fresh_vhost(stack) as uri:
        yield uri

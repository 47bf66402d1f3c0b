"""End-to-end: the three services as separate `nameko run` processes, as
`make run` starts them, each test in a fresh vhost and fresh databases (a
fresh install), driven over HTTP like a user."""
import secrets

import pytest

from services.intake.signing_keys import current_key
from shared.mongo import connect, database_name
from support.client import Client
from support.organisation import Org
from tests.conftest import ADMIN_TOKEN, drop_databases, fresh_vhost

ALL = ("intake", "case_supervision", "notify")


class System:
    def __init__(self, stack, vhost, db_prefix):
        self.stack = stack
        self.env = {"AMQP_URI": vhost, "FASTTRACK_DB_PREFIX": db_prefix}

    def start(self, *names, **extra_env):
        for name in names or ALL:
            self.stack.start_service(name, dict(self.env, **extra_env))

    def kill(self, name):
        self.stack.kill_service(name)

    def stop(self, name):
        self.stack.stop_service(name)

    def client(self, name, token=None):
        return Client(self.stack.service_url(name), token)

    def issuer_key(self):
        """Intake's current signing key, read from its database (as only the
        operator could): to make tokens intake would never make."""
        client = connect(self.stack.env["MONGO_URI"])
        try:
            return current_key(client[database_name(
                {"DB_PREFIX": self.env["FASTTRACK_DB_PREFIX"]}, "intake")])
        finally:
            client.close()

    def org(self, language="en"):
        return Org(self.stack.service_url("intake"), ADMIN_TOKEN, language)

    def cases_for(self, org, report_id):
        r = self.client("case_supervision", org.officer_token).get("/cases",
                                                                   report_id=report_id)
        assert r.status_code == 200, r.text
        return r.json()["items"]

    def feed_all(self, org):
        """Every notice of the company, following the feed's cursor."""
        items, after = [], None
        client = self.client("notify", org.company_token)
        while True:
            page = client.get("/notices", limit=200,
                              **({"after": after} if after else {})).json()
            items += page["items"]
            after = page["next"]   # given at the end too: a short page is the end for now
            if len(page["items"]) < 200:
                return items

    def feed(self, org):
        r = self.client("notify", org.company_token).get("/notices")
        assert r.status_code == 200, r.text
        return r.json()["items"]


@pytest.fixture
def system(stack, vhost, db_prefix):
    s = System(stack, vhost, db_prefix)
    yield s
    for name in list(stack.services):
        stack.stop_service(name)


@pytest.fixture(scope="module")
def running_system(stack):
    """The three services, started once for a module of tests that change
    nothing (refused input): a fresh vhost and databases of its own."""
    with fresh_vhost(stack) as vhost:
        s = System(stack, vhost, f"m{secrets.token_hex(4)}_")
        s.start()
        yield s
        for name in list(stack.services):
            stack.stop_service(name)
        drop_databases(stack, s.env["FASTTRACK_DB_PREFIX"])

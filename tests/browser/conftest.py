"""Browser tests: Debian's Chromium, driven by Playwright for Python, through
the front door (nginx) to the web app and the three services, all as
separate processes on the test stack, as `make run` starts them."""
import secrets

import pytest
from playwright.sync_api import sync_playwright

from support.browser import launch
from support.people import People
from tests.conftest import ADMIN_TOKEN, drop_databases, fresh_vhost

PARTS = ("intake", "case_supervision", "notify", "web")


class Door:
    def __init__(self, stack, env):
        self.stack = stack
        self.env = env
        self.url = stack.front_url()

    def people(self, language="zh-CN"):
        return People(self.stack.service_url("intake"), ADMIN_TOKEN, language)

    def web_db(self):
        """The web app's database (sessions), as its operator would reach it."""
        from shared.mongo import connect, database_name
        client = connect(self.stack.env["MONGO_URI"])
        return client, client[database_name({"DB_PREFIX": self.env["FASTTRACK_DB_PREFIX"]},
                                             "web")]


@pytest.fixture(scope="module")
def door(stack, request):
    """The stack behind the door, for one test module; a module's DOOR_ENV
    (e.g. a policy file of its own) is added to every service's environment."""
    with fresh_vhost(stack) as vhost:
        env = {"AMQP_URI": vhost, "FASTTRACK_DB_PREFIX": f"w{secrets.token_hex(4)}_",
               **getattr(request.module, "DOOR_ENV", {})}
        try:
            for name in PARTS:
                stack.start_service(name, env)
            stack.start_frontdoor()
            yield Door(stack, env)
        finally:
            stack.stop_frontdoor()
            for name in list(stack.services):
                stack.stop_service(name)
            drop_databases(stack, env["FASTTRACK_DB_PREFIX"])


@pytest.fixture(scope="session")
def browser():
    # Not `with sync_playwright()`: its exit waits forever under eventlet's
    # monkey-patching (tests/conftest.py); the driver ends with the process.
    playwright = sync_playwright().start()
    b = launch(playwright)
    yield b
    b.close()

"""The sign-in page under the token-request limit (policy/limits.yml,
oauth.token per source address): a network that has used up its attempts
is told to wait, in its language, and is not let in even with the right
password until the window has passed."""
import json
import os
import re
import tempfile

from playwright.sync_api import expect

from support.browser import check_page, new_context, sign_in, watch
from support.people import PASSWORD

# Three token requests an hour from one address: the browser's, forwarded by
# the front door and the web app, which the services trust (loopback).
_LIMITS = {"version": 1, "limits": {
    name: {"window_seconds": 3600, "per_principal": 100000, "per_source": 100000}
    for name in ("report.file", "report.supply_materials", "report.upload", "webhook.ping")}}
_LIMITS["limits"]["oauth.token"] = {"window_seconds": 3600, "per_source": 3}
_FILE = os.path.join(tempfile.mkdtemp(prefix="fasttrack-limits-"), "limits.yml")
with open(_FILE, "w") as f:
    json.dump(_LIMITS, f)
DOOR_ENV = {"FASTTRACK_LIMITS_POLICY": _FILE}


def test_a_network_over_its_sign_in_limit_is_told_to_wait(door, browser):
    people = door.people()
    ctx = new_context(browser)
    page = watch(ctx.new_page())
    try:
        for _ in range(3):   # the window's three attempts, all wrong
            sign_in(page, door.url, people.officer, "not-the-password-at-all")
            expect(page.locator(".error-summary")).to_contain_text("用户名或密码错误")
        sign_in(page, door.url, people.officer, PASSWORD)
        # The minutes until the next attempt fits, from Retry-After.
        expect(page.locator(".error-summary")).to_have_text(
            re.compile(r"该网络的登录尝试过于频繁，请 ([1-9]|[1-5][0-9]|60) 分钟后再试。"))
        expect(page.locator("#f-username")).to_have_value(people.officer)
        check_page(page, "signin-too-many")
        page.goto(door.url + "/officer")
        expect(page).to_have_url(door.url + "/signin?next=/officer")   # not let in
    finally:
        ctx.close()

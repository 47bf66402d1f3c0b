"""Journeys 2 and 5 in a real browser through the front door: a supervisor's
open board turns a case amber, then red, and shows the escalation without a
reload, then sets a deadline (限期) and resolves the ledger item (销号);
an admin invites an officer, who sets a password and signs in.

The stack runs with case clocks of seconds (its own policy file): the first
action is due 20 s after a case opens, the lead is warned at 80 % of that."""
import os
import re
import secrets
from datetime import datetime, timedelta, timezone

import pyotp
import pytest
import requests
import yaml
from playwright.sync_api import expect

from support.browser import check_page, new_context, sign_in, watch
from support.client import Client
from support.people import PASSWORD, People
from support.reports import report_body
from tests.conftest import ADMIN_TOKEN, fresh_vhost

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIRST_ACTION = 20
PARTS = ("intake", "case_supervision", "notify", "web")
BEIJING = timezone(timedelta(hours=8))


def short_clocks(path):
    """The shipped case policy with a first action due in seconds."""
    with open(os.path.join(ROOT, "policy", "cases.yml"), encoding="utf-8") as f:
        policy = yaml.safe_load(f)
    policy["deadlines"] = {p: {"first_action": FIRST_ACTION, "first_progress": 3600,
                               "conclusion": 86400} for p in ("urgent", "high", "normal")}
    policy["escalation"]["repeat_seconds"] = 3600
    policy["escalation"]["warn_at"] = 0.8
    policy["calendars"]["office_hours"]["holidays_file"] = os.path.join(
        ROOT, "policy", "holidays.yml")
    with open(path, "w", encoding="utf-8") as f:
        yaml.safe_dump(policy, f, allow_unicode=True)
    return path


@pytest.fixture(scope="module")
def door(stack, tmp_path_factory):
    policy = short_clocks(str(tmp_path_factory.mktemp("policy") / "cases.yml"))
    with fresh_vhost(stack) as vhost:
        env = {"AMQP_URI": vhost, "FASTTRACK_DB_PREFIX": f"w{secrets.token_hex(4)}_",
               "FASTTRACK_CASES_POLICY": policy}
        try:
            for name in PARTS:
                stack.start_service(name, env)
            stack.start_frontdoor()
            yield stack
        finally:
            stack.stop_frontdoor()
            for name in list(stack.services):
                stack.stop_service(name)


def police_account(people, officer_id, role, unit):
    """A supervisor (or admin) made by the break-glass admin, its password set
    from the invite; (username, TOTP secret)."""
    if role == "admin":
        r = people.admin.post("/admin/admins", {"username": officer_id})
    else:
        r = people.admin.post("/admin/officers", {"officer_id": officer_id, "name": "王督察",
                                                  "unit_id": unit, "role": role})
    assert r.status_code == 201, r.text
    made = r.json()
    r = people.intake.post("/accounts/password", {"invite": made["invite"], "password": PASSWORD})
    assert r.status_code == 200, r.text
    return made["username"], r.json()["second_factor"]["secret"]


def sign_in_with_code(page, base, username, secret):
    page.goto(base + "/signin")
    page.fill("#f-username", username)
    page.fill("#f-password", PASSWORD)
    page.fill("#f-otp", pyotp.TOTP(secret).now())
    page.click("form[action='/signin'] button[type=submit]")


def token_of(intake_url, username):
    r = requests.post(intake_url + "/oauth/token", data={
        "grant_type": "password", "username": username, "password": PASSWORD}, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


def test_the_board_turns_amber_then_red_shows_the_escalation_and_the_supervisor_acts(
        door, browser):
    base = door.front_url()
    intake_url = door.service_url("intake")
    people = People(intake_url, ADMIN_TOKEN)
    supervisor, secret = police_account(people, f"wang-{people.tag}", "supervisor",
                                        people.bureau)
    ctx, lead_ctx = new_context(browser), new_context(browser)
    try:
        board = watch(ctx.new_page())
        sign_in_with_code(board, base, supervisor, secret)
        expect(board).to_have_url(re.compile(r"/supervisor$"))

        # A report filed and accepted through the APIs: a case opens, its
        # first action due in 20 s.
        company = Client(intake_url, people.company_token)
        r = company.post("/reports", report_body(summary="伪造供应商发票"))
        assert r.status_code == 201, r.text
        report_id = r.json()["report_id"]
        cop = Client(intake_url, token_of(intake_url, people.officer))
        r = cop.post(f"/reports/{report_id}/accept")
        assert r.status_code in (200, 201), r.text
        board.evaluate("() => { window.notReloaded = true; }")

        row = board.locator("#board tr", has_text="伪造供应商发票")
        expect(row).to_have_class(re.compile(r"\bok\b"), timeout=15000)
        expect(row.locator(".countdown")).to_contain_text("剩余")
        number = row.get_attribute("data-case")
        check_page(board, "supervisor-board")
        # Amber before the deadline, red after it, then the first rung.
        expect(row).to_have_class(re.compile(r"\bwarn\b"), timeout=FIRST_ACTION * 1000)
        expect(row.locator("[data-state-label]")).to_have_text("临近期限")
        expect(row).to_have_class(re.compile(r"\boverdue\b"), timeout=FIRST_ACTION * 1000)
        expect(row.locator("[data-state-label]")).to_have_text("已逾期")
        expect(row.locator(".rung")).to_contain_text("主办民警", timeout=15000)
        # Still red after the refreshes: the miss stands until someone acts.
        board.wait_for_timeout(5000)
        expect(row).to_have_class(re.compile(r"\boverdue\b"))
        expect(row).to_contain_text("李警官")
        assert board.evaluate("() => window.notReloaded") is True
        check_page(board, "supervisor-board-escalated")

        # Filters: another priority hides it; its own shows it.
        board.goto(base + "/supervisor?priority=urgent")
        expect(board.locator("#board")).to_contain_text("没有符合条件的督办案件")
        board.goto(base + f"/supervisor?priority=normal&q={number}")
        row = board.locator("#board tr", has_text=number)
        expect(row).to_have_class(re.compile(r"\boverdue\b"))

        # 限期: a deadline with a reason, on the case's page.
        row.get_by_role("link", name=number).click()
        expect(board.locator("h1")).to_contain_text(number)
        check_page(board, "supervisor-case")
        due = (datetime.now(BEIJING) + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
        board.select_option("#f-stage", "first_action")
        board.fill("#f-due_at", due)
        board.click("form[action$='/deadline'] button[type=submit]")
        expect(board.locator(".error-summary")).to_be_visible()   # the reason is required
        expect(board.locator("#f-due_at")).to_have_value(due)
        board.fill("#f-reason", "限期两日内完成首次行动")
        board.click("form[action$='/deadline'] button[type=submit]")
        expect(board.locator(".notice.ok")).to_be_visible()
        expect(board.locator("#hist-h + table")).to_contain_text("限期两日内完成首次行动")

        # The ledger: the missed deadline is an open item; 销号 with a note.
        board.goto(base + "/supervisor/ledger")
        items = board.locator(".ledger tbody tr", has_text=number)
        item = items.filter(has_text="期限逾期").first
        expect(item).to_be_visible()
        open_items = items.count()   # the missed deadline, and the escalation it caused
        check_page(board, "supervisor-ledger")
        csv = board.request.get(base + "/supervisor/ledger/export?format=csv")
        assert csv.status == 200 and csv.headers["content-type"].startswith("text/csv")
        assert number in csv.text()
        item.locator("input[name=note]").fill("已督促主办民警，限期整改")
        item.get_by_role("button").click()
        expect(board.locator(".notice.ok")).to_be_visible()
        expect(items).to_have_count(open_items - 1)
        board.goto(base + "/supervisor/ledger?status=resolved")
        expect(board.locator(".ledger tbody tr", has_text=number)).to_contain_text(
            "已督促主办民警")

        # The scorecards side by side, drawn by ECharts from our own files.
        board.goto(base + "/supervisor/scorecards")
        expect(board.locator(".chart[data-drawn]")).to_have_count(6)
        expect(board.locator(".chart svg").first).to_be_visible()
        expect(board.locator("table.scorecards")).to_contain_text("北街派出所")
        check_page(board, "supervisor-scorecards")
        export = board.request.get(base + "/supervisor/scorecards/export?format=csv")
        assert export.status == 200 and export.headers["content-type"].startswith("text/csv")

        # The lead officer, the ladder's first rung, has the alert in the inbox.
        lead = watch(lead_ctx.new_page())
        sign_in(lead, base, people.officer, PASSWORD)
        expect(lead.locator("#unread .count")).to_be_visible()
        lead.goto(base + "/alerts")
        alert = lead.locator("tbody tr.unread").first
        expect(alert).to_be_visible()
        check_page(lead, "officer-alerts")
        unread = lead.locator("tbody tr.unread").count()
        alert.get_by_role("button", name="标为已读").click()
        expect(lead.locator(".notice.ok")).to_have_text("已标为已读。")
        expect(lead.locator("tbody tr.unread")).to_have_count(unread - 1)
    finally:
        ctx.close()
        lead_ctx.close()


def test_an_admin_invites_an_officer_who_sets_a_password_and_signs_in(door, browser):
    base = door.front_url()
    people = People(door.service_url("intake"), ADMIN_TOKEN)
    admin, secret = police_account(people, f"admin-{people.tag}", "admin", None)
    admin_ctx, new_ctx = new_context(browser), new_context(browser)
    try:
        page = watch(admin_ctx.new_page())
        sign_in_with_code(page, base, admin, secret)
        expect(page).to_have_url(re.compile(r"/admin$"))
        expect(page.locator(".tree")).to_contain_text("北街派出所")
        check_page(page, "admin-home")

        officer_id = f"zhao-{people.tag}"
        page.fill("#f-officer_id", officer_id)
        page.fill("#f-name", "赵警官")
        page.select_option("#f-unit_id", people.station)
        page.click("form[action='/admin/officers'] button[type=submit]")
        expect(page.locator(".invite")).to_contain_text(officer_id)
        code = page.locator("#invite-code").inner_text().strip()
        assert len(code) >= 16
        check_page(page, "admin-invited")
        # Shown once: the page after does not carry it.
        page.goto(base + "/admin")
        assert code not in page.content()
        expect(page.locator(f"tr[data-account='{officer_id}']")).to_contain_text("赵警官")

        # The officer, in their own browser: the invite and a new password.
        officer = watch(new_ctx.new_page())
        officer.goto(base + "/password")
        check_page(officer, "set-password")
        officer.fill("#f-invite", code)
        officer.fill("#f-password", PASSWORD)
        officer.fill("#f-again", PASSWORD + "x")
        officer.click("form[action='/password'] button[type=submit]")
        expect(officer.locator("#e-again")).to_have_text("两次输入的密码不一致。")
        expect(officer.locator("#f-invite")).to_have_value(code)   # what was typed is kept
        officer.fill("#f-password", PASSWORD)
        officer.fill("#f-again", PASSWORD)
        officer.click("form[action='/password'] button[type=submit]")
        expect(officer.locator("h1")).to_have_text("密码已设置")
        sign_in(officer, base, officer_id, PASSWORD)
        expect(officer).to_have_url(re.compile(r"/officer$"))
        expect(officer.locator(".who")).to_contain_text("赵警官")
        # Another role's pages are not there for an officer.
        assert officer.goto(base + "/supervisor").status == 404
        assert officer.goto(base + "/admin").status == 404
        # The code worked once: a second use is refused by the field.
        officer.goto(base + "/password")
        officer.fill("#f-invite", code)
        officer.fill("#f-password", PASSWORD)
        officer.fill("#f-again", PASSWORD)
        officer.click("form[action='/password'] button[type=submit]")
        expect(officer.locator("#e-invite")).to_be_visible()

        # The audit log records it; the failures page answers for every service.
        page.goto(base + "/admin/audit")
        expect(page.locator("table.audit")).to_contain_text("password.set")
        check_page(page, "admin-audit")
        page.goto(base + "/admin/failures")
        expect(page.locator("section.card")).to_have_count(4)   # three services, dead letters
        expect(page.locator(".notice.warn")).to_have_count(0)
        check_page(page, "admin-failures")
    finally:
        admin_ctx.close()
        new_ctx.close()

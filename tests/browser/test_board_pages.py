"""The supervisor's board pages through the cases (never loads them all):
with a page of two, three cases in the bureau's subtree show as two and
then one, each page by what is due next, the live refresh keeping its page."""
import re

import requests
from playwright.sync_api import expect

from support.browser import check_page, new_context, sign_in_with_code, watch
from support.people import PASSWORD, police_account
from support.reports import report_body

DOOR_ENV = {"FASTTRACK_WEB_BOARD_PAGE": "2"}


def test_the_board_pages_through_the_cases(door, browser):
    people = door.people()
    intake = door.stack.service_url("intake")
    r = requests.post(intake + "/oauth/token", timeout=10, data={
        "grant_type": "password", "username": people.officer, "password": PASSWORD})
    officer = {"Authorization": f"Bearer {r.json()['access_token']}"}
    company = {"Authorization": f"Bearer {people.company_token}"}
    for n in range(3):
        filed = requests.post(intake + "/reports", json=report_body(), headers=company,
                              timeout=15)
        assert filed.status_code == 201, filed.text
        accepted = requests.post(intake + f"/reports/{filed.json()['report_id']}/accept",
                                 json={}, headers=officer, timeout=15)
        assert accepted.status_code == 200, accepted.text
    supervisor, secret = police_account(people, f"qian-{people.tag}", "supervisor",
                                        people.bureau, name="钱督察")
    ctx = new_context(browser)
    try:
        page = watch(ctx.new_page())
        sign_in_with_code(page, door.url, supervisor, PASSWORD, secret)
        expect(page).to_have_url(re.compile(r"/supervisor$"))
        rows = page.locator("#board tr")
        expect(rows).to_have_count(2, timeout=20_000)   # the cases open as events arrive
        page.reload()                           # the pager is the page's, not the rows'
        expect(rows).to_have_count(2)
        expect(page.get_by_role("link", name="第一页")).to_have_count(0)
        page.get_by_role("link", name="后 2 件案件").click()
        expect(page).to_have_url(re.compile(r"/supervisor\?after="))
        expect(rows).to_have_count(1)
        check_page(page, "supervisor-board-page-2")
        page.wait_for_timeout(4500)             # one live refresh: still the second page
        expect(rows).to_have_count(1)
        page.get_by_role("link", name="第一页").click()
        expect(rows).to_have_count(2)
    finally:
        ctx.close()

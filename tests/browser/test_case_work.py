"""Journeys 3 and 4 in a real browser, through the front door: a transfer
offered, declined, offered again and accepted, each unit's page showing it;
and a business that attaches evidence while filing, an officer who
downloads it, works the case to its conclusion, and a business that rates
it, the unit's scorecard counting the rating. Each page checked with
axe-core at a phone's and a desktop's width, and photographed."""
import hashlib
import re
import time

import requests
from playwright.sync_api import expect

from support.browser import check_page, new_context, sign_in, watch
from support.people import PASSWORD
from support.reports import report_body
from tests.conftest import ADMIN_TOKEN

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n" + b"0" * 3000 + b"\n%%EOF\n"


def file_by_api(door, people, **kw):
    r = requests.post(door.stack.service_url("intake") + "/reports", json=report_body(**kw),
                      headers={"Authorization": f"Bearer {people.company_token}"}, timeout=15)
    assert r.status_code == 201, r.text
    return r.json()


def test_a_transfer_offered_declined_offered_again_and_accepted(door, browser):
    people = door.people()
    report = file_by_api(door, people, summary="仓库被盗")
    ref, rid = report["reference"], report["report_id"]
    north_ctx, river_ctx = new_context(browser), new_context(browser, width=390)
    try:
        north = watch(north_ctx.new_page())
        sign_in(north, door.url, people.officer, PASSWORD)
        river = watch(river_ctx.new_page())
        sign_in(river, door.url, people.other_officer, PASSWORD)
        expect(river).to_have_url(re.compile(r"/officer$"))

        def offer(reason):
            resp = north.goto(door.url + f"/officer/reports/{rid}")
            assert resp.status == 200 and "移交其他单位" in resp.text(), (north.url, resp.status, north.inner_text(".userbar"), north.inner_text("main")[:300])
            north.locator("summary", has_text="移交其他单位").click()
            north.select_option("#f-to_unit_id", people.other_station)
            north.fill("form[action$='/transfer'] #f-reason", reason)
            north.click("form[action$='/transfer'] button[type=submit]")
            expect(north.locator(".notice.ok")).to_contain_text("移交")
            expect(north.locator(".badge.s-transfer_pending")).to_be_visible()

        offer("案发地在滨河辖区。")
        check_page(north, "officer-transfer-offered")
        # The other unit sees the offer in its queue, with the time to answer.
        row = river.locator("#queue tr", has_text=ref)
        expect(row).to_be_visible(timeout=10000)
        river.goto(door.url + f"/officer/reports/{rid}")
        expect(river.locator("main")).to_contain_text("案发地在滨河辖区。")
        # Bad input: declining without a reason is refused by the API's field
        # message, in Chinese; nothing changes.
        decline = river.locator("form[action$='/transfer-decline']")
        decline.locator("button[type=submit]").click()
        expect(river.locator(".error-summary")).to_be_visible()
        expect(river.locator("#e-reason")).to_have_text("长度必须在 1 到 1000 之间。")
        check_page(river, "officer-transfer-offer-in")
        river.fill("form[action$='/transfer-decline'] #f-reason", "该地址属北街辖区。")
        river.click("form[action$='/transfer-decline'] button[type=submit]")
        expect(river.locator(".notice.ok")).to_contain_text("已拒绝移交")
        expect(river.locator("#queue")).not_to_contain_text(ref)

        # The offering unit's page: the report is back with it, the refusal on record.
        north.goto(door.url + f"/officer/reports/{rid}")
        expect(north.locator(".badge.s-transfer_pending")).to_have_count(0)
        expect(north.locator("#hist-h + table")).to_contain_text("拒绝移交")
        expect(north.get_by_role("button", name="受理并立案")).to_be_visible()

        offer("再次核实：案发仓库属滨河辖区。")
        river.goto(door.url + "/officer")
        expect(river.locator("#queue tr", has_text=ref)).to_be_visible(timeout=10000)
        river.goto(door.url + f"/officer/reports/{rid}")
        river.get_by_role("button", name="接收移交").click()
        expect(river.locator(".notice.ok")).to_contain_text("接收")
        expect(river.get_by_role("button", name="受理并立案")).to_be_visible()
        check_page(river, "officer-transfer-accepted")
        # Now the other unit's: gone from the first unit's queue.
        north.goto(door.url + "/officer")
        expect(north.locator("h1")).to_be_visible()
        expect(north.locator("#queue")).not_to_contain_text(ref)
        owner = requests.get(door.stack.service_url("intake") + f"/reports/{rid}",
                             headers={"Authorization": f"Bearer {people.company_token}"},
                             timeout=10).json()
        assert owner["owner_unit_name"]["zh-CN"] == "滨河派出所"
    finally:
        north_ctx.close()
        river_ctx.close()


def assert_download(door, page, link):
    """The link's file as this person's browser gets it (its session cookie,
    through the door; Playwright's own download wait hangs under eventlet):
    the same bytes, as an attachment, never rendered."""
    got = page.request.get(door.url + link.get_attribute("href"))
    assert got.status == 200, got.text()
    assert hashlib.sha256(got.body()).hexdigest() == hashlib.sha256(PDF).hexdigest()
    assert got.headers["content-disposition"].startswith("attachment")
    assert "%E9%93%B6%E8%A1%8C%E6%B5%81%E6%B0%B4.pdf" in got.headers["content-disposition"]
    assert got.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in got.headers["content-security-policy"]


def scorecard(door, unit):
    r = requests.get(door.stack.service_url("case_supervision") + f"/units/{unit}/scorecard",
                     headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()


def test_evidence_filed_downloaded_case_concluded_rated_and_counted(door, browser):
    people = door.people()
    biz_ctx, cop_ctx = new_context(browser, width=390), new_context(browser)
    try:
        biz = watch(biz_ctx.new_page())
        sign_in(biz, door.url, people.company, PASSWORD)
        biz.goto(door.url + "/business/reports/new")
        biz.check("#t-fraud")
        biz.fill("#f-summary", "假冒供应商收款")
        biz.fill("#f-description", "财务按伪造的发票向陌生账户付款。")
        biz.fill("#f-occurred_at", "2026-11-28T09:30")
        biz.fill("#f-location", "港湾路1号")
        biz.fill("#f-estimated_loss", "48,000")
        # A file attached to the first item of the fraud checklist, while filing.
        item = biz.locator("input[type=file][id^='file-fraud-']").first
        code = item.get_attribute("id").removeprefix("file-fraud-")
        item.set_input_files({"name": "银行流水.pdf", "mimeType": "application/pdf",
                              "buffer": PDF})
        biz.click("form[action='/business/reports/new'] button[type=submit]")
        expect(biz.locator(".panel.success")).to_be_visible()
        ref = biz.locator(".panel.success .ref").inner_text()
        kept = biz.locator(f"#item-{code} .files li")
        expect(kept).to_have_count(1)
        expect(kept).to_contain_text("银行流水.pdf")
        expect(kept).to_contain_text(hashlib.sha256(PDF).hexdigest())
        # The item counts as handed in: one fewer missing.
        expect(biz.locator("#missing-count")).to_contain_text("尚缺 4 项")
        check_page(biz, "business-report-evidence")
        # Its own file downloads from the web app, as an attachment.
        assert_download(door, biz, kept.get_by_role("link", name="银行流水.pdf"))

        # The officer accepts, sees the company's file on the case and downloads it.
        cop = watch(cop_ctx.new_page())
        sign_in(cop, door.url, people.officer, PASSWORD)
        cop.locator("#queue tr", has_text=ref).get_by_role("button", name=f"受理 {ref}").click()
        expect(cop.locator(".notice.ok")).to_contain_text("已受理")
        cop.get_by_role("link", name="查看案件").click()
        assert_download(door, cop, cop.get_by_role("link", name="银行流水.pdf"))

        # Money recovered and frozen, with a disclosed step; a pause and a resume.
        cop.fill("#f-note", "已冻结涉案账户，追回部分款项。")
        cop.fill("#f-recovered_amount", "12,000")
        cop.fill("#f-frozen_amount", "30000")
        cop.check("#f-disclose")
        cop.click("form[action$='/progress'] button[type=submit]")
        expect(cop.locator(".notice.ok")).to_contain_text("进展已登记")
        expect(cop.locator("main")).to_contain_text("¥12,000.00")
        expect(cop.locator("main")).to_contain_text("¥30,000.00")
        cop.fill("form[action$='/pause'] #f-reason", "等待企业补充合同原件。")
        cop.click("form[action$='/pause'] button[type=submit]")
        expect(cop.locator(".notice.ok")).to_contain_text("已中止")
        cop.click("form[action$='/resume'] button[type=submit]")
        expect(cop.locator(".notice.ok")).to_contain_text("已恢复")
        # Bad input: a conclusion without a result keeps the summary typed and
        # shows the API's message by the field, in Chinese.
        cop.fill("#f-summary", "嫌疑人已到案，款项部分追回。")
        cop.click("form[action$='/conclude'] button[type=submit]")
        expect(cop.locator("#e-result")).to_have_text("缺少必填字段。")
        expect(cop.locator("#f-summary")).to_have_value("嫌疑人已到案，款项部分追回。")
        check_page(cop, "officer-case-conclude-errors")
        cop.select_option("#f-result", "solved")
        cop.click("form[action$='/conclude'] button[type=submit]")
        expect(cop.locator(".notice.ok")).to_contain_text("案件已办结")

        # The business sees the result and rates it; the scorecard counts it.
        biz.reload()
        expect(biz.locator("#outcome")).to_contain_text("已破案")
        check_page(biz, "business-case-concluded")
        before = scorecard(door, people.station)["satisfaction"]
        biz.check("#rating-4")
        biz.fill("#f-comment", "办理及时。")
        biz.click("form[action$='/satisfaction'] button[type=submit]")
        expect(biz.locator("#rated")).to_contain_text("4")
        deadline = time.monotonic() + 15
        while True:
            card = scorecard(door, people.station)["satisfaction"]
            if card["count"] == before["count"] + 1 or time.monotonic() > deadline:
                break
            time.sleep(0.3)
        assert card["count"] == before["count"] + 1 and card["average"] == "4.00", card
    finally:
        biz_ctx.close()
        cop_ctx.close()


def test_a_business_sets_its_notice_channels_and_api_keys(door, browser):
    people = door.people()
    ctx = new_context(browser)
    try:
        page = watch(ctx.new_page())
        sign_in(page, door.url, people.company, PASSWORD)
        page.get_by_role("link", name="通知渠道").click()
        # Bad input: the API's message by the field, in Chinese, what was typed kept.
        page.fill("#f-webhook_url", "不是网址")
        page.fill("#f-email", "ops@example.com")
        page.click("form[action='/business/channels'] button[type=submit]")
        expect(page.locator("#e-webhook_url")).to_be_visible()
        assert re.search(r"[\u4e00-\u9fff]", page.locator("#e-webhook_url").inner_text())
        expect(page.locator("#f-webhook_url")).to_have_value("不是网址")
        expect(page.locator("#f-email")).to_have_value("ops@example.com")
        check_page(page, "business-channels-errors")
        page.fill("#f-webhook_url", "https://93.184.216.34/fasttrack")
        page.click("form[action='/business/channels'] button[type=submit]")
        secret = page.locator("#secret code").inner_text()
        assert len(secret) >= 20
        expect(page.locator("#f-phone")).to_have_value("")     # off, not "None"
        check_page(page, "business-channels")
        # Shown once: the page does not show it again; a rotation shows a new one.
        page.goto(door.url + "/business/channels")
        expect(page.locator("#secret")).to_have_count(0)
        assert secret not in page.content()
        page.click("form[action='/business/channels/rotate'] button[type=submit]")
        rotated = page.locator("#secret code").inner_text()
        assert rotated and rotated != secret

        page.get_by_role("link", name="接口密钥").click()
        page.fill("#f-name", "ERP 对接")
        page.click("form[action='/business/api-keys'] button[type=submit]")
        client_secret = page.locator("#new-key code.secret").inner_text()
        assert len(client_secret) >= 20
        check_page(page, "business-api-keys")
        page.goto(door.url + "/business/api-keys")
        assert client_secret not in page.content()
        page.get_by_role("button", name="吊销 ERP 对接").click()
        expect(page.locator(".notice.ok")).to_contain_text("密钥已吊销")
        expect(page.locator("table.list")).to_contain_text("已吊销")
    finally:
        ctx.close()


def test_an_officer_marks_a_file_insufficient_and_merges_a_duplicate(door, browser):
    people = door.people()
    first = file_by_api(door, people, summary="首次报案")
    second = file_by_api(door, people, summary="同一事件再次报案")
    auth = {"Authorization": f"Bearer {people.company_token}"}
    code = second["materials"][0]["code"]
    r = requests.post(door.stack.service_url("intake")
                      + f"/reports/{second['report_id']}/materials/{code}/files",
                      data=PDF, timeout=15, headers={
                          **auth, "Content-Type": "application/pdf",
                          "Content-Disposition": 'attachment; filename="licence.pdf"'})
    assert r.status_code == 201, r.text
    ctx = new_context(browser)
    try:
        cop = watch(ctx.new_page())
        sign_in(cop, door.url, people.officer, PASSWORD)
        expect(cop).to_have_url(re.compile(r"/officer$"))
        cop.goto(door.url + f"/officer/reports/{second['report_id']}")
        item = cop.locator(f"#item-{code}")
        expect(item.locator(".files")).to_contain_text("licence.pdf")
        item.locator("summary", has_text="材料不充分").click()
        item.locator("form[action$='/insufficient'] textarea").fill("复印件缺少公章。")
        item.locator("form[action$='/insufficient'] button[type=submit]").click()
        expect(cop.locator(".notice.ok")).to_contain_text("已告知企业")
        expect(cop.locator(f"#item-{code}")).to_have_class(re.compile("todo"))
        # The company reads the reason on its item.
        mine = requests.get(door.stack.service_url("intake") + f"/reports/{second['report_id']}",
                            headers=auth, timeout=10).json()
        (m,) = [m for m in mine["materials"] if m["code"] == code]
        assert not m["supplied"] and "复印件缺少公章。" in str(m)

        # Bad input: a reference that is no report of the unit; what was typed stays.
        cop.locator("summary", has_text="并入同一事件的先前报案").click()
        cop.fill("#f-into", "FT-19990101-000001")
        cop.fill("#f-merge_reason", "同一张伪造发票。")
        cop.click("form[action$='/merge'] button[type=submit]")
        expect(cop.locator("#e-into")).to_have_text("本单位没有该编号的报案。")
        expect(cop.locator("#f-merge_reason")).to_have_value("同一张伪造发票。")
        check_page(cop, "officer-merge-errors")
        cop.fill("#f-into", first["reference"])
        cop.click("form[action$='/merge'] button[type=submit]")
        expect(cop.locator(".notice.ok")).to_contain_text("已并入先前报案")
        expect(cop.locator(".badge.s-merged")).to_be_visible()
    finally:
        ctx.close()

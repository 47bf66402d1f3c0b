"""The alerts' set-up and the officer's evidence files, in a real browser
through the front door: a station supervisor sets the duty roster (a weekly
shift, a night shift, a holiday) and sees it saved, a bad entry refused by
the field in Chinese with what was typed kept; an officer chooses where
each severity of alert reaches them; an officer uploads a file for a
checklist item, supersedes a wrong one with a reason, and the business sees
both. Each page checked with axe-core at a phone's and a desktop's width,
and photographed."""
import re

import requests
from playwright.sync_api import expect

from support.browser import check_page, new_context, sign_in, sign_in_with_code, watch
from support.people import PASSWORD, police_account
from support.reports import report_body
from tests.conftest import ADMIN_TOKEN

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n" + b"1" * 2000 + b"\n%%EOF\n"
PDF2 = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n" + b"2" * 2500 + b"\n%%EOF\n"
PDF3 = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n" + b"3" * 1500 + b"\n%%EOF\n"
PDF4 = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n" + b"4" * 1800 + b"\n%%EOF\n"


def roster_of(door, unit):
    r = requests.get(door.stack.service_url("notify") + f"/units/{unit}/roster",
                     headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()


def token_of(door, username):
    r = requests.post(door.stack.service_url("intake") + "/oauth/token", data={
        "grant_type": "password", "username": username, "password": PASSWORD}, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


def test_a_supervisor_sets_the_duty_roster_and_a_holiday(door, browser):
    people = door.people()
    officer_id = f"li-{people.tag}"
    supervisor, secret = police_account(people, f"sun-{people.tag}", "supervisor",
                                        people.station, name="孙所长")
    ctx, cop_ctx = new_context(browser), new_context(browser, width=390)
    try:
        page = watch(ctx.new_page())
        sign_in_with_code(page, door.url, supervisor, PASSWORD, secret)
        expect(page).to_have_url(re.compile(r"/supervisor$"))
        page.get_by_role("link", name="值班表").first.click()
        expect(page).to_have_url(re.compile(rf"/roster/{people.station}$"))
        expect(page.locator("#on-duty")).to_contain_text("无人值班")

        # Monday's day shift; Tuesday's night shift typed without its end.
        page.fill("#f-mon-0-start", "08:00")
        page.fill("#f-mon-0-end", "20:00")
        page.locator("#f-mon-0-officers").get_by_label("李警官").check()
        # "Add a shift" keeps what was typed and gives Monday a second row.
        page.get_by_role("button", name="周一增加一个班次").click()
        expect(page.locator("#f-mon-1-start")).to_be_visible()
        expect(page.locator("#f-mon-0-start")).to_have_value("08:00")
        expect(page.locator("#f-mon-0-officers").get_by_label("李警官")).to_be_checked()
        page.fill("#f-tue-0-start", "20:00")
        page.locator("#f-tue-0-officers").get_by_label("孙所长").check()
        page.locator("button[name=save]").first.click()
        # Refused: notify's message by the field, in Chinese; nothing saved.
        expect(page.locator(".error-summary")).to_be_visible()
        expect(page.locator("#e-tue-0-end")).to_have_text("缺少必填字段。")
        expect(page.locator(".error-summary")).to_contain_text("周二 第 1 班 结束时间")
        expect(page.locator("#f-mon-0-start")).to_have_value("08:00")
        expect(page.locator("#f-tue-0-start")).to_have_value("20:00")
        expect(page.locator("#f-tue-0-officers").get_by_label("孙所长")).to_be_checked()
        assert roster_of(door, people.station)["weekly"] == {}
        check_page(page, "supervisor-roster-errors")

        page.fill("#f-tue-0-end", "08:00")
        # A holiday: the whole day, one officer.
        page.fill("#f-ov-0-date", "2026-10-01")
        page.fill("#f-ov-0-reason", "国庆值班")
        page.fill("#f-ov-0-0-start", "00:00")
        page.fill("#f-ov-0-0-end", "00:00")
        page.locator("#f-ov-0-0-officers").get_by_label("李警官").check()
        page.locator("button[name=save]").first.click()
        expect(page.locator(".notice.ok")).to_contain_text("值班表已保存")
        expect(page.locator("#f-mon-0-start")).to_have_value("08:00")
        expect(page.locator("#f-tue-0-end")).to_have_value("08:00")
        expect(page.locator("#f-ov-0-date")).to_have_value("2026-10-01")
        expect(page.locator("#f-ov-0-reason")).to_have_value("国庆值班")
        saved = roster_of(door, people.station)
        sup_id = f"sun-{people.tag}"
        assert saved["weekly"] == {
            "mon": [{"start": "08:00", "end": "20:00", "officers": [officer_id]}],
            "tue": [{"start": "20:00", "end": "08:00", "officers": [sup_id]}]}, saved
        assert saved["overrides"] == [{"date": "2026-10-01", "reason": "国庆值班", "shifts": [
            {"start": "00:00", "end": "00:00", "officers": [officer_id]}]}], saved
        check_page(page, "supervisor-roster")

        # Removing a shift: ticked "remove", saved, gone.
        page.locator("#day-tue").get_by_label("删除该班次").check()
        page.locator("button[name=save]").first.click()
        expect(page.locator(".notice.ok")).to_contain_text("值班表已保存")
        assert "tue" not in roster_of(door, people.station)["weekly"]

        # The unit's group robot: a bad address refused by the field, in
        # Chinese, what was typed kept; a public one saved, signed.
        page.fill("#f-robot-url", "不是网址")
        page.get_by_role("button", name="保存群机器人").click()
        expect(page.locator("#e-robot-url")).to_be_visible()
        assert re.search(r"[\u4e00-\u9fff]", page.locator("#e-robot-url").inner_text())
        expect(page.locator("#f-robot-url")).to_have_value(
            "不是网址")
        page.fill("#f-robot-url", "https://93.184.216.34/robot/send?access_token=t1")
        page.fill("#f-robot-secret", "SEC0123456789abcdef")
        page.get_by_role("button", name="保存群机器人").click()
        expect(page.locator(".notice.ok")).to_contain_text("群机器人已保存")
        expect(page.locator("#robot-h + p")).to_contain_text("已加签")
        assert "SEC0123456789abcdef" not in page.content()

        # The officer reads the roster, and cannot change it.
        cop = watch(cop_ctx.new_page())
        sign_in(cop, door.url, people.officer, PASSWORD)
        expect(cop).to_have_url(re.compile(r"/officer$"))
        cop.goto(door.url + "/roster")
        expect(cop.locator("#mon-0")).to_contain_text("08:00–20:00")
        expect(cop.locator("#mon-0")).to_contain_text("李警官")
        expect(cop.locator("#day-tue")).to_contain_text("无班次")
        expect(cop.locator("#ov-0")).to_contain_text("国庆值班")
        expect(cop.locator("#f-mon-0-start")).to_have_count(0)
        expect(cop.locator("button[name=save]")).to_have_count(0)
        check_page(cop, "officer-roster")
        # A POST of their own is not theirs to make: the 404 page, nothing changed.
        csrf = cop.locator("input[name=csrf_token]").first.get_attribute("value")
        r = cop.request.post(door.url + f"/roster/{people.station}", form={
            "csrf_token": csrf, "rows-mon": "0", "rows-ov": "0"})
        assert r.status == 404
        assert roster_of(door, people.station)["weekly"]["mon"]
    finally:
        ctx.close()
        cop_ctx.close()


def test_an_officer_chooses_where_alerts_reach_them(door, browser):
    people = door.people()
    ctx = new_context(browser, width=390)
    try:
        page = watch(ctx.new_page())
        sign_in(page, door.url, people.officer, PASSWORD)
        expect(page).to_have_url(re.compile(r"/officer$"))
        page.goto(door.url + "/alerts")
        page.get_by_role("link", name="告警设置").click()
        expect(page.locator("h1")).to_have_text("告警设置")
        # Bad input: notify's message by the field, in Chinese; what was typed kept.
        page.fill("#f-email", "不是邮箱")
        page.fill("#f-phone", "+8613800000000")
        page.locator("#f-ch-critical").get_by_label("短信").check()
        page.click("form[action='/alerts/settings'] button[type=submit]")
        expect(page.locator("#e-email")).to_have_text("不是有效的电子邮件地址。")
        expect(page.locator("#f-email")).to_have_value("不是邮箱")
        expect(page.locator("#f-phone")).to_have_value("+8613800000000")
        expect(page.locator("#f-ch-critical").get_by_label("短信")).to_be_checked()
        check_page(page, "officer-alert-settings-errors")

        page.fill("#f-email", "li@police.example")
        # Warnings: the inbox alone (no robot); critical: the inbox and SMS.
        page.locator("#f-ch-warning").get_by_label("收件箱，以及我勾选的渠道：").check()
        page.click("form[action='/alerts/settings'] button[type=submit]")
        expect(page.locator(".notice.ok")).to_contain_text("告警设置已保存")
        r = requests.get(door.stack.service_url("notify") + "/alerts/settings", timeout=10,
                         headers={"Authorization": f"Bearer {token_of(door, people.officer)}"})
        assert r.status_code == 200, r.text
        got = r.json()
        assert (got["email"], got["phone"]) == ("li@police.example", "+8613800000000"), got
        assert got["channels"] == {"warning": ["inbox"], "critical": ["inbox", "sms"]}, got
        page.reload()
        expect(page.locator("#f-ch-info").get_by_label("默认")).to_be_checked()
        expect(page.locator("#f-ch-warning").get_by_label("收件箱，以及我勾选的渠道：")).to_be_checked()
        expect(page.locator("#f-ch-critical").get_by_label("短信")).to_be_checked()
        check_page(page, "officer-alert-settings")
    finally:
        ctx.close()


def test_an_officer_uploads_and_supersedes_a_file_and_the_business_sees_it(door, browser):
    people = door.people()
    r = requests.post(door.stack.service_url("intake") + "/reports",
                      json=report_body(summary="仓库货物被冒领"), timeout=15,
                      headers={"Authorization": f"Bearer {people.company_token}"})
    assert r.status_code == 201, r.text
    report = r.json()
    rid, code = report["report_id"], report["materials"][0]["code"]
    cop_ctx, biz_ctx = new_context(browser), new_context(browser, width=390)
    try:
        cop = watch(cop_ctx.new_page())
        sign_in(cop, door.url, people.officer, PASSWORD)
        expect(cop).to_have_url(re.compile(r"/officer$"))
        cop.goto(door.url + f"/officer/reports/{rid}")
        item = cop.locator(f"#item-{code}")

        def upload(name, data):
            cop.locator(f"#up-{code}").set_input_files(
                {"name": name, "mimeType": "application/pdf", "buffer": data})
            cop.locator(f"#item-{code} form.upload button[type=submit]").click()
            expect(cop.locator(".notice.ok")).to_contain_text("已收到文件 1 个")

        upload("提货单-错.pdf", PDF)
        expect(item.locator(".files li")).to_have_count(1)
        upload("提货单.pdf", PDF2)
        expect(item.locator(".files li")).to_have_count(2)
        wrong = item.locator(".files li", has_text="提货单-错.pdf")
        # Bad input: no reason; the API's message by the field, in Chinese.
        wrong.locator("summary").click()
        wrong.get_by_role("button", name="标记作废").click()
        wrong = cop.locator(f"#item-{code} .files li", has_text="提货单-错.pdf")
        expect(wrong.locator(".field-error")).to_have_text("长度必须在 1 到 1000 之间。")
        check_page(cop, "officer-supersede-errors")
        wrong.locator("input[name=reason]").fill("扫描的是另一张提货单。")
        wrong.get_by_role("button", name="标记作废").click()
        expect(cop.locator(".notice.ok")).to_contain_text("文件已标记作废")
        wrong = cop.locator(f"#item-{code} .files li", has_text="提货单-错.pdf")
        expect(wrong.locator(".badge", has_text="已作废")).to_be_visible()
        expect(wrong).to_contain_text("扫描的是另一张提货单。")
        check_page(cop, "officer-report-files")

        # The unit's own other evidence: internal unless the switch is on.
        for name, data, shown in (("询问笔录.pdf", PDF3, False), ("监控截图说明.pdf", PDF4, True)):
            cop.locator("#up-other").set_input_files(
                {"name": name, "mimeType": "application/pdf", "buffer": data})
            if shown:
                cop.get_by_label("向企业公开").check()
            cop.locator("#item-other form.upload button[type=submit]").click()
            expect(cop.locator(".notice.ok")).to_contain_text("已收到文件 1 个")
        others = cop.locator("#item-other .files li")
        expect(others).to_have_count(2)
        expect(others.filter(has_text="询问笔录.pdf").locator(".badge", has_text="内部：企业不可见")
               ).to_be_visible()
        expect(others.filter(has_text="监控截图说明.pdf").locator(".badge", has_text="内部")
               ).to_have_count(0)
        check_page(cop, "officer-report-internal-file")

        # The business sees the new file, and the wrong one marked; of the
        # unit's own files only the one shown to it.
        biz = watch(biz_ctx.new_page())
        sign_in(biz, door.url, people.company, PASSWORD)
        biz.goto(door.url + f"/business/reports/{rid}")
        files = biz.locator(f"#item-{code} .files li")
        expect(files).to_have_count(2)
        expect(files.filter(has_text="提货单-错.pdf").locator(".badge", has_text="已作废")
               ).to_be_visible()
        expect(files.filter(has_text="提货单.pdf").locator(".badge", has_text="已作废")
               ).to_have_count(0)
        expect(biz.locator("#item-other .files li")).to_have_text([re.compile("监控截图说明.pdf")])
        check_page(biz, "business-report-officer-files")

        # Shown later: the officer's button, and the business's next look.
        cop.locator("#item-other .files li", has_text="询问笔录.pdf").get_by_role(
            "button", name="向企业公开").click()
        expect(cop.locator(".notice.ok")).to_contain_text("企业自此可以查看此文件")
        expect(cop.locator("#item-other .badge", has_text="内部")).to_have_count(0)
        biz.reload()
        expect(biz.locator("#item-other .files li")).to_have_count(2)
    finally:
        cop_ctx.close()
        biz_ctx.close()

"""Journeys in a real browser (Debian's Chromium, headless) through the
front door, several people at once in separate browser contexts. Every page
of a journey is checked with axe-core, at a phone's and a desktop's width,
for CSP violations, and photographed into var/screenshots/."""
import hashlib
import re

import requests
from playwright.sync_api import expect

from support.browser import check_page, new_context, sign_in, watch
from support.people import PASSWORD
from support.reports import report_body


def test_a_business_files_an_officer_accepts_and_the_timeline_shows_the_case(door, browser):
    people = door.people()
    biz_ctx, police_ctx = new_context(browser), new_context(browser)
    try:
        biz = watch(biz_ctx.new_page())
        sign_in(biz, door.url, people.company, PASSWORD)
        expect(biz).to_have_url(re.compile(r"/business$"))
        check_page(biz, "business-home-empty")

        # Bad input: each API message by its field, in Chinese, what was typed kept.
        biz.goto(door.url + "/business/reports/new")
        check_page(biz, "business-new-report")
        biz.fill("#f-summary", "虚假供应商发票已付款")
        biz.fill("#f-estimated_loss", "二万一")
        biz.click("form[action='/business/reports/new'] button[type=submit]")
        expect(biz.locator(".error-summary")).to_be_visible()
        expect(biz.locator("#e-description")).to_have_text("缺少必填字段。")
        expect(biz.locator("#e-estimated_loss")).not_to_be_empty()
        expect(biz.locator("#f-summary")).to_have_value("虚假供应商发票已付款")
        expect(biz.locator("#f-estimated_loss")).to_have_value("二万一")
        check_page(biz, "business-new-report-errors")
        assert people.reports() == []

        biz.check("#t-fraud")
        biz.fill("#f-description", "我们向一家并不存在的供应商支付了发票。")
        biz.fill("#f-occurred_at", "2026-11-27T10:00")
        biz.fill("#f-location", "港湾路1号")
        biz.fill("#f-estimated_loss", "21,000")
        biz.dblclick("form[action='/business/reports/new'] button[type=submit]")
        expect(biz.locator(".panel.success")).to_contain_text("报案已提交")
        reference = biz.locator(".panel.success .ref").inner_text()
        assert re.fullmatch(r"FT-\d{8}-\d{6}", reference)
        # The one-time checklist and what is still missing.
        expect(biz.locator("#missing-count")).to_contain_text("尚缺 5 项")
        expect(biz.locator(".checklist li")).to_have_count(5)
        expect(biz.locator(".facts")).to_contain_text("¥21,000.00")
        check_page(biz, "business-report-filed")
        assert [r["reference"] for r in people.reports()] == [reference]   # a double click filed once
        biz.evaluate("() => { window.notReloaded = true; }")

        # The officer, in another browser: the queue, with the countdown; accept.
        cop = watch(police_ctx.new_page())
        sign_in(cop, door.url, people.officer, PASSWORD)
        expect(cop).to_have_url(re.compile(r"/officer$"))
        row = cop.locator("#queue tr", has_text=reference)
        expect(row).to_be_visible()
        expect(row.locator(".countdown")).to_contain_text("剩余")
        check_page(cop, "officer-queue")
        row.get_by_role("button", name=f"受理 {reference}").click()
        expect(cop.locator(".notice.ok")).to_contain_text("已受理")
        check_page(cop, "officer-report-accepted")
        cop.get_by_role("link", name="查看案件").click()
        expect(cop.locator("h1")).to_contain_text("虚假供应商发票已付款")
        check_page(cop, "officer-case")

        # The business's page shows the case opening without a reload.
        expect(biz.locator("#timeline")).to_contain_text("已立案", timeout=10000)
        assert biz.evaluate("() => window.notReloaded") is True
        check_page(biz, "business-report-case-open")

        # A disclosed progress step reaches the business's open page too.
        cop.fill("#f-note", "已向银行发出止付通知。")
        cop.check("#f-disclose")
        cop.click("form[action$='/progress'] button[type=submit]")
        expect(cop.locator(".notice.ok")).to_contain_text("进展已登记")
        expect(biz.locator("#timeline")).to_contain_text("已向银行发出止付通知。", timeout=10000)
        biz.goto(door.url + "/business")
        expect(biz.locator("table.list")).to_contain_text(reference)
        check_page(biz, "business-home")
    finally:
        biz_ctx.close()
        police_ctx.close()


def test_forged_or_cross_site_posts_are_refused_and_change_nothing(door, browser):
    people = door.people()
    ctx = new_context(browser)
    try:
        page = watch(ctx.new_page())
        sign_in(page, door.url, people.company, PASSWORD)
        page.goto(door.url + "/business/reports/new")
        # The session cookie: HttpOnly, SameSite=Lax (Secure only off loopback);
        # no token of the APIs anywhere the browser can see.
        (cookie,) = [c for c in ctx.cookies() if c["name"] == "ft_session"]
        assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and not cookie["secure"]
        assert all("eyJ" not in c["value"] for c in ctx.cookies())
        assert "eyJ" not in page.content()
        token = page.locator("input[name=csrf_token]").first.get_attribute("value")
        form = {"incident_type": "fraud", "summary": "伪造请求", "description": "x",
                "occurred_at": "2026-11-27T10:00", "location": "x", "estimated_loss": "100"}
        # The browser's cookie goes along (page.request shares the context's).
        forged = page.request.post(door.url + "/business/reports/new",
                                   form=dict(form, csrf_token="forged-" + token[:8]),
                                   max_redirects=0)
        assert forged.status == 403
        assert "未做任何更改" in forged.text()
        cross = page.request.post(door.url + "/business/reports/new",
                                  form=dict(form, csrf_token=token), max_redirects=0,
                                  headers={"Origin": "https://evil.example"})
        assert cross.status == 403
        # Without the session cookie: refused, even with a token.
        bare = new_context(browser)
        try:
            no_cookie = bare.request.post(door.url + "/business/reports/new",
                                          form=dict(form, csrf_token=token), max_redirects=0)
            assert no_cookie.status == 403
        finally:
            bare.close()
        assert people.reports() == []
        # The same form with its token does file: the refusals were the token's.
        ok = page.request.post(door.url + "/business/reports/new",
                               form=dict(form, csrf_token=token), max_redirects=0)
        assert ok.status == 303, ok.text()
        assert len(people.reports()) == 1
    finally:
        ctx.close()


def test_not_theirs_is_a_404_page_an_expired_session_signs_in_and_comes_back(door, browser):
    people = door.people()
    ctx = new_context(browser)
    try:
        page = watch(ctx.new_page())
        sign_in(page, door.url, people.officer, PASSWORD)
        # A business's page is not an officer's; a made-up report is nobody's.
        for path in ("/business", "/officer/reports/no-such-report", "/nothing/here"):
            resp = page.goto(door.url + path)
            assert resp.status == 404, path
            expect(page.locator("h1")).to_have_text("页面不存在")
        check_page(page, "not-found")
        # The session ends (as an idle one does); the next page asks to sign
        # in, then goes back where the person was going.
        client, db = door.web_db()
        try:
            db.sessions.delete_many({})
        finally:
            client.close()
        page.goto(door.url + "/officer/cases")
        expect(page).to_have_url(re.compile(r"/signin\?next=/officer/cases$"))
        check_page(page, "signin")
        page.fill("#f-username", people.officer)
        page.fill("#f-password", PASSWORD)
        page.click("form[action='/signin'] button[type=submit]")
        expect(page).to_have_url(re.compile(r"/officer/cases$"))
        # English by the switch, remembered on the next page.
        page.get_by_role("link", name="English").click()
        expect(page.locator("h1")).to_have_text("Cases")
        page.goto(door.url + "/officer")
        expect(page.locator("h1")).to_contain_text("Unit queue")
        check_page(page, "officer-queue-en")
        # A wrong password: told plainly, in the language chosen, nothing more.
        page.get_by_role("button", name="Sign out").click()
        expect(page).to_have_url(re.compile(r"/signin$"))
        sign_in(page, door.url, people.officer, "not-the-password-at-all")
        expect(page.locator(".error-summary")).to_contain_text(
            "The username or password is wrong")
        expect(page.locator("#f-username")).to_have_value(people.officer)
    finally:
        ctx.close()


def test_the_front_door_serves_the_apis_under_one_origin(door):
    people = door.people()
    auth = {"Authorization": f"Bearer {people.company_token}"}
    # The path after the prefix is the service's own route.
    for prefix in ("/api/intake", "/api/cases", "/api/notify"):
        r = requests.get(door.url + prefix + "/health", timeout=10)
        assert r.status_code == 200, prefix
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["X-Frame-Options"] == "DENY"
        assert "nginx/" not in r.headers.get("Server", "")   # no version told
    assert requests.get(door.url + "/api/intake/incident-types", headers=auth,
                        timeout=10).json()["items"]
    assert requests.get(door.url + "/api/cases/cases", headers=auth,
                        timeout=10).json()["items"] == []
    # Operators' read-outs stay on the services' own ports.
    assert requests.get(door.url + "/api/intake/metrics", timeout=10).status_code == 404
    # Pages and assets compressed; assets cached by their content's hash.
    css = requests.get(door.url + "/signin", timeout=10).text.split('href="/static/app.css')[1]
    asset = requests.get(door.url + "/static/app.css" + css.split('"')[0],
                         headers={"Accept-Encoding": "gzip"}, timeout=10)
    assert asset.headers["Content-Encoding"] == "gzip"
    assert "immutable" in asset.headers["Cache-Control"]
    page = requests.get(door.url + "/signin", timeout=10)
    assert "unsafe-inline" not in page.headers["Content-Security-Policy"]
    assert "unsafe-eval" not in page.headers["Content-Security-Policy"]
    assert "<script>" not in page.text and "style=" not in page.text
    # A body above the door's limit never reaches a service.
    big = requests.post(door.url + "/api/intake/reports", data=b"x" * (21 * 1024 * 1024),
                        headers=auth, timeout=30)
    assert big.status_code == 413


def test_the_door_serves_the_api_docs_and_streams_an_evidence_file(door):
    # The docs page: Swagger UI from our own folder, the merged 3.1 document.
    assert requests.get(door.url + "/api/docs", timeout=10, allow_redirects=False
                        ).headers["Location"].endswith("/api/docs/")
    page = requests.get(door.url + "/api/docs/", timeout=10)
    assert page.status_code == 200 and "swagger-ui" in page.text
    assert "http://" not in page.text and "https://" not in page.text
    merged = requests.get(door.url + "/api/docs/openapi.json", timeout=10).json()
    assert merged["openapi"] == "3.1.0" and "/api/intake/reports" in merged["paths"]
    # An evidence file above the door's JSON limit, within the upload's own:
    # streamed through to intake, stored whole.
    people = door.people()
    auth = {"Authorization": f"Bearer {people.company_token}"}
    report = requests.post(door.url + "/api/intake/reports", json=report_body(),
                           headers=auth, timeout=15).json()
    body = b"%PDF-1.4\n" + b"0" * (21 * 1024 * 1024) + b"\n%%EOF\n"
    r = requests.post(door.url + f"/api/intake/reports/{report['report_id']}/materials/"
                      "other/files", data=body, timeout=120,
                      headers={**auth, "Content-Type": "application/pdf",
                               "Content-Disposition": 'attachment; filename="scan.pdf"'})
    assert r.status_code == 201, r.text
    assert r.json()["size"] == len(body)
    assert r.json()["sha256"] == hashlib.sha256(body).hexdigest()

"""Driving Debian's Chromium with Playwright for Python: the launch that
works on a closed machine, axe-core from the project's own npm folder, and
the checks every page of a journey gets (accessibility, no CSP violation,
phone and desktop widths, a screenshot each)."""
import os

import pyotp

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHROMIUM = "/usr/bin/chromium"
# Without the networking flags Chromium keeps calling Google's hosts, which a
# closed machine refuses; the sandbox needs user namespaces we may not have.
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run",
        "--disable-quic", "--lang=zh-CN"]
AXE = os.path.join(ROOT, "services", "web", "node_modules", "axe-core", "axe.min.js")
SHOTS = os.path.join(ROOT, "var", "screenshots")
WIDTHS = (390, 1280)   # a phone, a desktop


def launch(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)


def new_context(browser, width=1280, lang="zh-CN"):
    """A person's own browser: cookies of its own, a Chinese locale and
    Beijing time. CSP violations and page errors are collected per page."""
    ctx = browser.new_context(viewport={"width": width, "height": 900}, locale=lang,
                              timezone_id="Asia/Shanghai")
    ctx.set_default_timeout(15000)
    return ctx


def watch(page):
    """Collect what must never happen on our pages: a CSP violation, a
    script error."""
    problems = []
    page.on("console", lambda m: problems.append(m.text) if (
        "Content Security Policy" in m.text or m.type == "error" and "favicon" not in m.text
        and "Failed to load resource" not in m.text) else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.problems = problems
    return page


_axe_source = None


def axe_violations(page):
    """axe-core's serious and critical violations of the page as it is now
    (the file from npm, evaluated through the DevTools protocol, so the
    page's own CSP still stands for everything else)."""
    global _axe_source
    if _axe_source is None:
        with open(AXE) as f:
            _axe_source = f.read()
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(_axe_source + "\n;undefined")
    found = page.evaluate("""async () => {
        const r = await axe.run(document, {resultTypes: ['violations']});
        return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                       nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
    }""")
    return [v for v in found if v["impact"] in ("serious", "critical")]


def check_page(page, name):
    """Every page of a journey, at a phone's and a desktop's width: no
    serious or critical accessibility violation, nothing wider than the
    screen on the phone, no CSP violation; a screenshot of each width in
    var/screenshots/. The page is left at its first width."""
    os.makedirs(SHOTS, exist_ok=True)
    first = page.viewport_size
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        violations = axe_violations(page)
        assert not violations, f"{name} at {width}px: {violations}"
        overflow = page.evaluate("() => document.documentElement.scrollWidth")
        assert overflow <= width + 1, f"{name} at {width}px is {overflow}px wide"
        page.screenshot(path=os.path.join(SHOTS, f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size(first)
    assert not page.problems, f"{name}: {page.problems}"


def sign_in(page, base, username, password):
    page.goto(base + "/signin")
    page.fill("#f-username", username)
    page.fill("#f-password", password)
    page.click("form[action='/signin'] button[type=submit]")


def sign_in_with_code(page, base, username, password, secret):
    """A police account with a second factor: the code from its TOTP secret."""
    page.goto(base + "/signin")
    page.fill("#f-username", username)
    page.fill("#f-password", password)
    page.fill("#f-otp", pyotp.TOTP(secret).now())
    page.click("form[action='/signin'] button[type=submit]")

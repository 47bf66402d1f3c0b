"""The web app's pure parts: its words (every text the pages use has a
Simplified Chinese entry), how values are shown, what a form sends, the
queue's order, where a sign-in may send back to, and the front door's
configuration."""
import ast
import glob
import os
import re
import shutil
import string
import subprocess
from datetime import datetime, timedelta, timezone

import opencc
import pytest

from services.web import display, forms, texts
from services.web.business import timeline
from services.web.officer import queue_items
from services.web.pages import safe_next
from tools import frontdoor

WEB = os.path.join(os.path.dirname(__file__), "..", "..", "services", "web")


def used_texts():
    """Every literal the pages translate: `_("...")` in templates, `p.t("...")`
    and `say("...")` in the modules."""
    found = set()
    for path in glob.glob(os.path.join(WEB, "templates", "**", "*.html"), recursive=True):
        with open(path) as f:
            found |= {m.group(2) for m in re.finditer(r"_\(\s*([\"'])(.*?)\1", f.read())}
    for path in glob.glob(os.path.join(WEB, "*.py")):
        with open(path) as f:
            tree = ast.parse(f.read())
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and node.args and isinstance(
                    node.args[0], ast.Constant) and isinstance(node.args[0].value, str) and (
                    isinstance(node.func, ast.Attribute) and node.func.attr == "t"
                    or isinstance(node.func, ast.Name) and node.func.id in ("say", "_")):
                found.add(node.args[0].value)
    return found


def test_every_text_the_pages_use_has_simplified_chinese():
    used = used_texts()
    assert len(used) > 150
    assert sorted(used - set(texts.ZH)) == []


def test_the_chinese_texts_are_simplified_and_keep_their_placeholders():
    t2s = opencc.OpenCC("t2s")
    words = [zh for pairs in texts.WORDS.values() for _, zh in pairs.values()]
    for zh in [*texts.ZH.values(), *words]:
        assert t2s.convert(zh) == zh, zh
    fields = string.Formatter()
    for en, zh in texts.ZH.items():
        assert {f for _, f, _, _ in fields.parse(en) if f} == \
               {f for _, f, _, _ in fields.parse(zh) if f}, en


def test_chinese_by_default_english_by_choice():
    assert texts.language(None) == "zh-CN"
    assert texts.language("fr") == "zh-CN"
    assert texts.language("en") == "en"
    assert texts.say("Sign in", "zh-CN") == "登录"
    assert texts.say("Sign in", "en") == "Sign in"
    assert texts.word("priority", "urgent", "zh-CN") == "紧急"
    assert texts.word("priority", "unheard-of", "en") == "unheard-of"


def test_money_and_beijing_time():
    assert display.money("21000") == "¥21,000.00"
    assert display.money("1234567.5") == "¥1,234,567.50"
    assert display.money("0.00") == "¥0.00"
    assert display.when("2026-11-30T13:15:00+00:00") == "2026-11-30 21:15"
    assert display.when("2026-11-30T21:15:32.317000+08:00") == "2026-11-30 21:15"
    assert display.when(None) == ""


def test_countdowns_say_left_or_overdue():
    def say(text, **values):
        return texts.say(text, "zh-CN", **values)
    assert display.countdown(29 * 60 + 5, say) == "剩余 29 分钟"
    assert display.countdown(2 * 3600 + 5 * 60, say) == "剩余 2 小时 05 分"
    assert display.countdown(-3 * 60, say) == "已逾期 3 分钟"
    assert display.countdown(None, say) == ""


def test_a_report_form_becomes_the_api_body():
    class Form(dict):
        def getlist(self, name):
            return [self[name]] if name in self else []
    body = forms.report_body(Form(
        incident_type="fraud", summary=" 发票 ", description="经过", location="港湾路",
        estimated_loss="¥21,000.50", occurred_at="2026-11-27T10:00", victim_count="3",
        funds_in_transit="on", suspects="张三\n\n 李四 "))
    assert body == {"incident_type": "fraud", "summary": "发票", "description": "经过",
                    "location": "港湾路", "estimated_loss": "21000.50",
                    "occurred_at": "2026-11-27T10:00:00+08:00", "victim_count": 3,
                    "funds_in_transit": True, "suspects": ["张三", "李四"], "currency": "CNY"}
    # What was not filled is not sent: the API names it as missing.
    empty = forms.report_body(Form(victim_count="many", occurred_at="yesterday"))
    assert "summary" not in empty and empty["victim_count"] == "many"
    assert empty["occurred_at"] == "yesterday"


def test_field_errors_one_message_per_top_field():
    assert forms.field_errors({"summary": ["缺少必填字段。"], "suspects": {"0": ["太长"]}}) == \
        {"summary": "缺少必填字段。", "suspects": "太长"}
    assert forms.field_errors(None) == {}


def test_the_queue_is_sorted_by_what_is_due_next():
    now = datetime(2026, 11, 30, 12, tzinfo=timezone.utc)

    def at(minutes):
        return (now + timedelta(minutes=minutes)).isoformat()
    reports = [
        {"report_id": "late", "status": "received", "ack_due_at": at(-5)},
        {"report_id": "soon", "status": "received", "ack_due_at": at(10)},
        {"report_id": "acked", "status": "acknowledged", "ack_due_at": at(-60)},
        {"report_id": "offer", "status": "transfer_pending", "ack_due_at": at(30),
         "transfer": {"to_unit_id": "mine", "respond_by": at(3)}},
        {"report_id": "done", "status": "accepted", "ack_due_at": at(1)},
    ]
    items = queue_items(reports, "mine", now)
    assert [i["report"]["report_id"] for i in items] == ["late", "offer", "soon", "acked"]
    assert [i["kind"] for i in items] == ["acknowledge", "offer_in", "acknowledge", "accept"]
    assert items[0]["left"] < 0 <= items[1]["left"]


def test_the_company_timeline_shows_the_case_and_disclosed_steps():
    report = {"received_at": "2026-11-30T10:00:00+08:00",
              "acknowledged_at": "2026-11-30T10:05:00+08:00", "case_id": "c1"}
    case = {"opened_at": "2026-11-30T10:06:00+08:00", "case_number": "FT-C-1",
            "updates": [{"at": "2026-11-30T11:00:00+08:00", "stage": "investigating",
                         "note": "止付"}]}
    assert [s["kind"] for s in timeline(report, case)] == [
        "received", "acknowledged", "case_opened", "progress"]
    assert [s["kind"] for s in timeline(report, None)] == ["received", "acknowledged"]
    # The case's file steps the company may see, in their place by time.
    case["files"] = [{"at": "2026-11-30T10:30:00+08:00", "action": "upload_evidence",
                      "role": "company", "filename": "合同.pdf", "file_id": "f1"}]
    steps = timeline(report, case)
    assert [s["kind"] for s in steps] == [
        "received", "acknowledged", "case_opened", "file", "progress"]
    assert (steps[3]["filename"], steps[3]["by_police"]) == ("合同.pdf", False)


@pytest.mark.parametrize("target,expected", [
    ("/officer/cases?x=1", "/officer/cases?x=1"), (None, "/"), ("", "/"),
    ("//evil.example/", "/"), ("https://evil.example/", "/"), ("/\\evil.example", "/")])
def test_sign_in_sends_back_only_to_this_site(target, expected):
    assert safe_next(target) == expected


def test_the_compose_front_door_is_the_committed_file():
    with open(os.path.join(WEB, "..", "..", "deploy", "nginx.conf")) as f:
        assert f.read() == frontdoor.compose_config()


def test_the_front_door_routes_each_api_under_its_prefix_to_upstreams():
    conf = frontdoor.render("127.0.0.1:8000", {
        "web": ["127.0.0.1:8004", "127.0.0.1:9004"], "intake": ["127.0.0.1:8001"],
        "case_supervision": ["127.0.0.1:8002"], "notify": ["127.0.0.1:8003"]})
    for prefix, upstream in (("/api/intake/", "intake"), ("/api/cases/", "case_supervision"),
                             ("/api/notify/", "notify")):
        # The trailing slash strips the prefix: the service sees its own route.
        assert f"location {prefix} {{\n            proxy_pass http://{upstream}/;" in conf
    web = conf[conf.index("upstream web {"):conf.index("}", conf.index("upstream web {"))]
    assert web.count("server ") == 2        # an upstream holds several instances
    for must in ("gzip on;", "client_max_body_size", "proxy_read_timeout",
                 "X-Forwarded-For $proxy_add_x_forwarded_for", "X-Content-Type-Options",
                 "X-Frame-Options", "server_tokens off;"):
        assert must in conf, must


@pytest.mark.skipif(not shutil.which("nginx") and not os.path.exists("/usr/sbin/nginx"),
                    reason="nginx is installed by `make deps`")
def test_nginx_accepts_the_local_configuration(tmp_path):
    conf = tmp_path / "nginx.conf"
    conf.write_text(frontdoor.render("127.0.0.1:1", {
        name: ["127.0.0.1:2"] for name in ("web", "intake", "case_supervision", "notify")},
        {"pid": str(tmp_path / "pid"), "error_log": str(tmp_path / "error.log"),
         "access_log": str(tmp_path / "access.log"), "temp": str(tmp_path),
         "mime": "/etc/nginx/mime.types", "docs": str(tmp_path)}))
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    done = subprocess.run([nginx, "-t", "-q", "-p", str(tmp_path), "-c", str(conf),
                           "-e", str(tmp_path / "error.log")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr

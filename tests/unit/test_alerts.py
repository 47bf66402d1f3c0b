"""Alerts to police, the pure parts: the rule table (policy/alerts.yml) and
its refusals, whom a rule names, the channels a person is reached on, who is
on duty at a moment (Beijing time), the DingTalk robot's signature, the
WeCom robot's message, the texts in each language, and a climb's ledger row."""
import base64
import hashlib
import hmac
import os
from datetime import datetime, timezone
from urllib.parse import unquote_plus

import pytest
import yaml

from services.notify import alerts, roster
from services.notify.alert_policy_schema import AlertPolicy
from services.case_supervision.ledger import climb_item
from services.notify.channels.robot import (WECOM_MARKDOWN_BYTES, WECOM_TEXT_BYTES, message,
                                            payload, sign, signed_url, wecom_message)
from shared.policy import ROOT, PolicyError, check, load_policy

POLICY = load_policy({}, "alerts", AlertPolicy())


def event(event_type, **data):
    return {"type": event_type, "data": data}


def test_the_shipped_alert_table_loads_and_a_slip_is_refused_with_its_key():
    assert POLICY["rules"]["case_escalated"]["needs_ack"] is True
    with open(os.path.join(ROOT, "policy", "alerts.yml"), encoding="utf-8") as f:
        bad = yaml.safe_load(f)
    bad["rules"]["case_escalatd"] = bad["rules"].pop("case_escalated")
    bad["rules"]["case_opened"]["to"] = [{"officer": "lead_officer_id", "rung": True}]
    bad["rules"]["report_received"]["severity"] = "loud"
    with pytest.raises(PolicyError) as refused:
        check(AlertPolicy(), bad, "policy/alerts.yml")
    text = str(refused.value)
    assert "rules.case_escalatd: 'case_escalatd' is not an event notify takes" in text
    assert "rules.case_opened.to[0]: name exactly one of" in text
    assert "rules.report_received.severity: 'loud' is not one of" in text


def test_each_rule_names_its_people():
    def named(e):
        return alerts.targets(alerts.rule_for(POLICY, e)["to"], e["data"])
    assert named(event("report_received", owner_unit_id="st1")) == [("on_duty", "st1")]
    assert named(event("report_ack_overdue", responsible_unit_id="st1",
                       escalated_to_unit_id="b1")) == [("supervisors", "b1")]
    assert named(event("report_ack_overdue", responsible_unit_id="st1")) == [
        ("supervisors", "st1")]
    assert named(event("case_escalated", rung="lead_officer", escalated_to="o1")) == [
        ("officer", "o1")]
    assert named(event("case_escalated", rung="supervisor", escalated_to="b1")) == [
        ("supervisors", "b1")]
    assert named(event("case_rated", rating=2, lead_officer_id="o1", unit_id="st1")) == [
        ("officer", "o1"), ("supervisors", "st1")]
    assert alerts.rule_for(POLICY, event("case_rated", rating=4)) is None
    assert alerts.rule_for(POLICY, event("case_progressed")) is None
    # The lead hears of an evidence file the company uploaded, not of one an
    # officer attached or a file superseded.
    assert named(event("report_evidence_recorded", role="company", action="upload_evidence",
                       report_id="r1", owner_unit_id="st1")) == [("case_lead", "r1")]
    assert alerts.rule_for(POLICY, event("report_evidence_recorded", role="officer",
                                         action="upload_evidence")) is None
    assert alerts.rule_for(POLICY, event("report_evidence_recorded", role="company",
                                         action="supersede_evidence")) is None


def test_a_person_is_reached_on_their_chosen_channels_and_every_one_when_it_is_critical():
    defaults = POLICY["default_channels"]
    everything = {"email", "sms", "robot"}
    assert alerts.channels_for(None, "critical", defaults, everything) == [
        "inbox", "email", "sms", "robot"]
    assert alerts.channels_for(None, "critical", defaults, {"sms"}) == ["inbox", "sms"]
    assert alerts.channels_for(None, "info", defaults, everything) == ["inbox"]
    chosen = {"channels": {"warning": ["sms"]}}
    assert alerts.channels_for(chosen, "warning", defaults, everything) == ["inbox", "sms"]


def test_the_next_rung_up_is_the_officers_own_supervisors_then_each_unit_above():
    path = ["st1", "b1", "city"]
    assert alerts.next_unit(path, "st1", is_supervisor=False) == "st1"
    assert alerts.next_unit(path, "st1", is_supervisor=True) == "b1"
    assert alerts.next_unit(path, "city", is_supervisor=True) is None


def beijing(text):
    return datetime.fromisoformat(text + "+08:00").astimezone(timezone.utc)


ROSTER = {"weekly": {
    "mon": [{"start": "08:00", "end": "20:00", "officers": ["day"]},
            {"start": "20:00", "end": "08:00", "officers": ["night"]}],
    "tue": [{"start": "08:00", "end": "20:00", "officers": ["day"]}]},
    "overrides": [{"date": "2026-10-01", "shifts": [
        {"start": "00:00", "end": "00:00", "officers": ["holiday"]}]}]}


@pytest.mark.parametrize("at, on_duty", [
    ("2026-11-30T07:59:59", []),            # Monday, before the day shift
    ("2026-11-30T08:00:00", ["day"]),       # the shift changes on the second
    ("2026-11-30T19:59:59", ["day"]),
    ("2026-11-30T20:00:00", ["night"]),
    ("2026-12-01T07:59:00", ["night"]),     # Monday's night shift runs into Tuesday
    ("2026-12-01T08:00:00", ["day"]),
    ("2026-12-01T21:00:00", []),            # Tuesday has no night shift
    ("2026-10-01T12:00:00", ["holiday"]),   # a Thursday, its override all day
])
def test_who_is_on_duty_in_beijing_time(at, on_duty):
    assert roster.on_duty(ROSTER, beijing(at)) == on_duty


def test_the_robot_is_signed_as_dingtalk_checks_it():
    secret, ts = "SEC000", 1764460800000
    expected = base64.b64encode(hmac.new(secret.encode(), f"{ts}\n{secret}".encode(),
                                         hashlib.sha256).digest()).decode()
    assert unquote_plus(sign(secret, ts)) == expected
    url = signed_url("https://oapi.dingtalk.com/robot/send?access_token=x", secret, ts)
    assert url.endswith(f"&timestamp={ts}&sign={sign(secret, ts)}") and "+" not in sign(
        secret, ts).replace("%2B", "")
    body = message("案件督办升级", "编号：FT-1\n原因：超期", ["13800000001"])
    assert body["msgtype"] == "markdown" and body["at"] == {
        "atMobiles": ["13800000001"], "isAtAll": False}
    assert body["markdown"]["text"].endswith("@13800000001")


def test_a_wecom_robot_is_not_signed_and_ats_by_userid_in_markdown_or_by_mobile_in_text():
    robot = {"url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k", "secret": "x",
             "format": "wecom"}
    now = datetime(2026, 11, 30, tzinfo=timezone.utc)
    url, body = payload(robot, "案件督办升级", "编号：FT-1", [{"wecom_userid": "zs"}], now)
    assert url == robot["url"]          # the key in the URL is the credential
    assert body == {"msgtype": "markdown", "markdown": {"content": "### 案件督办升级\n编号：FT-1\n<@zs>"}}
    _, body = payload(robot, "案件督办升级", "编号：FT-1",
                      [{"wecom_userid": "zs", "mobile": "13800000002"},
                       {"mobile": "13800000001"}], now)
    assert body["msgtype"] == "text" and body["text"]["mentioned_mobile_list"] == ["13800000001"]
    assert body["text"]["content"] == "【案件督办升级】\n编号：FT-1\n<@zs>"
    # A robot saved before WeCom (kind: dingtalk, or nothing) is DingTalk's, signed.
    url, body = payload({"url": "https://oapi.dingtalk.com/robot/send?access_token=x",
                         "secret": "SEC"}, "t", "b", [{"mobile": "13800000001"}], now)
    assert "&sign=" in url and body["at"]["atMobiles"] == ["13800000001"]


def test_a_long_wecom_message_is_cut_within_its_byte_limit_and_keeps_its_mentions():
    long = "案" * 3000
    md = wecom_message("标题", long, [], ["zs"])["markdown"]["content"]
    assert len(md.encode()) <= WECOM_MARKDOWN_BYTES and md.endswith("…\n<@zs>")
    text = wecom_message("标题", long, ["13800000001"], ["zs"])["text"]["content"]
    assert len(text.encode()) <= WECOM_TEXT_BYTES and text.endswith("<@zs>")


def test_alert_texts_in_english_for_who_chose_it_and_simplified_chinese_otherwise():
    data = {"case_number": "FT-C-1", "rung": "unit_supervisor", "escalation_level": 2,
            "reason": "first_action deadline missed"}
    assert alerts.text("case_escalated", data, "en") == (
        "Case supervision escalated",
        "No.: FT-C-1\nEscalation: level 2, the unit's supervisor\n"
        "Reason: first_action deadline missed")
    assert alerts.text("case_escalated", data) == (
        "案件督办升级", "编号：FT-C-1\n督办层级：第2级，所在单位负责人\n原因：first_action deadline missed")
    assert alerts.language_of({"language": "en"}) == "en"
    assert alerts.language_of({"language": "fr"}) == alerts.language_of(None) == "zh-CN"
    assert set(alerts.TITLES) == set(alerts.TITLES_EN)
    alert = {"kind": "case_escalated", "person_id": "s-st1", "facts": data,
             "title": "案件督办升级", "body": "..."}
    title, body = alerts.climbed_text(alert, "en")
    assert title == "Alert not acknowledged, passed up the ladder: Case supervision escalated"
    assert body.startswith("s-st1 did not acknowledge this alert in time.\nNo.: FT-C-1")


def test_a_climb_is_one_ledger_row_of_the_unit_not_reached_keyed_by_its_event():
    now = datetime(2026, 11, 30, 8, tzinfo=timezone.utc)
    alert = {"_id": "a1", "kind": "case_escalated", "event_type": "case_escalated",
             "event_id": "e1", "case_id": "c1", "report_id": "r1", "case_number": "FT-C-1",
             "reference": "FT-1", "unit_id": "st1", "unit_path": ["st1", "b1", "city"],
             "person_id": "s-st1", "person_role": "supervisor", "ack_due_at": now}
    kind, data = alerts.climbed_event(alert, "b1", ["s-b1"], now)
    assert kind == "alert_climbed"
    event = {"source": "notify", "subject": "a1", "sequence": 1, "occurred_at": now.isoformat(),
             "data": data}
    item = climb_item(event)
    assert item["_id"] == "notify:a1:1" and item["kind"] == "alert_unacknowledged"
    assert (item["unit_id"], item["unit_path"], item["case_number"]) == (
        "st1", ["st1", "b1", "city"], "FT-C-1")
    assert item["detail"]["not_reached"] == "s-st1" and item["detail"]["told_next"] == ["s-b1"]
    assert item["created_at"] == now and item["status"] == "open"


def test_a_case_event_naming_its_lead_gives_the_lead_its_cursor_keeps():
    assert alerts.lead_in(event("case_lead_reassigned", report_id="r1", lead_officer_id="o2",
                                unit_id="st1")) == {
        "report_id": "r1", "lead_officer_id": "o2", "lead_unit_id": "st1"}
    assert alerts.lead_in(event("case_opened", report_id="r1")) == {}      # names no lead
    assert alerts.lead_in(event("report_accepted", report_id="r1", lead_officer_id="o2")) == {}

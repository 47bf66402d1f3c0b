"""Alerts to police, the pure parts: the rule table (policy/alerts.yml) and
its refusals, whom a rule names, the channels a person is reached on, who is
on duty at a moment (Beijing time), and the DingTalk robot's signature."""
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
from services.notify.channels.robot import message, sign, signed_url
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

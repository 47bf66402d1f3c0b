"""A unit's WeCom group robot on the real stack, checked by a receiver written
from WeCom's group robot documentation, and alerts in the person's language."""
import time
import uuid

import pytest

from support.wecom_robot import WeComReceiver
from tests.helpers import eventually
from tests.integration.alert_world import AlertWorld


@pytest.fixture
def wecom():
    made = WeComReceiver()
    yield made
    made.close()


def test_a_wecom_robot_gets_markdown_or_a_text_that_ats_by_mobile_and_each_reads_their_language(
        running, tmp_path, wecom):
    w = AlertWorld(running, tmp_path).with_intake().start_notify()
    r = w.as_("s-st1").put("/units/st1/robot", {"url": wecom.url, "format": "wecom"})
    assert r.status_code == 200, r.text
    assert r.json()["format"] == "wecom" and r.json()["signed"] is False
    assert w.as_("s-st1").put("/units/st1/robot", {"url": wecom.url, "format": "slack"}
                              ).status_code == 422
    # o1 reads English and is @-ed by mobile; the station head by WeCom userid.
    r = w.as_("o1").put("/alerts/settings", {"phone": "13800000001", "language": "en"})
    assert r.status_code == 200 and r.json()["language"] == "en", r.text
    r = w.as_("s-st1").put("/alerts/settings", {"wecom_userid": "zhang.san"})
    assert r.status_code == 200 and r.json()["language"] == "zh-CN", r.text

    w.case_escalated(str(uuid.uuid4()), "unit_supervisor", "st1", 2)
    markdown = eventually(lambda: wecom.messages, what="the WeCom markdown")[0]
    assert markdown["msgtype"] == "markdown"
    assert wecom.content(markdown).startswith("### 案件督办升级\n")
    assert "督办层级：第2级，所在单位负责人" in wecom.content(markdown)
    assert wecom.mentioned(markdown) == (["zhang.san"], [])
    head = w.of("s-st1", "case_escalated")[0]
    assert head["title"] == "案件督办升级"

    w.case_escalated(str(uuid.uuid4()), "lead_officer", "o1", 1)
    text = eventually(lambda: len(wecom.messages) == 2 and wecom.messages[1],
                      what="the WeCom text message")
    # Markdown cannot @ by mobile: a text message with mentioned_mobile_list,
    # in the duty room's Chinese.
    assert text["msgtype"] == "text" and text["text"]["content"].startswith("【案件督办升级】")
    assert wecom.mentioned(text) == ([], ["13800000001"])
    lead = eventually(lambda: w.of("o1", "case_escalated"))[0]
    assert lead["title"] == "Case supervision escalated"
    assert "Escalation: level 1, the lead officer" in lead["body"]
    assert "Reason: first_action deadline missed" in lead["body"]
    time.sleep(1)
    assert len(wecom.messages) == 2 and wecom.refused == []


def test_a_wecom_robot_with_a_wrong_key_is_refused_and_the_delivery_dies(running, tmp_path,
                                                                         wecom):
    w = AlertWorld(running, tmp_path).with_intake().start_notify()
    wrong = wecom.url.replace("key=wecom-key-1", "key=not-the-key")
    r = w.as_("s-st1").put("/units/st1/robot", {"url": wrong, "kind": "wecom"})
    assert r.status_code == 200 and r.json()["format"] == "wecom", r.text
    w.case_escalated(str(uuid.uuid4()), "unit_supervisor", "st1", 2)
    eventually(lambda: len(wecom.refused) == 5, what="five refused tries")
    assert wecom.messages == [] and {code for code, _ in wecom.refused} == {93000}

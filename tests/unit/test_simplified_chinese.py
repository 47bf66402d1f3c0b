"""zh-CN is mainland China, which reads Simplified Chinese. Every zh-CN text
a person can be shown — each notice rendered with sample data, the
fallback, the labels, the one-time checklist of every incident type, the
demo organisation's names — is run through OpenCC's Traditional→Simplified
converter, and any character it would change fails the test."""
import os
import re

import opencc
import pytest
import yaml

from services.notify import domain as notify
from shared import events as ev
from shared.policy import ROOT
from tests.unit.notify_samples import NOW, TOLD, event
from tools import run

TO_SIMPLIFIED = opencc.OpenCC("t2s")
HAN = re.compile(r"[\u3400-\u9fff]")
TEMPLATES = notify.load_templates()


def traditional(text):
    """The characters of `text` that are not Simplified, with their Simplified form."""
    simplified = TO_SIMPLIFIED.convert(text)
    return sorted({f"{a}→{b}" for a, b in zip(text, simplified) if a != b})


def test_the_converter_sees_traditional_characters():
    assert traditional("報案已受理登記") == ["報→报", "記→记"]
    assert traditional("报案已受理登记") == []


@pytest.mark.parametrize("event_type", sorted(TOLD))
def test_every_zh_cn_notice_is_simplified(event_type):
    n = notify.notice_for(event(event_type), "zh-CN", TEMPLATES, "n1", NOW)
    assert n is not None and HAN.search(n["title"] + n["body"])
    assert traditional(n["title"] + n["body"]) == [], event_type


def test_the_fallback_and_the_labels_are_simplified():
    fallback = notify.render(TEMPLATES, notify.FALLBACK, "zh-CN", TOLD[ev.CASE_CLOSED])
    assert traditional(" ".join(fallback)) == []
    assert traditional(" ".join(TEMPLATES[notify.LABELS]["zh-CN"].values())) == []


def test_every_checklist_label_is_simplified():
    with open(os.path.join(ROOT, "policy", "intake.yml"), encoding="utf-8") as f:
        policy = yaml.safe_load(f)
    items = policy["common_materials"] + [m for ms in policy["materials"].values()
                                          for m in ms or ()]
    assert len(items) > 10
    assert traditional(" ".join(m["zh-CN"] for m in items)) == []


def test_the_demo_organisation_reads_simplified():
    names = [u["name"] for u in run.DEMO_UNITS] + [o["name"] for o in run.DEMO_OFFICERS]
    names += [run.DEMO_COMPANY["name"], run.DEMO_COMPANY["contact"]["name"]]
    assert all(HAN.search(n) for n in names[:3])
    assert traditional(" ".join(names)) == []

"""Notify's pure rules: what becomes a notice, its text, order, follow-ups."""
from datetime import timedelta

import pytest

from services.notify import domain as notify
from services.notify.service import NotifyService
from shared import events as ev
from tests.unit.notify_samples import NOW, TOLD, event

TEMPLATES = notify.load_templates()


def notice(event_type, language="en", **data):
    return notify.notice_for(event(event_type, **data), language, TEMPLATES, "n1", NOW)


@pytest.mark.parametrize("event_type", sorted(TOLD))
@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_every_told_step_has_its_own_text_in_both_languages(event_type, language):
    n = notice(event_type, language)
    assert n["language"] == language
    fallback = notify.render(TEMPLATES, notify.FALLBACK, language, TOLD[event_type])
    assert n["title"] != fallback[1] and "{{" not in n["body"]


@pytest.mark.parametrize("event_type", [
    ev.REPORT_TRANSFER_OFFERED, ev.REPORT_TRANSFER_DECLINED, ev.REPORT_ACK_OVERDUE,
    ev.REPORT_TRANSFER_OVERDUE, ev.REPORT_SAME_DAY_MISSED, ev.REPORT_MATERIALS_SUPPLIED,
    ev.CASE_DEADLINE_WARNING, ev.CASE_DEADLINE_MISSED, ev.CASE_DEADLINE_SET,
    ev.CASE_PAUSED, ev.CASE_RESUMED, ev.CASE_RATED, ev.COMPANY_REGISTERED])
def test_internal_events_give_no_notice(event_type):
    assert notice(event_type) is None


def test_an_undisclosed_progress_step_and_its_note_never_leave():
    assert notice(ev.CASE_PROGRESSED, disclose=False, note="internal: suspect is a cousin") is None
    told = notice(ev.CASE_PROGRESSED)
    assert "Suspect identified" in told["body"]
    assert told["envelope"]["data"]["note"] == "Suspect identified"


def test_only_a_raised_supervision_level_is_told_and_its_reason_stays_inside():
    assert notice(ev.CASE_ESCALATED, supervision_raised=False) is None
    told = notice(ev.CASE_ESCALATED)
    assert told["title"] == "Supervision raised: FT-C-2026-000042"
    assert "city bureau" in told["body"] and "team missed" not in told["body"]
    assert "reason" not in told["envelope"]["data"]


def test_notices_are_written_in_the_companys_language():
    en, zh = notice(ev.REPORT_ACCEPTED, "en"), notice(ev.REPORT_ACCEPTED, "zh-CN")
    assert en["title"] == "Case accepted: FT-1" and en["language"] == "en"
    assert zh["title"] == "已受案：FT-1" and zh["language"] == "zh-CN"
    assert notice(ev.REPORT_ACCEPTED, None)["language"] == "zh-CN"


def test_money_is_shown_exactly_and_times_in_shanghai():
    assert notify.money("21000.00") == "¥21,000.00"
    assert notify.money("1234567.5") == "¥1,234,567.50"
    assert notify.shown("2026-11-28T16:30:00+00:00") == "2026-11-29 00:30"
    received = notice(ev.REPORT_RECEIVED, "zh-CN")
    assert "¥21,000.00" in received["body"] and "2026-11-29 00:30" in received["body"]
    assert "- Bank statements" in received["body"]  # the one-time checklist
    recovered = notice(ev.LOSS_RECOVERED)
    assert "¥21,000.00 recovered and ¥500.50 frozen" in recovered["body"]
    assert "of a ¥150,000.00 loss" in recovered["body"]


def test_the_opened_case_names_its_number_lead_level_and_first_deadline():
    body = notice(ev.CASE_OPENED)["body"]
    assert "FT-C-2026-000042" in body and "led by 李警官" in body and "o1" not in body
    assert "district bureau level" in body and "2026-11-28 12:00" in body
    assert "主办民警 李警官" in notice(ev.CASE_OPENED, "zh-CN")["body"]


def test_a_transfer_names_the_receiving_unit_not_its_id():
    for language, name in (("en", "Economic-Crime Detachment"), ("zh-CN", "经侦支队")):
        body = notice(ev.REPORT_TRANSFERRED, language)["body"]
        assert name in body and "ecd" not in body
    older = notice(ev.REPORT_TRANSFERRED, "en", to_unit_name=None)["body"]  # before names
    assert "another unit" in older and "ecd" not in older


def test_the_conclusion_gives_the_result_and_asks_for_a_rating():
    en, zh = notice(ev.CASE_CONCLUDED, "en"), notice(ev.CASE_CONCLUDED, "zh-CN")
    assert "result: solved" in en["body"] and "rate how we handled it, 1 to 5" in en["body"]
    assert "已破案" in zh["body"] and "/cases/k1/satisfaction" in zh["body"]


def test_a_step_whose_data_is_short_of_a_field_is_still_told():
    n = notify.notice_for(event(ev.LOSS_RECOVERED, total_frozen="not money"), "en",
                          TEMPLATES, "n1", NOW)
    assert n["title"] == "Update on FT-C-2026-000042"


def test_events_without_a_company_give_no_notice():
    ev_ = event(ev.REPORT_ACCEPTED)
    del ev_["data"]["company_id"]
    assert notify.notice_for(ev_, "en", TEMPLATES, "n", NOW) is None


def test_notify_takes_every_event_of_the_subjects_it_orders():
    (entrypoint,) = NotifyService.handle_event.nameko_entrypoints
    handlers = {t for types in entrypoint.types_by_source.values() for t in types}
    assert handlers == set(notify.REPORT_EVENTS) | set(notify.CASE_EVENTS)
    catalogue = {v for k, v in vars(ev).items() if isinstance(v, str) and k.split("_")[0] in (
        "REPORT", "CASE", "LOSS", "STOP", "COMPANY")}
    assert handlers == catalogue - {ev.COMPANY_REGISTERED}


def test_a_subjects_notices_are_stamped_in_order_even_if_clocks_disagree():
    later = NOW + timedelta(seconds=5)
    assert notify.notice_time({"last_notice_at": later}, NOW) == later + timedelta(
        milliseconds=1)
    assert notify.notice_time({}, NOW) == NOW


def test_a_delivery_waits_for_the_one_before_it_on_its_channel():
    n = notice(ev.CASE_OPENED)
    first = notify.deliveries_for(n, ["webhook", "email"], {}, NOW)
    assert [d["next_attempt_at"] for d in first] == [NOW, NOW]
    second = notify.deliveries_for(dict(n, _id="n2"), ["webhook", "sms"],
                                   {"webhook": "n1:webhook"}, NOW)
    assert second[0]["after"] == "n1:webhook" and second[0]["next_attempt_at"] is None
    assert second[1]["after"] is None and second[1]["next_attempt_at"] == NOW


def test_a_case_is_followed_up_while_open_and_not_once_concluded():
    opened = event(ev.CASE_OPENED)
    n = notice(ev.CASE_OPENED)
    state = notify.released({"v": 0, "released": 0}, opened, n, [], 3600)
    assert state["follow_up"] is True
    assert state["quiet_due_at"] == n["created_at"] + timedelta(hours=1)
    concluded = notify.released(state, event(ev.CASE_CONCLUDED, 2), None, [], 3600)
    assert concluded["follow_up"] is False
    reopened = notify.released(dict(state, **concluded), event(ev.CASE_REOPENED, 3),
                               notice(ev.CASE_REOPENED), [], 3600)
    assert reopened["follow_up"] is True


def test_the_follow_up_names_the_last_step_and_the_next_deadline():
    subject = {"_id": "k1", "company_id": "c1", "released": 4,
               "case_number": "FT-C-2026-000042", "reference": "FT-1",
               "next_due_at": "2026-12-01T02:00:00+00:00",
               "last_step": {"title": "Case progress: FT-C-2026-000042",
                             "at": NOW - timedelta(days=7)},
               "last_notice_at": NOW - timedelta(days=7)}
    n = notify.follow_up_for(subject, "en", TEMPLATES, "f1", "fe1", NOW)
    assert n["title"] == "Still working on case FT-C-2026-000042"
    assert "Last step: Case progress: FT-C-2026-000042 (2026-11-21 10:00)" in n["body"]
    assert "Next deadline: 2026-12-01 10:00 (Beijing time)" in n["body"]
    assert n["sequence"] == 4 and 4 < n["order"] < 5
    zh = notify.follow_up_for(dict(subject, next_due_at=None), "zh-CN", TEMPLATES,
                              "f2", "fe2", NOW)
    assert "定期回访" in zh["title"] and "下一期限：暂无" in zh["body"]


def test_the_subscriptions_language_wins_then_the_companys():
    assert notify.language_of({"language": "en"}, {"language": "zh-CN"}) == "en"
    assert notify.language_of({"language": None}, {"language": "en"}) == "en"
    assert notify.language_of(None, {}) == "zh-CN"


def test_an_event_is_next_in_order_only_when_both_cursors_are_just_before_it():
    received = {"sequence": 3}
    assert notify.next_in_order(received, {"released": 2}, {"released": 2})
    assert not notify.next_in_order(received, {"released": 2}, {"released": 1})  # alerts behind
    assert not notify.next_in_order(received, {"released": 1}, {"released": 2})
    assert not notify.next_in_order(received, {"released": 3}, {"released": 3})  # told already


def test_an_event_in_a_stepped_over_gap_is_not_told_yet():
    cursor = {"released": 9, "gaps": [[4, 5]]}
    assert notify.told(cursor, 3) and notify.told(cursor, 9)
    assert not notify.told(cursor, 4) and not notify.told(cursor, 5)
    assert not notify.told(cursor, 10)

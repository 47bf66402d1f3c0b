"""Alerts to police: pure rules. Which rule of policy/alerts.yml an event
meets, whom its recipients name, which channels a person is reached on, what
the alert says, and who is next up the ladder when nobody acknowledges.

Alerts are internal: they live in their own collections and routes, and
never in a company's feed or on a company's channels.
"""
from typing import Any, Mapping

from services.notify.alert_policy_schema import EVERY
from shared.events import ALERT_CLIMBED, CASE_EVENTS

# What an alert says, in the person's language (their alert settings;
# Simplified Chinese unless they chose English): the title per event type;
# the body names the report or case and its summary.
DEFAULT_LANGUAGE = "zh-CN"
TITLES = {
    "report_received": "新报案待签收",
    "report_ack_overdue": "报案签收超时",
    "report_transfer_offered": "有报案移交待接收",
    "report_transfer_overdue": "报案移交超时未答复",
    "report_materials_supplied": "企业已补充材料",
    "report_evidence_recorded": "企业已上传证据文件",
    "case_opened": "您已被指定为案件主办民警",
    "case_lead_reassigned": "您已被指定为案件主办民警",
    "case_member_added": "您已加入案件办案组",
    "case_deadline_warning": "案件期限即将届满",
    "case_deadline_missed": "案件期限已超期",
    "case_escalated": "案件督办升级",
    "case_reopened": "案件已被重新启动",
    "case_rated": "企业对案件评价较低",
    "nobody_on_duty": "无人值班：报警已发给全体民警",
    "climbed": "告警无人确认，已逐级上报",
}
TITLES_EN = {
    "report_received": "New report to acknowledge",
    "report_ack_overdue": "Report not acknowledged in time",
    "report_transfer_offered": "A report is offered to your unit",
    "report_transfer_overdue": "Report transfer not answered in time",
    "report_materials_supplied": "The company supplied materials",
    "report_evidence_recorded": "The company uploaded an evidence file",
    "case_opened": "You are the lead officer of a case",
    "case_lead_reassigned": "You are the lead officer of a case",
    "case_member_added": "You were added to a case team",
    "case_deadline_warning": "A case deadline is near",
    "case_deadline_missed": "A case deadline was missed",
    "case_escalated": "Case supervision escalated",
    "case_reopened": "A case was reopened",
    "case_rated": "The company rated a case low",
    "nobody_on_duty": "Nobody on duty: the alert went to every officer",
    "climbed": "Alert not acknowledged, passed up the ladder",
}
RUNG_NAMES = {"lead_officer": "主办民警", "unit_supervisor": "所在单位负责人",
              "supervisor": "督办单位负责人", "manual": "人工督办"}
RUNG_NAMES_EN = {"lead_officer": "the lead officer", "unit_supervisor": "the unit's supervisor",
                 "supervisor": "the supervising unit's head", "manual": "manual supervision"}
WORDS: dict[str, dict[str, Any]] = {
    "zh-CN": {"titles": TITLES, "rungs": RUNG_NAMES, "alert": "告警", "number": "编号：{}",
              "summary": "摘要：{}", "deadline": "期限：{}（{}）", "rung": "督办层级：第{}级，{}",
              "reason": "原因：{}", "rating": "评分：{}", "sep": "：",
              "not_acked": "{} 未在时限内确认此告警。"},
    "en": {"titles": TITLES_EN, "rungs": RUNG_NAMES_EN, "alert": "Alert", "number": "No.: {}",
           "summary": "Summary: {}", "deadline": "Deadline: {} ({})",
           "rung": "Escalation: level {}, {}", "reason": "Reason: {}", "rating": "Rating: {}",
           "sep": ": ", "not_acked": "{} did not acknowledge this alert in time."},
}
LANGUAGES = tuple(WORDS)
# What of an event an alert's text is made from, kept with the alert so a
# climb retells it in the next person's language.
TEXT_FIELDS = ("case_number", "reference", "summary", "deadline", "due_at", "rung",
               "escalation_level", "reason", "rating")


def lead_in(event: Mapping[str, Any]) -> dict:
    """The lead of the case opened from a report, as a case event names it:
    kept on the case's alert cursor, moved with it (alert_order.py), so a
    report's later events reach the case's lead ({"case_lead": report_id})."""
    data = event["data"]
    if event["type"] in CASE_EVENTS and data.get("report_id") and data.get("lead_officer_id"):
        return {"report_id": data["report_id"], "lead_officer_id": data["lead_officer_id"],
                "lead_unit_id": data.get("unit_id")}
    return {}


def language_of(profile: Mapping[str, Any] | None) -> str:
    """The language a person's alerts are written in."""
    chosen = (profile or {}).get("language")
    return chosen if chosen in WORDS else DEFAULT_LANGUAGE


# What an alert keeps of its event, for a climb to carry on.
CARRIED = ("case_id", "report_id", "case_number", "reference")


def field(data: Mapping[str, Any], names: Any) -> Any:
    """The first of the named fields the event carries (a name or a list)."""
    for name in [names] if isinstance(names, str) else names:
        if data.get(name):
            return data[name]
    return None


def rule_for(policy: Mapping[str, Any], event: Mapping[str, Any]) -> dict | None:
    """The rule this event meets, or None (most events ask nobody to act)."""
    rule = policy["rules"].get(event["type"])
    if rule is None:
        return None
    for name, most in (rule.get("at_most") or {}).items():
        value = event["data"].get(name)
        if not isinstance(value, (int, float)) or value > most:
            return None
    for name, allowed in (rule.get("only_when") or {}).items():
        if event["data"].get(name) not in allowed:
            return None
    return rule


def targets(entries: list, data: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(kind, id) for each recipient entry: ("officer", officer id),
    ("supervisors" | "on_duty", unit id), ("case_lead", report id)."""
    found = []
    for entry in entries:
        (kind, names), = entry.items()
        if kind == "rung":
            to = data.get("escalated_to")
            if to:
                found.append(("officer" if data.get("rung") == "lead_officer"
                              else "supervisors", to))
            continue
        value = field(data, names)
        if value:
            found.append((kind, value))
    return list(dict.fromkeys(found))


def channels_for(profile: Mapping[str, Any] | None, severity: str,
                 defaults: Mapping[str, list], available: set[str]) -> list[str]:
    """The channels a person is reached on for this severity: their own
    choice, else the policy's default; `every` is every channel they have.
    The inbox always holds the alert (it is the record)."""
    chosen = ((profile or {}).get("channels") or {}).get(severity) or defaults[severity]
    if EVERY in chosen:
        chosen = list(available)
    return ["inbox"] + [c for c in ("email", "sms", "robot")
                        if c in chosen and c in available]


def text(kind: str, data: Mapping[str, Any],
         language: str = DEFAULT_LANGUAGE) -> tuple[str, str]:
    """(title, body) of an alert in the language (Simplified Chinese by default)."""
    w = WORDS.get(language) or WORDS[DEFAULT_LANGUAGE]
    title = w["titles"].get(kind, w["alert"])
    what = data.get("case_number") or data.get("reference") or ""
    lines = [w["number"].format(what)] if what else []
    if data.get("summary"):
        lines.append(w["summary"].format(data["summary"]))
    if data.get("deadline"):
        lines.append(w["deadline"].format(data["deadline"], data.get("due_at", "")))
    if data.get("rung"):
        lines.append(w["rung"].format(data.get("escalation_level", ""),
                                      w["rungs"].get(data["rung"], data["rung"])))
    if data.get("reason"):
        lines.append(w["reason"].format(data["reason"]))
    if data.get("rating") is not None:
        lines.append(w["rating"].format(data["rating"]))
    return title, "\n".join(lines)


def next_unit(path: list[str], unit_id: str, is_supervisor: bool) -> str | None:
    """Whose supervisors an unacknowledged alert goes to next: an officer's
    own unit's; a supervisor's, the unit above."""
    if not is_supervisor:
        return unit_id
    i = path.index(unit_id) if unit_id in path else -1
    return path[i + 1] if 0 <= i < len(path) - 1 else None


def climbed_text(alert: Mapping[str, Any], language: str = DEFAULT_LANGUAGE
                 ) -> tuple[str, str]:
    """What the next person up reads, in their language: whose alert went
    unacknowledged, and it."""
    w = WORDS.get(language) or WORDS[DEFAULT_LANGUAGE]
    title, body = text(alert.get("origin_kind") or alert["kind"], alert.get("facts") or {},
                       language)
    if alert.get("facts") is None:   # an alert made before facts were kept
        title, body = alert["title"], alert["body"]
    return (f"{w['titles']['climbed']}{w['sep']}{title}",
            w["not_acked"].format(alert["person_id"]) + f"\n{body}")


def climbed_event(alert: Mapping[str, Any], to_unit: str | None, told: list[str],
                  now: Any) -> tuple[str, dict]:
    """The event of an unacknowledged alert moving on, for the ledger: the
    unit whose person was not reached, who that was, who is told next
    (nobody: the top of the ladder)."""
    return ALERT_CLIMBED, {
        "alert_id": alert["_id"], "alert_kind": alert["kind"],
        "event_type": alert["event_type"], "event_id": alert["event_id"],
        **{k: alert.get(k) for k in CARRIED},
        "unit_id": alert["unit_id"], "unit_path": list(alert["unit_path"]),
        "not_reached": alert["person_id"], "not_reached_role": alert["person_role"],
        "ack_due_at": alert["ack_due_at"].isoformat() if alert.get("ack_due_at") else None,
        "to_unit_id": to_unit, "told_next": list(told), "climbed_at": now.isoformat()}

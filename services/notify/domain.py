"""Notify's pure rules: which events become notices, their text, the order
they are released in, and the follow-up notice (定期回訪).

No clock, no ids, no I/O: time and ids come in as arguments. A subject (a
report or a case) is released strictly in `sequence` order; every event of
the subject is taken in, the ones that give no notice only move the cursor.
"""
import os
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, TypedDict

import jinja2
import yaml

from shared import events as ev
from shared.fields import SHANGHAI

DEFAULT_LANGUAGE = "zh-CN"
LANGUAGES = ("zh-CN", "en")
FOLLOW_UP = "case_follow_up"  # the notice notify itself writes (定期回訪)
FALLBACK = "_fallback"
LABELS = "_labels"  # words for codes (levels, results), per language

# Every event of a subject we order, so no sequence number is ever missing.
REPORT_EVENTS, CASE_EVENTS = ev.REPORT_EVENTS, ev.CASE_EVENTS

# The disclosable steps. Accountability events (overdue, missed, deadline
# warnings), offers still pending, pauses and ratings stay inside.
ALWAYS_TOLD = {
    ev.REPORT_RECEIVED, ev.STOP_PAYMENT_REQUESTED, ev.REPORT_ACKNOWLEDGED,
    ev.REPORT_TRANSFERRED, ev.REPORT_MERGED, ev.REPORT_ACCEPTED,
    ev.REPORT_EXTRA_MATERIALS_REQUESTED, ev.CASE_OPENED, ev.LOSS_RECOVERED,
    ev.CASE_CONCLUDED, ev.CASE_CLOSED, ev.CASE_REOPENED}
# Data that never leaves, even inside a told event's webhook body.
WITHHELD = {ev.CASE_ESCALATED: {"reason", "rung", "escalated_to"},
            ev.CASE_OPENED: {"accepted_sequence"}}
# A concluded or closed case needs no "still working on it"; a reopened one does.
FOLLOW_UP_STATE = {ev.CASE_OPENED: True, ev.CASE_REOPENED: True,
                   ev.CASE_CONCLUDED: False, ev.CASE_CLOSED: False}


def is_told(event):
    """Whether the company hears of this event at all."""
    kind, data = event["type"], event["data"]
    if kind == ev.CASE_PROGRESSED:
        return data.get("disclose") is True  # internal notes never leave
    if kind == ev.CASE_ESCALATED:
        return data.get("supervision_raised") is True
    return kind in ALWAYS_TOLD


def public_data(event):
    data = event["data"]
    hidden = set(WITHHELD.get(event["type"], ()))
    if event["type"] == ev.CASE_PROGRESSED and data.get("disclose") is not True:
        hidden.add("note")
    return {k: v for k, v in data.items() if k not in hidden}


# -- text -------------------------------------------------------------------
def money(value):
    """¥21,000.00: exact, from the decimal string, never through a float."""
    return f"¥{Decimal(value):,.2f}"


def shown(value):
    """An ISO time (or aware datetime) shown in Asia/Shanghai, to the minute."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    try:
        return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
    except (OverflowError, ValueError):  # a date stored before the input windows
        return value.strftime("%Y-%m-%d %H:%M UTC")


def load_templates(path=os.path.join(os.path.dirname(__file__), "templates.yml")):
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)
    env.filters.update(money=money, shown=shown)
    with open(path, encoding="utf-8") as f:
        raw = yaml.safe_load(f)
    labels = raw.pop(LABELS)
    templates = {event_type: {lang: {part: env.from_string(text)
                                     for part, text in parts.items()}
                              for lang, parts in langs.items()}
                 for event_type, langs in raw.items()}
    templates[LABELS] = labels
    return templates


def render(templates, kind, language, data):
    """(language, title, body). A template that cannot render (a producer
    left out a field) falls back to a plain text: the step is still told."""
    texts = templates[kind]
    language = language if language in texts else DEFAULT_LANGUAGE
    words = templates[LABELS][language]
    try:
        return (language, texts[language]["title"].render(d=data, t=words).strip(),
                texts[language]["body"].render(d=data, t=words).strip())
    except (jinja2.TemplateError, ValueError, ArithmeticError, TypeError, KeyError):
        fallback = templates[FALLBACK][language]
        return (language, fallback["title"].render(d=data, t=words).strip(),
                fallback["body"].render(d=data, t=words).strip())


class Notice(TypedDict):
    """A notice as stored (notify's `notices`): what the company reads in its
    feed (NoticeOut), and the envelope its webhook carries."""
    _id: str
    company_id: str
    event_id: str
    event_type: str
    subject: str                   # the report or case it is about
    sequence: int                  # the event's place in its subject's sequence
    order: float
    language: str
    title: str
    body: str
    created_at: datetime
    envelope: dict[str, Any]       # the public envelope: data without what stays inside


def notice_for(event: ev.Envelope, language: str, templates: dict, notice_id: str,
               now: datetime) -> Notice | None:
    """The notice an event gives its company, or None if it gives none."""
    company_id = event["data"].get("company_id")
    if not company_id or event["type"] not in templates or not is_told(event):
        return None
    data = public_data(event)
    language, title, body = render(templates, event["type"], language, data)
    return {"_id": notice_id, "company_id": company_id, "event_id": event["event_id"],
            "event_type": event["type"], "subject": event["subject"],
            "sequence": event["sequence"], "order": float(event["sequence"]),
            "language": language, "title": title, "body": body, "created_at": now,
            "envelope": public_envelope(event, data, notice_id, language, title, body)}


def public_envelope(event, data, notice_id, language, title, body):
    """The webhook body: the event as a CloudEvent (shared/events.py), its
    data cleared of what stays inside, plus the notice text for receivers
    that show it — in `data.notice`, and (deprecated: a CloudEvents attribute
    holds no object) at the top as before."""
    notice = {"notice_id": notice_id, "language": language, "title": title, "body": body}
    return dict(ev.cloud_event(event["event_id"], event["type"], event["source"],
                               event["subject"], event["sequence"],
                               _iso(event["occurred_at"]), dict(data, notice=notice)),
                notice=notice)


def _iso(value):
    return value if isinstance(value, str) else value.isoformat()


# -- order ------------------------------------------------------------------
def notice_time(subject, now):
    """Strictly after the subject's last notice: the feed, sorted by time,
    keeps each subject's order even when instances' clocks disagree."""
    last = subject.get("last_notice_at")
    return max(now, last + timedelta(milliseconds=1)) if last else now


# How long an event just stored is left to the handling that stored it.
IN_FLIGHT = timedelta(seconds=30)


def in_flight(event, own, now, cursor):
    """Whether a handling that has released nothing yet should leave the
    event whose turn it is to the handling that stored it a moment ago.
    `own`: the event this handling is for; `cursor`: its subject's.

    Two events of a subject often arrive together (a report received and
    accepted at once); each handling used to release both, the second
    writing the same notice, deliveries and alerts again only to lose the
    cursor. The one that stored the event releases it: it stored it before
    reading the cursor, so it either finds it its turn, or the handling
    that moves the cursor to just before it reads it afterwards and goes
    on (a handling that has released something always goes on). Should
    either die, the broker redelivers its message (or the inbox retries
    it): a handling whose own event is already behind the cursor is such a
    one, its going on perhaps cut short, and leaves nothing to anyone. An
    event older than IN_FLIGHT is anyone's."""
    return (own["sequence"] > cursor["released"] and event["_id"] != own["event_id"]
            and event["received_at"] > now - IN_FLIGHT)


def may_hold_late(cursor, stored):
    """Whether a take should look below the subject's cursor for held
    events (the notices' and the alerts' alike). Only a subject that
    stepped over a gap can be told an event late, and a redelivery
    (`stored` None) may find its own event released and not marked; any
    other held event at or below the cursor is a lost mark the overdue
    sweep settles."""
    return bool(cursor.get("gaps")) or not stored


def nothing_held_after(subject, in_hand=None):
    """Whether the subject's document says no event waits at the place
    after its notices' cursor, so it need not be read: `held`, the highest
    sequence ever stored to wait, is raised after each such event is stored
    (repository.mark_held), and a release's move is made on the condition
    that `held` is not past the place it sets — of the two, one sees the
    other. A document from before `held` was kept says nothing; nor does a
    stale one: only a handling that moved the cursor (its move's condition)
    or stored the event (its mark, then a read) has to go on.
    `in_hand`: the record a handling stored, when it is the next."""
    after = subject["released"] + 1
    if in_hand and in_hand["subject"] == subject["_id"] and in_hand["sequence"] == after:
        return False
    return subject.get("held", after) < after


def told(cursor, sequence):
    """Whether a cursor (the notices' or the alerts') is past `sequence`
    for good: released up to it, and not over it in a stepped-over gap
    (an event there is still told, late)."""
    return sequence <= cursor["released"] and not in_gaps(cursor, sequence)


def next_in_order(event, subject, alert_cursor):
    """Whether an event arriving is the next of its subject for both the
    notices and the alerts: released at once, then stored as released
    (taking.py)."""
    return event["sequence"] == subject["released"] + 1 == alert_cursor["released"] + 1


def surely_first(event, now, max_hold):
    """Whether a subject's first event (sequence 1) comes soon enough that
    no later event of its subject can have been stepped past it yet: a gap
    is stepped over only once an event after it waited the hold, and every
    later event of the subject happened after this one. Half the hold is
    left for the services' clocks to differ."""
    return event["sequence"] == 1 and event["occurred_at"] > now - max_hold / 2


def acceptance_it_follows(event):
    """(report id, sequence) of the acceptance a case's opening follows, or
    None. A report and its case are two subjects, each released in its own
    order; without this the case's opening, written a moment sooner by
    another worker, could reach the company before the acceptance that
    opened it, in its feed and on its channels."""
    if event["type"] == ev.CASE_OPENED and event["data"].get("accepted_sequence"):
        return event["data"]["report_id"], event["data"]["accepted_sequence"]
    return None


def opens_a_case(event):
    """The case an acceptance opened, whose opening may wait for it."""
    if event["type"] == ev.REPORT_ACCEPTED:
        return event["data"].get("case_id")
    return None


def in_gaps(subject, sequence):
    return any(low <= sequence <= high for low, high in subject.get("gaps") or ())


def deliveries_for(notice, channels, lanes, now):
    """One delivery per channel the company has. Each names the delivery
    before it on the same channel and subject (`after`): it waits (no
    `next_attempt_at`) until that one is delivered or given up."""
    out = []
    for channel in channels:
        after = lanes.get(channel)
        out.append({"_id": f"{notice['_id']}:{channel}", "notice_id": notice["_id"],
                    "company_id": notice["company_id"], "subject": notice["subject"],
                    "channel": channel, "event_id": notice["event_id"],
                    "event_type": notice["event_type"], "sequence": notice["sequence"],
                    "after": after, "status": "pending", "tries": 0, "attempts": [],
                    "next_attempt_at": None if after else now, "created_at": now})
    return out


def lane_of(delivery):
    """A delivery's lane in a subject's `lanes`: its channel, or its own
    (an endpoint's, endpoint_rules.py), so each lane carries a case in order."""
    return delivery.get("lane") or delivery["channel"]


def released(subject, event, notice, deliveries, follow_up_after):
    """The subject's new state once `event` is released (with its notice)."""
    state = {"released": event["sequence"],
             "company_id": event["data"].get("company_id") or subject.get("company_id"),
             "source": event["source"]}
    state["lanes"] = dict(subject.get("lanes") or {},
                          **{lane_of(d): d["_id"] for d in deliveries})
    if event["source"] == "case_supervision":
        data = event["data"]
        for key in ("case_number", "reference", "stage", "next_due_at"):
            if key in data:
                state[key] = data[key]
        state["follow_up"] = FOLLOW_UP_STATE.get(event["type"],
                                                 subject.get("follow_up", True))
    if notice:
        state["last_notice_at"] = notice["created_at"]
        state["last_step"] = {"title": notice["title"], "at": notice["created_at"]}
    if notice and state.get("follow_up", subject.get("follow_up")):
        state["quiet_due_at"] = notice["created_at"] + timedelta(seconds=follow_up_after)
    return state


# -- 定期回訪 -----------------------------------------------------------------
def follow_up_for(subject, language, templates, notice_id, event_id, now):
    """The "still working on it" notice of a quiet case: the last step and
    the next deadline. It carries the sequence of the last step it reports,
    ordered just after it on every channel."""
    last = subject.get("last_step") or {}
    data = {"case_id": subject["_id"], "case_number": subject.get("case_number"),
            "reference": subject.get("reference"), "stage": subject.get("stage"),
            "last_step": last.get("title"), "last_step_at": last.get("at"),
            "next_due_at": subject.get("next_due_at"),
            "company_id": subject["company_id"]}
    language, title, body = render(templates, FOLLOW_UP, language, data)
    created = notice_time(subject, now)
    event = {"event_id": event_id, "type": FOLLOW_UP, "source": "notify",
             "subject": subject["_id"], "sequence": subject["released"],
             "occurred_at": created}
    wire = dict(data, last_step_at=_iso(data["last_step_at"]) if data["last_step_at"] else None)
    return {"_id": notice_id, "company_id": subject["company_id"], "event_id": event_id,
            "event_type": FOLLOW_UP, "subject": subject["_id"],
            "sequence": subject["released"], "order": subject["released"] + 0.5,
            "language": language, "title": title, "body": body, "created_at": created,
            "envelope": public_envelope(event, wire, notice_id, language, title, body)}


def follow_up_state(notice, deliveries, lanes, follow_up_after):
    return {"last_notice_at": notice["created_at"],
            "quiet_due_at": notice["created_at"] + timedelta(seconds=follow_up_after),
            "lanes": dict(lanes or {}, **{lane_of(d): d["_id"] for d in deliveries})}


def language_of(subscription, company):
    """The subscription's language, else the company's, else zh-CN."""
    return ((subscription or {}).get("language") or (company or {}).get("language")
            or DEFAULT_LANGUAGE)


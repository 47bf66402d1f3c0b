"""快偵快辦: a case's deadlines and its next due time (the steps the sweep
takes when one passes are in escalation.py).

Pure. Every deadline is recomputed from the case's own history (when its
clock started, its pauses, what has been met, a supervisor's 限期) and the
current policy, so a changed policy file re-times open cases by the same
function that timed them. `next_due_at` — the earliest step still to take —
is stored on the case and indexed: the sweep reads only the due cases.
"""
from datetime import datetime
from typing import Any, Mapping

from services.case_supervision import domain
from services.case_supervision.calendars import calendar_for, due_at
from shared import history
from shared.clock import ms
from shared.auth import Principal
from shared.rules import Change

PROGRESS = "progress"   # the rolling "no progress for the interval" deadline


def is_met(case, name):
    if name in ("conclusion", "concluded"):
        return case["stage"] in domain.ENDED
    if name in domain.STAGES:
        return name in case["reached"]
    return name in case["met"]


def deadline_spans(case, policy, cal):
    """{name: (start, due, seconds or None)} of this clock cycle's deadlines."""
    pauses = case["pauses"]
    spans = {}
    for name, seconds in policy["deadlines"][case["priority"]].items():
        spans[name] = (case["clock_from"], due_at(cal, case["clock_from"], seconds, pauses),
                       seconds)
    for name, o in case["overrides"].items():
        spans[name] = (o["set_at"], o["due_at"], None)   # 限期: a date, not a duration
    last = max(case["clock_from"], case["last_progress_at"] or case["clock_from"])
    interval = policy["progress_interval"][case["priority"]]
    spans[PROGRESS] = (last, due_at(cal, last, interval, pauses), interval)
    return spans


def warn_time(cal, policy, span, pauses):
    start, due, seconds = span
    share = policy["escalation"]["warn_at"]
    if seconds is None:
        return ms(start + (due - start) * share)
    return due_at(cal, start, seconds * share, pauses)


def pending(case, policy, cal):
    """The steps still to take, earliest first: (at, kind, name, due)."""
    if case["stage"] in domain.ENDED or case["paused"]:
        return []
    steps = []
    marks = case["marks"]
    for name, span in deadline_spans(case, policy, cal).items():
        due = span[1]
        if due is None or is_met(case, name) or name in marks["missed"]:
            continue
        if name not in marks["warned"]:
            steps.append((warn_time(cal, policy, span, case["pauses"]), "warn", name, due))
        steps.append((due, "miss", name, due))
    if case["chain"]:
        steps.append((case["chain"]["next_at"], "escalate", None, None))
    return sorted(steps, key=lambda s: (s[0], s[1] != "warn"))


def schedule(case: Mapping[str, Any], policy: dict) -> dict[str, Any]:
    """The derived fields: shown deadlines, next due time, staleness, version."""
    cal = calendar_for(policy, case["unit_id"])
    spans = deadline_spans(case, policy, cal)
    steps = pending(case, policy, cal)
    missed = [m for m in case["marks"]["missed"] if not is_met(case, m)]
    # next_due_at is when the sweep next acts (a warning, a miss or a rung);
    # the pages show a person the next deadline itself and when it warns.
    misses = sorted((s[3], s[2]) for s in steps if s[1] == "miss")
    next_deadline = misses[0] if misses else None
    warning = next((s[0] for s in steps if next_deadline is not None
                    and s[1] == "warn" and s[2] == next_deadline[1]), None)
    return {"deadlines": {k: v[1] for k, v in spans.items() if k != PROGRESS},
            "progress_due_at": spans[PROGRESS][1] if case["stage"] not in domain.ENDED else None,
            "next_due_at": steps[0][0] if steps else None,
            "next_deadline_at": next_deadline[0] if next_deadline else None,
            "next_deadline": next_deadline[1] if next_deadline else None,
            "next_warning_at": warning,
            "stale": bool(missed or case["chain"]),
            "calendar": cal.name, "policy_version": policy["version"]}


def set_deadline(case: Mapping[str, Any], who: Principal, body: Mapping[str, Any],
                 now: datetime) -> Change:
    """限期: a supervisor's due date for a deadline or stage; a new deadline
    replaces a missed one, and the ladder stops while it runs."""
    if case["stage"] in domain.ENDED:
        raise domain.RuleError("a concluded case has no deadlines; reopen it first")
    name, due = body["stage"], ms(body["due_at"])
    if due <= now:
        raise domain.RuleError("a deadline lies in the future")
    marks = {k: [m for m in v if m != name] for k, v in case["marks"].items()}
    overrides = dict(case["overrides"], **{name: {"due_at": due, "set_at": now,
                                                  "by": who.subject}})
    return {"overrides": overrides, "marks": marks, "chain": None}, [
        history.by(who, "set_deadline", now, None, name,
                     body["reason"], due_at=due)], [
        ("case_deadline_set", {"deadline": name, "due_at": due.isoformat(),
                               "reason": body["reason"]})]


def finish(case: Mapping[str, Any], change: Change, policy: dict, now: datetime) -> Change:
    """The change (fields, entries, events) with the schedule it leads to,
    and its events with their base fields taken from the case as it will be
    stored."""
    fields, entries, events = change
    after = {**case, **fields}
    derived = schedule(after, policy)
    after.update(derived)
    base = domain.base_data(after)
    return ({**fields, **derived, "updated_at": now}, entries,
            [(t, {**base, **d}) for t, d in events])

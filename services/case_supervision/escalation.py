"""掛牌督辦 when a deadline passes: the sweep's steps — warn before a
deadline, record the miss, then climb the escalation ladder (lead officer,
unit supervisor, the supervising level's supervisor, then a level up) — and
a supervisor's escalation by hand.

Pure, like clocks.py: each step returns (fields, entries, events) and the
caller stores it with one conditional write, so a step is taken once.
"""
from datetime import datetime, timedelta
from typing import Any, Mapping

from services.case_supervision import domain
from shared import history
from shared.clock import ms
from shared.auth import Principal
from shared.rules import Change
from services.case_supervision.calendars import calendar_for
from services.case_supervision.clocks import pending

# Who each rung of the policy's ladder reaches.
RUNGS = ("lead_officer", "unit_supervisor", "supervisor")


def due_step(case: Mapping[str, Any], policy: dict,
             now: datetime) -> tuple[str, str | None, Any] | None:
    """The step the sweep takes now, or None when nothing is due yet."""
    steps = pending(case, policy, calendar_for(policy, case["unit_id"]))
    while steps and steps[0][0] <= now:
        at, kind, name, due = steps.pop(0)
        # A warning whose deadline has passed too would tell nobody anything.
        if kind == "warn" and due <= now:
            continue
        return kind, name, due
    return None


def take_step(case: Mapping[str, Any], step: tuple, policy: dict, now: datetime) -> Change:
    """(fields, entries, events) of one sweep step: warn, miss or escalate."""
    kind, name, due = step
    marks = {k: list(v) for k, v in case["marks"].items()}
    if kind == "warn":
        marks["warned"].append(name)
        return {"marks": marks}, [history.by_system("deadline_warning", now,
                                               None, name)], [
            ("case_deadline_warning", {"deadline": name, "due_at": due.isoformat()})]
    if kind == "miss":
        marks["missed"].append(name)
        fields: dict[str, Any] = {"marks": marks}
        if not case["chain"]:
            fields["chain"] = {"next_at": now, "steps": 0, "reason": f"{name} deadline missed"}
        return fields, [history.by_system("deadline_missed", now, None, name)], [
            ("case_deadline_missed", {"deadline": name, "due_at": due.isoformat(),
                                      "responsible_unit_id": case["unit_id"]})]
    return escalate(case, policy, now)


def escalate(case: Mapping[str, Any], policy: dict, now: datetime) -> Change:
    """One rung of the ladder (lead officer, unit supervisor, the supervising
    level's supervisor), then the same at a higher supervision level."""
    ladder = policy["escalation"]["ladder"]
    chain = case["chain"]
    rung = ladder[min(chain["steps"], len(ladder) - 1)]
    fields = {"escalation_level": case["escalation_level"] + 1,
              "chain": dict(chain, steps=chain["steps"] + 1, next_at=ms(
                  now + timedelta(seconds=policy["escalation"]["repeat_seconds"])))}
    raised = None
    if chain["steps"] >= len(ladder):
        raised = domain.raise_level(case)
        if raised:
            fields["supervision"] = raised
    supervision = raised or case["supervision"]
    to = {"lead_officer": case["team"]["lead_officer_id"], "unit_supervisor": case["unit_id"],
          "supervisor": supervision["supervisor_unit_id"]}[rung]
    return fields, [history.by_system("escalate", now,
                                 case["escalation_level"], fields["escalation_level"],
                                 chain["reason"], rung=rung, escalated_to=to)], [
        ("case_escalated", {"escalation_level": fields["escalation_level"], "rung": rung,
                            "escalated_to": to, "reason": chain["reason"],
                            "supervision_raised": bool(raised),
                            "responsible_unit_id": case["unit_id"]})]


def escalate_by_hand(case: Mapping[str, Any], who: Principal, reason: str,
                     now: datetime) -> Change:
    """A supervisor raises the supervision level (or repeats at the top)."""
    if case["stage"] in domain.ENDED:
        raise domain.RuleError("a concluded case is not escalated; reopen it first")
    raised = domain.raise_level(case)
    level = case["escalation_level"] + 1
    fields = {"escalation_level": level}
    if raised:
        fields["supervision"] = raised
    to = (raised or case["supervision"])["supervisor_unit_id"]
    return fields, [history.by(who, "escalate", now,
                                 case["escalation_level"], level, reason, rung="manual",
                                 escalated_to=to)], [
        ("case_escalated", {"escalation_level": level, "rung": "manual", "escalated_to": to,
                            "reason": reason, "supervision_raised": bool(raised),
                            "responsible_unit_id": case["unit_id"]})]

"""Case supervision's pure rules: no I/O, no clock, no ids — all passed in.

A command takes the case as stored and answers (fields, entries, events):
the top-level fields it changes, the history entries it appends and the
events it causes. `clocks.finish` then recomputes the deadlines and the next
due time from the changed case and makes the one conditional update.
"""
from datetime import datetime
from decimal import Decimal
from typing import Any, Mapping, TypedDict

from shared import history
from shared.auth import Principal
from shared.rules import Change, RuleError

LEVELS = ("unit", "district", "city")
STAGES = ("opened", "investigating", "suspects_identified", "arrests_made",
          "recovering_losses", "concluded", "closed")
WORKING = STAGES[:5]
ENDED = ("concluded", "closed")
RESULTS = ("solved", "prosecution", "no_crime", "suspended")
ZERO = Decimal("0.00")

# The state machine (專案偵辦 → 立案必果): (from, to) -> the only action that
# makes that move. Progress moves forward, skipping stages an investigation
# did not need; any working stage concludes, with a result; only a concluded
# case is signed off (closed); reopening sends a case back to work.
# Any pair not in this table is refused.
TRANSITIONS = {
    **{(a, b): "progress" for i, a in enumerate(WORKING) for b in WORKING[i + 1:]},
    **{(a, "concluded"): "conclude" for a in WORKING},
    ("concluded", "closed"): "close",
    ("concluded", "investigating"): "reopen",
    ("closed", "investigating"): "reopen",
}


def check_move(stage, to, action):
    if TRANSITIONS.get((stage, to)) != action:
        raise RuleError(f"a case that is {stage} cannot {action} to {to}")
    return to


def matches(when, facts):
    """Whether a case meets a policy rule's conditions (policy/cases.yml
    `rules[].when`), each checked when the file is read (policy_schema.When)."""
    if "min_loss" in when and facts["loss"] < Decimal(when["min_loss"]):
        return False
    if "funds_in_transit" in when and facts["funds_in_transit"] != when["funds_in_transit"]:
        return False
    if "incident_type" in when and facts["incident_type"] not in when["incident_type"]:
        return False
    if "min_merged" in when and facts["merged_count"] < when["min_merged"]:
        return False
    if "min_victims" in when and facts["victim_count"] < when["min_victims"]:
        return False
    return True


def classify(policy, facts):
    """(priority, supervision level) from the first policy rule that matches."""
    for rule in policy["rules"]:
        if matches(rule["when"], facts):
            return rule["priority"], rule["level"]
    raise ValueError("the case policy has no catch-all rule")


def supervisor_unit(level, unit_path):
    """The unit that supervises at `level`: the owner itself, the bureau
    above it, or the top of the tree."""
    if level == "unit":
        return unit_path[0]
    if level == "district":
        return unit_path[1] if len(unit_path) > 1 else unit_path[0]
    return unit_path[-1]


class Case(TypedDict, total=False):
    """A case as stored (case_supervision's `cases`); the API's views are
    CaseOut (police) and CompanyCaseOut (the company)."""
    _id: str
    case_number: str
    report_id: str
    reference: str
    company_id: str
    incident_type: str
    summary: str
    stage: str                     # one of STAGES
    priority: str
    victim_count: int
    unit_id: str
    unit_path: list[str]           # the case's unit, then its ancestors
    unit_names: dict[str, str]     # its display name per language
    supervision: dict[str, Any]    # level, supervisor_unit_id (掛牌督辦)
    team: dict[str, Any]           # lead_officer_id, lead_name, members
    escalation_level: int
    loss: dict[str, Decimal]       # estimated, recovered, frozen
    result: str | None
    conclusion: dict[str, Any] | None
    conclusions: list[dict[str, Any]]
    ratings: list[dict[str, Any]]
    opened_at: datetime
    clock_from: datetime
    last_progress_at: datetime | None
    paused: bool
    pauses: list[dict[str, Any]]
    met: dict[str, Any]
    reached: list[str]
    overrides: dict[str, Any]      # 限期: a supervisor's due dates by deadline name
    marks: dict[str, list[str]]    # deadlines warned of and missed
    chain: dict[str, Any] | None   # the escalation under way
    deadlines: dict[str, datetime | None]
    progress_due_at: datetime | None
    next_due_at: datetime | None   # the sweep reads through this
    next_deadline_at: datetime | None   # the earliest deadline not yet met or missed
    next_deadline: str | None
    next_warning_at: datetime | None    # when that one warns, unless it has
    stale: bool
    calendar: str
    policy_version: Any
    version: int
    seq: int
    history: list[dict[str, Any]]
    requests: list[dict[str, Any]]
    updated_at: datetime


def applied(case: Mapping[str, Any], event_id: str) -> bool:
    """Whether the case records this event as applied to it already (a
    redelivery): see repository.applied_mark."""
    return event_id in (case.get("applied") or ())


def case_number(year, number):
    """Readable, sequential per year: FT-C-2026-000042."""
    return f"FT-C-{year}-{number:06d}"


def open_case(accepted: Mapping[str, Any], policy: dict, number: str, now: datetime) -> Case:
    """The case a `report_accepted` event opens (without its schedule)."""
    loss = Decimal(accepted["estimated_loss"])
    victims = int(accepted.get("victim_count") or 1)  # events before it was told: one
    priority, level = classify(policy, {
        "loss": loss, "funds_in_transit": accepted["funds_in_transit"],
        "incident_type": accepted["incident_type"],
        "merged_count": int(accepted.get("merged_count") or 0),
        "victim_count": victims})
    path = accepted["owner_unit_path"]
    lead = accepted["accepted_by"]
    return {
        "_id": accepted["case_id"], "case_number": number,
        "report_id": accepted["report_id"], "reference": accepted["reference"],
        "company_id": accepted["company_id"], "incident_type": accepted["incident_type"],
        "summary": accepted["summary"], "stage": "opened", "priority": priority,
        "victim_count": victims,
        "unit_id": path[0], "unit_path": path,
        "supervision": {"level": level, "supervisor_unit_id": supervisor_unit(level, path)},
        # The names a company reads: the lead's, and the unit's per language.
        "team": {"lead_officer_id": lead, "lead_name": accepted.get("accepted_by_name"),
                 "members": [lead]},
        "unit_names": accepted.get("owner_unit_name") or {},
        "escalation_level": 0,
        "loss": {"estimated": loss, "recovered": ZERO, "frozen": ZERO},
        "result": None, "conclusion": None, "conclusions": [], "ratings": [],
        "opened_at": now, "clock_from": now, "last_progress_at": None,
        "paused": False, "pauses": [], "met": {}, "reached": ["opened"],
        "overrides": {}, "marks": {"warned": [], "missed": []}, "chain": None,
        "version": 1,
        "history": [history.entry("open", now, lead, "officer", None, None, "opened")],
    }


def progress(case: Mapping[str, Any], who: Principal, body: Mapping[str, Any],
             now: datetime) -> Change:
    """A team member's step: maybe a new stage, a note, recovered or frozen money."""
    stage = case["stage"]
    if stage not in WORKING:
        raise RuleError(f"a case that is {stage} takes no progress; reopen it first")
    to = body.get("stage") or stage
    if to != stage:
        check_move(stage, to, "progress")
    disclose = body.get("disclose", False)
    met = dict(case["met"])
    met.setdefault("first_action", now)
    if disclose:
        met.setdefault("first_progress", now)
    marks = {"warned": [m for m in case["marks"]["warned"] if m != "progress"],
             "missed": [m for m in case["marks"]["missed"] if m != "progress"]}
    fields = {"stage": to, "met": met, "marks": marks, "last_progress_at": now,
              "chain": None, "reached": sorted(set(case["reached"]) | {to}, key=STAGES.index)}
    data = {"previous_stage": stage, "disclose": disclose}
    if disclose:
        data["note"] = body["note"]
    events = [("case_progressed", data)]
    recovered, frozen = body.get("recovered_amount"), body.get("frozen_amount")
    if recovered or frozen:
        loss = dict(case["loss"])
        loss["recovered"] += recovered or ZERO
        loss["frozen"] += frozen or ZERO
        fields["loss"] = loss
        events.append(("loss_recovered", {
            "recovered_amount": money(recovered or ZERO), "frozen_amount": money(frozen or ZERO),
            "total_recovered": money(loss["recovered"]), "total_frozen": money(loss["frozen"]),
            "estimated": money(loss["estimated"])}))
    return fields, [history.by(who, "progress", now, stage, to, body["note"],
                          disclose=disclose, recovered=recovered, frozen=frozen)], events


def conclude(case: Mapping[str, Any], who: Principal, body: Mapping[str, Any],
             now: datetime) -> Change:
    """立案必果: a case ends with a result and a summary, or not at all."""
    check_move(case["stage"], "concluded", "conclude")
    number = len(case["conclusions"]) + 1
    conclusion = {"number": number, "result": body["result"], "summary": body["summary"],
                  "at": now, "by": who.subject}
    fields = {"stage": "concluded", "result": body["result"], "conclusion": conclusion,
              "conclusions": case["conclusions"] + [conclusion], "chain": None}
    return fields, [history.by(who, "conclude", now, case["stage"],
                          "concluded", body["summary"], result=body["result"])], [
        ("case_concluded", {"result": body["result"], "summary": body["summary"]})]


def close(case: Mapping[str, Any], who: Principal, now: datetime) -> Change:
    check_move(case["stage"], "closed", "close")
    if not case.get("result"):
        raise RuleError("no case closes without a result")
    return {"stage": "closed", "closed_at": now}, [
        history.by(who, "close", now, "concluded", "closed")], [("case_closed", {})]


def reopen(case: Mapping[str, Any], who: Principal, reason: str, now: datetime) -> Change:
    """Back to work: the stage clocks start again from now."""
    to = check_move(case["stage"], "investigating", "reopen")
    fields = {"stage": to, "result": None, "conclusion": None, "clock_from": now,
              "met": {}, "reached": [to], "overrides": {}, "chain": None,
              "marks": {"warned": [], "missed": []}, "last_progress_at": None}
    return fields, [history.by(who, "reopen", now, case["stage"], to, reason)], [
        ("case_reopened", {"reason": reason})]


def rate(case: Mapping[str, Any], who: Principal, body: Mapping[str, Any],
         now: datetime) -> Change:
    """滿意率: the company rates each conclusion once."""
    conclusion = case.get("conclusion")
    if case["stage"] not in ENDED or not conclusion:
        raise RuleError("a case is rated after its conclusion")
    if any(r["conclusion"] == conclusion["number"] for r in case["ratings"]):
        raise RuleError("this conclusion has been rated")
    rating = {"conclusion": conclusion["number"], "rating": body["rating"],
              "comment": body.get("comment") or "", "at": now}
    return {"ratings": case["ratings"] + [rating]}, [
        history.by(who, "rate", now, None, body["rating"],
              body.get("comment"))], [("case_rated", {"rating": body["rating"]})]


def add_member(case: Mapping[str, Any], who: Principal, officer_id: str,
               now: datetime) -> Change:
    team = case["team"]
    if officer_id in team["members"]:
        raise RuleError("this officer is on the team")
    team = dict(team, members=team["members"] + [officer_id])
    # The officer hears of it (notify's alerts to police; never the company).
    return {"team": team}, [history.by(who, "add_member", now, None,
                                  officer_id)], [("case_member_added", {"officer_id": officer_id})]


def reassign_lead(case: Mapping[str, Any], who: Principal, officer: Mapping[str, Any],
                  reason: str, now: datetime) -> Change:
    """A supervisor names another lead (`officer` as intake knows it)."""
    team = case["team"]
    before, officer_id = team["lead_officer_id"], officer["officer_id"]
    if officer_id == before:
        raise RuleError("this officer leads the case")
    members = team["members"] + ([officer_id] if officer_id not in team["members"] else [])
    return {"team": {"lead_officer_id": officer_id, "lead_name": officer.get("name"),
                     "members": members}}, [
        history.by(who, "reassign_lead", now, before, officer_id, reason)], [
        ("case_lead_reassigned", {"previous_lead_officer_id": before})]


def pause(case: Mapping[str, Any], actor: str, role: str, reason: str, now: datetime,
          kind: str = "manual", waiting_for: list[str] | tuple = ()) -> Change | None:
    """Waiting on the company: the clocks stop. None when already paused."""
    if case["paused"] or case["stage"] in ENDED:
        return None
    pauses = case["pauses"] + [{"from": now, "to": None, "reason": reason, "kind": kind,
                                "waiting_for": list(waiting_for)}]
    # Nobody is at fault while the company is awaited: the escalation stops.
    return {"paused": True, "pauses": pauses, "chain": None}, [
        history.entry("pause", now, actor, role, None, None, None, reason)], [
        ("case_paused", {"reason": reason})]


def resume(case: Mapping[str, Any], actor: str, role: str, now: datetime,
           note: str | None = None) -> Change | None:
    """The clocks run again; None when the case is not paused."""
    if not case["paused"]:
        return None
    pauses = [dict(p, to=now) if p["to"] is None else p for p in case["pauses"]]
    return {"paused": False, "pauses": pauses}, [
        history.entry("resume", now, actor, role, None, None, None, note)], [("case_resumed", {})]


# A file's steps, from intake's report_evidence_recorded.
EVIDENCE_STEPS = ("upload_evidence", "supersede_evidence", "disclose_evidence")


def evidence_step(case: Mapping[str, Any], data: Mapping[str, Any]) -> Change | None:
    """One step of an evidence file of the case's report, into its history
    (at the time it happened). `disclose`: whether the company's view shows
    it. None when the history has it already (a redelivered event)."""
    if any(e["action"] == data["action"] and e.get("file_id") == data["file_id"]
           for e in case["history"]):
        return None
    entry = history.entry(data["action"], datetime.fromisoformat(data["at"]), data["actor"],
                          data["role"], data.get("unit"), note=data.get("reason"),
                          disclose=bool(data["disclosed"]), file_id=data["file_id"],
                          code=data["code"], filename=data["filename"],
                          sha256=data["sha256"], size=data["size"])
    return {}, [entry], []


def waiting_satisfied(case, missing):
    """Materials the open pause waits for are no longer missing."""
    open_pause = next((p for p in case["pauses"] if p["to"] is None), None)
    if not open_pause or open_pause.get("kind") != "materials":
        return False
    return not set(open_pause.get("waiting_for") or ()) & set(missing)


def raise_level(case):
    """Supervision one level up, or None at the top."""
    level = case["supervision"]["level"]
    if level == LEVELS[-1]:
        return None
    up = LEVELS[LEVELS.index(level) + 1]
    return {"level": up, "supervisor_unit_id": supervisor_unit(up, case["unit_path"])}


def money(value):
    return f"{Decimal(value):.2f}"


def base_data(case: Mapping[str, Any]) -> dict[str, Any]:
    """The fields every case event carries (the catalogue's contract)."""
    return {"case_id": case["_id"], "case_number": case["case_number"],
            "report_id": case["report_id"], "reference": case["reference"],
            "company_id": case["company_id"], "stage": case["stage"],
            "priority": case["priority"],
            "supervision_level": case["supervision"]["level"],
            "supervisor_unit_id": case["supervision"]["supervisor_unit_id"],
            "lead_officer_id": case["team"]["lead_officer_id"],
            "lead_officer_name": case["team"].get("lead_name"),
            "unit_name": case.get("unit_names") or {},
            "deadlines": {k: iso(v) for k, v in case.get("deadlines", {}).items()},
            "next_due_at": iso(case.get("next_due_at")), "paused": case["paused"],
            "unit_id": case["unit_id"], "unit_path": case["unit_path"],
            "estimated_loss": money(case["loss"]["estimated"])}


def iso(t):
    return t.isoformat() if t else None

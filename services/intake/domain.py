"""Intake's rules on reports, pure: no I/O, no clock, no random ids.

First contact (首接首辦): the unit that first receives a report owns it until
it is accepted, merged, or transferred with the receiver's consent. There is
no reject: no command leads to such a state. Each command takes the report
and answers (fields, entries, events): the fields it sets, the history
entries it appends and the events it causes; the caller writes all three in
one conditional write (shared/aggregate.py). A clock set to None has stopped.
"""
from datetime import datetime
from decimal import Decimal
from typing import Any, Mapping, TypedDict

from services.intake import deadlines
from shared import events as catalogue
from shared import history
from shared.auth import Principal
from shared.rules import Change, Event, RuleError

INCIDENT_TYPES = catalogue.INCIDENT_TYPES   # the event contract names them
LANGUAGES = ("zh-CN", "en")
# What a person reads for each incident type (GET /incident-types).
INCIDENT_TYPE_NAMES = {
    "fraud": {"zh-CN": "诈骗", "en": "Fraud"},
    "telecom_fraud": {"zh-CN": "电信网络诈骗", "en": "Telecom and online fraud"},
    "theft": {"zh-CN": "盗窃", "en": "Theft"},
    "embezzlement": {"zh-CN": "职务侵占", "en": "Embezzlement by staff"},
    "extortion": {"zh-CN": "敲诈勒索", "en": "Extortion"},
    "contract_fraud": {"zh-CN": "合同诈骗", "en": "Contract fraud"},
    "business_disruption": {"zh-CN": "破坏生产经营", "en": "Disruption of business"},
    "cybercrime": {"zh-CN": "网络犯罪", "en": "Cybercrime"},
    "ip_infringement": {"zh-CN": "侵犯知识产权", "en": "IP infringement"},
    "other": {"zh-CN": "其他", "en": "Other"},
}
STATUSES = ("received", "acknowledged", "transfer_pending", "accepted", "merged")
PREVIOUS = "<previous>"  # a decline returns the report to where it was

# (status, action) -> new status. Anything else is refused.
TRANSITIONS = {
    ("received", "acknowledge"): "acknowledged",
    ("received", "accept"): "accepted",
    ("acknowledged", "accept"): "accepted",
    ("received", "transfer"): "transfer_pending",
    ("acknowledged", "transfer"): "transfer_pending",
    ("transfer_pending", "transfer_accept"): "acknowledged",
    ("transfer_pending", "transfer_decline"): PREVIOUS,
    ("received", "merge"): "merged",
    ("acknowledged", "merge"): "merged",
}
# Clocks that stop once a person has taken the report up, or it is done.
ACK_DONE = {"ack_next_at": None}
DAY_DONE = {"same_day_due_at": None}
DUPLICATE_WINDOW_SECONDS = 72 * 3600
MAX_VICTIMS = 10_000_000


class Report(TypedDict, total=False):
    """A report as stored (intake's `reports`); the API's view is ReportOut."""
    _id: str
    reference: str
    status: str                    # one of STATUSES
    version: int
    seq: int                       # its last event's sequence (the outbox)
    company_id: str
    language: str
    channel: str                   # online, phone, walk_in
    incident_type: str
    summary: str
    description: str
    occurred_at: datetime
    location: str
    estimated_loss: Decimal
    currency: str
    funds_in_transit: bool
    suspects: list[str]
    victim_count: int
    owner_unit_id: str
    owner_unit_path: list[str]     # the owner unit, then its ancestors
    owner_unit_names: dict[str, str]  # its display name per language
    owners: list[dict[str, Any]]   # every owner it ever had: unit_id, from, to
    received_at: datetime
    ack_due_at: datetime
    ack_step: int
    ack_next_at: datetime | None   # the clocks the sweep reads; absent once stopped
    same_day_due_at: datetime | None
    transfer_next_at: datetime | None
    acknowledged_at: datetime
    acknowledged_by: str
    accepted_at: datetime
    accepted_by: str
    materials: list[dict[str, Any]]
    case_id: str | None
    transfer: Any                  # the pending offer (from/to unit, reason, …) or None
    merged_into: str | None
    merged_reports: list[str]
    likely_duplicate_of: list[str]
    policy_version: Any
    history: list[dict[str, Any]]
    requests: list[dict[str, Any]]  # the Idempotency-Keys it has taken


def next_status(report: Report, action: str) -> str:
    status = report["status"]
    try:
        new = TRANSITIONS[(status, action)]
    except KeyError:
        raise RuleError(f"a report that is {status} cannot take '{action}'")
    return report["transfer"]["previous_status"] if new == PREVIOUS else new


def reference(day: datetime, number: int) -> str:
    """A readable, unique reference: FT-20261128-000042."""
    return f"FT-{day:%Y%m%d}-{number:06d}"


def materials_for(policy: dict, incident_type: str, language: str) -> list[dict[str, Any]]:
    """The complete one-time checklist (一次性告知) for an incident type."""
    items = policy["common_materials"] + policy["materials"].get(incident_type, [])
    return [{"code": m["code"], "label": m.get(language) or m["zh-CN"], "supplied": False,
             "extra": False} for m in items]


def incident_types(policy: dict, language: str) -> list[dict[str, Any]]:
    """Every incident type with its name and its one-time checklist, in
    `language`: what a company learns before it files (一次性告知)."""
    return [{"code": code, "name": INCIDENT_TYPE_NAMES[code][language],
             "materials": [{"code": m["code"], "label": m["label"]}
                           for m in materials_for(policy, code, language)]}
            for code in INCIDENT_TYPES]


def occurred_too_long_ago(occurred_at: datetime, policy: dict, now: datetime) -> bool:
    """Older than the policy's floor (oldest_incident_years)."""
    years = policy["oldest_incident_years"]
    return occurred_at < now.replace(year=now.year - years, day=min(now.day, 28))


def likely_duplicates(body: dict, candidates: list[dict]) -> list[str]:
    """Earlier open reports of the same company, type and amount, close in time."""
    return [c["_id"] for c in candidates
            if c["incident_type"] == body["incident_type"]
            and Decimal(c["estimated_loss"]) == body["estimated_loss"]
            and abs((c["occurred_at"] - body["occurred_at"]).total_seconds())
            <= DUPLICATE_WINDOW_SECONDS and c["status"] != "merged"]


def new_report(body: dict, filer: Principal, company: dict, owner_path: list[str], policy: dict,
               now: datetime, report_id: str, ref: str, duplicates: list[str] | tuple = (),
               owner_names: dict[str, str] | None = None) -> tuple[Report, list[Event]]:
    """The stored report and the events its receipt causes."""
    doc: Report = {
        "_id": report_id, "reference": ref, "status": "received", "version": 1,
        "company_id": company["_id"], "language": company["language"],
        "channel": body.get("channel", "online"),
        "incident_type": body["incident_type"], "summary": body["summary"],
        "description": body["description"], "occurred_at": body["occurred_at"],
        "location": body["location"], "estimated_loss": body["estimated_loss"],
        "currency": body["currency"], "funds_in_transit": body["funds_in_transit"],
        "suspects": body["suspects"], "victim_count": body.get("victim_count", 1),
        "owner_unit_id": owner_path[0],
        "owner_unit_path": owner_path,
        "owner_unit_names": owner_names or {},
        "owners": [{"unit_id": owner_path[0], "from": now, "to": None}],
        "received_at": now, "ack_due_at": deadlines.ack_due(policy, now),
        "ack_step": 0, "ack_next_at": deadlines.ack_due(policy, now),
        "same_day_due_at": deadlines.same_day_due(policy, now),
        "materials": materials_for(policy, body["incident_type"], company["language"]),
        "case_id": None, "transfer": None, "merged_into": None, "merged_reports": [],
        "likely_duplicate_of": list(duplicates), "policy_version": policy["version"],
        "history": [history.by(filer, "receive", now, None, "received")],
    }
    events = [("report_received", event_data(doc, channel=doc["channel"],
                                             likely_duplicate_of=doc["likely_duplicate_of"]))]
    if body["funds_in_transit"]:
        events.append(("stop_payment_requested", event_data(doc)))
    return doc, events


def event_data(report: Mapping[str, Any], **extra: Any) -> dict[str, Any]:
    """The base fields every report event carries (shared/events.py)."""
    data = {
        "report_id": report["_id"], "reference": report["reference"],
        "company_id": report["company_id"], "status": report["status"],
        "incident_type": report["incident_type"], "summary": report["summary"],
        "owner_unit_id": report["owner_unit_id"],
        "owner_unit_path": report["owner_unit_path"],
        # What a company reads: the unit's name in each language, never its id.
        "owner_unit_name": report.get("owner_unit_names") or {},
        "estimated_loss": f"{report['estimated_loss']:.2f}",
        "funds_in_transit": report["funds_in_transit"],
        "victim_count": report.get("victim_count", 1),
        "received_at": report["received_at"].isoformat(),
        "ack_due_at": report["ack_due_at"].isoformat(),
        "materials": [{"code": m["code"], "label": m["label"]} for m in report["materials"]],
        "missing": missing(report),
    }
    data.update(extra)
    return data


def missing(report: Mapping[str, Any]) -> list[str]:
    return [m["code"] for m in report["materials"] if not m["supplied"]]


def _change(report, action, who, now, event_type, sets=None, extra=None, note=None,
            also=(), **detail):
    status = next_status(report, action)
    fields = {"status": status, **(sets or {})}
    for more in also:
        fields.update(more)
    entry = history.by(who, action, now, report["status"], status, note, **detail)
    after = dict(report, **fields)
    return fields, [entry], [(event_type, event_data(after, **(extra or {})))]


def acknowledge(report: Report, who: Principal, now: datetime) -> Change:
    return _change(report, "acknowledge", who, now, "report_acknowledged",
                   {"acknowledged_at": now, "acknowledged_by": who.subject},
                   {"acknowledged_by": who.subject, "acknowledged_at": now.isoformat()},
                   also=[ACK_DONE])


def accept(report: Report, who: Principal, now: datetime, name: str | None = None) -> Change:
    """Accepting opens the case (受案必查); the case id is known at once. The
    officer who accepts leads the case; `name` is the name a company reads."""
    case_id = catalogue.case_id_for(report["_id"])
    sets: dict[str, Any] = {"accepted_at": now, "accepted_by": who.subject, "case_id": case_id}
    if report["status"] == "received":  # accepting is also acknowledging
        sets.update(acknowledged_at=now, acknowledged_by=who.subject)
    return _change(report, "accept", who, now, "report_accepted", sets, {
        "case_id": case_id, "accepted_by": who.subject, "accepted_by_name": name,
        "accepted_at": now.isoformat(),
        "occurred_at": report["occurred_at"].isoformat(),
        "merged_count": len(report.get("merged_reports", []))}, also=[ACK_DONE, DAY_DONE])


def transfer(report: Report, who: Principal, now: datetime, to_path: list[str], reason: str,
             policy: dict, to_names: dict[str, str] | None = None) -> Change:
    """Offer the report to another unit; the owner stays accountable until it accepts."""
    if to_path[0] == report["owner_unit_id"]:
        raise RuleError("a report cannot be transferred to the unit that owns it")
    respond_by = deadlines.transfer_respond_by(policy, now)
    offer = {"from_unit_id": report["owner_unit_id"], "to_unit_id": to_path[0],
             "to_unit_path": to_path, "to_unit_names": to_names or {},
             "reason": reason, "offered_by": who.subject,
             "offered_at": now, "respond_by": respond_by,
             "previous_status": report["status"]}
    return _change(report, "transfer", who, now, "report_transfer_offered",
                   {"transfer": offer, "transfer_next_at": respond_by},
                   {"from_unit_id": offer["from_unit_id"], "to_unit_id": to_path[0],
                    "reason": reason, "respond_by": respond_by.isoformat()},
                   note=reason, to_unit_id=to_path[0])


def accept_transfer(report: Report, who: Principal, now: datetime) -> Change:
    """The receiving unit consents: from now on it owns the report."""
    offer = report["transfer"]
    owners = [dict(o, to=now) if o["to"] is None else o for o in report["owners"]]
    owners.append({"unit_id": offer["to_unit_id"], "from": now, "to": None})
    sets = {"owner_unit_id": offer["to_unit_id"], "owner_unit_path": offer["to_unit_path"],
            "owner_unit_names": offer.get("to_unit_names") or {}, "owners": owners,
            "transfer": None, "acknowledged_at": now,
            "acknowledged_by": who.subject}
    return _change(report, "transfer_accept", who, now, "report_transferred", sets,
                   {"from_unit_id": offer["from_unit_id"], "to_unit_id": offer["to_unit_id"],
                    "to_unit_name": offer.get("to_unit_names") or {},
                    "accepted_by": who.subject},
                   also=[ACK_DONE, DAY_DONE, {"transfer_next_at": None}],
                   from_unit_id=offer["from_unit_id"])


def decline_transfer(report: Report, who: Principal, now: datetime, reason: str) -> Change:
    """The receiving unit declines, with a reason: the report goes back, unchanged."""
    offer = report["transfer"]
    return _change(report, "transfer_decline", who, now, "report_transfer_declined",
                   {"transfer": None},
                   {"from_unit_id": offer["from_unit_id"], "to_unit_id": offer["to_unit_id"],
                    "reason": reason, "declined_by": who.subject},
                   note=reason, also=[{"transfer_next_at": None}])


def merge(report: Report, who: Principal, now: datetime, target: Report, reason: str) -> Change:
    """A report of an incident already reported by the same company ends merged."""
    if target["_id"] == report["_id"] or target["company_id"] != report["company_id"]:
        raise RuleError("a report merges only into another report of the same company")
    if target["status"] == "merged":
        raise RuleError("the target report is itself merged; merge into the one it joined")
    return _change(report, "merge", who, now, "report_merged",
                   {"merged_into": target["_id"]},
                   {"into_report_id": target["_id"], "into_reference": target["reference"],
                    "reason": reason}, note=reason, also=[ACK_DONE, DAY_DONE],
                   into_report_id=target["_id"])

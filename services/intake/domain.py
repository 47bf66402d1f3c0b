"""Intake's pure rules: no I/O, no clock, no ids — all passed in.

First contact (首接首辦): a report is owned by the unit that first receives it
and there is no reject: the state machine below has no such state.
"""
import uuid
from datetime import timedelta

INCIDENT_TYPES = ("fraud", "telecom_fraud", "theft", "embezzlement", "extortion",
                  "contract_fraud", "business_disruption", "cybercrime",
                  "ip_infringement", "other")
UNIT_KINDS = ("station", "detachment", "bureau")
LANGUAGES = ("zh-CN", "en")
CHANNELS = ("online", "phone", "walk_in")

# (status, action) -> new status. Anything else is refused.
TRANSITIONS = {
    ("received", "acknowledge"): "acknowledged",
    ("received", "accept"): "accepted",
    ("acknowledged", "accept"): "accepted",
}


class RuleError(Exception):
    """A command the rules refuse in the report's current state."""


def next_status(status, action):
    try:
        return TRANSITIONS[(status, action)]
    except KeyError:
        raise RuleError(f"a report that is {status} cannot be {action}d")


# GB 32100-2015: the unified social credit code, 18 characters, last a check.
CREDIT_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def credit_code_check_char(first17):
    total = sum(CREDIT_ALPHABET.index(c) * w for c, w in zip(first17, CREDIT_WEIGHTS))
    return CREDIT_ALPHABET[(31 - total % 31) % 31]


def credit_code_valid(code):
    if len(code) != 18 or any(c not in CREDIT_ALPHABET for c in code):
        return False
    return credit_code_check_char(code[:17]) == code[17]


def unit_path(unit_id, parents):
    """The unit and its ancestors, nearest first; `parents` maps id -> parent id."""
    path = [unit_id]
    while parents.get(path[-1]):
        path.append(parents[path[-1]])
        if len(path) > 32:
            raise RuleError("the unit tree has a cycle")
    return path


def first_contact_owner(filer, company):
    """The owning unit: the officer's own unit for a report an officer
    registers (walk-in, phone), else the company's jurisdiction unit."""
    if filer.role in ("officer", "supervisor"):
        return filer.unit
    return company["jurisdiction_unit_id"]


def materials_for(policy, incident_type, language):
    """The complete one-time checklist (一次性告知) for an incident type."""
    items = policy["common_materials"] + policy["materials"].get(incident_type, [])
    return [{"code": m["code"], "label": m.get(language) or m["zh-CN"]} for m in items]


def ack_due(policy, received_at):
    return received_at + timedelta(seconds=policy["ack_seconds"])


def reference(day, number):
    """A readable, unique reference: FT-20261128-000042."""
    return f"FT-{day:%Y%m%d}-{number:06d}"


def history_entry(action, who, at, before=None, after=None, note=None):
    entry = {"action": action, "actor": who.subject, "role": who.role,
             "unit": who.unit, "at": at, "before": before, "after": after}
    if note:
        entry["note"] = note
    return entry


def case_id_for(report_id):
    """The case opened from a report has an id derived from it, so opening
    is idempotent by key and the report knows its case id at acceptance."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"fasttrack:case:{report_id}"))


def new_report(body, filer, company, owner_path, policy, now, report_id, ref):
    """The stored report and the events its receipt causes."""
    materials = [dict(m, supplied=False) for m in
                 materials_for(policy, body["incident_type"], company["language"])]
    channel = body.get("channel", "online") if filer.role != "company" else "online"
    doc = {
        "_id": report_id, "reference": ref, "status": "received", "version": 1,
        "company_id": company["_id"], "channel": channel,
        "incident_type": body["incident_type"], "summary": body["summary"],
        "description": body["description"], "occurred_at": body["occurred_at"],
        "location": body["location"], "estimated_loss": body["estimated_loss"],
        "currency": body["currency"], "funds_in_transit": body["funds_in_transit"],
        "suspects": body["suspects"], "owner_unit_id": owner_path[0],
        "owner_unit_path": owner_path,
        "owners": [{"unit_id": owner_path[0], "from": now, "to": None}],
        "received_at": now, "ack_due_at": ack_due(policy, now),
        "materials": materials, "case_id": None, "policy_version": policy["version"],
        "history": [history_entry("receive", filer, now, None, "received")],
    }
    events = [("report_received", report_event_data(doc))]
    if body["funds_in_transit"]:
        events.append(("stop_payment_requested", report_event_data(doc)))
    return doc, events


def company_event_data(company):
    """What notify needs to address a company: its language and contacts."""
    return {"company_id": company["_id"], "name": company["name"],
            "language": company["language"], "contact": company["contact"]}


def report_event_data(report, **extra):
    data = {
        "report_id": report["_id"], "reference": report["reference"],
        "company_id": report["company_id"], "status": report["status"],
        "incident_type": report["incident_type"], "summary": report["summary"],
        "owner_unit_id": report["owner_unit_id"],
        "owner_unit_path": report["owner_unit_path"],
        "estimated_loss": f"{report['estimated_loss']:.2f}",
        "funds_in_transit": report["funds_in_transit"],
        "ack_due_at": report["ack_due_at"].isoformat(),
        "materials": [{"code": m["code"], "label": m["label"]} for m in report["materials"]],
    }
    data.update(extra)
    return data


def acknowledge(report, who, now):
    """The update and events of an officer acknowledging a report."""
    status = next_status(report["status"], "acknowledge")
    update = {"$set": {"status": status, "acknowledged_at": now,
                       "acknowledged_by": who.subject},
              "$push": {"history": history_entry("acknowledge", who, now,
                                                 report["status"], status)}}
    report = dict(report, status=status)
    return update, [("report_acknowledged", report_event_data(
        report, acknowledged_by=who.subject, acknowledged_at=now.isoformat()))]


def accept(report, who, now):
    """Accepting opens the case (受案必查); the case id is known at once."""
    status = next_status(report["status"], "accept")
    case_id = case_id_for(report["_id"])
    update = {"$set": {"status": status, "accepted_at": now, "accepted_by": who.subject,
                       "case_id": case_id},
              "$push": {"history": history_entry("accept", who, now,
                                                 report["status"], status)}}
    if report["status"] == "received":  # accepting also acknowledges
        update["$set"].update(acknowledged_at=now, acknowledged_by=who.subject)
    report = dict(report, status=status)
    return update, [("report_accepted", report_event_data(
        report, case_id=case_id, accepted_by=who.subject, accepted_at=now.isoformat(),
        occurred_at=report["occurred_at"].isoformat()))]

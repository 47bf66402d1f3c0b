"""Case supervision's pure rules: no I/O, no clock, no ids — all passed in."""
from datetime import timedelta
from decimal import Decimal

LEVELS = ("unit", "district", "city")
STAGES = ("opened", "investigating", "suspects_identified", "arrests_made",
          "recovering_losses", "concluded", "closed")


def matches(when, facts):
    if "min_loss" in when and facts["loss"] < Decimal(when["min_loss"]):
        return False
    if "funds_in_transit" in when and facts["funds_in_transit"] != when["funds_in_transit"]:
        return False
    if "incident_type" in when and facts["incident_type"] not in when["incident_type"]:
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


def deadlines(policy, priority, start):
    return {stage: start + timedelta(seconds=secs)
            for stage, secs in policy["deadlines"][priority].items()}


def case_number(year, number):
    """Readable, sequential per year: FT-C-2026-000042."""
    return f"FT-C-{year}-{number:06d}"


def open_case(accepted, policy, number, now):
    """The case a `report_accepted` event opens, and its `case_opened` event."""
    loss = Decimal(accepted["estimated_loss"])
    priority, level = classify(policy, {
        "loss": loss, "funds_in_transit": accepted["funds_in_transit"],
        "incident_type": accepted["incident_type"]})
    path = accepted["owner_unit_path"]
    lead = accepted["accepted_by"]
    case = {
        "_id": accepted["case_id"], "case_number": number,
        "report_id": accepted["report_id"], "reference": accepted["reference"],
        "company_id": accepted["company_id"], "incident_type": accepted["incident_type"],
        "summary": accepted["summary"], "stage": "opened", "priority": priority,
        "unit_id": path[0], "unit_path": path,
        "supervision": {"level": level, "supervisor_unit_id": supervisor_unit(level, path)},
        "team": {"lead_officer_id": lead, "members": [lead]},
        "deadlines": deadlines(policy, priority, now), "escalation_level": 0,
        "loss": {"estimated": loss, "recovered": Decimal("0.00"), "frozen": Decimal("0.00")},
        "result": None, "opened_at": now, "version": 1, "policy_version": policy["version"],
        "history": [{"action": "open", "actor": lead, "role": "officer", "at": now,
                     "before": None, "after": "opened", "note": None}],
    }
    data = {"case_id": case["_id"], "case_number": number, "report_id": case["report_id"],
            "reference": case["reference"], "company_id": case["company_id"],
            "priority": priority, "supervision_level": level,
            "lead_officer_id": lead, "stage": "opened",
            "deadlines": {k: v.isoformat() for k, v in case["deadlines"].items()}}
    return case, [("case_opened", data)]

"""問題臺賬 and the units' figures (冷、硬、橫、推, 曝光臺), from the events.

Pure. Each event intake or this service emits about a unit becomes one
fact, keyed by its source, subject and sequence — so a redelivered event is
the same fact — and attributed to the unit that held responsibility when it
happened. Problems (missed deadlines, escalations, intake's acknowledgement,
same-day and transfer misses) also become ledger items that only a
supervisor closes off (銷號). A unit's scorecard is a fold over its facts.
"""
import math
from datetime import datetime
from decimal import Decimal
from typing import Any

from services.case_supervision.domain import RESULTS, RuleError

# event type -> (fact kind, the data field naming the responsible unit)
FACTS = {
    "report_received": ("received", "owner_unit_id"),
    "report_acknowledged": ("acknowledged", "owner_unit_id"),
    "report_accepted": ("accepted", "owner_unit_id"),
    "report_transferred": ("transferred_out", "from_unit_id"),
    "report_extra_materials_requested": ("extra_materials", "responsible_unit_id"),
    "report_ack_overdue": ("ack_overdue", "responsible_unit_id"),
    "report_same_day_missed": ("same_day_missed", "responsible_unit_id"),
    "report_transfer_overdue": ("transfer_overdue", "responsible_unit_id"),
    "case_opened": ("case_opened", "unit_id"),
    "loss_recovered": ("loss_recovered", "unit_id"),
    "case_deadline_missed": ("deadline_missed", "responsible_unit_id"),
    "case_escalated": ("escalation", "responsible_unit_id"),
    "case_concluded": ("concluded", "unit_id"),
    "case_rated": ("rated", "unit_id"),
    # Kept for the trail (責任倒查); no figure counts them.
    "case_progressed": ("progressed", "unit_id"),
    "case_deadline_warning": ("deadline_warning", "unit_id"),
    "case_deadline_set": ("deadline_set", "unit_id"),
    "case_paused": ("paused", "unit_id"),
    "case_resumed": ("resumed", "unit_id"),
    "case_closed": ("closed", "unit_id"),
    "case_reopened": ("reopened", "unit_id"),
}
# Events whose facts the case carries, written with it in the one insert
# that opens it (service.open_case): the accepted report's and the opened
# case's. Their consumers write no fact of their own.
WITH_THE_CASE = ("report_accepted", "case_opened")
# Facts that are problems: each one is a ledger item.
LEDGER_KINDS = ("deadline_missed", "escalation", "ack_overdue", "same_day_missed",
                "transfer_overdue")
# When the event itself says when it happened, that time counts.
WHEN = {"received": "received_at", "acknowledged": "acknowledged_at",
        "accepted": "accepted_at"}


def fact_key(event):
    return f"{event['source']}:{event['subject']}:{event['sequence']}"


def received_fact_key(report_id):
    """The key of a report's `received` fact: report_received is always
    the report's first event (intake's domain.new_report)."""
    return fact_key({"source": "intake", "subject": report_id, "sequence": 1})


def fact_for(event, unit_path):
    """The fact an event records, or None; `unit_path(unit, data)` resolves paths."""
    kind, unit_field = FACTS.get(event["type"], (None, None))
    data = event["data"]
    unit = data.get(unit_field) or data.get("unit_id") or data.get("owner_unit_id")
    if kind is None or not unit:
        return None
    at = data.get(WHEN.get(kind, "")) or event["occurred_at"]
    fact = {"_id": fact_key(event), "kind": kind, "type": event["type"], "unit_id": unit,
            "unit_path": unit_path(unit, data), "at": as_time(at),
            "report_id": data.get("report_id"), "case_id": data.get("case_id"),
            "reference": data.get("reference"), "case_number": data.get("case_number")}
    if kind == "case_opened":
        fact["estimated"] = Decimal(data["estimated_loss"])
    elif kind == "loss_recovered":
        fact["recovered"] = Decimal(data["recovered_amount"])
        fact["frozen"] = Decimal(data["frozen_amount"])
    elif kind == "concluded":
        fact["result"] = data["result"]
    elif kind == "rated":
        fact["rating"] = data["rating"]
    return fact


def case_facts(accepted, opened, unit_path):
    """The facts a new case carries: the accepted report's (its event) and
    the opened case's (the first event of its outbox)."""
    return [f for f in (fact_for(accepted, unit_path), fact_for(opened, unit_path)) if f]


def ledger_item(fact, data):
    """The ledger item a problem fact opens, or None."""
    if fact["kind"] not in LEDGER_KINDS:
        return None
    detail = {k: data[k] for k in ("deadline", "due_at", "step", "day", "rung", "escalated_to",
                                   "escalation_level", "reason", "to_unit_id",
                                   "escalated_to_unit_id") if k in data}
    return {"_id": fact["_id"], "kind": fact["kind"], "unit_id": fact["unit_id"],
            "unit_path": fact["unit_path"], "case_id": fact["case_id"],
            "case_number": fact["case_number"], "report_id": fact["report_id"],
            "reference": fact["reference"], "detail": detail, "created_at": fact["at"],
            "status": "open", "resolution": None}


def resolve(item, who, note, now):
    """銷號: a supervisor closes off an item, once, with a note."""
    if item["status"] != "open":
        raise RuleError("this ledger item is closed off already")
    return {"status": "resolved",
            "resolution": {"by": who.subject, "unit_id": who.unit, "at": now, "note": note}}


def percentile(values, share):
    """Nearest-rank percentile of a sorted list (p50 is the lower median)."""
    if not values:
        return None
    rank = max(1, math.ceil(len(values) * share - 1e-9))
    return values[rank - 1]


def scorecard(unit_id, facts, received_at, start, end):
    """A unit's figures over [start, end) from its facts in that range;
    `received_at` maps each acknowledged report to its receipt time."""
    count = {k: 0 for k in ("transferred_out", "deadline_missed", "ack_overdue", "escalation",
                            "same_day_missed", "extra_materials", "transfer_overdue")}
    concluded = {r: 0 for r in RESULTS}
    loss = {"estimated": Decimal("0.00"), "recovered": Decimal("0.00"),
            "frozen": Decimal("0.00")}
    ratings: list[int] = []
    acks: dict[str, Any] = {}
    for f in facts:
        kind = f["kind"]
        if kind in count:
            count[kind] += 1
        elif kind in ("acknowledged", "accepted"):
            # Accepting acknowledges too: the first of the two counts.
            acks[f["report_id"]] = min(f["at"], acks.get(f["report_id"], f["at"]))
        elif kind == "case_opened":
            loss["estimated"] += f["estimated"]
        elif kind == "loss_recovered":
            loss["recovered"] += f["recovered"]
            loss["frozen"] += f["frozen"]
        elif kind == "concluded":
            concluded[f["result"]] += 1
        elif kind == "rated":
            ratings.append(f["rating"])
    waits = sorted(int((at - received_at[r]).total_seconds())
                   for r, at in acks.items() if r in received_at)
    average = (Decimal(sum(ratings)) / len(ratings)).quantize(Decimal("0.01")) if ratings \
        else None
    return {"unit_id": unit_id, "start": start, "end": end,
            "time_to_acknowledge": {"count": len(waits), "median_seconds": percentile(waits, 0.5),
                                    "p90_seconds": percentile(waits, 0.9)},
            "transfers_out": count["transferred_out"],
            "deadlines_missed": count["deadline_missed"],
            "ack_overdue": count["ack_overdue"],
            "transfer_overdue": count["transfer_overdue"],
            "escalations": count["escalation"],
            "same_day_misses": count["same_day_missed"],
            "extra_material_requests": count["extra_materials"],
            "concluded": concluded, "loss": loss,
            "satisfaction": {"average": average, "count": len(ratings)}}


def as_time(value):
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)

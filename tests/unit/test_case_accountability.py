"""Facts from events, ledger items, and the unit scorecard's figures."""
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from services.case_supervision import accountability as acc
from services.case_supervision.domain import RuleError
from shared.auth import Principal

T0 = datetime(2026, 11, 28, 2, 0, tzinfo=timezone.utc)


def event(event_type, subject, sequence, source="intake", at=T0, **data):
    return {"type": event_type, "source": source, "subject": subject, "sequence": sequence,
            "occurred_at": at.isoformat(), "data": {"report_id": subject, **data}}


def fact(ev):
    return acc.fact_for(ev, lambda unit, data: [unit, "b1"])


def test_a_redelivered_event_is_the_same_fact_and_the_responsible_unit_carries_it():
    ev = event("report_same_day_missed", "r1", 4, day="2026-11-28", owner_unit_id="st2",
               responsible_unit_id="st1")
    assert fact(ev)["_id"] == fact(dict(ev))["_id"] == "intake:r1:4"
    assert fact(ev)["unit_id"] == "st1" and fact(ev)["unit_path"] == ["st1", "b1"]
    item = acc.ledger_item(fact(ev), ev["data"])
    assert item["kind"] == "same_day_missed" and item["detail"] == {"day": "2026-11-28"}
    assert acc.ledger_item(fact(event("report_received", "r1", 1, owner_unit_id="st1")),
                           {}) is None


def test_only_an_open_item_is_closed_off():
    item = {"status": "open"}
    done = acc.resolve(item, Principal("supervisor", "s1", "b1"), "fixed", T0)
    assert done["resolution"]["by"] == "s1" and done["status"] == "resolved"
    with pytest.raises(RuleError):
        acc.resolve(done, Principal("supervisor", "s1", "b1"), "again", T0)


def test_the_scorecard_folds_a_units_facts():
    facts, received = [], {}
    for i, wait in enumerate((60, 120, 180, 240, 3600)):   # seconds to acknowledge
        received[f"r{i}"] = T0
        facts.append(fact(event("report_acknowledged", f"r{i}", 2, at=T0 + timedelta(
            seconds=wait), owner_unit_id="st1")))
    # Accepted later than acknowledged: the acknowledgement counts.
    facts.append(fact(event("report_accepted", "r0", 3, at=T0 + timedelta(hours=5),
                            owner_unit_id="st1")))
    facts += [fact(e) for e in (
        event("report_transferred", "r9", 3, from_unit_id="st1", to_unit_id="st2"),
        event("report_extra_materials_requested", "r8", 3, responsible_unit_id="st1"),
        event("case_opened", "k1", 1, "case_supervision", unit_id="st1",
              estimated_loss="1000.00"),
        event("loss_recovered", "k1", 2, "case_supervision", unit_id="st1",
              recovered_amount="0.10", frozen_amount="0.00"),
        event("loss_recovered", "k1", 3, "case_supervision", unit_id="st1",
              recovered_amount="0.20", frozen_amount="5.00"),
        event("case_deadline_missed", "k1", 4, "case_supervision", unit_id="st1",
              responsible_unit_id="st1", deadline="first_action"),
        event("case_escalated", "k1", 5, "case_supervision", unit_id="st1",
              responsible_unit_id="st1"),
        event("case_concluded", "k1", 6, "case_supervision", unit_id="st1", result="solved"),
        event("case_rated", "k1", 7, "case_supervision", unit_id="st1", rating=4),
        event("case_rated", "k2", 7, "case_supervision", unit_id="st1", rating=5))]
    card = acc.scorecard("st1", facts, received, T0, T0 + timedelta(days=1))
    assert card["time_to_acknowledge"] == {"count": 5, "median_seconds": 180,
                                           "p90_seconds": 3600}
    assert card["transfers_out"] == 1 and card["extra_material_requests"] == 1
    assert card["deadlines_missed"] == 1 and card["escalations"] == 1
    assert card["concluded"]["solved"] == 1 and card["concluded"]["no_crime"] == 0
    assert card["loss"] == {"estimated": Decimal("1000.00"), "recovered": Decimal("0.30"),
                            "frozen": Decimal("5.00")}
    assert card["satisfaction"] == {"average": Decimal("4.50"), "count": 2}


def test_an_empty_range_has_no_times_and_no_average():
    card = acc.scorecard("st1", [], {}, T0, T0 + timedelta(days=1))
    assert card["time_to_acknowledge"]["median_seconds"] is None
    assert card["satisfaction"] == {"average": None, "count": 0}

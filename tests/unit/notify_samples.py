"""Sample event data for notify's unit tests: the catalogue's data fields
of each told event (shared/events.py), and an envelope around them."""
from datetime import datetime, timezone

from services.notify import domain as notify
from shared import events as ev

NOW = datetime(2026, 11, 28, 2, 0, tzinfo=timezone.utc)
REPORT = {"report_id": "r1", "reference": "FT-1", "company_id": "c1", "status": "received",
          "incident_type": "fraud", "summary": "Invoice fraud", "owner_unit_id": "st1",
          "owner_unit_path": ["st1", "b1"], "estimated_loss": "21000.00",
          "funds_in_transit": True, "received_at": "2026-11-28T01:00:00+00:00",
          "ack_due_at": "2026-11-28T16:30:00+00:00",
          "materials": [{"code": "bank", "label": "Bank statements"}], "missing": ["bank"]}
CASE = {"case_id": "k1", "case_number": "FT-C-2026-000042", "report_id": "r1",
        "reference": "FT-1", "company_id": "c1", "stage": "investigation",
        "priority": "high", "supervision_level": "district", "supervisor_unit_id": "b1",
        "lead_officer_id": "o1", "lead_officer_name": "李警官",
        "unit_name": {"zh-CN": "北街派出所", "en": "North Street Station"},
        "deadlines": {"first_action": "2026-11-28T04:00:00+00:00"},
        "next_due_at": "2026-11-28T04:00:00+00:00", "paused": False}
# The catalogue's data fields for each told event (shared/events.py).
TOLD = {
    ev.REPORT_RECEIVED: dict(REPORT, channel="online", likely_duplicate_of=None),
    ev.STOP_PAYMENT_REQUESTED: REPORT,
    ev.REPORT_ACKNOWLEDGED: dict(REPORT, acknowledged_by="o1",
                                 acknowledged_at="2026-11-28T01:05:00+00:00"),
    ev.REPORT_TRANSFERRED: dict(REPORT, from_unit_id="st1", to_unit_id="ecd",
                                to_unit_name={"zh-CN": "经侦支队",
                                              "en": "Economic-Crime Detachment"},
                                accepted_by="o2"),
    ev.REPORT_MERGED: dict(REPORT, into_report_id="r0", into_reference="FT-0", reason="same"),
    ev.REPORT_ACCEPTED: dict(REPORT, case_id="k1", accepted_by="o1",
                             accepted_at="2026-11-28T01:10:00+00:00",
                             occurred_at="2026-11-27T10:00:00+00:00", merged_count=0),
    ev.REPORT_EXTRA_MATERIALS_REQUESTED: dict(REPORT, items=["Contract copy"],
                                              requested_by="o1", responsible_unit_id="st1"),
    ev.CASE_OPENED: CASE,
    ev.CASE_PROGRESSED: dict(CASE, previous_stage="opened", disclose=True,
                             note="Suspect identified"),
    ev.LOSS_RECOVERED: dict(CASE, recovered_amount="21000.00", frozen_amount="500.5",
                            total_recovered="21000.00", total_frozen="500.50",
                            estimated="150000.00"),
    ev.CASE_ESCALATED: dict(CASE, escalation_level=1, rung=1, escalated_to="city",
                            reason="team missed first action", supervision_raised=True,
                            supervision_level="city"),
    ev.CASE_CONCLUDED: dict(CASE, result="solved", summary="Money returned."),
    ev.CASE_CLOSED: CASE,
    ev.CASE_REOPENED: dict(CASE, reason="New evidence"),
}


def event(event_type, seq=1, **data):
    base = TOLD.get(event_type, CASE)
    source = "case_supervision" if event_type in notify.CASE_EVENTS else "intake"
    return {"event_id": f"e{seq}", "type": event_type, "source": source, "subject": "s1",
            "sequence": seq, "occurred_at": NOW.isoformat(), "data": {**base, **data}}

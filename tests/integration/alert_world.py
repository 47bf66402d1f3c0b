"""Alerts' world for the tests on the real broker and database: intake with
a small organisation (city > b1 > st1; officers o1 and o2 and supervisor
s-st1 at st1, supervisor s-b1 at b1), notify instances with an alert policy
of short clocks, the people's tokens, and events published as their
producers send them (shared/events.py names their fields)."""
import json
import os
import uuid
from datetime import datetime, timezone

import yaml

from services.intake.service import IntakeService
from services.notify.service import NotifyService
from shared.auth import issue_token
from shared.policy import ROOT
from support.client import Client
from tests.conftest import ADMIN_TOKEN, SIGNING_KEY
from tests.integration.notify_world import FAST

PATH = ["st1", "b1", "city"]
PEOPLE = {"o1": ("officer", "st1"), "o2": ("officer", "st1"),
          "s-st1": ("supervisor", "st1"), "s-b1": ("supervisor", "b1")}


def alert_policy(path, **changes):
    """The shipped alert table with its clocks changed, written to `path`."""
    with open(os.path.join(ROOT, "policy", "alerts.yml"), encoding="utf-8") as f:
        policy = yaml.safe_load(f)
    policy.update(changes)
    with open(path, "w", encoding="utf-8") as f:
        yaml.safe_dump(policy, f, allow_unicode=True)
    return str(path)


class AlertWorld:
    def __init__(self, running, tmp_path, ack_within=3600, hold=3600):
        self.running = running
        self.policy = alert_policy(tmp_path / f"alerts-{uuid.uuid4().hex[:6]}.yml",
                                   ack_within_seconds=ack_within)
        # notify's policy: how long a missing sequence holds a subject's later events
        self.notify_policy = tmp_path / f"notify-{uuid.uuid4().hex[:6]}.yml"
        self.notify_policy.write_text(json.dumps({
            "version": 1, "follow_up_after_seconds": 3600, "order_max_hold_seconds": hold,
            "secret_overlap_seconds": 3600}))
        self.notify_urls = []
        self.seq = {}
        self.tokens = {p: self.token(role, p, unit) for p, (role, unit) in PEOPLE.items()}

    def with_intake(self):
        self.intake = self.running.start(IntakeService)
        admin = Client(self.running.urls["intake"], ADMIN_TOKEN)
        for unit, parent in (("city", None), ("b1", "city"), ("st1", "b1")):
            r = admin.post("/admin/units", {"unit_id": unit, "name": unit,
                                            "parent_unit_id": parent,
                                            "kind": "station" if unit == "st1" else "bureau"})
            assert r.status_code == 201, r.text
        for person, (role, unit) in PEOPLE.items():
            r = admin.post("/admin/officers", {"officer_id": person, "name": person,
                                               "unit_id": unit, "role": role})
            assert r.status_code == 201, r.text
        return self

    def start_notify(self, **settings):
        self.running.start(NotifyService, **dict(FAST, ALERTS_POLICY=self.policy,
                                                 NOTIFY_POLICY=str(self.notify_policy),
                                                 **settings))
        self.notify_urls.append(self.running.urls["notify"])
        return self

    @staticmethod
    def token(role, subject, unit=None):
        if unit is None:
            return issue_token(SIGNING_KEY, role, subject)
        return issue_token(SIGNING_KEY, role, subject, unit, PATH[PATH.index(unit):])

    def as_(self, person, instance=0):
        return Client(self.notify_urls[instance], self.tokens.get(person, person))

    def alerts(self, person, **query):
        r = self.as_(person).get("/alerts", **query)
        assert r.status_code == 200, r.text
        return r.json()

    def of(self, person, event_type=None, kind=None):
        """The person's alerts (oldest first) of an event type or kind."""
        items = self.alerts(person, limit=200)["items"][::-1]
        return [a for a in items if (event_type is None or a["event_type"] == event_type)
                and (kind is None or a["kind"] == kind)]

    def publish(self, source, event_type, subject, **data):
        self.seq[subject] = self.seq.get(subject, 0) + 1
        event = {"event_id": str(uuid.uuid4()), "specversion": "1.0", "type": event_type,
                 "source": source, "subject": subject, "sequence": self.seq[subject],
                 "occurred_at": datetime.now(timezone.utc).isoformat(), "data": data}
        self.running.publish(source, event, event_type)
        return event

    def report_received(self, unit="st1", **data):
        report_id = str(uuid.uuid4())
        return self.publish("intake", "report_received", report_id, **dict(
            {"report_id": report_id, "reference": f"FT-{report_id[:6]}", "company_id": "c1",
             "status": "received", "incident_type": "theft", "summary": "Stolen stock",
             "owner_unit_id": unit, "owner_unit_path": PATH[PATH.index(unit):],
             "estimated_loss": "800.00", "funds_in_transit": False, "materials": [],
             "missing": []}, **data))

    def case_escalated(self, case_id, rung, escalated_to, level):
        return self.publish("case_supervision", "case_escalated", case_id, **{
            "case_id": case_id, "case_number": f"FT-C-{case_id[:6]}", "report_id": case_id,
            "reference": "FT-1", "company_id": "c1", "stage": "opened", "priority": "urgent",
            "supervision_level": "district", "supervisor_unit_id": "b1",
            "lead_officer_id": "o1", "unit_id": "st1", "unit_path": PATH,
            "escalation_level": level, "rung": rung, "escalated_to": escalated_to,
            "reason": "first_action deadline missed", "supervision_raised": False,
            "responsible_unit_id": "st1"})

    def case_event(self, event_type, case_id, sequence, **data):
        """One event of a case with the sequence given, so a test can send a
        case's events out of order; the case's usual fields, led by o1 at st1."""
        event = {"event_id": str(uuid.uuid4()), "specversion": "1.0", "type": event_type,
                 "source": "case_supervision", "subject": case_id, "sequence": sequence,
                 "occurred_at": datetime.now(timezone.utc).isoformat(),
                 "data": dict({"case_id": case_id, "case_number": f"FT-C-{case_id[:6]}",
                               "report_id": case_id, "reference": "FT-1", "company_id": "c1",
                               "stage": "opened", "priority": "urgent", "lead_officer_id": "o1",
                               "unit_id": "st1", "unit_path": PATH,
                               "responsible_unit_id": "st1"}, **data)}
        self.running.publish("case_supervision", event, event_type)
        return event

    def timeline(self, people):
        """Who was told what and when (Beijing time), oldest first: a table's rows."""
        rows = sorted((x["created_at"], p, x["kind"], x["title"], x.get("rung") or "",
                       x["acked_at"] or "", ",".join(x.get("climbed_to") or []))
                      for p in people for x in self.of(p))
        return "\n".join("| " + " | ".join(row) + " |" for row in rows)

"""A case_supervision instance and the people who use it, for the tests that
work cases on the real broker and database: policies with clocks of
seconds, tokens of a fixed organisation (st1 < b1 < city), intake's events
published as intake sends them (shared/events.py names their fields)."""
import os
import uuid
from datetime import datetime, timezone

import yaml

from services.case_supervision.service import CaseSupervisionService
from services.intake.service import IntakeService
from shared.auth import issue_token
from shared.events import case_id_for
from shared.policy import ROOT
from support.client import Client
from tests.conftest import ADMIN_TOKEN, SIGNING_KEY
from tests.helpers import eventually

PATH = ["st1", "b1", "city"]
PRIORITIES = ("urgent", "high", "normal")


def fast(first_action=3600, first_progress=3600, conclusion=3600, interval=3600,
         repeat=3600, version=1, warn_at=0.8):
    """The shipped case policy with clocks of seconds."""
    with open(os.path.join(ROOT, "policy", "cases.yml"), encoding="utf-8") as f:
        policy = yaml.safe_load(f)
    policy["version"] = version
    policy["deadlines"] = {p: {"first_action": first_action, "first_progress": first_progress,
                               "conclusion": conclusion} for p in PRIORITIES}
    policy["progress_interval"] = {p: interval for p in PRIORITIES}
    policy["escalation"]["repeat_seconds"] = repeat
    policy["escalation"]["warn_at"] = warn_at
    policy["calendars"]["office_hours"]["holidays_file"] = os.path.join(
        ROOT, "policy", "holidays.yml")
    return policy


def write_policy(path, policy):
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        yaml.safe_dump(policy, f, allow_unicode=True)
    os.replace(tmp, path)   # atomic: the service never reads half a file


class World:
    """A case_supervision instance (or two) and the people who use it."""

    def __init__(self, running, policy_file):
        self.running = running
        self.policy_file = policy_file
        self.urls = []
        self.seq = {}
        self.officer = self.token("officer", "o1", "st1")
        self.colleague = self.token("officer", "o2", "st1")
        self.stranger = self.token("officer", "o9", "st9", ["st9", "b9", "city"])
        self.station_head = self.token("supervisor", "s-st1", "st1")
        self.bureau_head = self.token("supervisor", "s-b1", "b1")
        self.company = self.token("company", "c1")
        self.other_company = self.token("company", "c2")

    def with_intake(self, *officer_ids):
        """Intake running, knowing these officers of st1: team changes ask it (RPC)."""
        self.running.start(IntakeService)
        admin = Client(self.running.urls["intake"], ADMIN_TOKEN)
        for unit, parent in (("city", None), ("b1", "city"), ("st1", "b1")):
            admin.post("/admin/units", {"unit_id": unit, "name": unit, "parent_unit_id": parent,
                                        "kind": "station" if unit == "st1" else "bureau"})
        for officer_id in officer_ids:
            r = admin.post("/admin/officers", {"officer_id": officer_id, "name": officer_id,
                                               "unit_id": "st1", "role": "officer"})
            assert r.status_code == 201, r.text
        return self

    def start(self):
        self.running.start(CaseSupervisionService, CASES_POLICY=self.policy_file)
        self.urls.append(self.running.urls["case_supervision"])
        return self

    def token(self, role, subject, unit=None, units=None):
        if unit is None:
            return issue_token(SIGNING_KEY, role, subject)
        return issue_token(SIGNING_KEY, role, subject, unit, units or PATH[PATH.index(unit):])

    def as_(self, token, instance=0):
        return Client(self.urls[instance], token)

    def intake_event(self, event_type, report_id, **data):
        self.seq[report_id] = self.seq.get(report_id, 0) + 1
        payload = {"report_id": report_id, "reference": f"FT-{report_id[:6]}",
                   "company_id": "c1", "status": "received", "incident_type": "theft",
                   "summary": "Stolen stock", "owner_unit_id": PATH[0],
                   "owner_unit_path": PATH, "estimated_loss": "800.00",
                   "funds_in_transit": False, "materials": [], "missing": []}
        payload.update(data)
        event = {"event_id": str(uuid.uuid4()), "specversion": "1.0", "type": event_type,
                 "source": "intake", "subject": report_id, "sequence": self.seq[report_id],
                 "occurred_at": datetime.now(timezone.utc).isoformat(), "data": payload}
        self.running.publish("intake", event, event_type)
        return event

    def open_case(self, **data):
        report_id = str(uuid.uuid4())
        self.intake_event("report_accepted", report_id, status="accepted",
                          case_id=case_id_for(report_id),
                          accepted_by="o1", accepted_by_name="李警官",
                          owner_unit_name={"zh-CN": "北街派出所", "en": "North Street Station"},
                          accepted_at=datetime.now(timezone.utc).isoformat(),
                          **data)
        return eventually(lambda: self.case_of(report_id), what="the case opened")

    def case_of(self, report_id):
        items = self.as_(self.officer).get("/cases", report_id=report_id).json()["items"]
        return items[0] if items else None

    def case(self, case_id, token=None):
        r = self.as_(token or self.officer).get(f"/cases/{case_id}")
        assert r.status_code == 200, r.text
        return r.json()

    def post(self, token, case_id, action, body=None):
        return self.as_(token).post(f"/cases/{case_id}/{action}", body)

    def ledger(self, token=None, **query):
        r = self.as_(token or self.bureau_head).get("/ledger", **query)
        assert r.status_code == 200, r.text
        return r.json()["items"]

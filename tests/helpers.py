"""What tests do as users: call the HTTP API, wait for effects, set up an org."""
import secrets
import socket
import time
import uuid
from datetime import datetime, timezone

import requests
from kombu import Connection, Queue

from services.intake.organisation import credit_code_check_char
from shared.outbox import event_exchange


def eventually(check, timeout=20, interval=0.2, what="the expected state"):
    """Poll `check` until it returns a truthy value; that value is returned."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = check()
            if last:
                return last
        except (AssertionError, requests.ConnectionError) as exc:
            last = exc
        time.sleep(interval)
    raise AssertionError(f"{what} not reached in {timeout}s; last: {last!r}")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def credit_code():
    body = "9135" + "".join(secrets.choice("0123456789") for _ in range(13))
    return body + credit_code_check_char(body)


class Client:
    def __init__(self, base, token=None):
        self.base = base.rstrip("/")
        self.token = token

    def _headers(self, headers):
        h = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        h.update(headers or {})
        return h

    def get(self, path, **params):
        return requests.get(self.base + path, params=params, headers=self._headers(None),
                            timeout=15)

    def post(self, path, body=None, headers=None):
        return requests.post(self.base + path, json=body, headers=self._headers(headers),
                             timeout=15)

    def as_(self, token):
        return Client(self.base, token)


def report_body(**kw):
    body = {"incident_type": "fraud", "summary": "Invoice fraud",
            "description": "A fake supplier invoice was paid.",
            "occurred_at": datetime(2026, 11, 27, 10, tzinfo=timezone.utc).isoformat(),
            "location": "No. 1 Harbour Road", "estimated_loss": "21000.00",
            "currency": "CNY", "funds_in_transit": False, "suspects": []}
    body.update(kw)
    return body


class Org:
    """A bureau with one station, an officer there, a supervisor, a company."""

    def __init__(self, intake_url, admin_token, language="en"):
        tag = uuid.uuid4().hex[:8]
        admin = Client(intake_url, admin_token)
        self.bureau, self.station = f"bureau-{tag}", f"station-{tag}"
        for unit_id, kind, parent in ((self.bureau, "bureau", None),
                                      (self.station, "station", self.bureau)):
            r = admin.post("/admin/units", {"unit_id": unit_id, "name": unit_id,
                                            "kind": kind, "parent_unit_id": parent})
            assert r.status_code == 201, r.text
        self.officer_id = f"officer-{tag}"
        r = admin.post("/admin/officers", {"officer_id": self.officer_id, "name": "Li",
                                           "unit_id": self.station, "role": "officer"})
        assert r.status_code == 201, r.text
        self.officer_token = r.json()["token"]
        r = admin.post("/admin/officers", {"officer_id": f"sup-{tag}", "name": "Zhao",
                                           "unit_id": self.bureau, "role": "supervisor"})
        self.supervisor_token = r.json()["token"]
        r = admin.post("/admin/companies", {
            "name": f"Company {tag}", "credit_code": credit_code(),
            "jurisdiction_unit_id": self.station,
            "contact": {"name": "Chen", "phone": "+86 591 0000", "email": "ops@example.com"},
            "language": language})
        assert r.status_code == 201, r.text
        self.company_id = r.json()["company_id"]
        self.company_token = r.json()["token"]
        self.intake = Client(intake_url)

    def file_report(self, **kw):
        r = self.intake.as_(self.company_token).post("/reports", report_body(**kw))
        assert r.status_code == 201, r.text
        return r.json()

    def accept(self, report_id):
        return self.intake.as_(self.officer_token).post(f"/reports/{report_id}/accept")


class Tap:
    """A queue bound to every event of a service: what the broker carried."""

    def __init__(self, amqp_uri, source):
        self.conn = Connection(amqp_uri)
        self.queue = Queue(f"tap-{uuid.uuid4().hex[:8]}", exchange=event_exchange(source),
                           routing_key="#", auto_delete=True)
        self.queue(self.conn.channel()).declare()
        self.seen = []

    def drain(self):
        simple = self.conn.SimpleQueue(self.queue)
        while True:
            try:
                message = simple.get(block=False)
            except simple.Empty:
                break
            self.seen.append(message.payload)
            message.ack()
        simple.close()
        return self.seen

    def of(self, event_type, **data):
        """The events of a type whose data has these values."""
        return [e for e in self.drain() if e["type"] == event_type
                and all(e["data"].get(k) == v for k, v in data.items())]

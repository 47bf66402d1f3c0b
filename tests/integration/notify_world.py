"""Notify's world for the tests on the real broker and database: a company as
notify knows it, case events as case_supervision publishes them, the
deliveries as the operator sees them, and real SMTP servers (aiosmtpd in
its own process, with STARTTLS from a private CA) for the email channel."""
import subprocess
import sys
import uuid
from datetime import datetime, timezone

import requests

from shared.auth import issue_token
from support.client import Client
from tests.conftest import ADMIN_TOKEN, SIGNING_KEY
from tests.helpers import eventually

FAST = {"WEBHOOK_ALLOW_PRIVATE": "1", "DELIVERY_RETRY_BASE_DELAY": 0.05,
        "DELIVERY_RETRY_MAX_DELAY": 0.2, "DELIVERY_MAX_ATTEMPTS": 5, "DELIVERY_TIMEOUT": 3}


SMTP_SERVER = r"""
import pathlib, ssl, sys, time
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
port, out = int(sys.argv[1]), pathlib.Path(sys.argv[2])
tls = {}
if len(sys.argv) > 3:  # certificate and key: STARTTLS required before anything else
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(sys.argv[3], sys.argv[4])
    tls = {"tls_context": context, "require_starttls": True}
class Save:
    async def handle_DATA(self, server, session, envelope):
        (out / f"{time.time_ns()}.eml").write_bytes(envelope.content)
        return "250 OK"
def check(server, session, envelope, mechanism, data):
    return AuthResult(success=isinstance(data, LoginPassword)
                      and data.login == b"fasttrack" and data.password == b"s3cret")
Controller(Save(), hostname="127.0.0.1", port=port, authenticator=check,
           auth_require_tls=bool(tls), **tls).start()
print("ready", flush=True)
while True:
    time.sleep(3600)
"""


def smtp_process(port, box, *tls):
    proc = subprocess.Popen([sys.executable, "-c", SMTP_SERVER, str(port), str(box), *tls],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    return proc


def private_ca(folder):
    """A CA and a certificate it signed for 127.0.0.1, made by openssl."""
    def run(*args):
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True)
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
        "-days", "2", "-subj", "/CN=FastTrack test CA",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "smtp.key", "-out", "smtp.csr",
        "-subj", "/CN=127.0.0.1")
    (folder / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    run("x509", "-req", "-in", "smtp.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "smtp.pem", "-days", "2", "-extfile", "san.ext")
    return folder / "ca.pem", folder / "smtp.pem", folder / "smtp.key"


class Company:
    """A registered company as notify knows it, with its token."""

    def __init__(self, running, language="en"):
        self.running = running
        self.id = f"company-{uuid.uuid4().hex[:8]}"
        self.token = issue_token(SIGNING_KEY, "company", self.id)
        self.client = Client(running.urls["notify"], self.token)
        running.publish("intake", envelope("company_registered", self.id, 1, "intake", {
            "company_id": self.id, "name": "Riverside", "language": language,
            "contact": {"name": "Chen", "phone": "+86 591 0000", "email": "ops@x.cn"}}),
            "company_registered")
        eventually(lambda: running.db("notify").companies.find_one({"_id": self.id}),
                   what="the company registered in notify")

    def subscribe(self, **channels):
        body = {"webhook_url": None, "email": None, "phone": None, "language": None}
        r = requests.put(self.client.base + "/subscription", json=dict(body, **channels),
                         headers={"Authorization": f"Bearer {self.token}"}, timeout=15)
        assert r.status_code == 200, r.text
        return r.json()

    def feed(self):
        r = self.client.get("/notices")
        assert r.status_code == 200, r.text
        return r.json()["items"]


def envelope(event_type, subject, sequence, source, data):
    return {"event_id": str(uuid.uuid4()), "specversion": "1.0", "type": event_type,
            "source": source, "subject": subject, "sequence": sequence,
            "occurred_at": datetime.now(timezone.utc).isoformat(), "data": data}


class Case:
    """Case events as case_supervision publishes them (shared/events.py)."""

    def __init__(self, running, company):
        self.running, self.id = running, str(uuid.uuid4())
        self.base = {"case_id": self.id, "case_number": f"FT-C-2026-{uuid.uuid4().int % 10**6:06d}",
                     "report_id": str(uuid.uuid4()), "reference": "FT-20261128-000001",
                     "company_id": company.id, "stage": "investigation", "priority": "high",
                     "supervision_level": "district", "supervisor_unit_id": "b1",
                     "lead_officer_id": "officer-li", "lead_officer_name": "李警官",
                     "deadlines": {"first_action": "2026-11-28T04:00:00+00:00"},
                     "next_due_at": "2026-12-01T02:00:00+00:00", "paused": False}

    def event(self, sequence, event_type, **data):
        return envelope(event_type, self.id, sequence, "case_supervision",
                        dict(self.base, **data))

    def publish(self, *events):
        for e in events:
            self.running.publish("case_supervision", e, e["type"])

    def story(self):
        """Opened; an internal note; a disclosed step; money recovered."""
        return [self.event(1, "case_opened"),
                self.event(2, "case_progressed", previous_stage="opened", disclose=False),
                self.event(3, "case_progressed", previous_stage="opened", disclose=True,
                           note="Suspect identified"),
                self.event(4, "loss_recovered", recovered_amount="21000.00",
                           frozen_amount="0.00", total_recovered="21000.00",
                           total_frozen="0.00", estimated="150000.00")]


def deliveries(running, **query):
    r = Client(running.urls["notify"], ADMIN_TOKEN).get("/deliveries", **query)
    assert r.status_code == 200, r.text
    return r.json()["items"]


def report_events(company, report_id):
    """A report's four events from intake: received, ack overdue (not told
    to the company), acknowledged, accepted."""
    base = {"report_id": report_id, "reference": "FT-20261128-000042",
            "company_id": company.id, "status": "received", "incident_type": "fraud",
            "summary": "Invoice fraud", "owner_unit_id": "st1", "owner_unit_path": ["st1"],
            "estimated_loss": "21000.00", "funds_in_transit": False,
            "received_at": "2026-11-28T01:00:00+00:00",
            "ack_due_at": "2026-11-28T01:30:00+00:00",
            "materials": [{"code": "bank", "label": "Bank statements"}], "missing": []}

    def ev(seq, kind, **data):
        return envelope(kind, report_id, seq, "intake", dict(base, **data))
    return [ev(1, "report_received", channel="online", likely_duplicate_of=None),
            ev(2, "report_ack_overdue", step=1, responsible_unit_id="st1",
               escalated_to_unit_id="b1"),
            ev(3, "report_acknowledged", acknowledged_by="o1",
               acknowledged_at="2026-11-28T01:40:00+00:00"),
            ev(4, "report_accepted", case_id="k1", accepted_by="o1",
               accepted_at="2026-11-28T01:50:00+00:00",
               occurred_at="2026-11-27T10:00:00+00:00", merged_count=0)]

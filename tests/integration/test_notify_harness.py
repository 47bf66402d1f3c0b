"""Notify on the real broker and database: the harness the notify tests
share (a webhook receiver verifying with the standardwebhooks library, a
real aiosmtpd server, events published as producers would), and the
subscription and admin routes."""
import json
import subprocess
import sys
import threading
import uuid
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from services.notify.service import NotifyService
from shared.auth import issue_token
from tests.conftest import ADMIN_TOKEN, SIGNING_KEY
from tests.helpers import Client, eventually, free_port

FAST = {"WEBHOOK_ALLOW_PRIVATE": "1", "DELIVERY_RETRY_BASE_DELAY": 0.05,
        "DELIVERY_RETRY_MAX_DELAY": 0.2, "DELIVERY_MAX_ATTEMPTS": 5, "DELIVERY_TIMEOUT": 3}


class Receiver:
    """A company's webhook endpoint: verifies each request with the
    standardwebhooks library against the secrets it was given; answers 500
    for its first `fail_first` requests and while `down`."""

    def __init__(self, fail_first=0):
        self.fail_first, self.down = fail_first, False
        self.secrets, self.calls, self.accepted, self.unverified = [], 0, [], []
        self.port = free_port()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                self.send_response(receiver.take(body, dict(self.headers)))
                self.end_headers()

            def log_message(self, *args):
                pass
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    url = property(lambda self: f"http://127.0.0.1:{self.port}/hooks/fasttrack")

    def take(self, body, headers):
        self.calls += 1
        if self.down or self.calls <= self.fail_first:
            return 500
        verified_by = []
        for secret in self.secrets:
            try:
                payload = Webhook(secret).verify(body, headers)
                verified_by.append(secret)
            except WebhookVerificationError:
                pass
        if not verified_by:
            self.unverified.append(body)
            return 400
        self.accepted.append({"payload": payload, "headers": headers,
                              "verified_by": verified_by})
        return 204

    def ids(self):
        return [a["payload"]["event_id"] for a in self.accepted]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


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


@pytest.fixture
def smtp_server(tmp_path):
    """A real aiosmtpd server (its own process), requiring AUTH; mail lands in a folder."""
    port, box = free_port(), tmp_path / "mail"
    box.mkdir()
    proc = smtp_process(port, box)
    yield {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": port, "SMTP_STARTTLS": "false",
           "SMTP_USER": "fasttrack", "SMTP_PASSWORD": "s3cret",
           "SMTP_FROM": "notices@fasttrack.example", "box": box}
    proc.kill()
    proc.wait()


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


@pytest.fixture
def tls_smtp_server(tmp_path):
    """The same server requiring STARTTLS (and AUTH only over TLS), with a
    certificate from a private CA."""
    ca, cert, key = private_ca(tmp_path)
    port, box = free_port(), tmp_path / "mail"
    box.mkdir()
    proc = smtp_process(port, box, str(cert), str(key))
    yield {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": port, "SMTP_STARTTLS": "true",
           "SMTP_USER": "fasttrack", "SMTP_PASSWORD": "s3cret",
           "SMTP_FROM": "notices@fasttrack.example", "box": box, "ca": ca}
    proc.kill()
    proc.wait()


@pytest.fixture
def receivers():
    made = []

    def make(**kw):
        made.append(Receiver(**kw))
        return made[-1]
    yield make
    for r in made:
        r.close()


@pytest.fixture
def notify(running, tmp_path):
    """Start notify with quick retries; `policy` overrides policy/notify.yml."""
    def start(policy=None, **settings):
        if policy:
            path = tmp_path / f"notify-{uuid.uuid4().hex[:6]}.yml"
            path.write_text(json.dumps(dict({"version": 1, "follow_up_after_seconds": 3600,
                                             "order_max_hold_seconds": 3600,
                                             "secret_overlap_seconds": 3600}, **policy)))
            settings["NOTIFY_POLICY"] = str(path)
        return running.start(NotifyService, **dict(FAST, **settings))
    return start


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
                     "lead_officer_id": "officer-li",
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


# -- the subscription and admin routes -----------------------------------------
def test_a_company_subscribes_and_gets_a_standard_webhooks_secret(running, notify, receivers):
    notify()
    company = Company(running)
    sub = company.subscribe(webhook_url=receivers().url, email="ops@x.cn", language="en")
    assert sub["webhook_secret"].startswith("whsec_")
    assert Webhook(sub["webhook_secret"])  # a secret the library takes
    again = company.subscribe(webhook_url=None, phone="+86 591 1234")
    assert again["webhook_secret"] == sub["webhook_secret"]  # kept across updates
    assert again["webhook_url"] is None and again["phone"] == "+86 591 1234"
    assert company.client.get("/subscription").json()["phone"] == "+86 591 1234"
    r = requests.put(company.client.base + "/subscription", json={"language": "fr"},
                     headers={"Authorization": f"Bearer {company.token}"}, timeout=15)
    assert r.status_code == 422 and "language" in r.json()["error"]["fields"]


def test_deliveries_are_for_the_admin_only(running, notify):
    notify()
    company = Company(running)
    assert company.client.get("/deliveries").status_code == 403
    assert company.client.post("/deliveries/x:webhook/replay").status_code == 403
    admin = Client(running.urls["notify"], ADMIN_TOKEN)
    assert admin.get("/deliveries").json() == {"items": []}
    assert admin.post("/deliveries/nope:webhook/replay").status_code == 404
    assert admin.get("/subscription").status_code == 403

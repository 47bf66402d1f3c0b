"""Notify's channels on the real broker and database, with a real webhook
receiver (verifying with the standardwebhooks library), a real aiosmtpd
server and a real SMS gateway endpoint."""
import email
import email.policy
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
import json

import requests

from support.client import Client
from tests.conftest import ADMIN_TOKEN
from tests.helpers import eventually, free_port
from tests.integration.notify_world import Case, Company, deliveries


def test_a_receiver_failing_four_times_gets_each_notice_once_in_order(
        running, notify, receivers):
    notify()
    company = Company(running)
    hook = receivers(fail_first=4)
    hook.secrets = [company.subscribe(webhook_url=hook.url)["webhook_secret"]]
    case = Case(running, company)
    opened, internal, progressed, recovered = case.story()
    case.publish(recovered, progressed, opened, internal, progressed, opened)

    told = [opened["event_id"], progressed["event_id"], recovered["event_id"]]
    eventually(lambda: len(hook.accepted) >= 3, what="three webhooks accepted")
    assert hook.ids() == told  # in sequence order, once each; the internal note never left
    assert hook.unverified == []
    first = hook.accepted[0]
    assert first["headers"]["webhook-id"] == opened["event_id"]
    assert first["payload"]["type"] == "case_opened" and first["payload"]["sequence"] == 1
    assert first["payload"]["data"]["case_number"] == case.base["case_number"]
    record = deliveries(running, event_id=opened["event_id"])[0]
    assert record["status"] == "delivered" and len(record["attempts"]) == 5
    assert [a["ok"] for a in record["attempts"]] == [False] * 4 + [True]
    assert record["attempts"][0]["status_code"] == 500
    assert all(d["status"] == "delivered" and len(d["attempts"]) == 1
               for d in deliveries(running) if d["event_id"] != opened["event_id"])


def test_an_always_failing_receiver_is_dead_lettered_then_replayed_once_it_recovers(
        running, notify, receivers, smtp_server):
    notify(**{k: v for k, v in smtp_server.items() if k != "box"})
    company = Company(running)
    hook = receivers()
    hook.down = True
    hook.secrets = [company.subscribe(webhook_url=hook.url, email="ops@x.cn")[
        "webhook_secret"]]
    case = Case(running, company)
    opened = case.event(1, "case_opened")
    case.publish(opened)

    dead = eventually(lambda: deliveries(running, status="dead"), what="a dead letter")
    assert [d["channel"] for d in dead] == ["webhook"] and len(dead[0]["attempts"]) == 5
    assert all(not a["ok"] and a["error"] == "receiver answered 500"
               for a in dead[0]["attempts"])
    # The other channels and the feed did not wait for the failing one.
    assert [n["event_type"] for n in company.feed()] == ["case_opened"]
    assert deliveries(running, channel="email")[0]["status"] == "delivered"

    hook.down = False
    admin = Client(running.urls["notify"], ADMIN_TOKEN)
    r = admin.post(f"/deliveries/{dead[0]['delivery_id']}/replay")
    assert r.status_code == 200 and r.json()["status"] == "pending"
    assert admin.post(f"/deliveries/{dead[0]['delivery_id']}/replay").status_code in (200, 409)
    eventually(lambda: hook.ids() == [opened["event_id"]], what="the replayed webhook")
    # The receiver has the event a moment before notify hears its 204.
    record = eventually(lambda: (lambda d: d if d["status"] == "delivered" else None)(
        admin.get(f"/deliveries/{dead[0]['delivery_id']}").json()), what="the delivery recorded")
    assert record["status"] == "delivered" and record["replays"] == 1
    assert [a["ok"] for a in record["attempts"]] == [False] * 5 + [True]
    assert admin.post(f"/deliveries/{dead[0]['delivery_id']}/replay").status_code == 409


def test_a_dead_letter_steps_aside_so_later_notices_still_go_out(running, notify, receivers):
    notify()
    company = Company(running)
    hook = receivers(fail_first=5)  # exactly the first delivery's five tries
    hook.secrets = [company.subscribe(webhook_url=hook.url)["webhook_secret"]]
    case = Case(running, company)
    opened, _, progressed, _ = case.story()
    case.publish(opened, progressed, case.event(2, "case_deadline_warning",
                                                deadline="first_action", due_at="x"))
    eventually(lambda: hook.ids() == [progressed["event_id"]], what="the next notice")
    assert deliveries(running, status="dead")[0]["event_id"] == opened["event_id"]


def test_email_arrives_in_the_companys_language(running, notify, smtp_server):
    notify(**{k: v for k, v in smtp_server.items() if k != "box"})
    company = Company(running, language="zh-CN")
    company.subscribe(email="cfo@riverside.example")
    case = Case(running, company)
    case.publish(case.event(1, "case_opened"))
    box = smtp_server["box"]
    files = eventually(lambda: sorted(box.iterdir()), what="an email at the SMTP server")
    msg = email.message_from_bytes(files[0].read_bytes(), policy=email.policy.default)
    assert msg["To"] == "cfo@riverside.example"
    assert msg["From"] == "notices@fasttrack.example"
    assert msg["Subject"] == f"专案已立：{case.base['case_number']}"
    assert msg["Content-Language"] == "zh-CN"
    body = msg.get_content()
    assert "主办民警 李警官" in body and "督办级别：分局" in body and "officer-li" not in body


def test_email_goes_over_starttls_to_a_relay_whose_certificate_is_trusted(
        running, notify, tls_smtp_server):
    settings = {k: v for k, v in tls_smtp_server.items() if k not in ("box", "ca")}
    notify(SMTP_CA_FILE=str(tls_smtp_server["ca"]), **settings)
    company = Company(running)
    company.subscribe(email="cfo@riverside.example")
    case = Case(running, company)
    case.publish(case.event(1, "case_opened"))
    box = tls_smtp_server["box"]
    files = eventually(lambda: sorted(box.iterdir()), what="an email over TLS")
    assert email.message_from_bytes(files[0].read_bytes())["To"] == "cfo@riverside.example"
    assert deliveries(running, channel="email")[0]["status"] == "delivered"


def test_a_relay_with_an_untrusted_certificate_gets_no_email(running, notify, tls_smtp_server):
    notify(**{k: v for k, v in tls_smtp_server.items() if k not in ("box", "ca")})
    company = Company(running)
    company.subscribe(email="cfo@riverside.example")
    case = Case(running, company)
    case.publish(case.event(1, "case_opened"))
    tried = eventually(lambda: [a for d in deliveries(running, channel="email")
                                for a in d["attempts"]], what="a failed email attempt")
    assert not tried[0]["ok"] and "CERTIFICATE_VERIFY_FAILED" in tried[0]["error"]
    assert list(tls_smtp_server["box"].iterdir()) == []  # not a word in clear or to them


def test_a_rotated_secret_and_the_old_one_both_sign_during_the_overlap(
        running, notify, receivers):
    notify()
    company = Company(running)
    hook = receivers()
    old = company.subscribe(webhook_url=hook.url)["webhook_secret"]
    rotated = company.client.post("/subscription/rotate-secret")
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["webhook_secret"]
    assert new != old and new.startswith("whsec_")
    assert rotated.json()["previous_secret_expires_at"]
    hook.secrets = [old, new]
    case = Case(running, company)
    case.publish(case.event(1, "case_opened"))
    eventually(lambda: hook.accepted, what="the webhook")
    got = hook.accepted[0]
    assert len(got["headers"]["webhook-signature"].split(" ")) == 2
    assert set(got["verified_by"]) == {old, new}  # a verifier on either secret accepts


def test_a_private_range_webhook_url_is_refused(running, notify):
    notify(WEBHOOK_ALLOW_PRIVATE="")
    company = Company(running)
    for url in ("http://127.0.0.1:8080/hook", "https://127.0.0.1/hook",
                "https://10.0.0.7/hook", "https://169.254.169.254/latest/meta-data",
                "https://[::1]/hook", "https://localhost/hook", "http://93.184.216.34/"):
        r = requests.put(company.client.base + "/subscription", json={"webhook_url": url},
                         headers={"Authorization": f"Bearer {company.token}"}, timeout=15)
        assert r.status_code == 422, (url, r.text)
        assert r.json()["error"]["fields"]["webhook_url"]
    assert company.subscribe(webhook_url="https://93.184.216.34/hook")["webhook_url"]


class Gateway:
    """An SMS gateway's HTTP endpoint: records what it is asked to send."""

    def __init__(self):
        self.port, self.sent = free_port(), []
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                gateway.sent.append((self.headers["Authorization"], json.loads(body)))
                self.send_response(202)
                self.end_headers()

            def log_message(self, *args):
                pass
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def test_sms_goes_through_the_configured_gateway(running, notify):
    gateway = Gateway()
    try:
        notify(SMS_ADAPTER="http", SMS_GATEWAY_URL=f"http://127.0.0.1:{gateway.port}/sms",
               SMS_GATEWAY_TOKEN="gw-token")
        company = Company(running)
        company.subscribe(phone="+86 591 8888 0000")
        case = Case(running, company)
        case.publish(case.event(1, "case_opened"))
        eventually(lambda: gateway.sent, what="an SMS at the gateway")
        auth, sms = gateway.sent[0]
        assert auth == "Bearer gw-token" and sms["to"] == "+86 591 8888 0000"
        assert sms["text"] == f"Dedicated case opened: {case.base['case_number']}"
    finally:
        gateway.server.shutdown()
        gateway.server.server_close()


def test_sms_without_a_gateway_is_recorded_for_the_operator(running, notify):
    notify()
    company = Company(running, language="zh-CN")
    company.subscribe(phone="+86 591 8888 0000")
    case = Case(running, company)
    case.publish(case.event(1, "case_opened"))
    record = eventually(lambda: deliveries(running, channel="sms", status="delivered"),
                        what="the SMS recorded")[0]
    assert record["attempts"][0]["target"] == "+86 591 8888 0000"
    assert f"专案已立：{case.base['case_number']}" in record["attempts"][0]["detail"]

"""What the company is told is for the company: police write a unique
marker into every internal text the API takes — an undisclosed progress
note, transfer and decline reasons, escalation, deadline (限期), pause and
lead-change reasons, a ledger note, a team member's name — then everything
the company can read is collected: every route it may call, its whole
feed, the signed webhooks it receives, its emails and its SMS. No marker
may appear anywhere in it, for a zh-CN and an en company alike."""
import email
import json
from datetime import datetime, timedelta, timezone

import pytest

from support.client import Client
from support.receiver import Receiver
from tests.helpers import eventually, free_port
from tests.integration.notify_world import smtp_process

MARK = "LEAKMARK"
QUICK = {"FASTTRACK_DELIVERY_RETRY_BASE_DELAY": "0.1", "FASTTRACK_SMS_ADAPTER": "record"}


@pytest.fixture
def mailbox(tmp_path):
    port, box = free_port(), tmp_path / "mail"
    box.mkdir()
    proc = smtp_process(port, box)
    yield {"FASTTRACK_SMTP_HOST": "127.0.0.1", "FASTTRACK_SMTP_PORT": str(port),
           "FASTTRACK_SMTP_STARTTLS": "false", "FASTTRACK_SMTP_USER": "fasttrack",
           "FASTTRACK_SMTP_PASSWORD": "s3cret"}, box
    proc.kill()
    proc.wait()


def mails(box):
    texts = []
    for path in sorted(box.iterdir()):
        message = email.message_from_bytes(path.read_bytes())
        texts.append(str(email.header.make_header(email.header.decode_header(
            message["Subject"] or ""))))
        for part in message.walk():
            if not part.is_multipart():
                texts.append(part.get_payload(decode=True).decode("utf-8", "replace"))
    return texts


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_no_internal_text_reaches_the_company_by_any_route_or_channel(system, mailbox,
                                                                       language):
    smtp_env, box = mailbox
    system.start(**QUICK, **smtp_env)
    org = system.org(language=language)
    admin_token = system.stack.env["FASTTRACK_ADMIN_TOKEN"]
    st2 = org.add_unit(f"st2-{org.bureau}")
    receiver_officer = system.client("intake", org.add_officer(f"o-{st2}", st2))
    org.add_officer(f"member-{org.bureau}", org.station, name=f"{MARK}-member")
    org.add_officer(f"lead2-{org.bureau}", org.station, name="张警官")
    hook = Receiver()
    try:
        notify = system.client("notify", org.company_token)
        r = notify.put("/subscription", {"webhook_url": hook.url_for(org.company_id),
                                         "email": "ops@example.com", "phone": "+86 591 0000",
                                         "language": language})
        assert r.status_code == 200, r.text
        hook.trust(org.company_id, r.json()["webhook_secret"])

        officer = system.client("intake", org.officer_token)
        report = org.file_report()
        rid = report["report_id"]
        assert officer.post(f"/reports/{rid}/transfer", {
            "to_unit_id": st2, "reason": f"{MARK}-transfer"}).status_code == 200
        assert receiver_officer.post(f"/reports/{rid}/transfer/decline", {
            "reason": f"{MARK}-decline"}).status_code == 200
        assert org.accept(rid).status_code == 200
        cid = eventually(lambda: system.cases_for(org, rid))[0]["case_id"]

        cases = system.client("case_supervision")
        lead, sup = cases.as_(org.officer_token), cases.as_(org.supervisor_token)

        def ok(r):
            assert r.status_code == 200, r.text
            return r.json()
        ok(lead.post(f"/cases/{cid}/progress", {"note": f"{MARK}-note", "disclose": False}))
        ok(lead.post(f"/cases/{cid}/progress", {"note": "statements taken", "disclose": True}))
        ok(lead.post(f"/cases/{cid}/pause", {"reason": f"{MARK}-pause"}))
        ok(lead.post(f"/cases/{cid}/resume"))
        ok(lead.post(f"/cases/{cid}/team", {"officer_id": f"member-{org.bureau}"}))
        ok(sup.post(f"/cases/{cid}/escalate", {"reason": f"{MARK}-escalate"}))
        due = (datetime.now(timezone.utc) + timedelta(days=3)).isoformat()
        ok(sup.post(f"/cases/{cid}/deadline", {"stage": "conclusion", "due_at": due,
                                               "reason": f"{MARK}-deadline"}))
        ok(sup.post(f"/cases/{cid}/lead", {"officer_id": f"lead2-{org.bureau}",
                                           "reason": f"{MARK}-lead"}))
        items = eventually(lambda: ok(sup.get("/ledger", case_id=cid))["items"],
                           what="a ledger item for the escalation")
        ok(sup.post(f"/ledger/{items[0]['item_id']}/resolve", {"note": f"{MARK}-ledger"}))
        ok(lead.post(f"/cases/{cid}/conclude", {"result": "solved", "summary": "returned"}))
        assert ok(company_cases_get(cases, org, cid))["lead_name"] == "张警官"

        # The company hears the steps it is told: the last one is the conclusion.
        eventually(lambda: "case_concluded" in [n["event_type"] for n in system.feed_all(org)]
                   and "case_concluded" in [a["payload"]["type"] for a in hook.accepted]
                   and len(mails(box)) >= 5, timeout=60, what="every channel told")

        company_intake = system.client("intake", org.company_token)
        company_cases = cases.as_(org.company_token)
        read = {
            "GET /reports": company_intake.get("/reports").json(),
            "GET /reports/{id}": company_intake.get(f"/reports/{rid}").json(),
            "GET /cases": company_cases.get("/cases").json(),
            "GET /cases/{id}": company_cases.get(f"/cases/{cid}").json(),
            "GET /cases?report_id": company_cases.get("/cases", report_id=rid).json(),
            "GET /subscription": notify.get("/subscription").json(),
            "feed": system.feed_all(org),
            "webhooks": [a["payload"] for a in hook.accepted],
            "emails": mails(box),
            # SMS_ADAPTER=record keeps each text message on its delivery record.
            "sms": [a.get("detail") for d in Client(system.stack.service_url("notify"),
                                                    admin_token)
                    .get("/deliveries", channel="sms", company_id=org.company_id).json()["items"]
                    for a in d["attempts"] if a["ok"]],
        }
        assert all(read.values()), {k: bool(v) for k, v in read.items()}
        for where, what in read.items():
            text = json.dumps(what, ensure_ascii=False)
            assert MARK not in text, (where, text[max(0, text.find(MARK) - 300):][:600])
        # What is disclosed does arrive, so the check above looked at real texts.
        assert any("statements taken" in u["note"] for u in read["GET /cases/{id}"]["updates"])
        assert "statements taken" in json.dumps(read["webhooks"], ensure_ascii=False)
    finally:
        hook.close()


def company_cases_get(cases, org, cid):
    return cases.as_(org.company_token).get(f"/cases/{cid}")

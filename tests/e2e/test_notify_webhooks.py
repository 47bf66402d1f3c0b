"""The company's webhook, end to end: the three services as processes, a
report filed and accepted over HTTP, a real receiver that verifies every
request with the standardwebhooks library and fails its first tries."""
import requests

from support.receiver import Receiver
from tests.helpers import eventually

QUICK = {"FASTTRACK_DELIVERY_RETRY_BASE_DELAY": "0.1", "FASTTRACK_DELIVERY_MAX_ATTEMPTS": "6"}


def test_a_company_hears_each_step_by_signed_webhook_in_order(system):
    system.start(**QUICK)
    org = system.org(language="en")
    hook = Receiver(fail_first=2)
    try:
        r = requests.put(system.client("notify").base + "/subscription",
                         json={"webhook_url": hook.url, "language": "en"},
                         headers={"Authorization": f"Bearer {org.company_token}"}, timeout=15)
        assert r.status_code == 200, r.text
        hook.secrets = [r.json()["webhook_secret"]]
        report = org.file_report(estimated_loss="21000.00")
        assert org.accept(report["report_id"]).status_code == 200

        eventually(lambda: {"report_received", "report_accepted", "case_opened"} <= {
            a["payload"]["type"] for a in hook.accepted}, timeout=40,
            what="the three steps at the company's endpoint")
        assert hook.unverified == []
        got = [a["payload"] for a in hook.accepted]
        assert len({p["event_id"] for p in got}) == len(got)  # none twice
        of_report = [p["type"] for p in got if p["subject"] == report["report_id"]]
        assert of_report.index("report_received") < of_report.index("report_accepted")
        received = next(p for p in got if p["type"] == "report_received")
        assert received["data"]["reference"] == report["reference"]
        assert "¥21,000.00" in received["notice"]["body"]
        # The feed shows a notice once it has settled (FEED_SETTLE_SECONDS).
        eventually(lambda: [n["event_type"] for n in system.feed(org)][:1] ==
                   ["report_received"], what="the first step in the feed")
    finally:
        hook.close()

"""Alerts on the running processes, like a duty room uses them: a company
files a report through intake, and the officer on duty at the owning
station — by the roster its supervisor set — finds it in the inbox; the
colleague off duty does not, and the company never sees an alert."""
from datetime import datetime

import requests

from services.notify.roster import BEIJING, WEEKDAYS
from tests.helpers import eventually


def test_a_filed_report_reaches_the_officer_on_duty_and_only_them(system):
    system.start()
    org = system.org(language="zh-CN")
    duty_id = f"duty-{org.station}"
    duty_token = org.add_officer(duty_id, org.station, name="值班民警")
    notify = system.client("notify", org.supervisor_token)
    all_day = [{"start": "00:00", "end": "00:00", "officers": [duty_id]}]
    r = notify.put(f"/units/{org.station}/roster", {"weekly": {d: all_day for d in WEEKDAYS}})
    assert r.status_code == 200 and r.json()["on_duty_now"] == [duty_id], r.text
    report = org.file_report()

    def inbox(token):
        page = system.client("notify", token).get("/alerts").json()
        return [a for a in page["items"] if a["report_id"] == report["report_id"]]
    told = eventually(lambda: inbox(duty_token), what="the officer on duty told")
    assert told[0]["event_type"] == "report_received" and told[0]["title"] == "新报案待签收"
    assert datetime.fromisoformat(told[0]["created_at"]).utcoffset() == \
        datetime.now(BEIJING).utcoffset()
    assert inbox(org.officer_token) == []        # off duty: not paged
    assert system.client("notify", org.company_token).get("/alerts").status_code == 403
    titles = {n["title"] for n in system.feed_all(org)}
    assert "新报案待签收" not in titles


PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n" + b"7" * 1500 + b"\n%%EOF\n"


def test_the_lead_hears_of_a_file_the_company_hands_in(system):
    system.start()
    org = system.org(language="zh-CN")
    report = org.file_report()
    assert org.accept(report["report_id"]).status_code == 200     # the officer leads the case
    code = report["materials"][0]["code"]
    upload = f"/reports/{report['report_id']}/materials/{code}/files"
    r = requests.post(
        system.stack.service_url("intake") + upload, data=PDF, timeout=15, headers={
            "Authorization": f"Bearer {org.company_token}", "Content-Type": "application/pdf",
            "Content-Disposition": 'attachment; filename="statement.pdf"'})
    assert r.status_code == 201, r.text

    def told(kind):
        page = system.client("notify", org.officer_token).get("/alerts").json()
        return [a for a in page["items"]
                if a["report_id"] == report["report_id"] and a["event_type"] == kind]
    alert = eventually(lambda: told("report_evidence_recorded"), what="the lead told")[0]
    assert alert["title"] == "企业已上传证据文件"
    titles = {n["title"] for n in system.feed_all(org)}
    assert "企业已上传证据文件" not in titles                    # never the company's

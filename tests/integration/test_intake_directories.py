"""The directories people need to act: the unit tree and a unit's officers
(police choose a transfer's receiver or a team member by name), and the
incident types with their one-time checklists (a company learns what to
bring before it files), in the caller's language."""
import uuid

import requests

from services.intake.service import IntakeService
from support.client import Client
from support.organisation import Org


def test_police_read_the_unit_tree_and_a_units_officers(running):
    running.start(IntakeService)
    org = Org(running.urls["intake"], running.config["ADMIN_TOKEN"])
    officer = Client(running.urls["intake"], org.officer_token)
    units = officer.get("/units").json()
    mine = {u["unit_id"]: u for u in units["items"]}
    assert mine[org.station]["name"] == f"{org.station}-name"
    assert mine[org.station]["name_en"] == f"{org.station} (en)"
    assert mine[org.station]["path"] == [org.station, org.bureau]
    assert units["next"] is None
    people = officer.get(f"/units/{org.station}/officers").json()["items"]
    assert [(p["officer_id"], p["name"], p["role"]) for p in people] == [
        (org.officer_id, "Li", "officer")]
    assert officer.get("/units/no-such-unit/officers").status_code == 404
    company = Client(running.urls["intake"], org.company_token)
    assert company.get("/units").status_code == 403
    assert company.get(f"/units/{org.station}/officers").status_code == 403


def test_anyone_signed_in_reads_the_incident_types_with_their_checklists(running):
    running.start(IntakeService)
    org = Org(running.urls["intake"], running.config["ADMIN_TOKEN"], language="zh-CN")
    company = Client(running.urls["intake"], org.company_token)
    types = company.get("/incident-types").json()   # the company registered zh-CN
    assert types["language"] == "zh-CN"
    fraud = next(t for t in types["items"] if t["code"] == "fraud")
    assert fraud["name"] == "诈骗"
    assert {"code": "payment_records", "label": "转账凭证或银行流水"} in fraud["materials"]
    assert len(types["items"]) == 10
    english = requests.get(running.urls["intake"] + "/incident-types", timeout=10,
                           headers={"Authorization": f"Bearer {org.company_token}",
                                    "Accept-Language": "en-GB,en;q=0.9"}).json()
    assert english["language"] == "en"
    assert next(t for t in english["items"] if t["code"] == "fraud")["name"] == "Fraud"
    police = Client(running.urls["intake"], org.officer_token).get("/incident-types").json()
    assert police["language"] == "zh-CN"   # no header, no registered language: the default
    assert Client(running.urls["intake"]).get("/incident-types").status_code == 401


def test_a_quoted_reference_finds_its_report_for_those_who_may_see_it(running):
    running.start(IntakeService)
    org = Org(running.urls["intake"], running.config["ADMIN_TOKEN"])
    other = Org(running.urls["intake"], running.config["ADMIN_TOKEN"])
    report = org.file_report()
    officer = Client(running.urls["intake"], org.officer_token)
    found = officer.get("/reports", q=report["reference"]).json()["items"]
    assert [r["report_id"] for r in found] == [report["report_id"]]
    assert officer.get("/reports", q=report["reference"], status="accepted").json()[
        "items"] == []
    # Another unit's officer, a pattern, a line break: nothing found, or refused.
    stranger = Client(running.urls["intake"], other.officer_token)
    assert stranger.get("/reports", q=report["reference"]).json()["items"] == []
    assert officer.get("/reports", q="FT-.*").json()["items"] == []
    assert officer.get("/reports", q='{"$ne": null}').json()["items"] == []
    assert officer.get("/reports", q="FT-1\nx").status_code == 422


def test_a_unit_tree_deeper_than_its_limit_is_refused_by_field(running):
    running.start(IntakeService)
    admin = Client(running.urls["intake"], running.config["ADMIN_TOKEN"])
    parent = None
    for level in range(33):
        unit = f"deep-{uuid.uuid4().hex[:6]}-{level}"
        r = admin.post("/admin/units", {"unit_id": unit, "name": unit, "kind": "station",
                                        "parent_unit_id": parent, "specialties": []})
        if level < 32:
            assert r.status_code == 201, r.text
        parent = unit
    assert r.status_code == 422
    assert r.json()["fields"] == {"parent_unit_id": ["最多 32 级"]}   # the default language
    assert all(u["unit_id"] != unit for u in admin.get("/units").json()["items"])

"""People who sign in: an organisation set up through intake's /admin
routes whose officer and company have accounts with passwords, set from
their invites as a person would (POST /accounts/password)."""
import uuid

from support.client import Client
from support.codes import credit_code

PASSWORD = "violet-anchor-harbour-93"


class People:
    """A bureau with two stations; an officer of the first station (and one
    of the second, to offer transfers to); a company in the first station's
    jurisdiction. Each person has `username` and PASSWORD. Every id carries
    a fresh tag."""

    def __init__(self, intake_url, admin_token, language="zh-CN"):
        self.tag = tag = uuid.uuid4().hex[:8]
        self.admin = Client(intake_url, admin_token)
        self.intake = Client(intake_url)
        self.bureau = self._unit(f"bureau-{tag}", "bureau", None, "东城分局", "East Bureau")
        self.station = self._unit(f"north-{tag}", "station", self.bureau, "北街派出所",
                                  "North Street Station")
        self.other_station = self._unit(f"river-{tag}", "station", self.bureau, "滨河派出所",
                                        "Riverside Station")
        self.officer = self._officer(f"li-{tag}", "李警官", self.station)
        self.other_officer = self._officer(f"zhou-{tag}", "周警官", self.other_station)
        self.company = f"co-{tag}"
        r = self.admin.post("/admin/companies", {
            "name": f"滨河精密有限公司 {tag}", "credit_code": credit_code(),
            "jurisdiction_unit_id": self.station, "username": self.company,
            "contact": {"name": "陈经理", "phone": "+86 591 0000", "email": "ops@example.com"},
            "language": language})
        assert r.status_code == 201, r.text
        self.company_id, self.company_token = r.json()["company_id"], r.json()["token"]
        self._set_password(r.json()["invite"])

    def _unit(self, unit_id, kind, parent, name, name_en):
        r = self.admin.post("/admin/units", {"unit_id": unit_id, "name": name,
                                             "name_en": name_en, "kind": kind,
                                             "parent_unit_id": parent})
        assert r.status_code == 201, r.text
        return unit_id

    def _officer(self, officer_id, name, unit_id):
        r = self.admin.post("/admin/officers", {"officer_id": officer_id, "name": name,
                                                "unit_id": unit_id, "role": "officer"})
        assert r.status_code == 201, r.text
        self._set_password(r.json()["invite"])
        return r.json()["username"]

    def _set_password(self, invite):
        r = self.intake.post("/accounts/password", {"invite": invite, "password": PASSWORD})
        assert r.status_code in (200, 201), r.text

    def reports(self):
        """The company's reports as the API has them (to check what changed)."""
        r = self.intake.as_(self.company_token).get("/reports")
        assert r.status_code == 200, r.text
        return r.json()["items"]


def police_account(people, officer_id, role, unit, name="王督察"):
    """A supervisor (or officer) of `unit` made by the break-glass admin, its
    password set from the invite; (username, TOTP secret or None)."""
    r = people.admin.post("/admin/officers", {"officer_id": officer_id, "name": name,
                                              "unit_id": unit, "role": role})
    assert r.status_code == 201, r.text
    made = r.json()
    r = people.intake.post("/accounts/password", {"invite": made["invite"], "password": PASSWORD})
    assert r.status_code == 200, r.text
    return made["username"], (r.json().get("second_factor") or {}).get("secret")

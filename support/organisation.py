"""An organisation set up through intake's /admin routes, as an
administrator sets one up: units, officers, companies, and the companies'
webhook subscriptions at a `support.receiver.Receiver`."""
import uuid

import pyotp
import requests

from support.client import Client
from support.codes import credit_code
from support.reports import report_body


class Org:
    """A bureau, a station under it, an officer of the station (`officer_id`,
    `officer_token`), a supervisor of the bureau, and `companies` companies
    in the station's jurisdiction, each a (company_id, token) in `companies`;
    the first is also `company_id`, `company_token`. Every id carries a fresh
    tag, so organisations made on one system never meet. Every step must
    answer 201."""

    PASSWORD = "harbour-violet-anchor-93"    # strong enough for zxcvbn; tests only

    def __init__(self, intake_url, admin_token, language="en", companies=1, sign_in=False):
        """`sign_in`: each person's token is an access token from POST
        /oauth/token (the password set with its invite, and a TOTP code for
        the roles that need a second factor), not the one the admin's
        create answered."""
        self.sign_in = sign_in
        self.url = intake_url
        tag = uuid.uuid4().hex[:8]
        self.admin = Client(intake_url, admin_token)
        self.intake = Client(intake_url)
        self.bureau = self._unit(f"bureau-{tag}", "bureau", None)
        self.station = self.add_unit(f"station-{tag}")
        self.officer_id = f"officer-{tag}"
        self.officer_token = self.add_officer(self.officer_id, self.station, name="Li")
        self.supervisor_token = self.add_officer(f"sup-{tag}", self.bureau, name="Zhao",
                                                 role="supervisor")
        self.companies = [self.add_company(f"Company {tag}" + (f"-{n}" if n else ""), language)
                          for n in range(companies)]
        self.company_id, self.company_token = self.companies[0]

    def add_unit(self, unit_id, kind="station", specialties=()):
        """Another unit under the bureau (`specialties` for the routing
        policy, e.g. economic_crime); its id."""
        return self._unit(unit_id, kind, self.bureau, specialties)

    def _unit(self, unit_id, kind, parent, specialties=()):
        r = self.admin.post("/admin/units", {"unit_id": unit_id, "name": f"{unit_id}-name",
                                             "name_en": f"{unit_id} (en)", "kind": kind,
                                             "parent_unit_id": parent,
                                             "specialties": list(specialties)})
        assert r.status_code == 201, r.text
        return unit_id

    def add_officer(self, officer_id, unit_id, name="Wang", role="officer"):
        """An officer (or supervisor) of a unit; the token."""
        r = self.admin.post("/admin/officers", {"officer_id": officer_id, "name": name,
                                                "unit_id": unit_id, "role": role})
        assert r.status_code == 201, r.text
        return self._signed_in(r.json()) if self.sign_in else r.json()["token"]

    def add_company(self, name, language="en"):
        """A company in the station's jurisdiction: (company_id, token)."""
        r = self.admin.post("/admin/companies", {
            "name": name, "credit_code": credit_code(), "jurisdiction_unit_id": self.station,
            "contact": {"name": "Chen", "phone": "+86 591 0000", "email": "ops@example.com"},
            "language": language})
        assert r.status_code == 201, r.text
        token = self._signed_in(r.json()) if self.sign_in else r.json()["token"]
        return r.json()["company_id"], token

    def _signed_in(self, created):
        """The person's access token: the password set with the invite the
        admin's create answered, then the password grant (with a TOTP code
        when setting the password enrolled a second factor)."""
        r = requests.post(self.url + "/accounts/password", timeout=15, json={
            "invite": created["invite"], "password": self.PASSWORD})
        assert r.status_code == 200, r.text
        form = {"grant_type": "password", "username": created["username"],
                "password": self.PASSWORD}
        factor = r.json().get("second_factor")
        if factor:
            form["otp"] = pyotp.TOTP(factor["secret"]).now()
        r = requests.post(self.url + "/oauth/token", data=form, timeout=15)
        assert r.status_code == 200, r.text
        return r.json()["access_token"]

    def subscribe(self, notify_url, receiver, company=None, language="en"):
        """A company's webhook (the first company's by default) at its own
        path of `receiver`, which then trusts the secret notify gave it."""
        company_id, token = company or self.companies[0]
        r = Client(notify_url, token).put("/subscription", {
            "webhook_url": receiver.url_for(company_id), "language": language})
        assert r.status_code == 200, r.text
        receiver.trust(company_id, r.json()["webhook_secret"])
        return r.json()

    def file_report(self, **kw):
        """A report of the first company (see support.reports); the answer."""
        r = self.intake.as_(self.company_token).post("/reports", report_body(**kw))
        assert r.status_code == 201, r.text
        return r.json()

    def accept(self, report_id):
        return self.intake.as_(self.officer_token).post(f"/reports/{report_id}/accept")

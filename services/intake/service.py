"""Intake: reports from their arrival until a case opens from them.

Each entrypoint loads, applies a rule from domain.py, saves the state with
its events in one write (the outbox), and answers; the relay publishes.
"""
import hashlib
import json

from nameko.dependency_providers import Config
from nameko.timer import timer

from services.intake import domain
from services.intake import schemas as s
from services.intake.repository import COMPANIES, REPORTS, Repository
from shared import auth, clock, outbox
from shared.errors import Conflict, Invalid, NotFound
from shared.http import ServiceBase, api
from shared.mongo import Mongo
from shared.outbox import OutboxRelay
from shared.policy import Policy

POLICE = auth.POLICE


class IntakeService(ServiceBase):
    name = "intake"

    config = Config()
    repo = Mongo("intake", Repository)
    relay = OutboxRelay()
    policy = Policy("intake")

    # -- organisation (admin) ----------------------------------------------
    @api("POST", "/admin/units", roles=("admin",), body=s.UnitIn, answer=s.UnitOut, status=201)
    def create_unit(self, call):
        body = call.body
        parents = self.repo.unit_parents()
        if body["parent_unit_id"] and body["parent_unit_id"] not in parents:
            raise Invalid("no such parent unit", {"parent_unit_id": ["unknown unit"]})
        parents[body["unit_id"]] = body["parent_unit_id"]
        doc = {"_id": body["unit_id"], "name": body["name"], "kind": body["kind"],
               "parent_unit_id": body["parent_unit_id"],
               "path": domain.unit_path(body["unit_id"], parents)}
        if not self.repo.insert("units", doc):
            raise Conflict("a unit with this id exists")
        return doc

    @api("POST", "/admin/officers", roles=("admin",), body=s.OfficerIn, answer=s.OfficerOut,
         status=201)
    def create_officer(self, call):
        unit = self.repo.get("units", call.body["unit_id"])
        if unit is None:
            raise Invalid("no such unit", {"unit_id": ["unknown unit"]})
        doc = {"_id": call.body["officer_id"], **{k: v for k, v in call.body.items()
                                                  if k != "officer_id"}}
        if not self.repo.insert("officers", doc):
            raise Conflict("an officer with this id exists")
        token = auth.issue_token(self.config["SIGNING_KEY"], doc["role"], doc["_id"],
                                 unit["_id"], unit["path"])
        return dict(doc, token=token)

    @api("POST", "/admin/companies", roles=("admin",), body=s.CompanyIn, answer=s.CompanyOut,
         status=201)
    def create_company(self, call):
        if self.repo.get("units", call.body["jurisdiction_unit_id"]) is None:
            raise Invalid("no such unit", {"jurisdiction_unit_id": ["unknown unit"]})
        now = clock.now()
        doc = {"_id": clock.new_id(), **call.body, "created_at": now}
        events = [("company_registered", domain.company_event_data(doc))]
        doc.update(outbox.on_insert(outbox.record(self.name, doc["_id"], 0, events, now), now))
        if not self.repo.insert(COMPANIES, doc):
            raise Conflict("a company with this credit code exists")
        self.relay.flush(COMPANIES, doc["_id"])
        token = auth.issue_token(self.config["SIGNING_KEY"], "company", doc["_id"])
        return dict(doc, token=token)

    # -- reports -----------------------------------------------------------
    @api("POST", "/reports", roles=("company", *POLICE), body=s.ReportIn, answer=s.ReportOut,
         status=201)
    def file_report(self, call):
        who, body = call.who, call.body
        company = self.repo.get(COMPANIES, filer_company_id(who, body))
        if company is None:
            raise Invalid("no such company", {"company_id": ["unknown company"]})
        owner = domain.first_contact_owner(who, company)
        path = domain.unit_path(owner, self.repo.unit_parents())
        now = clock.now()
        ref = domain.reference(now, self.repo.next_number(f"reference-{now:%Y%m%d}"))
        doc, events = domain.new_report(body, who, company, path, self.policy, now,
                                        clock.new_id(), ref)
        key = call.header("Idempotency-Key")
        if key:
            doc["idempotency_key"] = f"{who.subject}:{key[:200]}"
            doc["body_hash"] = hashlib.sha256(call.request.get_data()).hexdigest()
        doc.update(outbox.on_insert(outbox.record(self.name, doc["_id"], 0, events, now), now))
        saved, created = self.repo.insert_report(doc)
        if not created and saved.get("body_hash") != doc.get("body_hash"):
            raise Conflict("this Idempotency-Key was used with another body")
        self.relay.flush(REPORTS, saved["_id"])
        return (201 if created else 200), saved

    @api("GET", "/reports", roles=("company", *POLICE), query=s.ReportQuery, answer=s.ReportList)
    def list_reports(self, call):
        query = auth.report_filter(call.who)
        if "status" in call.query:
            query["status"] = call.query["status"]
        return {"items": self.repo.reports(query, call.query["limit"])}

    @api("GET", "/reports/<report_id>", roles=("company", *POLICE), answer=s.ReportOut)
    def get_report(self, call, report_id):
        return self._visible_report(call.who, report_id, auth.can_read_report)

    @api("POST", "/reports/<report_id>/acknowledge", roles=POLICE, answer=s.ReportOut)
    def acknowledge_report(self, call, report_id):
        return self._act(call.who, report_id, domain.acknowledge)

    @api("POST", "/reports/<report_id>/accept", roles=POLICE, answer=s.ReportOut)
    def accept_report(self, call, report_id):
        return self._act(call.who, report_id, domain.accept)

    # -- relay -------------------------------------------------------------
    @timer(interval=2)
    def relay_outbox(self):
        self.relay.sweep([REPORTS, COMPANIES])

    # -- helpers -----------------------------------------------------------
    def _visible_report(self, who, report_id, rule):
        report = self.repo.report(report_id)
        # 404, not 403: another company's or unit's report must not be seen to exist.
        if report is None or not rule(who, report):
            raise NotFound("no such report")
        return report

    def _act(self, who, report_id, command):
        report = self._visible_report(who, report_id, auth.can_act_on_report)
        now = clock.now()
        try:
            update, events = command(report, who, now)
        except domain.RuleError as exc:
            raise Conflict(str(exc))
        envs = outbox.record(self.name, report_id, report["seq"], events, now)
        if not self.repo.update_report(report, outbox.merge(update, outbox.push(
                report["seq"], envs, now))):
            raise Conflict("the report changed meanwhile; read it again")
        self.relay.flush(REPORTS, report_id)
        return self.repo.report(report_id)


def filer_company_id(who, body):
    """A company files for itself; an officer names the company it registers for."""
    if who.role == "company":
        if "company_id" in body or "channel" in body:
            raise Invalid("a company files for itself",
                          {k: ["not allowed for a company"] for k in ("company_id", "channel")
                           if k in body})
        return who.subject
    if "company_id" not in body or "channel" not in body:
        raise Invalid("an officer registers a report for a company, by phone or walk-in",
                      {k: ["required"] for k in ("company_id", "channel") if k not in body})
    return body["company_id"]

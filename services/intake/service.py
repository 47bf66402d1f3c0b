"""Intake: reports from their arrival until a case opens from them.

Each entrypoint loads, applies a rule from domain.py, saves the state with
its events in one write (the outbox), and answers; the relay publishes.
"""
from datetime import datetime, timedelta, timezone
from typing import Any

from nameko.dependency_providers import Config
from nameko.rpc import rpc
from nameko.timer import timer

from services.intake import deadlines, domain, materials, organisation
from services.intake import schemas as s
from services.intake.exports import ReportExportRoutes
from services.intake.policy_schema import IntakePolicy
from services.intake.repository import COMPANIES, REPORTS, Repository
from services.intake.files import EvidenceRoutes
from services.intake.audit import BreakGlassWitness
from services.intake.guard import GuardRoutes
from services.intake.principals import PrincipalRoutes
from services.intake.signin import AccountRoutes
from services.intake.signing_keys import SigningKeys
from shared import aggregate, auth, clock, faults, idempotency_key, language, pages, search
from shared.errors import Conflict, Invalid, NotFound
from shared.fields import schema
from shared.base import ServiceBase
from shared.idempotency_key import ANSWER
from shared.http import Call, api, json_response
from shared.mongo import Mongo
from shared.outbox import OutboxRelay
from shared.policy import Policy


class IntakeService(ServiceBase, AccountRoutes, GuardRoutes, PrincipalRoutes,
                    ReportExportRoutes, EvidenceRoutes):
    name = "intake"

    config = Config()
    repo = Mongo("intake", Repository)
    relay = OutboxRelay()
    policy = Policy("intake", IntakePolicy())
    # The issuer's private keys (signing_keys.py): intake alone signs tokens.
    token_keys = SigningKeys()
    # Audits every use of the operator's break-glass admin token (audit.py).
    break_glass = BreakGlassWitness()

    # -- token keys ----------------------------------------------------------
    @api("GET", "/.well-known/jwks.json")
    def get_jwks(self, call: Call) -> Any:
        """The public keys (RFC 7517 JWK set) every service verifies tokens with."""
        response = json_response(200, self.token_keys.jwks())
        response.headers["Cache-Control"] = "public, max-age=60"
        return response

    @api("POST", "/admin/signing-keys/rotate", action="admin.manage", answer=s.RotatedOut,
         status=201, keyed=ANSWER)
    def rotate_signing_key(self, call: Call) -> Any:
        """A new key signs from now on; the old ones stay published until
        their tokens have expired."""
        key = self.token_keys.rotate()
        return {"kid": key.kid, "published": [k["kid"] for k in self.token_keys.jwks()["keys"]]}

    # -- organisation (admin) ----------------------------------------------
    @api("POST", "/admin/units", action="admin.manage", body=s.UnitIn, answer=s.UnitOut,
         status=201, keyed=ANSWER)
    def create_unit(self, call: Call) -> Any:
        body = call.body
        parents = {u: d.get("parent_unit_id") for u, d in self.repo.units().items()}
        if body["parent_unit_id"] and body["parent_unit_id"] not in parents:
            raise Invalid("no such parent unit", {"parent_unit_id": ["unknown unit"]})
        parents[body["unit_id"]] = body["parent_unit_id"]
        try:
            path = organisation.unit_path(body["unit_id"], parents)
        except organisation.OrgError:
            depth = organisation.MAX_DEPTH
            raise Invalid("the unit tree would be too deep",
                          {"parent_unit_id": [f"at most {depth} levels"]})
        doc = {"_id": body["unit_id"], **{k: v for k, v in body.items() if k != "unit_id"},
               "path": path}
        if not self.repo.insert("units", doc):
            raise Conflict("a unit with this id exists")
        return doc

    @api("POST", "/admin/officers", action="admin.manage", body=s.OfficerIn, answer=s.OfficerOut,
         status=201, keyed=ANSWER)
    def create_officer(self, call: Call) -> Any:
        unit = self._unit(call.body["unit_id"], "unit_id")
        doc = {"_id": call.body["officer_id"], **{k: v for k, v in call.body.items()
                                                  if k != "officer_id"}}
        if not self.repo.insert("officers", doc):
            raise Conflict("an officer with this id exists")
        token = auth.issue_token(self.token_keys.signing_key(), doc["role"], doc["_id"],
                                 unit["_id"], unit["path"], ttl_days=self._ttl())
        # The officer's account (username: the officer id), to set a password with.
        account = self.new_account(doc["_id"], doc["role"], doc["_id"], by=call)
        return dict(doc, token=token, username=account["_id"], invite=account["invite"],
                    invite_expires_at=account["invite_expires_at"])

    @api("POST", "/admin/companies", action="admin.manage", body=s.CompanyIn, answer=s.CompanyOut,
         status=201, keyed=ANSWER)
    def create_company(self, call: Call) -> Any:
        self._unit(call.body["jurisdiction_unit_id"], "jurisdiction_unit_id")
        body = dict(call.body)
        # Its first user, the owner: the username given, else its credit code
        # (unique already, and what a company signs in to government portals with).
        username = body.pop("username", None) or body["credit_code"]
        if self.repo.account(username) is not None:
            raise Conflict("an account with this username exists")
        now = clock.now()
        doc = {"_id": clock.new_id(), **body, "name_key": search.name_key(body["name"]),
               "created_at": now}
        events = [("company_registered", {"company_id": doc["_id"], "name": doc["name"],
                                          "language": doc["language"],
                                          "contact": doc["contact"]})]
        doc = aggregate.created(doc, self.name, events, now)
        if not self.repo.insert(COMPANIES, doc):
            raise Conflict("a company with this credit code exists")
        self.relay.flush(COMPANIES, doc["_id"])
        token = auth.issue_token(self.token_keys.signing_key(), "company", doc["_id"],
                                 ttl_days=self._ttl(), lang=doc["language"])
        account = self.new_account(username, "company", doc["_id"], "owner", by=call)
        return dict(doc, token=token, username=username, invite=account["invite"],
                    invite_expires_at=account["invite_expires_at"])

    # -- directories ---------------------------------------------------------
    @api("GET", "/units", action="directory.read", answer=s.UnitList)
    def list_units(self, call: Call) -> Any:
        """The unit tree, so an officer can choose a transfer's receiver."""
        return {"items": sorted(self.repo.units().values(), key=lambda u: u["path"][::-1]),
                "next": None}

    @api("GET", "/units/<unit_id>/officers", action="directory.read", answer=s.OfficerList)
    def list_unit_officers(self, call: Call, unit_id: str) -> Any:
        self._unit(unit_id, "unit_id", NotFound)
        return {"items": self.repo.officers_of(unit_id), "next": None}

    @api("GET", "/incident-types", action="incident_type.list", answer=s.IncidentTypeList)
    def list_incident_types(self, call: Call) -> Any:
        lang = language.chosen(call.request.headers.get("Accept-Language"),
                               call.who.language)
        return {"items": domain.incident_types(self.policy, lang), "language": lang,
                "next": None}

    # -- receiving ---------------------------------------------------------
    @api("POST", "/reports", action="report.file", limit="report.file", body=s.ReportIn,
         answer=s.REPORT_VIEWS, status=201,
         keyed=True)
    def file_report(self, call: Call) -> Any:
        who, body = call.who, call.body
        if domain.occurred_too_long_ago(body["occurred_at"], self.policy, clock.now()):
            raise Invalid("the incident lies too far back", {"occurred_at": [
                f"not more than {self.policy['oldest_incident_years']} years ago"]})
        company = self.repo.company(filer_company_id(who, body))
        if company is None:
            raise Invalid("no such company", {"company_id": ["unknown company"]})
        units = self.repo.units()
        owner = organisation.first_contact_owner(who, company, body["incident_type"], units,
                                                 self.policy.get("routing", {}))
        path = organisation.unit_path(owner, {u: d.get("parent_unit_id")
                                              for u, d in units.items()})
        now = clock.now()
        window = timedelta(seconds=domain.DUPLICATE_WINDOW_SECONDS)
        dups = domain.likely_duplicates(body, self.repo.duplicate_candidates(
            company["_id"], body["incident_type"], body["estimated_loss"], body["occurred_at"],
            window))
        ref = domain.reference(now, self.repo.next_reference_number(f"reference-{now:%Y%m%d}"))
        report_id = (idempotency_key.created_id("report", call.key) if call.key
                     else clock.new_id())
        doc, events = domain.new_report(body, who, company, path, self.policy, now,
                                        report_id, ref, dups,
                                        organisation.unit_names(units[path[0]]))
        doc.update(idempotency_key.on_create(call.key, now))
        saved, created = self.repo.insert_report(aggregate.created(doc, self.name, events, now))
        if not created:
            idempotency_key.same_creation(saved, call.key)
        self.relay.flush(REPORTS, saved["_id"], saved["outbox"] if created else None)
        return (201 if created else 200), self._view(who, saved)

    @api("GET", "/reports", action="report.list", query=s.ReportQuery, answer=s.REPORT_LISTS)
    def list_reports(self, call: Call) -> Any:
        q = call.query
        search.check_police_only(call.who, q)
        wanted = [auth.report_filter(call.who)]
        if "q" in q:
            # One report has this reference: found through its unique index,
            # then held to the caller's reach and the other filters by its id.
            report = self.repo.report_by_reference(q["q"])
            wanted.append({"_id": report["_id"] if report else None})
        wanted += search.conditions(q, (("status", "status"), ("incident_type", "incident_type"),
                                        ("unit_id", "owner_unit_path")),
                                    "received_at", self.repo.companies_named)
        found, nxt = self.repo.reports(search.joined(wanted), q["limit"], q.get("after"))
        return pages.Page(call, [self._view(call.who, report) for report in found], nxt)

    @api("GET", "/reports/<report_id>", action="report.read", answer=s.REPORT_VIEWS)
    def get_report(self, call: Call, report_id: str) -> Any:
        return self._view(call.who, self._allowed(call.who, self.repo.report(report_id),
                                                  "report.read"))

    # -- owning it until it is done -----------------------------------------
    @api("POST", "/reports/<report_id>/acknowledge", action="report.act", answer=s.REPORT_VIEWS,
         keyed=True)
    def acknowledge_report(self, call: Call, report_id: str) -> Any:
        return self._act(call, report_id, domain.acknowledge)

    @api("POST", "/reports/<report_id>/accept", action="report.act", answer=s.REPORT_VIEWS,
         keyed=True)
    def accept_report(self, call: Call, report_id: str) -> Any:
        return self._act(call, report_id, domain.accept, self._officer_name(call.who))

    @api("POST", "/reports/<report_id>/transfer", action="report.act", body=s.TransferIn,
         answer=s.REPORT_VIEWS, keyed=True)
    def transfer_report(self, call: Call, report_id: str) -> Any:
        to = self._unit(call.body["to_unit_id"], "to_unit_id")
        return self._act(call, report_id, domain.transfer, to["path"],
                         call.body["reason"], self.policy, organisation.unit_names(to))

    @api("POST", "/reports/<report_id>/transfer/accept", action="report.answer_transfer",
         answer=s.REPORT_VIEWS, keyed=True)
    def accept_transfer(self, call: Call, report_id: str) -> Any:
        return self._act(call, report_id, domain.accept_transfer,
                         action="report.answer_transfer")

    @api("POST", "/reports/<report_id>/transfer/decline", action="report.answer_transfer",
         body=s.ReasonIn, answer=s.REPORT_VIEWS, keyed=True)
    def decline_transfer(self, call: Call, report_id: str) -> Any:
        return self._act(call, report_id, domain.decline_transfer, call.body["reason"],
                         action="report.answer_transfer")

    @api("POST", "/reports/<report_id>/merge", action="report.act", body=s.MergeIn,
         answer=s.REPORT_VIEWS, keyed=True)
    def merge_report(self, call: Call, report_id: str) -> Any:
        report = self.repo.report(report_id)
        if report is not None and idempotency_key.seen(report, call.key):
            return self._retried(call.who, report)
        self._allowed(call.who, report, "report.act")
        into = call.body["into_report_id"]
        # The target must be the caller's unit's too, and one it may not act
        # on is "no such report": moving a report to another unit is a
        # transfer, which that unit consents to, and a merge must not reveal
        # that another unit's report exists.
        target = self.repo.report(into)
        if target is None or not auth.allows(call.who, "report.act", target):
            raise NotFound("no such report", {"into_report_id": ["unknown report"]})
        merge_id = clock.new_id()
        if not self.repo.hold_for_merge((report_id, into), merge_id, clock.now()):
            raise Conflict("another change to one of these reports is under way; "
                           "read them again")
        try:
            def merge(report, who, now):
                # Read again under the hold: no merge can change it meanwhile.
                return domain.merge(report, who, now, self.repo.report(into),
                                    call.body["reason"])
            self._act(call, report_id, merge, merge=merge_id)
            faults.crash_at(self.config, "crash_between_merge_writes")
            merged = self.repo.report(report_id)
            if merged["merged_into"]:
                self.repo.link_merged(merged, merge_id)
            return self._view(call.who, merged)
        finally:
            self.repo.release_merge((report_id, into), merge_id)

    @api("POST", "/reports/<report_id>/materials", action="report.supply_materials",
         limit="report.supply_materials",
         body=s.MaterialsIn, answer=s.REPORT_VIEWS, keyed=True)
    def supply_materials(self, call: Call, report_id: str) -> Any:
        return self._act(call, report_id, materials.supply, call.body["supplied"],
                         action="report.supply_materials")

    @api("POST", "/reports/<report_id>/materials/extra", action="report.act",
         body=s.ExtraMaterialsIn, answer=s.REPORT_VIEWS, keyed=True)
    def request_extra_materials(self, call: Call, report_id: str) -> Any:
        return self._act(call, report_id, materials.request_extra, call.body["items"],
                         call.body["reason"])

    # -- questions from other services (RPC) -----------------------------------
    @rpc
    def officer(self, officer_id):
        """Who an officer is, for a service that must check one now; None if unknown."""
        faults.crash_at(self.config, "crash_in_rpc:officer")  # mid-call, unanswered
        found = self.repo.officer(str(officer_id))
        if found is None:
            return None
        unit = self.repo.unit(found["unit_id"])
        return {"officer_id": found["_id"], "name": found["name"], "role": found["role"],
                "unit_id": found["unit_id"], "unit_path": unit["path"]}

    @rpc
    def companies_named(self, prefix):
        """The ids of the companies whose name starts with `prefix`, for a
        search in another service (shared/search.py bounds them)."""
        return self.repo.companies_named(str(prefix))

    @rpc
    def unit_people(self, unit_id, since=None):
        """A unit's path up the tree and its people (officers and supervisors),
        for notify's alerts (who to page, and who is next up the ladder);
        None if the unit is unknown. `since`: when the event the alert is
        for occurred (a timestamp), if it is for one: the directory as it
        was then serves it, as it serves the event's own handling
        (shared/kept.py), so under load the ask reads no counter of its own."""
        if since is not None:
            self.repo.kept.after(datetime.fromtimestamp(float(since), timezone.utc))
        unit = self.repo.unit(str(unit_id))
        if unit is None:
            return None
        return {"unit_id": unit["_id"], "path": unit["path"],
                "people": [{"officer_id": o["_id"], "name": o["name"], "role": o["role"]}
                           for o in self.repo.officers_of(unit["_id"])]}

    # -- clocks and relay (every instance; each step claimed by one) ---------
    @timer(interval=1)
    def sweep_deadlines(self):
        now = clock.now()
        steps = {"ack_next_at": lambda r: deadlines.ack_overdue(r, self.policy, now,
                                                                domain.event_data),
                 "transfer_next_at": lambda r: deadlines.transfer_overdue(r, now,
                                                                          domain.event_data),
                 "same_day_due_at": lambda r: deadlines.same_day_missed(r, now,
                                                                        domain.event_data)}
        # A report with two clocks run out takes one a round, in
        # deadlines.CLOCKS' order; a round that moved no clock ends it (a
        # step that lost to another writer is tried at the next tick).
        for _ in deadlines.CLOCKS:
            moved = 0
            for report in self.repo.due(now):
                run_out = deadlines.first_run_out(report, now)
                if run_out == "merge_link_due_at":
                    # A merge whose process died between its two writes.
                    self.repo.link_merged(report)
                    moved += 1
                elif run_out is not None:
                    moved += bool(self._save(report, steps[run_out](report), now))
                else:
                    self.repo.mend_next_due(report)
            if not moved:
                break

    @timer(interval=2)
    def relay_outbox(self):
        self.relay.sweep([REPORTS, COMPANIES])

    # -- helpers -----------------------------------------------------------
    def _ttl(self):
        return int(self.config.get("TOKEN_TTL_DAYS") or 365)

    def _unit(self, unit_id, field, missing=Invalid):
        unit = self.repo.unit(unit_id)
        if unit is None:
            raise missing("no such unit", {field: ["unknown unit"]})
        return unit

    @staticmethod
    def _view(who, report):
        """The company's view of its report, or the police view."""
        view = s.CompanyReportOut if who.role == "company" else s.ReportOut
        return schema(view).dump(report)

    def _officer_name(self, who):
        """The display name a company reads for the officer acting now."""
        officer = self.repo.officer(who.subject)
        return officer["name"] if officer else None

    def _allowed(self, who, report, action):
        # 404, not 403: another company's or unit's report must not be seen to exist.
        if report is None or not auth.allows(who, action, report):
            raise NotFound("no such report")
        return report

    def _act(self, call, report_id, command, *args, action="report.act", merge=None):
        return aggregate.run(
            call, lambda: self.repo.report(report_id, with_outbox=True),
            lambda report: self._allowed(call.who, report, action),
            lambda report, now: command(report, call.who, now, *args),
            lambda report, change, also, now: self._save(report, change, now, also, merge),
            lambda report: self._view(call.who, report),
            lambda report: self._retried(call.who, report))

    def _retried(self, who, report):
        """The answer to a retry after a lost answer: it is done already.
        Found before who may act now is asked, since the first call may have
        ended the caller's part (a declined transfer); only the caller's own
        key can match."""
        if auth.allows(who, "report.read", report):
            return self._view(who, report)
        return json_response(200, {"report_id": report["_id"], "status": report["status"]})

    def _save(self, report, change, now, also=(), merge=None):
        """The change and its events in one conditional write, handed to the
        relay as written; False if it lost, else the report as the write
        left it when that is known (aggregate.save's `after`), or True."""
        written = self.repo.save_report(report, self.name, change, now, also, merge)
        if written is None:
            return False
        self.relay.flush(REPORTS, report["_id"], written.get("outbox"))
        return written.get("after") or True


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

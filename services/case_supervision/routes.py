"""The case routes: each loads the case, checks who may act (shared/auth.py),
applies one rule, and stores it through `change` (one conditional write)."""
from typing import Any

from services.case_supervision import clocks, domain, escalation
from services.case_supervision import schemas as s
from services.case_supervision.parts import CaseServiceParts
from shared import aggregate, auth, pages, search
from shared.errors import Forbidden, Invalid, NotFound
from shared.fields import schema
from shared.http import Call, api


class CaseRoutes(CaseServiceParts):
    def known_officer(self, officer_id):
        """Intake owns the officers: ask it now (bounded RPC), after the caller
        was found allowed to act, so unknown ids reveal nothing to outsiders.
        The officer as intake knows it (officer_id, name, unit …)."""
        officer = self.intake.call("officer", officer_id)
        if officer is None:
            raise Invalid("no such officer", {"officer_id": ["unknown officer"]})
        return officer

    # -- reads -------------------------------------------------------------
    @api("GET", "/cases", action="case.list", query=s.CaseQuery, answer=s.CASE_LISTS)
    def list_cases(self, call: Call) -> Any:
        q = call.query
        search.check_police_only(call.who, q)
        wanted = [auth.case_filter(call.who)]
        for key in ("report_id", "q"):
            if key in q:
                # A report has one case, a number or reference names one: found
                # through its unique index, then held to the caller's reach and
                # the other filters by its id (pages.read reads that one case).
                case = (self.repo.case_of_report(q[key]) if key == "report_id"
                        else self.repo.case_quoted(q[key]))
                wanted.append({"_id": case["_id"] if case else None})
        wanted += search.conditions(
            q, (("status", "stage"), ("stale", "stale"), ("incident_type", "incident_type"),
                ("priority", "priority"), ("supervision", "supervision.level"),
                ("unit_id", "unit_path")),
            "opened_at", lambda prefix: self.intake.call("companies_named", prefix))
        found, nxt = self.repo.cases(search.joined(wanted), q["limit"], q.get("after"))
        return pages.Page(call, self.view(call.who)(many=True).dump(found), nxt)

    @api("GET", "/cases/<case_id>", action="case.read", answer=s.CASE_VIEWS)
    def get_case(self, call: Call, case_id: str) -> Any:
        return schema(self.view(call.who)).dump(self.visible_case(call.who, case_id))

    # -- the team's work ---------------------------------------------------
    @api("POST", "/cases/<case_id>/progress", action="case.work", body=s.ProgressIn,
         keyed=True, answer=s.CASE_VIEWS)
    def progress_case(self, call: Call, case_id: str) -> Any:
        return self.act(call, case_id, "case.work",
                        lambda case, now: domain.progress(case, call.who, call.body, now))

    @api("POST", "/cases/<case_id>/conclude", action="case.work", body=s.ConcludeIn,
         keyed=True, answer=s.CASE_VIEWS)
    def conclude_case(self, call: Call, case_id: str) -> Any:
        return self.act(call, case_id, "case.work",
                        lambda case, now: domain.conclude(case, call.who, call.body, now))

    @api("POST", "/cases/<case_id>/pause", action="case.work", body=s.ReasonIn,
         keyed=True, answer=s.CASE_VIEWS)
    def pause_case(self, call: Call, case_id: str) -> Any:
        """Waiting on the company by hand: the clocks stop."""
        return self.act(call, case_id, "case.work", lambda case, now: must(
            domain.pause(case, call.who.subject, call.who.role, call.body["reason"], now),
            "the case is paused already, or concluded"))

    @api("POST", "/cases/<case_id>/resume", action="case.work", keyed=True, answer=s.CASE_VIEWS)
    def resume_case(self, call: Call, case_id: str) -> Any:
        return self.act(call, case_id, "case.work", lambda case, now: must(
            domain.resume(case, call.who.subject, call.who.role, now), "the case is not paused"))

    @api("POST", "/cases/<case_id>/team", action="case.manage_team", body=s.MemberIn,
         keyed=True, answer=s.CASE_VIEWS)
    def add_team_member(self, call: Call, case_id: str) -> Any:
        return self.act(call, case_id, "case.manage_team", lambda case, now: domain.add_member(
            case, call.who, self.known_officer(call.body["officer_id"])["officer_id"], now))

    # -- supervision -------------------------------------------------------
    @api("POST", "/cases/<case_id>/lead", action="case.supervise", body=s.LeadIn,
         keyed=True, answer=s.CASE_VIEWS)
    def reassign_lead(self, call: Call, case_id: str) -> Any:
        return self.act(call, case_id, "case.supervise",
                        lambda case, now: domain.reassign_lead(
                            case, call.who, self.known_officer(call.body["officer_id"]),
                            call.body["reason"], now))

    @api("POST", "/cases/<case_id>/escalate", action="case.supervise", body=s.ReasonIn,
         keyed=True, answer=s.CASE_VIEWS)
    def escalate_case(self, call: Call, case_id: str) -> Any:
        return self.act(call, case_id, "case.supervise",
                        lambda case, now: escalation.escalate_by_hand(
                            case, call.who, call.body["reason"], now))

    @api("POST", "/cases/<case_id>/deadline", action="case.supervise", body=s.DeadlineIn,
         keyed=True, answer=s.CASE_VIEWS)
    def set_case_deadline(self, call: Call, case_id: str) -> Any:
        return self.act(call, case_id, "case.supervise",
                        lambda case, now: clocks.set_deadline(case, call.who, call.body, now))

    @api("POST", "/cases/<case_id>/close", action="case.sign_off", keyed=True, answer=s.CASE_VIEWS)
    def close_case(self, call: Call, case_id: str) -> Any:
        return self.act(call, case_id, "case.sign_off",
                        lambda case, now: domain.close(case, call.who, now))

    @api("POST", "/cases/<case_id>/reopen", action="case.reopen", body=s.ReasonIn,
         keyed=True, answer=s.CASE_VIEWS)
    def reopen_case(self, call: Call, case_id: str) -> Any:
        return self.act(call, case_id, "case.reopen", lambda case, now: domain.reopen(
            case, call.who, call.body["reason"], now))

    # -- the company -------------------------------------------------------
    @api("POST", "/cases/<case_id>/satisfaction", action="case.rate", body=s.SatisfactionIn,
         status=201, keyed=True, answer=s.CASE_VIEWS)
    def rate_case(self, call: Call, case_id: str) -> Any:
        return self.act(call, case_id, "case.rate",
                        lambda case, now: domain.rate(case, call.who, call.body, now))

    # -- helpers -----------------------------------------------------------
    def view(self, who):
        return s.CompanyCaseOut if who.role == "company" else s.CaseOut

    def visible_case(self, who, case_id):
        return self.visible(who, self.repo.case(case_id))

    def visible(self, who, case):
        # 404, not 403: a case one may not read must not be seen to exist.
        if case is None or not auth.allows(who, "case.read", case):
            raise NotFound("no such case")
        return case

    def act(self, call, case_id, action, command):
        def may_act(case):
            case = self.visible(call.who, case)
            if not auth.allows(call.who, action, case):
                raise Forbidden("you may not do this on this case")
            return case
        return aggregate.run(call, lambda: self.repo.case(case_id), may_act, command,
                             self.store, lambda case: schema(self.view(call.who)).dump(
                                 self.visible(call.who, case)))


def must(result, refusal):
    if result is None:
        raise domain.RuleError(refusal)
    return result

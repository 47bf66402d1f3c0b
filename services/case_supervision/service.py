"""Case supervision: the dedicated, flagged, fast-tracked case (專案偵辦,
掛牌督辦, 快偵快辦), opened once from each accepted report.

The service class is assembled from three parts: the case routes
(routes.py), the ledger and scorecard with the facts they are built from
(ledger.py), and the timers (sweep.py). Here: the dependencies, the intake
events that open or pause a case, and the one write path every change takes.
"""
from nameko.events import event_handler

from services.case_supervision import accountability, clocks, domain
from services.case_supervision.exports import ExportRoutes
from services.case_supervision.ledger import LedgerRoutes
from services.case_supervision.policy import CasePolicy
from services.case_supervision.repository import CASES, Repository, StaleCase, applied_mark
from services.case_supervision.routes import CaseRoutes
from services.case_supervision.sweep import Sweep
from shared import aggregate, clock
from shared.errors import Conflict
from shared.base import ServiceBase
from shared.mongo import Mongo
from shared.outbox import OutboxRelay
from shared.rpc import BoundedRpc


class CaseSupervisionService(CaseRoutes, LedgerRoutes, ExportRoutes, Sweep, ServiceBase):
    name = "case_supervision"

    repo = Mongo("cases", Repository)
    relay = OutboxRelay()
    policy = CasePolicy()
    intake = BoundedRpc("intake")  # officers are intake's: asked when a team changes

    # -- events in ---------------------------------------------------------
    # Each handler here is folded into its effect (shared/inbox.py): the
    # case's id comes from the report's, and a change an event makes to a
    # case records the event's id in the case's `applied` list in the same
    # conditional write, so a redelivery finds it there and changes nothing.
    @event_handler("intake", "report_accepted")
    def handle_report_accepted(self, body):
        self.inbox.consume(body, self.open_case, folded=True)

    def open_case(self, event):
        """受案必查: one case per accepted report, whatever the redeliveries.
        The case carries the accepted report's fact and its own opening's,
        in the one insert (no fact written apart, no inbox record)."""
        accepted = event["data"]
        self.learn_unit_path(accepted)
        # Not asked first whether it is open already (issue 19: a read a
        # report): the insert, keyed by the case id, says so. A redelivery
        # so takes a case number it does not use; numbers are unique and
        # increasing, not gapless (repository.next_case_number).
        now = clock.now()
        number = domain.case_number(now.year, self.repo.next_case_number(now.year))
        case = dict(domain.open_case(accepted, self.policy, number, now))
        case.update(clocks.schedule(case, self.policy))
        # Where the acceptance stands in its report's order: notify tells
        # the company of the opening only after it (ordering.py).
        opened = dict(domain.base_data(case), accepted_sequence=event["sequence"])
        doc = aggregate.created_by_event(case, self.name, [("case_opened", opened)], now)
        doc["facts"] = accountability.case_facts(event, doc["first_events"][0], self.path_of)
        fresh = self.repo.insert_case(doc)
        # Published before the event is acked, and again on a redelivery
        # (the case was there): the consumed event is the opening's outbox.
        first = doc["first_events"] if fresh else self.repo.first_events(accepted["case_id"])
        if first is None:   # opened before first_events: its outbox holds them
            self.relay.flush(CASES, accepted["case_id"])
        else:
            self.relay.publish(first)
        return fresh

    @event_handler("intake", "report_extra_materials_requested")
    def handle_extra_materials_requested(self, body):
        self.inbox.consume(body, self.wait_on_company, folded=True)

    def wait_on_company(self, event):
        """Materials asked of the company after the case opened: its clocks
        stop until they come (the request itself counts against the unit)."""
        fresh = self.record_fact(event)
        data = event["data"]
        case = self.repo.case_of_report(data["report_id"])
        if case is None or domain.applied(case, event["event_id"]):
            return fresh
        items = [i["code"] if isinstance(i, dict) else i for i in data.get("items") or ()]
        reason = "waiting on the company for materials: " + ", ".join(items)
        self.change(case, domain.pause(case, data.get("requested_by") or "intake", "officer",
                                       reason, clock.now(), kind="materials",
                                       waiting_for=items), if_changed=StaleCase,
                    by_event=event)
        return True

    @event_handler("intake", "report_materials_supplied")
    def handle_materials_supplied(self, body):
        self.inbox.consume(body, self.resume_on_materials, folded=True)

    def resume_on_materials(self, event):
        data = event["data"]
        case = self.repo.case_of_report(data["report_id"])
        if case is None or domain.applied(case, event["event_id"]):
            return False
        if not domain.waiting_satisfied(case, data.get("missing") or ()):
            return True
        self.change(case, domain.resume(case, "company", "company", clock.now(),
                                        "materials supplied"), if_changed=StaleCase,
                    by_event=event)
        return True

    @event_handler("intake", "report_evidence_recorded")
    def handle_evidence_recorded(self, body):
        self.inbox.consume(body, self.record_evidence)

    def record_evidence(self, event):
        """An evidence file uploaded, superseded or disclosed on the case's
        report: a step of the case's history too (once, however redelivered)."""
        case = self.repo.case_of_report(event["data"]["report_id"])
        if case is not None:
            self.change(case, domain.evidence_step(case, event["data"]), if_changed=StaleCase)

    # -- the one write path ------------------------------------------------
    def store(self, case, result, also, now):
        """A command's result, its schedule and its events in one conditional
        write (shared/aggregate.py); True if this write won."""
        change = clocks.finish(case, result, self.policy, now)
        written = self.repo.save_case(case, self.name, change, now, also)
        if written is None:
            return False
        self.relay.flush(CASES, case["_id"], written.get("outbox"))
        return True

    def change(self, case, result, if_changed=Conflict, by_event=None):
        """Store a command's result. A concurrent change raises `if_changed`:
        a Conflict (409) for a person, or StaleCase for an event handler or a
        timer, which the inbox records and retries later. `by_event`: the
        event that caused it, recorded on the case in the same write."""
        if result is None:
            return case
        also = [applied_mark(by_event["event_id"])] if by_event else []
        if not self.store(case, result, also, clock.now()):
            raise if_changed("the case changed meanwhile; read it again")
        return self.repo.case(case["_id"])


"""Case supervision: the dedicated, flagged, fast-tracked case (專案偵辦,
掛牌督辦, 快偵快辦), opened once from each accepted report."""
from nameko.events import event_handler
from nameko.timer import timer

from services.case_supervision import domain
from services.case_supervision import schemas as s
from services.case_supervision.repository import CASES, Repository
from shared import auth, clock, outbox
from shared.errors import NotFound
from shared.http import ServiceBase, api
from shared.mongo import Mongo
from shared.outbox import OutboxRelay
from shared.policy import Policy


class CaseSupervisionService(ServiceBase):
    name = "case_supervision"

    repo = Mongo("cases", Repository)
    relay = OutboxRelay()
    policy = Policy("cases")

    # -- events in ---------------------------------------------------------
    @event_handler("intake", "report_accepted")
    def handle_report_accepted(self, body):
        self.inbox.consume(body, self.open_case)

    def open_case(self, event):
        """受案必查: one case per accepted report, whatever the redeliveries."""
        accepted = event["data"]
        if not self.repo.case_exists(accepted["case_id"]):
            now = clock.now()
            number = domain.case_number(
                now.year, self.repo.next_number(f"case-{now.year}"))
            case, events = domain.open_case(accepted, self.policy, number, now)
            case.update(outbox.on_insert(
                outbox.record(self.name, case["_id"], 0, events, now), now))
            self.repo.insert_case(case)
        self.relay.flush(CASES, accepted["case_id"])

    # -- reads -------------------------------------------------------------
    @api("GET", "/cases", roles=("company", *auth.POLICE), query=s.CaseQuery)
    def list_cases(self, call):
        query = auth.case_filter(call.who)
        for key, field in (("report_id", "report_id"), ("status", "stage")):
            if key in call.query:
                query[field] = call.query[key]
        view = s.CompanyCaseOut if call.who.role == "company" else s.CaseOut
        return {"items": view(many=True).dump(self.repo.cases(query, call.query["limit"]))}

    @api("GET", "/cases/<case_id>", roles=("company", *auth.POLICE))
    def get_case(self, call, case_id):
        case = self.repo.case(case_id)
        if case is None or not auth.can_read_case(call.who, case):
            raise NotFound("no such case")
        view = s.CompanyCaseOut if call.who.role == "company" else s.CaseOut
        return view().dump(case)

    # -- timers ------------------------------------------------------------
    @timer(interval=2)
    def relay_outbox(self):
        self.relay.sweep([CASES])

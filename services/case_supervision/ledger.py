"""The ledger (問題臺賬) and the units' scorecards, and the facts both are
built from: intake's events and this service's own case events, each taken
through the inbox, so a fact is recorded once and none is lost — a ledger
item exists because its event was stored with the state change that caused
it (the outbox), never by a second write that a crash could skip."""
from datetime import datetime, timedelta, timezone
from typing import Any

from nameko.events import event_handler

from services.case_supervision import accountability, domain
from services.case_supervision import schemas as s
from services.case_supervision.parts import CaseServiceParts
from shared import auth, clock, pages, search
from shared.errors import Conflict, NotFound
from shared.events import ALERT_CLIMBED, CASE_FACTS, INTAKE_FACTS, handles
from shared.idempotency_key import ANSWER
from shared.http import Call, api

DEFAULT_RANGE = timedelta(days=30)


class LedgerRoutes(CaseServiceParts):
    # -- facts in ----------------------------------------------------------
    @handles("intake", INTAKE_FACTS)
    @handles("case_supervision", CASE_FACTS)
    def handle_fact(self, body):
        # The facts log is the unit's accountability trail (責任倒查): every
        # case event but the opening, whose fact the case carries. Folded:
        # the fact's key is the event's (source, subject, sequence), so the
        # fact is its own inbox record.
        self.inbox.consume(body, self.record_fact, folded=True)

    def record_fact(self, event):
        """The event's fact and, for a problem, its ledger item; False when
        the fact was there already (a redelivery)."""
        data = event["data"]
        self.learn_unit_path(data)
        if event["type"] in accountability.WITH_THE_CASE:
            return None  # written with the case by open_case
        fact = accountability.fact_for(event, self.path_of)
        if fact is None:
            return None
        fresh = self.repo.add_fact(fact)
        item = accountability.ledger_item(fact, data)
        if item:
            # Tried on a redelivery too: a crash may have come between the two.
            self.repo.add_ledger_item(item)
        return fresh

    def learn_unit_path(self, data):
        path = data.get("unit_path") or data.get("owner_unit_path")
        if path:
            self.repo.learn_unit_path(path)

    @event_handler("notify", ALERT_CLIMBED)
    def handle_alert_climbed(self, body):
        self.inbox.consume(body, self.record_climb)

    def record_climb(self, event):
        """An alert to police nobody acknowledged in time moved on: a ledger
        row against the unit whose person was not reached (once: its id is
        the event's source, subject and sequence)."""
        self.repo.learn_unit_path(event["data"]["unit_path"])
        self.repo.add_ledger_item(climb_item(event))

    def path_of(self, unit_id, data):
        for key in ("unit_path", "owner_unit_path"):
            path = data.get(key) or []
            if unit_id in path:
                return path[path.index(unit_id):]
        return self.repo.unit_path(unit_id) or [unit_id]

    # -- the ledger --------------------------------------------------------
    @api("GET", "/ledger", action="ledger.read", query=s.LedgerQuery, answer=s.LedgerList)
    def list_ledger(self, call: Call) -> Any:
        q = call.query
        query = auth.ledger_filter(call.who)
        for key in ("status", "unit_id", "case_id"):
            if key in q:
                query[key] = q[key]
        if "start" in q or "end" in q:
            query["created_at"] = search.window(q.get("start"), q.get("end"))
        found, nxt = self.repo.ledger(query, q["limit"], q.get("after"))
        return pages.Page(call, found, nxt)

    @api("POST", "/ledger/<item_id>/resolve", action="ledger.resolve", body=s.NoteIn,
         answer=s.LedgerItemOut, keyed=ANSWER)
    def resolve_ledger_item(self, call: Call, item_id: str) -> Any:
        item = self.repo.ledger_item(item_id)
        if item is None or not auth.allows(call.who, "ledger.resolve", item):
            raise NotFound("no such ledger item")
        try:
            fields = accountability.resolve(item, call.who, call.body["note"], clock.now())
        except domain.RuleError as exc:
            raise Conflict(str(exc))
        if not self.repo.resolve_ledger_item(item_id, fields):
            raise Conflict("this ledger item is closed off already")
        return self.repo.ledger_item(item_id)

    # -- the scorecard -----------------------------------------------------
    @api("GET", "/units/<unit_id>/scorecard", action="scorecard.read",
         query=s.Range, answer=s.ScorecardOut)
    def unit_scorecard(self, call: Call, unit_id: str) -> Any:
        path = self.repo.unit_path(unit_id)
        if path is None or not auth.allows(call.who, "scorecard.read", path):
            raise NotFound("no such unit")
        end = call.query.get("end") or datetime.now(timezone.utc)
        start = call.query.get("start") or end - DEFAULT_RANGE
        facts = self.repo.facts(unit_id, start, end)
        acked = {f["report_id"] for f in facts if f["kind"] in ("acknowledged", "accepted")}
        return accountability.scorecard(unit_id, facts, self.repo.received_at(acked),
                                        start, end)


CLIMB_DETAIL = ("alert_id", "alert_kind", "event_type", "not_reached", "not_reached_role",
                "ack_due_at", "to_unit_id", "told_next")


def climb_item(event):
    """The ledger row of an unacknowledged alert's climb (notify's event)."""
    data = event["data"]
    return {"_id": accountability.fact_key(event), "kind": "alert_unacknowledged",
            "unit_id": data["unit_id"], "unit_path": data["unit_path"],
            "case_id": data.get("case_id"), "case_number": data.get("case_number"),
            "report_id": data.get("report_id"), "reference": data.get("reference"),
            "detail": {k: data.get(k) for k in CLIMB_DETAIL},
            "created_at": accountability.as_time(data.get("climbed_at")
                                                 or event["occurred_at"]),
            "status": "open", "resolution": None}

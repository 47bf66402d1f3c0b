"""The units side by side (曝光臺) and the exports a supervisor takes away:
the ledger (問題臺賬) and the scorecards, as CSV or XLSX (shared/exports.py
neutralises every text cell a spreadsheet would run as a formula)."""
from datetime import datetime, timezone
from typing import Any

from services.case_supervision import accountability
from services.case_supervision import schemas as s
from services.case_supervision.ledger import DEFAULT_RANGE
from services.case_supervision.parts import CaseServiceParts
from shared import auth, exports, search
from shared.http import Call, api

LEDGER_COLUMNS = ("item_id", "kind", "unit_id", "case_number", "reference", "created_at",
                  "status", "detail", "resolved_by", "resolved_at", "resolution_note")
SCORECARD_COLUMNS = ("unit_id", "from", "to", "acknowledged", "ack_median_seconds",
                     "ack_p90_seconds", "transfers_out", "deadlines_missed", "ack_overdue",
                     "transfer_overdue", "escalations", "same_day_misses",
                     "extra_material_requests", "concluded", "loss_estimated",
                     "loss_recovered", "loss_frozen", "satisfaction_average",
                     "satisfaction_count")


def ledger_row(item):
    done = item.get("resolution") or {}
    detail = "; ".join(f"{k}={v}" for k, v in sorted((item.get("detail") or {}).items()))
    return (item["_id"], item["kind"], item["unit_id"], item.get("case_number"),
            item.get("reference"), item["created_at"].replace(tzinfo=timezone.utc),
            item["status"], detail, done.get("by"),
            done["at"].replace(tzinfo=timezone.utc) if done.get("at") else None,
            done.get("note"))


def scorecard_row(card):
    ack, loss, rated = card["time_to_acknowledge"], card["loss"], card["satisfaction"]
    return (card["unit_id"], card["start"], card["end"], ack["count"], ack["median_seconds"],
            ack["p90_seconds"], card["transfers_out"], card["deadlines_missed"],
            card["ack_overdue"], card["transfer_overdue"], card["escalations"],
            card["same_day_misses"], card["extra_material_requests"],
            sum(card["concluded"].values()), loss["estimated"], loss["recovered"],
            loss["frozen"], rated["average"], rated["count"])


class ExportRoutes(CaseServiceParts):
    @api("GET", "/scorecards", action="scorecard.read", query=s.Range, answer=s.ScorecardList)
    def list_scorecards(self, call: Call) -> Any:
        """Every unit in the caller's reach, side by side, over one range."""
        return {"items": self._scorecards(call)}

    @api("GET", "/scorecards/export", action="scorecard.read", query=s.RangeExport)
    def export_scorecards(self, call: Call) -> Any:
        rows = [scorecard_row(c) for c in self._scorecards(call)]
        return exports.download(call.query["format"], "scorecards", SCORECARD_COLUMNS, rows)

    @api("GET", "/ledger/export", action="ledger.read", query=s.LedgerExport)
    def export_ledger(self, call: Call) -> Any:
        q = call.query
        query = auth.ledger_filter(call.who)
        for key in ("status", "unit_id"):
            if key in q:
                query[key] = q[key]
        if "start" in q or "end" in q:
            query["created_at"] = search.window(q.get("start"), q.get("end"))
        items, _ = self.repo.ledger(query, exports.MAX_ROWS, None)
        return exports.download(q["format"], "ledger", LEDGER_COLUMNS,
                                [ledger_row(i) for i in items])

    def _scorecards(self, call):
        end = call.query.get("end") or datetime.now(timezone.utc)
        start = call.query.get("start") or end - DEFAULT_RANGE
        cards = []
        for unit_id, path in self.repo.units_under(
                None if call.who.role == "admin" else call.who.unit):
            if not auth.allows(call.who, "scorecard.read", path):
                continue
            facts = self.repo.facts(unit_id, start, end)
            acked = {f["report_id"] for f in facts if f["kind"] in ("acknowledged", "accepted")}
            cards.append(accountability.scorecard(unit_id, facts, self.repo.received_at(acked),
                                                  start, end))
        return cards

"""The reports in an officer's reach, as CSV or XLSX (shared/exports.py):
what a station prints for its morning meeting. Company names and summaries
are the companies' own text, so every cell is neutralised on the way out."""
from typing import Any

from services.intake import schemas as s
from services.intake.repository import COMPANIES
from shared import auth, clock, exports
from shared.http import Call, api

COLUMNS = ("reference", "received_at", "status", "company", "incident_type", "summary",
           "estimated_loss", "owner_unit", "acknowledged_at", "accepted_at")


class ReportExportRoutes:
    repo: Any

    @api("GET", "/reports/export", action="report.export", query=s.ReportExport)
    def export_reports(self, call: Call) -> Any:
        query = auth.report_filter(call.who)
        if "status" in call.query:
            query = {"$and": [query, {"status": call.query["status"]}]}
        found, _ = self.repo.reports(query, exports.MAX_ROWS, None)
        names = {c["_id"]: c["name"] for c in self.repo.db[COMPANIES].find(
            {"_id": {"$in": list({r["company_id"] for r in found})}}, {"name": 1})}
        rows = [row(r, names) for r in found]
        return exports.download(call.query["format"], "reports", COLUMNS, rows)


def row(report, company_names):
    units = report.get("owner_unit_names") or {}
    return (report["reference"], clock.utc(report["received_at"]), report["status"],
            company_names.get(report["company_id"], ""), report["incident_type"],
            report["summary"], report.get("estimated_loss"),
            units.get("zh-CN") or report["owner_unit_id"],
            clock.utc(report.get("acknowledged_at")), clock.utc(report.get("accepted_at")))

"""The business's pages: its reports and cases, filing a report, the
one-time checklist, and a case timeline that updates itself."""
from services.web import forms
from services.web.api import ApiError, NotFound
from services.web.pages import Page, page

ROLE = ("company",)


def timeline(report, case):
    """The steps the company may see, oldest first: from the report's dates
    and the case's disclosed updates (the company views of both)."""
    steps = []
    if report.get("received_at"):
        steps.append({"at": report["received_at"], "kind": "received"})
    if report.get("acknowledged_at"):
        steps.append({"at": report["acknowledged_at"], "kind": "acknowledged"})
    if case:
        steps.append({"at": case.get("opened_at") or report.get("accepted_at"),
                      "kind": "case_opened", "case": case})
        for update in case.get("updates") or []:
            steps.append({"at": update["at"], "kind": "progress", "stage": update.get("stage"),
                          "note": update.get("note")})
        if case.get("conclusion"):
            steps.append({"at": case["conclusion"].get("at") or case.get("concluded_at"),
                          "kind": "concluded", "result": case.get("result")})
    elif report.get("accepted_at"):
        steps.append({"at": report["accepted_at"], "kind": "accepted"})
    if report.get("merged_into"):
        steps.append({"at": None, "kind": "merged"})
    return steps


class Business:
    @page("GET", "/business", ROLE)
    def business_home(self, p: Page):
        reports = p.api("intake").get("/reports", limit=100)["items"]
        cases = {c["report_id"]: c for c in p.api("cases").get("/cases", limit=100)["items"]}
        reports.sort(key=lambda r: r.get("received_at") or "", reverse=True)
        return p.render("business/home.html", reports=reports, cases=cases)

    def _types(self, p: Page):
        return p.api("intake").get("/incident-types")["items"]

    @page("GET", "/business/reports/new", ROLE)
    def new_report_form(self, p: Page):
        return p.render("business/new_report.html", types=self._types(p), values={},
                        errors={}, key=forms.new_key())

    @page("POST", "/business/reports/new", ROLE)
    def file_report(self, p: Page):
        key = p.form.get("idempotency_key") or forms.new_key()
        try:
            report = p.api("intake").post("/reports", forms.report_body(p.form), key=key)
        except NotFound:
            raise
        except ApiError as exc:
            if exc.status not in (400, 409, 422):
                raise
            # Back to the form with what was typed, each message by its field;
            # the same key, so a resubmit after fixing files once.
            errors = forms.field_errors(exc.fields)
            return p.render("business/new_report.html", status=422, types=self._types(p),
                            values=p.form, errors=errors, key=key if exc.status != 409
                            else forms.new_key(), problem=exc.detail)
        return p.redirect(f"/business/reports/{report['report_id']}?filed=1")

    def _report_and_case(self, p: Page, report_id):
        report = p.api("intake").get(f"/reports/{report_id}")
        case = None
        if report.get("case_id"):
            found = p.api("cases").get("/cases", report_id=report_id)["items"]
            case = found[0] if found else None
        return report, case

    @page("GET", "/business/reports/<report_id>", ROLE)
    def business_report(self, p: Page, report_id):
        report, case = self._report_and_case(p, report_id)
        return p.render("business/report.html", report=report, case=case,
                        steps=timeline(report, case), filed=p.request.args.get("filed"),
                        key=forms.new_key())

    @page("GET", "/business/reports/<report_id>/timeline", ROLE)
    def business_timeline(self, p: Page, report_id):
        """The timeline alone, which the report page asks for every few seconds."""
        report, case = self._report_and_case(p, report_id)
        # 286 tells htmx to stop asking: nothing more will happen to it.
        ended = report["status"] == "merged" or (case or {}).get("stage") == "closed"
        return p.render("business/_timeline.html", status=286 if ended else 200,
                        report=report, case=case, steps=timeline(report, case))

    @page("POST", "/business/reports/<report_id>/materials", ROLE)
    def supply_materials(self, p: Page, report_id):
        codes = p.form.getlist("supplied")
        if codes:
            p.api("intake").post(f"/reports/{report_id}/materials", {"supplied": codes},
                                 key=p.form.get("idempotency_key"))
            p.flash(p.t("Marked as handed in."))
        return p.redirect(f"/business/reports/{report_id}")

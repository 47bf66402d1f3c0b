"""The case officer's pages: the unit's queue by what is due next, a
report's page with its actions (acknowledge, accept, transfer, answer a
transfer offer), finding by reference, and the officer's cases with the
progress form."""
from services.web import display, forms
from services.web.api import ApiError
from services.web.pages import Page, PageNotFound, page

ROLE = ("officer", "supervisor")
OPEN = ("received", "acknowledged", "transfer_pending")
# The action a form names -> the intake route it calls.
ACTIONS = {"acknowledge": "acknowledge", "accept": "accept",
           "transfer-accept": "transfer/accept", "transfer-decline": "transfer/decline",
           "transfer": "transfer"}


def queue_items(reports, unit, now):
    """The open reports of the unit, each with what it waits for and by
    when, sorted by what is due next (no due time last, oldest first)."""
    items = []
    for r in reports:
        if r["status"] not in OPEN:
            continue
        offer = r.get("transfer") or {}
        if r["status"] == "transfer_pending" and offer.get("to_unit_id") == unit:
            kind, due = "offer_in", offer.get("respond_by")
        elif r["status"] == "transfer_pending":
            kind, due = "offer_out", offer.get("respond_by")
        elif r["status"] == "received":
            kind, due = "acknowledge", r.get("ack_due_at")
        else:
            kind, due = "accept", None
        items.append({"report": r, "kind": kind, "due": due,
                      "left": display.remaining(due, now)})
    items.sort(key=lambda i: (i["left"] is None, i["left"] if i["left"] is not None else 0,
                              i["report"].get("received_at") or ""))
    return items


def done_text(p: Page, action: str) -> str:
    """What the next page says was done."""
    if action == "acknowledge":
        return p.t("Receipt confirmed.")
    if action == "accept":
        return p.t("Accepted: the case is open.")
    if action == "transfer":
        return p.t("Transfer offered; the report is yours until they accept.")
    if action == "transfer-accept":
        return p.t("Transfer accepted: the report is now your unit's.")
    return p.t("Transfer declined.")


class Officer:
    def _queue(self, p: Page):
        reports = p.api("intake").get("/reports", limit=200)["items"]
        return queue_items(reports, p.session["unit"] if p.session else None, p.now)

    @page("GET", "/officer", ROLE)
    def officer_queue(self, p: Page):
        return p.render("officer/queue.html", items=self._queue(p), display=display)

    @page("GET", "/officer/queue", ROLE)
    def officer_queue_rows(self, p: Page):
        """The queue's rows alone, which the queue page asks for every few seconds."""
        return p.render("officer/_queue.html", items=self._queue(p), display=display)

    @page("GET", "/officer/find", ROLE)
    def officer_find(self, p: Page):
        q = p.request.args.get("q", "").strip()
        if q:
            try:
                found = p.api("intake").get("/reports", q=q)["items"]
                if found:
                    return p.redirect(f"/officer/reports/{found[0]['report_id']}")
                cases = p.api("cases").get("/cases", q=q)["items"]
                if cases:
                    return p.redirect(f"/officer/cases/{cases[0]['case_id']}")
            except ApiError as exc:
                if exc.status != 422:
                    raise
        return p.render("officer/find.html", q=q, searched=bool(q))

    def _units(self, p: Page):
        units = p.api("intake").get("/units")["items"]
        mine = p.session["unit"] if p.session else None
        return [u for u in units if u["unit_id"] != mine]

    @page("GET", "/officer/reports/<report_id>", ROLE)
    def officer_report(self, p: Page, report_id):
        report = p.api("intake").get(f"/reports/{report_id}")
        return p.render("officer/report.html", report=report, units=self._units(p),
                        key=forms.new_key(), errors={}, values={}, display=display)

    @page("POST", "/officer/reports/<report_id>/<action>", ROLE)
    def officer_act(self, p: Page, report_id, action):
        route = ACTIONS.get(action)
        if route is None:
            raise PageNotFound()
        body = None
        if action == "transfer":
            body = {"to_unit_id": p.form.get("to_unit_id", ""),
                    "reason": p.form.get("reason", "").strip()}
        elif action == "transfer-decline":
            body = {"reason": p.form.get("reason", "").strip()}
        try:
            report = p.api("intake").post(f"/reports/{report_id}/{route}", body,
                                          key=p.form.get("idempotency_key"))
        except ApiError as exc:
            if exc.status not in (409, 422):
                raise
            report = p.api("intake").get(f"/reports/{report_id}")
            return p.render("officer/report.html", status=exc.status, report=report,
                            units=self._units(p), key=forms.new_key(),
                            errors=forms.field_errors(exc.fields), values=p.form,
                            problem=exc.detail, failed=action, display=display)
        p.flash(done_text(p, action))
        if action == "transfer-decline":
            return p.redirect("/officer")
        return p.redirect(f"/officer/reports/{report['report_id']}")

    @page("GET", "/officer/cases", ROLE)
    def officer_cases(self, p: Page):
        cases = p.api("cases").get("/cases", limit=100)["items"]
        cases.sort(key=lambda c: (c.get("next_due_at") is None, c.get("next_due_at") or ""))
        return p.render("officer/cases.html", cases=cases, display=display)

    @page("GET", "/officer/cases/<case_id>", ROLE)
    def officer_case(self, p: Page, case_id):
        case = p.api("cases").get(f"/cases/{case_id}")
        return p.render("officer/case.html", case=case, key=forms.new_key(), errors={},
                        values={}, display=display)

    @page("POST", "/officer/cases/<case_id>/progress", ROLE)
    def officer_progress(self, p: Page, case_id):
        form = p.form
        body = {"note": form.get("note", "").strip(), "disclose": form.get("disclose") == "on"}
        if form.get("stage"):
            body["stage"] = form["stage"]
        for name in ("recovered_amount", "frozen_amount"):
            if form.get(name, "").strip():
                body[name] = form[name].strip().replace(",", "").lstrip("¥")
        try:
            p.api("cases").post(f"/cases/{case_id}/progress", body,
                                key=form.get("idempotency_key"))
        except ApiError as exc:
            if exc.status not in (409, 422):
                raise
            case = p.api("cases").get(f"/cases/{case_id}")
            return p.render("officer/case.html", status=exc.status, case=case,
                            key=forms.new_key(), errors=forms.field_errors(exc.fields),
                            values=form, problem=exc.detail, display=display)
        p.flash(p.t("Progress recorded."))
        return p.redirect(f"/officer/cases/{case_id}")

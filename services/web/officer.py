"""The case officer's pages: the unit's queue by what is due next, a
report's page with its actions (acknowledge, accept, transfer, answer a
transfer offer, merge, an item's materials insufficient), finding by
reference, the company's evidence files, and the officer's cases with the
progress form, pause/resume and the conclusion."""
from services.web import display, evidence, forms
from services.web.api import ApiError
from services.web.pages import Page, PageNotFound, page

ROLE = ("officer", "supervisor")
OPEN = ("received", "acknowledged", "transfer_pending")
# The action a form names -> the intake route it calls.
ACTIONS = {"acknowledge": "acknowledge", "accept": "accept",
           "transfer-accept": "transfer/accept", "transfer-decline": "transfer/decline",
           "transfer": "transfer", "merge": "merge"}
# Case actions from the case page -> (what the body holds, what was done).
CASE_ACTIONS = {"pause": ("reason",), "resume": (), "conclude": ("result", "summary")}


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
    if action == "merge":
        return p.t("Merged into the earlier report.")
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
        return self._officer_report_page(p, report_id)

    def _officer_report_page(self, p: Page, report_id, status=200, **extra):
        report = p.api("intake").get(f"/reports/{report_id}")
        extra.setdefault("errors", {})
        extra.setdefault("values", {})
        return p.render("officer/report.html", status=status, report=report,
                        units=self._units(p), key=forms.new_key(), display=display,
                        files=evidence.listing(p, report_id), size=evidence.size, **extra)

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
        elif action == "merge":
            into = self._report_by_reference(p, p.form.get("into", "").strip())
            body = {"reason": p.form.get("merge_reason", "").strip()}
            if into:
                body["into_report_id"] = into
            if into is None:
                return self._officer_report_page(p, report_id, status=422, values=p.form,
                                         failed=action, errors={"into": p.t(
                                             "No report of your unit has this reference.")})
        refused = p.submit("intake", f"/reports/{report_id}/{route}", body)
        if refused:
            errors = forms.field_errors(refused.fields)
            if action == "merge":   # the form's names for the API's fields
                for api_name, name in (("into_report_id", "into"), ("reason", "merge_reason")):
                    if api_name in errors:
                        errors[name] = errors.pop(api_name)
            return self._officer_report_page(p, report_id, status=refused.status,
                                             errors=errors, values=p.form,
                                             problem=refused.detail, failed=action)
        p.flash(done_text(p, action))
        if action == "transfer-decline":
            return p.redirect("/officer")
        return p.redirect(f"/officer/reports/{p.answered['report_id']}")

    def _report_by_reference(self, p: Page, reference: str):
        """The report a merge goes into, by the reference an officer reads
        off it (or its id, pasted)."""
        if not reference:
            return ""     # the API names the missing field
        try:
            found = p.api("intake").get("/reports", q=reference)["items"]
        except ApiError as exc:
            if exc.status != 422:
                raise
            found = []
        for r in found:
            if reference in (r["reference"], r["report_id"]):
                return r["report_id"]
        return None

    @page("POST", "/officer/reports/<report_id>/materials/<code>/insufficient", ROLE)
    def officer_insufficient(self, p: Page, report_id, code):
        refused = p.submit("intake", f"/reports/{report_id}/materials/{code}/insufficient",
                           {"reason": p.form.get("reason", "").strip()})
        if refused:
            errors = {f"reason-{code}": m for m in forms.field_errors(refused.fields).values()}
            return self._officer_report_page(p, report_id, status=refused.status,
                                             errors=errors, problem=refused.detail,
                                             values={f"reason-{code}": p.form.get("reason", "")})
        p.flash(p.t("Asked again, with your reason; the company is told."))
        return p.redirect(f"/officer/reports/{report_id}")

    @page("POST", "/officer/reports/<report_id>/materials/<code>/files", ROLE)
    def officer_upload(self, p: Page, report_id, code):
        """A file the police add to a checklist item (evidence gathered by
        the unit), streamed on to intake as the business's are."""
        chosen = evidence.chosen(p.request.files.getlist("file"))
        # The unit's own "other" evidence is internal unless the officer
        # ticks "show it to the company" (intake's `disclose`).
        path = None
        if code == "other":
            shown = "true" if p.form.get("disclose") else "false"
            path = f"/reports/{report_id}/files?disclose={shown}"
        refused = [said for upload in chosen
                   if (said := evidence.send(p, report_id, code, upload, path))]
        if refused:
            return self._officer_report_page(p, report_id, status=422,
                                             problem="; ".join(refused))
        if chosen:
            p.flash(p.t("Files received: {n}.", n=len(chosen)))
        return p.redirect(f"/officer/reports/{report_id}#item-{code}")

    @page("POST", "/officer/files/<file_id>/supersede", ROLE)
    def officer_supersede(self, p: Page, file_id):
        """A wrong file marked so, with the reason: it stays on record."""
        report_id = p.form.get("report_id", "")
        refused = p.submit("intake", f"/files/{file_id}/supersede",
                           {"reason": p.form.get("reason", "").strip()})
        if refused:
            if not report_id:
                raise refused
            name = f"supersede-{file_id}"
            return self._officer_report_page(
                p, report_id, status=refused.status, problem=refused.detail,
                errors={name: m for m in forms.field_errors(refused.fields).values()},
                values={name: p.form.get("reason", "")},
                labels={name: p.t("Why it is wrong (kept on record, the company reads it)")})
        p.flash(p.t("The file is marked superseded; it stays on record."))
        return p.redirect(f"/officer/reports/{report_id}" if report_id else "/officer")

    @page("POST", "/officer/files/<file_id>/disclose", ROLE)
    def officer_disclose(self, p: Page, file_id):
        """An internal file of the unit's shown to the company from now on."""
        report_id = p.form.get("report_id", "")
        p.submit("intake", f"/files/{file_id}/disclose", refusals=())
        p.flash(p.t("The company sees this file from now on."))
        return p.redirect(f"/officer/reports/{report_id}#mat-h"
                          if report_id else "/officer")

    @page("GET", "/officer/files/<file_id>", ROLE)
    def officer_download(self, p: Page, file_id):
        return evidence.download(p, file_id)

    @page("GET", "/officer/cases", ROLE)
    def officer_cases(self, p: Page):
        cases = p.api("cases").get("/cases", limit=100)["items"]
        for c in cases:     # the deadline itself, not the sweep's next step (a warning)
            c["next_deadline_at"] = c.get("next_deadline_at") or c.get("next_due_at")
        cases.sort(key=lambda c: (c["next_deadline_at"] is None, c["next_deadline_at"] or ""))
        return p.render("officer/cases.html", cases=cases, display=display)

    @page("GET", "/officer/cases/<case_id>", ROLE)
    def officer_case(self, p: Page, case_id):
        return self._officer_case_page(p, case_id)

    def _officer_case_page(self, p: Page, case_id, status=200, **extra):
        case = p.api("cases").get(f"/cases/{case_id}")
        extra.setdefault("errors", {})
        extra.setdefault("values", {})
        return p.render("officer/case.html", status=status, case=case, key=forms.new_key(),
                        display=display, files=evidence.listing(p, case["report_id"]),
                        size=evidence.size, **extra)

    @page("POST", "/officer/cases/<case_id>/<action>", ROLE)
    def officer_case_act(self, p: Page, case_id, action):
        """Pause or resume with a reason, or conclude with a result."""
        if action not in CASE_ACTIONS:
            raise PageNotFound()
        body = {name: p.form.get(name, "").strip() for name in CASE_ACTIONS[action]
                if p.form.get(name, "").strip()}
        refused = p.submit("cases", f"/cases/{case_id}/{action}", body)
        if refused:
            return self._officer_case_page(p, case_id, status=refused.status, failed=action,
                                           errors=forms.field_errors(refused.fields),
                                           values=p.form, problem=refused.detail)
        p.flash({"pause": p.t("The case is paused: its clocks stop."),
                 "resume": p.t("The case is resumed: its clocks run again."),
                 "conclude": p.t("The case is concluded.")}[action])
        return p.redirect(f"/officer/cases/{case_id}")

    @page("POST", "/officer/cases/<case_id>/progress", ROLE)
    def officer_progress(self, p: Page, case_id):
        form = p.form
        body = {"note": form.get("note", "").strip(), "disclose": form.get("disclose") == "on"}
        if form.get("stage"):
            body["stage"] = form["stage"]
        for name in ("recovered_amount", "frozen_amount"):
            if form.get(name, "").strip():
                body[name] = form[name].strip().replace(",", "").lstrip("¥")
        refused = p.submit("cases", f"/cases/{case_id}/progress", body)
        if refused:
            return self._officer_case_page(p, case_id, status=refused.status,
                                           failed="progress", values=form,
                                           errors=forms.field_errors(refused.fields),
                                           problem=refused.detail)
        p.flash(p.t("Progress recorded."))
        return p.redirect(f"/officer/cases/{case_id}")

"""The business's pages: its reports and cases, filing a report (with its
evidence files), the one-time checklist answered by upload, a case timeline
that updates itself, rating and reopening a concluded case, its notice
channels and its API keys."""
from services.web import evidence, forms
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
        for step in case.get("files") or []:   # its own files, and those the police disclosed
            steps.append({"at": step["at"], "kind": "file", "action": step["action"],
                          "filename": step["filename"], "by_police": step["role"] != "company"})
        if case.get("conclusion"):
            steps.append({"at": case["conclusion"].get("at") or case.get("concluded_at"),
                          "kind": "concluded", "result": case.get("result")})
    elif report.get("accepted_at"):
        steps.append({"at": report["accepted_at"], "kind": "accepted"})
    if report.get("merged_into"):
        steps.append({"at": None, "kind": "merged"})
    # Files come between the case's other steps: by time (all Beijing time,
    # one format), the undated last.
    return (sorted((s for s in steps if s["at"]), key=lambda s: s["at"])
            + [s for s in steps if not s["at"]])


def shown(subscription) -> dict:
    """A subscription as its form shows it: a channel that is off is empty."""
    return {k: v for k, v in (subscription or {}).items() if v is not None}


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
                            else forms.new_key(), problem=exc.detail,
                            files_dropped=bool(evidence.chosen(p.request.files.values())))
        # The files attached while filing, each to its checklist item (the
        # chosen type's), the rest as "other" evidence.
        kind = report["incident_type"]
        attached = [(m["code"], upload) for m in report.get("materials") or []
                    for upload in evidence.chosen(
                        p.request.files.getlist(f"file-{kind}-{m['code']}"))]
        attached += [("other", upload)
                     for upload in evidence.chosen(p.request.files.getlist("file-other"))]
        if attached and evidence.listing(p, report["report_id"]):
            # A resubmit answered with the report already filed: its files went too.
            attached = []
        refused = [said for code, upload in attached
                   if (said := evidence.send(p, report["report_id"], code, upload))]
        if refused:
            p.flash(p.t("The report is filed, but some files were refused:") + " "
                    + "; ".join(refused))
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
        return self._biz_report_page(p, report_id)

    def _biz_report_page(self, p: Page, report_id, status=200, **extra):
        report, case = self._report_and_case(p, report_id)
        return p.render("business/report.html", status=status, report=report, case=case,
                        steps=timeline(report, case), filed=p.request.args.get("filed"),
                        key=forms.new_key(), files=evidence.listing(p, report_id),
                        size=evidence.size, errors={}, values={}, **extra)

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

    @page("POST", "/business/reports/<report_id>/materials/<code>/files", ROLE)
    def business_upload(self, p: Page, report_id, code):
        chosen = evidence.chosen(p.request.files.getlist("file"))
        refused = [said for upload in chosen
                   if (said := evidence.send(p, report_id, code, upload))]
        if refused:
            return self._biz_report_page(p, report_id, status=422, problem="; ".join(refused))
        if chosen:
            p.flash(p.t("Files received: {n}.", n=len(chosen)))
        return p.redirect(f"/business/reports/{report_id}#files-h")

    @page("GET", "/business/files/<file_id>", ROLE)
    def business_download(self, p: Page, file_id):
        return evidence.download(p, file_id)

    # -- a concluded case: rate it, or ask for it to be reopened ------------
    def _biz_case_form(self, p: Page, case_id, route: str, body: dict, done: str):
        case = p.api("cases").get(f"/cases/{case_id}")
        refused = p.submit("cases", f"/cases/{case_id}/{route}", body)
        if refused:
            return self._biz_report_page(p, case["report_id"], status=refused.status,
                                         errors=forms.field_errors(refused.fields),
                                         values=p.form, problem=refused.detail, failed=route)
        p.flash(done)
        return p.redirect(f"/business/reports/{case['report_id']}")

    @page("POST", "/business/cases/<case_id>/satisfaction", ROLE)
    def business_rate(self, p: Page, case_id):
        body = {"rating": forms.whole_number(p.form.get("rating", "")),
                "comment": p.form.get("comment", "").strip()}
        if body["rating"] == "":
            del body["rating"]
        return self._biz_case_form(p, case_id, "satisfaction", body,
                               p.t("Thank you: your rating is recorded."))

    @page("POST", "/business/cases/<case_id>/reopen", ROLE)
    def business_reopen(self, p: Page, case_id):
        body = {"reason": p.form.get("reason", "").strip()}
        return self._biz_case_form(p, case_id, "reopen", body,
                               p.t("The case is reopened: the police work on it again."))

    # -- notice channels ------------------------------------------------------
    def _biz_subscription(self, p: Page):
        try:
            return p.api("notify").get("/subscription")
        except NotFound:
            return None

    @page("GET", "/business/channels", ROLE)
    def business_channels(self, p: Page):
        sub = self._biz_subscription(p)
        return p.render("business/channels.html", sub=sub, values=shown(sub), errors={},
                        secret=None, key=forms.new_key())

    @page("POST", "/business/channels", ROLE)
    def business_channels_save(self, p: Page):
        before = self._biz_subscription(p)
        body = {name: (p.form.get(name, "").strip() or None)
                for name in ("webhook_url", "email", "phone")}
        body["language"] = p.form.get("language") or None
        refused = p.submit("notify", "/subscription", body, method="PUT",
                           refusals=(400, 409, 422))
        if refused:
            return p.render("business/channels.html", status=refused.status, sub=before,
                            values=p.form, errors=forms.field_errors(refused.fields),
                            problem=refused.detail, secret=None, key=forms.new_key())
        sub = p.answered
        # The signing secret is shown once: when first made, and at rotation.
        fresh = before is None and sub.get("webhook_url")
        return p.render("business/channels.html", sub=sub, values=shown(sub), errors={},
                        secret=sub.get("webhook_secret") if fresh else None,
                        saved=True, key=forms.new_key())

    @page("POST", "/business/channels/rotate", ROLE)
    def business_rotate_secret(self, p: Page):
        sub = p.api("notify").post("/subscription/rotate-secret",
                                   key=p.form.get("idempotency_key"))
        return p.render("business/channels.html", sub=sub, values=shown(sub), errors={},
                        secret=sub.get("webhook_secret"), rotated=True, key=forms.new_key())

    # -- API keys (the company's owner) ------------------------------------------
    def _biz_keys_page(self, p: Page, status=200, **extra):
        keys = p.api("intake").get("/company/api-keys", limit=100)["items"]
        values = extra.pop("values", {})
        return p.render("business/api_keys.html", status=status, keys=keys,
                        values=values, errors=extra.pop("errors", {}),
                        key=forms.new_key(), **extra)

    @page("GET", "/business/api-keys", ROLE)
    def business_api_keys(self, p: Page):
        return self._biz_keys_page(p)

    @page("POST", "/business/api-keys", ROLE)
    def business_api_key_new(self, p: Page):
        body = {"name": p.form.get("name", "").strip(), "scope": p.form.get("scope", "")}
        body = {k: v for k, v in body.items() if v}
        refused = p.submit("intake", "/company/api-keys", body, refusals=(400, 409, 422))
        if refused:
            return self._biz_keys_page(p, status=refused.status, values=p.form,
                                       errors=forms.field_errors(refused.fields),
                                       problem=refused.detail)
        return self._biz_keys_page(p, made=p.answered)

    @page("POST", "/business/api-keys/<key_id>/revoke", ROLE)
    def business_api_key_revoke(self, p: Page, key_id):
        p.api("intake").post(f"/company/api-keys/{key_id}/revoke")
        p.flash(p.t("The key is revoked."))
        return p.redirect("/business/api-keys")

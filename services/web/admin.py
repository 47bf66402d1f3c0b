"""The admin's pages: the unit tree (and a new unit), people (accounts,
new officers, invites and re-invites with the code shown once,
deactivate/reactivate, moving an officer), companies, the audit log and
every service's failures. Also the public page where anyone with an invite
sets a password (and, for police roles, receives their second factor)."""
from services.web import forms
from services.web.api import Api, ApiError
from services.web.pages import PUBLIC, Page, PageNotFound, page

ADMIN = ("admin",)
ACCOUNT_ACTIONS = ("deactivate", "reactivate", "invite", "move")
SERVICES = ("intake", "cases", "notify")


def unit_tree(units) -> list:
    """[(depth, unit)] in tree order: each unit under its parent."""
    children: dict = {}
    for u in units:
        children.setdefault(u.get("parent_unit_id"), []).append(u)
    known = {u["unit_id"] for u in units}
    out: list = []

    def walk(parent, depth):
        for u in sorted(children.get(parent, []), key=lambda u: u["unit_id"]):
            out.append((depth, u))
            walk(u["unit_id"], depth + 1)
    walk(None, 0)
    # A unit whose parent is out of sight still shows, at the top.
    for orphan in (p for p in children if p is not None and p not in known):
        walk(orphan, 0)
    return out


def company_body(form) -> dict:
    body = {"name": form.get("name", "").strip(), "credit_code": form.get("credit_code", "").strip(),
            "jurisdiction_unit_id": form.get("jurisdiction_unit_id", ""),
            "contact": {"name": form.get("contact_name", "").strip(),
                        "phone": form.get("contact_phone", "").strip(),
                        "email": form.get("contact_email", "").strip()},
            "language": form.get("language", "zh-CN")}
    if form.get("username", "").strip():
        body["username"] = form["username"].strip()
    return body


class Admin:
    def _people_page(self, p: Page, status=200, **values):
        intake = p.api("intake")
        units = intake.get("/units")["items"]
        role = p.request.args.get("role") or None
        found = intake.get("/admin/accounts", limit=50, role=role,
                           after=p.request.args.get("after") or None)
        values.setdefault("errors", {})
        values.setdefault("values", {})
        return p.render("admin/home.html", status=status, tree=unit_tree(units), units=units,
                        names={u["unit_id"]: u["name"] for u in units},
                        accounts=found["items"], more=found.get("next"), role=role, **values)

    @page("GET", "/admin", ADMIN)
    def admin_home(self, p: Page):
        return self._people_page(p)

    def _create(self, p: Page, path: str, body: dict, form_name: str, done: str):
        """A create whose answer carries an invite, shown on this answer only
        (never stored, never in a redirect's address)."""
        refused = p.submit("intake", path, body)
        if refused:
            return self._people_page(p, status=refused.status, values=p.form,
                                     errors=forms.field_errors(refused.fields),
                                     problem=refused.detail, failed=form_name)
        return self._people_page(p, invite=p.answered, done=done)

    @page("POST", "/admin/officers", ADMIN)
    def admin_new_officer(self, p: Page):
        f = p.form
        body = {k: f.get(k, "").strip() for k in ("officer_id", "name", "unit_id", "role")}
        return self._create(p, "/admin/officers", body, "officer",
                            p.t("Officer added. Give them the invite code below."))

    @page("POST", "/admin/units", ADMIN)
    def admin_new_unit(self, p: Page):
        f = p.form
        body = {k: f.get(k, "").strip() for k in ("unit_id", "name", "name_en", "kind")}
        body["parent_unit_id"] = f.get("parent_unit_id") or None
        if not body["name_en"]:
            del body["name_en"]
        refused = p.submit("intake", "/admin/units", body)
        if refused:
            return self._people_page(p, status=refused.status, values=f,
                                     errors=forms.field_errors(refused.fields),
                                     problem=refused.detail, failed="unit")
        p.flash(p.t("Unit added."))
        return p.redirect("/admin")

    @page("POST", "/admin/accounts/<username>/<action>", ADMIN)
    def admin_account(self, p: Page, username, action):
        if action not in ACCOUNT_ACTIONS:
            raise PageNotFound()
        if action == "move":
            return self._move(p, username)
        made = p.api("intake").post(f"/admin/accounts/{username}/{action}",
                                    key=p.form.get("idempotency_key"))
        if action == "invite":
            return self._people_page(p, invite=made,
                                     done=p.t("A new invite; the earlier one no longer works."))
        p.flash(p.t("Account deactivated.") if action == "deactivate"
                else p.t("Account reactivated."))
        return p.redirect("/admin")

    def _move(self, p: Page, username):
        """An officer to another unit (PATCH: the account's unit)."""
        refused = p.submit("intake", f"/admin/accounts/{username}",
                           {"unit_id": p.form.get("unit_id", "")}, method="PATCH")
        if refused:
            return self._people_page(p, status=refused.status, problem=refused.detail)
        p.flash(p.t("Officer moved; their next sign-in carries the new unit."))
        return p.redirect("/admin")

    @page("GET", "/admin/companies", ADMIN)
    def admin_companies(self, p: Page):
        units = p.api("intake").get("/units")["items"]
        return p.render("admin/companies.html", units=units, errors={}, values={})

    @page("POST", "/admin/companies", ADMIN)
    def admin_new_company(self, p: Page):
        units = p.api("intake").get("/units")["items"]
        refused = p.submit("intake", "/admin/companies", company_body(p.form))
        if refused:
            return p.render("admin/companies.html", status=refused.status, units=units,
                            errors=forms.field_errors(refused.fields), values=p.form,
                            problem=refused.detail)
        return p.render("admin/companies.html", units=units, errors={}, values={},
                        made=p.answered)

    @page("GET", "/admin/audit", ADMIN)
    def admin_audit(self, p: Page):
        args = p.request.args
        found = p.api("intake").get("/admin/audit", limit=50, after=args.get("after") or None,
                                    event=args.get("event") or None,
                                    actor=args.get("actor") or None)
        return p.render("admin/audit.html", items=found["items"], more=found.get("next"),
                        event=args.get("event", ""), actor=args.get("actor", ""))

    @page("GET", "/admin/failures", ADMIN)
    def admin_failures(self, p: Page):
        lists = {}
        for service in SERVICES:
            try:
                lists[service] = p.api(service).get("/admin/failures", limit=50)["items"]
            except ApiError:
                lists[service] = None    # that service did not answer: said on the page
        dead = p.api("notify").get("/deliveries", status="dead", limit=50,
                                   after=p.request.args.get("after") or None)
        return p.render("admin/failures.html", lists=lists, dead=dead["items"],
                        more=dead.get("next"))

    @page("POST", "/admin/deliveries/<delivery_id>/replay", ADMIN)
    def admin_replay(self, p: Page, delivery_id):
        """A dead letter (a notice its receiver never took) sent again."""
        p.api("notify").post(f"/deliveries/{delivery_id}/replay",
                             key=p.form.get("idempotency_key"))
        p.flash(p.t("Sent again; its new attempts show under the notice."))
        return p.redirect("/admin/failures")

    # -- setting a password from an invite (public) -----------------------------
    @page("GET", "/password", PUBLIC)
    def password_form(self, p: Page):
        if p.session is None:
            p.start_session()   # the form's CSRF token needs a session
        return p.render("admin/password.html", values={"invite": p.request.args.get("invite", "")},
                        errors={})

    @page("POST", "/password", PUBLIC)
    def password_set(self, p: Page):
        f = p.form
        errors = {}
        if f.get("password", "") != f.get("again", ""):
            errors["again"] = p.t("The two passwords differ.")
        if not errors:
            api = Api(p.config["INTAKE_URL"], None, p.lang, p.timeout, p.forwarded_for)
            try:
                account = api.post("/accounts/password", {"invite": f.get("invite", "").strip(),
                                                          "password": f.get("password", "")})
            except ApiError as exc:
                if exc.status not in (400, 409, 422):
                    raise
                errors = forms.field_errors(exc.fields) or {"invite": exc.detail}
            else:
                return p.render("admin/password_done.html", account=account)
        return p.render("admin/password.html", status=422, errors=errors,
                        values={"invite": f.get("invite", "")})

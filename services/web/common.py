"""Pages every person uses: the start, sign-in and sign-out, the language
switch, the static files, /health, and the 404 page for any other path."""
import os
from typing import Any

from werkzeug.wrappers import Response

from services.web import display, texts
from services.web.api import oauth, revoke
from services.web.pages import (ANY, HOMES, LANG_COOKIE, PUBLIC, Page, PageNotFound, page,
                                safe_next, tokens_of)
from nameko.web.handlers import http


class Common:
    sessions: Any   # the service's SessionStore (service.py), per worker
    @page("GET", "/", PUBLIC)
    def home(self, p: Page):
        if p.user is None:
            return p.redirect("/signin")
        home = HOMES.get(p.role or "")
        return p.redirect(home) if home else p.render("common/no_pages.html")

    @page("GET", "/signin", PUBLIC)
    def signin_form(self, p: Page):
        if p.user is not None:
            return p.redirect(safe_next(p.request.args.get("next")))
        if p.session is None:
            # The form's CSRF token needs a session: an anonymous one, replaced
            # by a new one once the person has signed in.
            p.start_session()
        return p.render("common/signin.html", next=safe_next(p.request.args.get("next")),
                        values={}, error=None, otp_error=None)

    @page("POST", "/signin", PUBLIC)
    def signin(self, p: Page):
        form = p.form
        back = safe_next(form.get("next"))
        username = form.get("username", "").strip()
        grant = {"grant_type": "password", "username": username,
                 "password": form.get("password", "")}
        if form.get("otp", "").strip():
            grant["otp"] = form["otp"].strip()
        status, body = oauth(p.config["INTAKE_URL"], grant, p.lang, p.timeout,
                             p.forwarded_for)
        if status != 200:
            error = otp_error = None
            if status == 429:
                # The address's token-request limit (policy/limits.yml), not the
                # account: saying so tells nothing about the account.
                minutes = max(1, -(-int(body.get("retry_after") or 60) // 60))
                return p.render("common/signin.html", status=429, next=back,
                                values={"username": username}, otp_error=None,
                                error=p.t("Too many sign-in attempts from this network. "
                                          "Try again in {minutes} minutes.").format(
                                              minutes=minutes))
            if body.get("mfa_required"):
                # Police accounts with a second factor: the code is asked for.
                otp_error = p.t("Enter the six-digit code from your authenticator app.")
            else:
                error = p.t("The username or password is wrong, or the account cannot sign in.")
            return p.render("common/signin.html", status=400 if error else 200, next=back,
                            values={"username": username}, error=error,
                            otp_error=otp_error, mfa=bool(otp_error))
        p.start_session(**tokens_of(body, p.now))
        self._who(p)
        target = back if back != "/" else HOMES.get(p.role or "", "/")
        return p.redirect(target)

    def _who(self, p: Page):
        """Names for the header: the officer's own and the unit's (the token
        carries ids only). A company shows its username."""
        assert p.session is not None
        names = {"display_name": p.session["username"], "unit_names": None}
        if p.session["role"] in ("officer", "supervisor"):
            try:
                units = p.api("intake").get("/units")["items"]
                mine = next((u for u in units if u["unit_id"] == p.session["unit"]), None)
                if mine:
                    names["unit_names"] = {"zh-CN": mine["name"],
                                           "en": mine.get("name_en") or mine["name"]}
                people = p.api("intake").get(f"/units/{p.session['unit']}/officers")["items"]
                me = next((o for o in people if o["officer_id"] == p.session["sub"]), None)
                if me:
                    names["display_name"] = me["name"]
            except Exception:   # names are a courtesy: sign-in does not fail for them
                pass
        p.store.update(p.session, **names)

    @page("POST", "/signout", ANY)
    def signout(self, p: Page):
        assert p.session is not None
        if p.session.get("refresh_token"):
            revoke(p.config["INTAKE_URL"], p.session["refresh_token"], p.timeout)
        p.end_session()
        return p.redirect("/signin")

    # The language is a preference of the browser, not an action on anyone's
    # data, so a plain link switches it (no form, no CSRF token needed); it
    # is remembered for a year, signed in or not.
    @page("GET", "/lang/<code>", PUBLIC)
    def switch_language(self, p: Page, code):
        if code not in texts.LANGUAGES:
            raise PageNotFound()
        resp = p.redirect(safe_next(p.request.args.get("next")))
        resp.set_cookie(LANG_COOKIE, code, max_age=365 * 86400, samesite="Lax",
                        httponly=True, path="/")
        return resp

    @http("GET", "/static/<name>")
    def static(self, request, name):
        path = display.STATIC.get(name)
        if path is None or not os.path.exists(path):
            return Response("not found", status=404, mimetype="text/plain")
        with open(path, "rb") as f:
            data = f.read()
        mimetype = "text/css" if name.endswith(".css") else "application/javascript"
        resp = Response(data, mimetype=mimetype)
        # The address carries the content's hash (display.static_url).
        resp.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        resp.headers["X-Content-Type-Options"] = "nosniff"
        return resp

    @http("GET", "/health")
    def health(self, request):
        try:
            self.sessions.ping()
        except Exception as exc:
            return Response(f'{{"status": "down", "database": "{type(exc).__name__}"}}',
                            status=503, mimetype="application/json")
        return Response('{"status": "ok"}', mimetype="application/json")

    @page("GET,POST", "/<path:anything>", PUBLIC)
    def not_found(self, p: Page, anything):
        raise PageNotFound()

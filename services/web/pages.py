"""The page layer every role's module uses: `@page(...)` declares a route,
the roles that may open it, and gets a `Page` (the person, their session,
language and the APIs). Everything a route would otherwise repeat is here,
once: the session cookie, CSRF on every POST, the cross-site refusal,
keeping the access token fresh, the security headers, and turning API
answers into the sign-in page, the 404 page or the error page.

A role's pages live in their own module (business.py, officer.py, ...) and
templates folder (templates/business/, templates/officer/, ...); the
service class (service.py) mixes the modules together.
"""
import hmac
import logging
import os
import time
from datetime import datetime, timedelta
from typing import Any, Callable, Optional
from urllib.parse import quote, urlsplit

import eventlet
import jwt
from jinja2 import Environment, FileSystemLoader, select_autoescape
from nameko.web.handlers import http
from werkzeug.wrappers import Response

from services.web import display, forms, texts
from services.web.api import Api, ApiError, NotFound, SignedOut, Unavailable, oauth
from services.web.sessions import SessionStore
from shared import clock

log = logging.getLogger(__name__)
HERE = os.path.dirname(os.path.abspath(__file__))
COOKIE = "ft_session"
LANG_COOKIE = "ft_lang"
ANY = ("company", "officer", "supervisor", "admin")
PUBLIC: tuple = ()
# Where each role starts; a role without pages yet gets the "no pages" page.
HOMES = {"company": "/business", "officer": "/officer", "supervisor": "/supervisor",
         "admin": "/admin"}
LOOPBACK = ("127.0.0.1", "localhost", "::1")
# No inline script or style anywhere: everything comes from /static/.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
       "base-uri 'none'; object-src 'none'")
REFRESH_MARGIN = timedelta(seconds=60)
REFRESH_HOLD = timedelta(seconds=10)

env = Environment(loader=FileSystemLoader(os.path.join(HERE, "templates")),
                  autoescape=select_autoescape(["html"]), trim_blocks=True,
                  lstrip_blocks=True)
env.filters.update(money=display.money, when=display.when, day=display.day)
env.globals.update(static=display.static_url, new_key=forms.new_key)


class PageNotFound(Exception):
    """Not there, or not this person's: the same friendly 404 either way."""


class Refused(Exception):
    """A POST without this session's CSRF token, without a session, or from
    another site: refused before anything is called."""


def safe_next(target: Optional[str]) -> str:
    """A path on this site to go back to, never another site's address."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


class Page:
    """One request: who asks, their session and language, the APIs for them."""

    def __init__(self, service, request, now: datetime):
        self.service = service
        self.request = request
        self.now = now
        self.config = service.config
        self.store: SessionStore = service.sessions
        self.session: Optional[dict] = None
        self.new_cookie: Optional[str] = None
        self.clear_cookie = False
        self.lang = texts.language(request.cookies.get(LANG_COOKIE))
        self.idle = timedelta(seconds=int(self.config.get("WEB_SESSION_IDLE_SECONDS") or 3600))
        self.timeout = float(self.config.get("WEB_API_TIMEOUT") or 10)
        self.answered: Any = None     # what the API answered to the last submit()

    # -- the person -------------------------------------------------------
    @property
    def user(self) -> Optional[dict]:
        return self.session if self.session and self.session.get("access_token") else None

    @property
    def role(self) -> Optional[str]:
        return self.user["role"] if self.user else None

    def t(self, text: str, **values) -> str:
        return texts.say(text, self.lang, **values)

    @property
    def form(self):
        return self.request.form

    @property
    def htmx(self) -> bool:
        return self.request.headers.get("HX-Request") == "true"

    @property
    def forwarded_for(self) -> Optional[str]:
        return self.request.headers.get("X-Forwarded-For") or self.request.remote_addr

    def submit(self, service: str, path: str, body: Optional[dict] = None, *,
               method: str = "POST", refusals: tuple = (409, 422)) -> Optional[ApiError]:
        """A form's action sent to an API, with the form's Idempotency-Key (a
        double click files once): None when it was done (the answer is kept
        as `answered`), or the API's refusal (by default a 409 or 422) for
        the handler to render its page again with the field errors and what
        was typed. Anything else is raised as any API answer is (a 404 is
        the 404 page, a 401 the sign-in)."""
        api = self.api(service)
        try:
            if method == "POST":
                self.answered = api.post(path, body, key=self.form.get("idempotency_key"))
            else:
                self.answered = api.call(method, path, json=body)
        except ApiError as exc:
            if exc.status not in refusals or isinstance(exc, (NotFound, SignedOut,
                                                              Unavailable)):
                raise
            return exc
        return None

    def api(self, service: str) -> Api:
        base = self.config[{"intake": "INTAKE_URL", "cases": "CASES_URL",
                            "notify": "NOTIFY_URL"}[service]]
        return Api(base, self.user["access_token"] if self.user else None, self.lang,
                   self.timeout, self.forwarded_for)

    # -- the session ------------------------------------------------------
    def load_session(self) -> None:
        sid = self.request.cookies.get(COOKIE)
        if sid:
            self.session = self.store.find(sid, self.now)
            if self.session is None:
                self.clear_cookie = True
            else:
                self.store.touch(self.session, self.now, self.idle)

    def start_session(self, **fields) -> dict:
        """A new session (a new id, a new CSRF token): at sign-in, so an id
        planted before it is worth nothing after (session fixation)."""
        if self.session is not None:
            self.store.delete(self.session)
        self.new_cookie, self.session = self.store.create(self.now, self.idle, **fields)
        self.clear_cookie = False
        return self.session

    def end_session(self) -> None:
        if self.session is not None:
            self.store.delete(self.session)
        self.session = None
        self.clear_cookie = True

    def check_post(self) -> None:
        """Every POST: from this site, with a session, with its CSRF token."""
        headers = self.request.headers
        if headers.get("Sec-Fetch-Site") == "cross-site":
            raise Refused("cross-site")
        origin = headers.get("Origin")
        if origin and origin != "null":
            if urlsplit(origin).netloc != self.request.host:
                raise Refused("origin")
        elif origin == "null":
            raise Refused("origin")
        if self.session is None:
            raise Refused("no session")
        sent = self.form.get("csrf_token", "")
        if not hmac.compare_digest(sent.encode(), self.session["csrf"].encode()):
            raise Refused("csrf")

    def fresh_token(self) -> None:
        """Refresh the access token shortly before it expires, one request
        at a time (see SessionStore.claim_refresh); a refused refresh is a
        signed-out person."""
        s = self.session
        assert s is not None
        if s["access_expires_at"] - REFRESH_MARGIN > self.now:
            return
        if not self.store.claim_refresh(s, self.now, REFRESH_HOLD):
            # Another request of this person refreshes now: wait for its result.
            for _ in range(25):
                eventlet.sleep(0.2)
                again = self.store.reload(s)
                if again is None:
                    raise SignedOut(401, {})
                if again["access_expires_at"] - REFRESH_MARGIN > clock.now():
                    s.update(again)
                    return
                lock = again.get("refresh_lock")
                if lock is not None and lock <= clock.now() < again["access_expires_at"]:
                    s.update(again)     # the refresh was put off (429): work on
                    return
            raise SignedOut(401, {})
        status, body = oauth(self.config["INTAKE_URL"],
                             {"grant_type": "refresh_token",
                              "refresh_token": s["refresh_token"]},
                             self.lang, self.timeout, self.forwarded_for)
        if status == 429 and s["access_expires_at"] > self.now:
            # The address is over its token-request limit (policy/limits.yml):
            # the token still works for a while, so the person works on and a
            # later page tries the refresh again, rather than being signed out.
            self.store.update(s, refresh_lock=self.now)     # released
            return
        if status != 200:
            raise SignedOut(401, body)
        self.store.update(s, **tokens_of(body, clock.now()), refresh_lock=self.now)

    # -- answers ----------------------------------------------------------
    def render(self, template: str, status: int = 200, **values: Any) -> Response:
        flash = None
        if self.session and self.session.get("flash"):
            flash = self.session["flash"]
            self.store.update(self.session, flash=None)
        html = env.get_template(template).render(
            page=self, _=self.t, lang=self.lang, user=self.user, flash=flash,
            csrf=self.session["csrf"] if self.session else "", now=self.now,
            word=lambda kind, code: texts.word(kind, code, self.lang),
            path=self.request.full_path.rstrip("?"), **values)
        return Response(html, status=status, mimetype="text/html")

    def flash(self, text: str) -> None:
        if self.session is not None:
            self.store.update(self.session, flash=text)

    def redirect(self, url: str) -> Response:
        resp = Response("", status=303)
        resp.headers["Location"] = url
        return resp

    def to_signin(self) -> Response:
        """Sign in, then back to this page (a form's page for a POST)."""
        if self.request.method == "GET" and not self.htmx:
            back = self.request.full_path.rstrip("?")
        else:
            ref = urlsplit(self.request.headers.get("Referer") or "")
            back = (ref.path + (f"?{ref.query}" if ref.query else "")
                    if ref.netloc == self.request.host else "/")
        url = "/signin?next=" + quote(safe_next(back), safe="/")
        if self.htmx:
            resp = Response("", status=200)
            resp.headers["HX-Redirect"] = url
            return resp
        return self.redirect(url)

    def finish(self, resp: Response) -> Response:
        # Secure everywhere but on loopback, where a browser has no https.
        secure = urlsplit("//" + self.request.host).hostname not in LOOPBACK
        if self.new_cookie:
            resp.set_cookie(COOKIE, self.new_cookie, httponly=True, samesite="Lax",
                            secure=secure, path="/")
        elif self.clear_cookie:
            resp.delete_cookie(COOKIE, path="/", httponly=True, samesite="Lax", secure=secure)
        h = resp.headers
        h.setdefault("Content-Security-Policy", CSP)
        h.setdefault("Cache-Control", "no-store")
        h["Vary"] = "Cookie"
        return resp


def tokens_of(body: dict, now: datetime) -> dict:
    """What a session keeps of a token answer. The claims are read without
    checking the signature: the token came straight from intake over our
    own server-side call, and every API checks it on each use."""
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    return {"access_token": body["access_token"], "refresh_token": body.get("refresh_token"),
            "access_expires_at": now + timedelta(seconds=int(body.get("expires_in") or 300)),
            "role": claims["role"], "sub": claims["sub"], "unit": claims.get("unit"),
            "units": claims.get("units") or [], "username": claims.get("acct") or claims["sub"]}


def page(method: str, url: str, roles: tuple = ANY) -> Callable:
    """A page route. `roles`: who may open it (PUBLIC: anyone). A person
    not signed in goes to sign in and comes back; another role's page is
    a 404, as is anything an API says is not theirs."""
    def decorate(fn):
        def entry(self, request, **kw):
            return serve(self, request, fn, kw, roles)
        entry.__name__ = fn.__name__
        entry.__doc__ = fn.__doc__
        return http(method, url)(entry)
    return decorate


def serve(service, request, fn, kw, roles) -> Response:
    started = time.monotonic()
    p = Page(service, request, clock.now())
    try:
        p.load_session()
        if request.method == "POST":
            p.check_post()
        if roles:
            if p.user is None:
                resp = p.to_signin()
                return p.finish(resp)
            if p.role not in roles:
                raise PageNotFound()
            p.fresh_token()
        resp = fn(service, p, **kw)
    except SignedOut:
        p.end_session()
        resp = p.to_signin()
    except (PageNotFound, NotFound):
        resp = p.render("common/404.html", status=404)
    except Refused as exc:
        log.info("POST refused (%s): %s", exc, request.path)
        resp = p.render("common/refused.html", status=403)
    except Unavailable as exc:
        log.warning("an API did not answer: %s", exc)
        resp = p.render("common/error.html", status=503)
    except ApiError as exc:
        # An answer the page did not expect (a conflict, say): tell it plainly.
        resp = p.render("common/error.html", status=exc.status if exc.status < 500 else 502,
                        detail=exc.detail)
    except Exception:
        log.exception("page %s failed", request.path)
        resp = p.render("common/error.html", status=500)
    log.debug("%s %s %.0f ms", request.method, request.path,
              (time.monotonic() - started) * 1000)
    return p.finish(resp)

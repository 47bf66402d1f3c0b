"""The three public APIs as the web app calls them: over HTTP at the
services' own addresses, server-side, with the signed-in person's access
token and language. Nothing here reads another service's database.

An answer the page can use comes back as data; anything else is raised as
one of the exceptions below, which the page layer (pages.py) turns into a
form's field errors, a sign-in, a 404 page or the error page.
"""
from typing import Any, Optional
from urllib.parse import quote

import requests


class ApiError(Exception):
    """An answer other than 2xx: its status and its problem (RFC 9457)."""

    def __init__(self, status: int, problem: dict):
        super().__init__(f"{status}: {problem.get('detail') or problem}")
        self.status = status
        self.problem = problem

    @property
    def fields(self) -> dict:
        return self.problem.get("fields") or {}

    @property
    def detail(self) -> str:
        return self.problem.get("detail") or ""


class SignedOut(ApiError):
    """401: the access token is no longer accepted."""


class NotFound(ApiError):
    """404 (or 403): not this person's to see; the page says 'not found'."""


class Unavailable(ApiError):
    """A service did not answer, or answered 5xx."""


def _problem(resp) -> dict:
    try:
        body = resp.json()
    except ValueError:
        return {"detail": resp.text[:200]}
    return body if isinstance(body, dict) else {"detail": str(body)}


class Api:
    """One service, called for one person (a bearer token) in one language."""

    def __init__(self, base: str, token: Optional[str], lang: str, timeout: float,
                 forwarded_for: Optional[str] = None):
        self.base = base.rstrip("/")
        self.token = token
        self.lang = lang
        self.timeout = timeout
        self.forwarded_for = forwarded_for

    def headers(self, extra=None) -> dict:
        h = {"Accept-Language": self.lang, "Accept": "application/json"}
        if self.token:
            h["Authorization"] = f"Bearer {self.token}"
        if self.forwarded_for:
            h["X-Forwarded-For"] = self.forwarded_for
        h.update(extra or {})
        return h

    def call(self, method: str, path: str, *, params=None, json=None, data=None,
             key: Optional[str] = None) -> Any:
        extra = {"Idempotency-Key": key} if key else None
        try:
            resp = requests.request(method, self.base + path, params=params, json=json,
                                    data=data, headers=self.headers(extra),
                                    timeout=self.timeout)
        except requests.RequestException as exc:
            raise Unavailable(503, {"detail": type(exc).__name__}) from exc
        return self._answer(resp)

    def get(self, path: str, **params) -> Any:
        return self.call("GET", path, params={k: v for k, v in params.items()
                                              if v is not None})

    def post(self, path: str, body=None, key: Optional[str] = None) -> Any:
        return self.call("POST", path, json=body if body is not None else {}, key=key)

    def put(self, path: str, body: dict) -> Any:
        return self.call("PUT", path, json=body)

    def send_file(self, path: str, stream, content_type: str, filename: str) -> Any:
        """An evidence file as the request body, read from `stream` as it
        goes (never whole in memory); its name in Content-Disposition."""
        headers = self.headers({"Content-Type": content_type or "application/octet-stream",
                                "Content-Disposition": disposition(filename)})
        try:
            resp = requests.post(self.base + path, data=stream, headers=headers,
                                 timeout=max(self.timeout, 120))
        except requests.RequestException as exc:
            raise Unavailable(503, {"detail": type(exc).__name__}) from exc
        return self._answer(resp)

    def open_file(self, path: str, byte_range: Optional[str] = None):
        """A download, not yet read: the caller streams `iter_content`."""
        extra = {"Range": byte_range} if byte_range else None
        try:
            resp = requests.get(self.base + path, headers=self.headers(extra), stream=True,
                                timeout=self.timeout)
        except requests.RequestException as exc:
            raise Unavailable(503, {"detail": type(exc).__name__}) from exc
        if resp.status_code >= 300:
            self._answer(resp)
        return resp

    def _answer(self, resp) -> Any:
        """The JSON of a success, or the API's problem as the page's error:
        401 signs out, 403 and 404 are the 404 page, 5xx the error page."""
        if resp.status_code < 300:
            return resp.json() if resp.content else {}
        problem = _problem(resp)
        if resp.status_code == 401:
            raise SignedOut(401, problem)
        if resp.status_code in (403, 404):
            raise NotFound(resp.status_code, problem)
        if resp.status_code >= 500:
            raise Unavailable(resp.status_code, problem)
        raise ApiError(resp.status_code, problem)


def disposition(filename: str) -> str:
    """Content-Disposition for a name in any script (RFC 6266: an ASCII
    fallback, then the UTF-8 name)."""
    fallback = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_"
                       for c in filename or "file")
    return f'attachment; filename="{fallback}"; filename*=UTF-8\'\'{quote(filename or "file")}'


def oauth(base: str, form: dict, lang: str, timeout: float,
          forwarded_for: Optional[str] = None) -> tuple[int, dict]:
    """POST /oauth/token (RFC 6749): (status, body). The body is the tokens,
    or {"error", "error_description", ...} for the sign-in form to tell."""
    headers = {"Accept-Language": lang}
    if forwarded_for:
        headers["X-Forwarded-For"] = forwarded_for
    try:
        resp = requests.post(base.rstrip("/") + "/oauth/token", data=form, headers=headers,
                             timeout=timeout)
    except requests.RequestException as exc:
        raise Unavailable(503, {"detail": type(exc).__name__}) from exc
    if resp.status_code >= 500:
        raise Unavailable(resp.status_code, _problem(resp))
    body = _problem(resp)
    if resp.status_code == 429:
        body["retry_after"] = resp.headers.get("Retry-After")
    return resp.status_code, body


def revoke(base: str, refresh_token: str, timeout: float) -> None:
    """POST /oauth/revoke; signing out ends the refresh family even if this fails."""
    try:
        requests.post(base.rstrip("/") + "/oauth/revoke", data={"token": refresh_token},
                      timeout=timeout)
    except requests.RequestException:
        pass

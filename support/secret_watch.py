"""A pytest plugin: no secret the suite meets is ever in a log.

Every secret that passes through `requests` during the run in a request
the system took — bearer tokens sent, tokens, refresh tokens, invites,
webhook secrets, API key secrets and passwords in answers or in request
bodies — is noted. The logs the run
writes are: each service process's log under var/<profile>/logs/ (only
what this run appended) and every record of the services the tests run in
this process (a handler on the root logger, into the same folder). When the
run ends, each log is searched for each secret; a find fails the run,
naming the log, the line number and the kind of secret, never the secret.

Loaded by tests/conftest.py (`pytest_plugins`).
"""
import json
import logging
import os
import re
from urllib.parse import parse_qsl

import requests

SECRET_KEYS = {"token", "access_token", "refresh_token", "invite", "webhook_secret",
               "previous_webhook_secret", "secret", "client_secret", "api_key", "password",
               "new_password", "current_password", "otp_secret", "recovery_codes"}
WORD = re.compile(r"[A-Za-z0-9_.~+/-]+")
SHORTEST = 12       # shorter strings are no secret of ours, and would match by chance

found: dict[str, str] = {}      # secret -> its kind
_sizes: dict[str, int] = {}
_handler: logging.Handler | None = None


def note(kind, value):
    if isinstance(value, str) and len(value) >= SHORTEST:
        found.setdefault(value, kind)
    elif isinstance(value, list):
        for item in value:
            note(kind, item)


def walk(data):
    if isinstance(data, dict):
        for key, value in data.items():
            if key in SECRET_KEYS:
                note(key, value)
            walk(value)
    elif isinstance(data, list):
        for item in data:
            walk(item)


# What a request body gives the system that it keeps a secret: passwords
# and a client's secret. Tokens, invites and webhook secrets are the
# system's own, noted from the answers that hand them out (a body that only
# quotes one back — /oauth/revoke answers 200 to anything — proves nothing).
SENT_SECRET_KEYS = {"password", "new_password", "current_password", "client_secret"}
CHANGE_PASSWORD = "/accounts/password/change"     # its body: {"old", "new"}


def _request(prepared):
    auth = prepared.headers.get("Authorization", "")
    if auth.startswith("Bearer "):
        note("bearer token", auth[7:])
    body = prepared.body
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if not body or not isinstance(body, str):
        return
    kind = prepared.headers.get("Content-Type", "")
    try:
        if kind.startswith("application/x-www-form-urlencoded"):
            sent = dict(parse_qsl(body))
        elif "json" in kind:
            sent = json.loads(body)
        else:
            return
    except ValueError:
        return
    if not isinstance(sent, dict):
        return
    keys = SENT_SECRET_KEYS | ({"old", "new"} if prepared.path_url.endswith(CHANGE_PASSWORD)
                               else set())
    for key in keys & set(sent):
        note(key, sent[key])


def _response(response):
    if "json" in response.headers.get("Content-Type", ""):
        try:
            walk(response.json())
        except ValueError:
            pass


_send = requests.Session.send


def _watched_send(self, prepared, **kwargs):
    response = _send(self, prepared, **kwargs)
    # Only what the system took or gave is a secret of the run: a request
    # it refused (schemathesis and the hostile-input tests send anything
    # under a "password" key, and bearer values that are no token) is noise
    # that a log may well quote back, harmlessly.
    if response.status_code < 400:
        _request(prepared)
        if not kwargs.get("stream"):    # a streamed body is its reader's to read
            _response(response)
    return response


def logs_folder():
    from tools.stack import ROOT
    offset = int(os.environ.get("FASTTRACK_PORT_OFFSET") or 0)
    return os.path.join(ROOT, "var", f"test{offset}" if offset else "test", "logs")


def pytest_sessionstart(session):
    global _handler
    folder = logs_folder()
    os.makedirs(folder, exist_ok=True)
    for name in os.listdir(folder):
        _sizes[name] = os.path.getsize(os.path.join(folder, name))
    _handler = logging.FileHandler(os.path.join(folder, "in-process.log"), mode="w")
    _handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(_handler)
    if root.level > logging.INFO:
        root.setLevel(logging.INFO)
    requests.Session.send = _watched_send  # type: ignore[method-assign]


def leaks():
    """(log, line number, kind) of each secret found in this run's logs.

    A log holds many lines and the run thousands of secrets: each log's
    words (runs of the characters tokens are made of) go into a set, and a
    secret made of those characters is looked up in it; any other (a
    password with spaces) is searched for in the whole text."""
    folder = logs_folder()
    plain = {s: k for s, k in found.items() if WORD.fullmatch(s)}
    other = {s: k for s, k in found.items() if s not in plain}
    out = []
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        with open(path, "rb") as f:
            f.seek(0 if name == "in-process.log" else _sizes.get(name, 0))
            text = f.read().decode("utf-8", "replace")
        words = set(WORD.findall(text))
        hits = [(s, k) for s, k in plain.items() if s in words]
        hits += [(s, k) for s, k in other.items() if s in text]
        for secret, kind in hits:
            number = text[:text.index(secret)].count("\n") + 1
            out.append((name, number, kind))
    return out


def pytest_sessionfinish(session, exitstatus):
    requests.Session.send = _send  # type: ignore[method-assign]
    if _handler is not None:
        _handler.flush()
    found_in_logs = leaks()
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(f"secret watch: {len(found)} secrets looked for in "
                            f"{logs_folder()}: {len(found_in_logs)} found")
        for name, number, kind in found_in_logs[:20]:
            reporter.write_line(f"  a {kind} is in {name}, line {number} (of this run)",
                                red=True)
    if found_in_logs:
        session.exitstatus = 1

"""The secret watch (support/secret_watch.py) finds a secret in a log: a
token inside a line, and a password with spaces; and only what the run
appended to a service's log counts."""
from support import secret_watch


def test_a_secret_in_a_log_is_found_with_its_line_and_kind(tmp_path, monkeypatch):
    token = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
    password = "correct horse battery staple"
    monkeypatch.setattr(secret_watch, "found", {token: "access_token",
                                                password: "password", "x" * 20: "invite"})
    monkeypatch.setattr(secret_watch, "logs_folder", lambda: str(tmp_path))
    monkeypatch.setattr(secret_watch, "_sizes", {"intake.log": len("old " + "x" * 20 + "\n")})
    (tmp_path / "intake.log").write_text(
        "old " + "x" * 20 + "\n"        # before this run: not this run's leak
        "INFO ok\nWARNING refused Bearer " + token + ", retrying\n")
    (tmp_path / "in-process.log").write_text("INFO set password=" + password + "\n")
    assert sorted(secret_watch.leaks()) == [("in-process.log", 1, "password"),
                                            ("intake.log", 2, "access_token")]


def test_answers_and_bodies_give_up_their_secrets():
    secret_watch.walk({"items": [{"token": "t" * 16}], "recovery_codes": ["r" * 12, "short"]})
    assert secret_watch.found.pop("t" * 16) == "token"
    assert secret_watch.found.pop("r" * 12) == "recovery_codes"
    assert "short" not in secret_watch.found


def test_a_calls_repr_never_shows_its_body():
    """nameko logs a worker's arguments with an expected error (a 4xx): the
    body of POST /accounts/password holds an invite and a password."""
    from werkzeug.test import EnvironBuilder

    from shared import auth
    from shared.http import Call
    request = EnvironBuilder(method="POST", path="/accounts/password").get_request()
    call = Call(request, auth.ANONYMOUS, body={"invite": "i" * 43, "password": "p" * 20})
    shown = repr(call)
    assert "i" * 43 not in shown and "p" * 20 not in shown
    assert shown == "<Call POST /accounts/password by anonymous>"


def test_a_request_gives_up_its_passwords_not_the_tokens_it_quotes():
    import requests
    revoke = requests.Request("POST", "http://door/api/intake/oauth/revoke",
                              data={"token": "q" * 30}).prepare()
    secret_watch._request(revoke)
    assert "q" * 30 not in secret_watch.found      # quoted back, not given
    change = requests.Request("POST", "http://door/accounts/password/change",
                              json={"old": "o" * 14, "new": "n" * 14}).prepare()
    secret_watch._request(change)
    assert secret_watch.found.pop("o" * 14) == "old"
    assert secret_watch.found.pop("n" * 14) == "new"

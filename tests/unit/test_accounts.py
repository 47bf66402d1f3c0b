"""Accounts' rules: which passwords are refused, how secrets are kept, what
an access token from sign-in carries, and how the token endpoint reads a form."""
from datetime import timedelta

import jwt
import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from services.intake import accounts
from services.intake.signin import ACCESS_TTL_MAX, AccountRoutes, OAuthError, form_of, required
from shared import auth

KEY = auth.SigningKey.generate()
KEYS = auth.StaticKeys({KEY.kid: KEY.public_key})


@pytest.mark.parametrize("password, problem", [
    ("short-1A!", "at least 12 characters"),
    ("x" * 257, "at most 256 characters"),
    ("password1234", "too common or too easy to guess"),
    ("qwertyuiopasdf", "too common or too easy to guess"),
    ("aaaaaaaaaaaaaaaa", "too common or too easy to guess"),
    ("iloveyou2024!", "too common or too easy to guess"),
    ("violet-anchor-harbour-93", None),
    ("kV9#mq2LpX!wZ4", None),
])
def test_password_rules(password, problem):
    assert accounts.password_problem(password) == problem


def test_a_password_made_of_the_persons_own_name_is_easy_to_guess():
    assert accounts.password_problem("officer-7731-xk", "officer-7731-xk") == \
        "too common or too easy to guess"


def test_passwords_are_argon2id_and_verify_only_themselves():
    hashed = accounts.hash_password("violet-anchor-harbour-93")
    assert hashed.startswith("$argon2id$")
    assert "violet" not in hashed
    assert accounts.password_matches(hashed, "violet-anchor-harbour-93")
    assert not accounts.password_matches(hashed, "violet-anchor-harbour-94")
    assert not accounts.needs_rehash(hashed)


def test_no_hash_matches_no_password():
    """An account with no password yet, or none at all: never a match."""
    assert not accounts.password_matches(None, "")
    assert not accounts.password_matches(None, "anything-at-all-here")
    assert not accounts.password_matches("not-a-hash", "anything-at-all-here")


def test_secrets_are_random_and_stored_as_their_sha256():
    one, two = accounts.new_secret(), accounts.new_secret()
    assert one != two and len(one) >= 43
    assert accounts.digest(one) != one and len(accounts.digest(one)) == 64
    assert accounts.digest(one) == accounts.digest(one)


def test_a_sign_in_token_names_its_account_and_lives_minutes():
    token = auth.issue_token(KEY, "officer", "o1", "st1", ["st1", "b1"],
                             ttl=timedelta(seconds=900), account="o1")
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 900 and claims["acct"] == "o1"
    who = auth.authenticate(f"Bearer {token}", None, KEYS)
    assert who.account == "o1" and who.unit == "st1" and who.units == ("st1", "b1")
    # An admin-created token (no account) still works, with no account.
    plain = auth.issue_token(KEY, "company", "c1", lang="en")
    assert auth.authenticate(f"Bearer {plain}", None, KEYS).account is None


class Settings(AccountRoutes):
    def __init__(self, **config):
        self.config = config


@pytest.mark.parametrize("setting, seconds", [(None, 900), (60, 60), (3600, ACCESS_TTL_MAX)])
def test_the_access_token_ttl_is_a_setting_of_at_most_15_minutes(setting, seconds):
    config = {} if setting is None else {"ACCESS_TOKEN_TTL_SECONDS": setting}
    assert Settings(**config)._access_ttl() == timedelta(seconds=seconds)


def request(data, content_type="application/x-www-form-urlencoded"):
    return Request(EnvironBuilder(method="POST", data=data,
                                  content_type=content_type).get_environ())


def test_the_token_endpoint_reads_a_form_with_each_parameter_once():
    form = form_of(request("grant_type=password&username=a&password=b"))
    assert required(form, "username", "password") == ["a", "b"]
    for bad in (request('{"grant_type": "password"}', "application/json"),
                request("grant_type=password&grant_type=refresh_token"),
                request("grant_type=password&username=" + "a" * 9000)):
        with pytest.raises(OAuthError) as raised:
            required(form_of(bad), "grant_type")
        assert raised.value.error == "invalid_request" and raised.value.status == 400
    with pytest.raises(OAuthError):
        required(form_of(request("grant_type=password")), "username")

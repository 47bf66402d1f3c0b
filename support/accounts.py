"""Accounts as their people use them, over HTTP: set a password with an
invite, sign in at the token endpoint, refresh, exchange an API key."""
import jwt
import requests

PASSWORD = "violet-anchor-harbour-93"      # strong enough for zxcvbn
TIMEOUT = 15


def token_request(url, auth=None, headers=None, **form):
    """POST /oauth/token with a form (and HTTP Basic `auth`, a (id, secret) pair)."""
    return requests.post(url + "/oauth/token", data=form, auth=auth, headers=headers,
                         timeout=TIMEOUT)


def set_password(url, invite, password=PASSWORD):
    return requests.post(url + "/accounts/password", json={"invite": invite,
                                                           "password": password},
                         timeout=TIMEOUT)


def sign_in(url, username, password=PASSWORD):
    return token_request(url, grant_type="password", username=username, password=password)


def refresh(url, refresh_token):
    return token_request(url, grant_type="refresh_token", refresh_token=refresh_token)


def signed_in(url, created):
    """The tokens of a person just created by the admin (its answer carries
    `username` and `invite`): its password set, then signed in."""
    r = set_password(url, created["invite"])
    assert r.status_code == 200, r.text
    r = sign_in(url, created["username"])
    assert r.status_code == 200, r.text
    return r.json()


def claims(token):
    """A token's claims, unverified: what a test reads of one it was given."""
    return jwt.decode(token, options={"verify_signature": False})

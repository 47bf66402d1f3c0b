"""Asymmetric tokens on the running processes: intake signs, publishes its
public keys at /.well-known/jwks.json, and case_supervision and notify verify
its tokens through that set alone; a key rotated while requests run logs
nobody out; an unknown kid makes them refetch the set once, not per request."""
import re
import threading
import time

import jwt
import requests

from shared.auth import SigningKey, issue_token

PATHS = (("intake", "/reports"), ("case_supervision", "/cases"), ("notify", "/notices"))


def kid_of(token):
    return jwt.get_unverified_header(token)["kid"]


def jwks(system):
    r = requests.get(system.stack.service_url("intake") + "/.well-known/jwks.json", timeout=10)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("application/json")
    return r.json()["keys"]


def answers(system, token):
    return {name: system.client(name, token).get(path).status_code for name, path in PATHS}


def jwks_fetches(system):
    """How often intake has served its JWK set (its own metrics)."""
    text = system.client("intake").get("/metrics").text
    return sum(float(n) for n in re.findall(
        r'^fasttrack_http_requests_total\{[^}]*route="/\.well-known/jwks\.json"[^}]*\} (\S+)$',
        text, re.M))


def test_an_intake_token_works_everywhere_through_the_published_keys(system):
    system.start()
    org = system.org()
    keys = jwks(system)
    assert len(keys) == 1
    key = keys[0]
    assert set(key) == {"kid", "kty", "crv", "x", "alg", "use"}       # no private part
    assert (key["kty"], key["crv"], key["alg"], key["use"]) == ("OKP", "Ed25519", "EdDSA", "sig")
    assert kid_of(org.company_token) == kid_of(org.officer_token) == key["kid"]
    claims = jwt.decode(org.officer_token, jwt.PyJWK(key).key, algorithms=["EdDSA"],
                        audience="fasttrack")
    assert {"iss", "aud", "sub", "role", "exp", "iat", "jti", "unit", "units"} <= set(claims)
    assert answers(system, org.company_token) == {
        "intake": 200, "case_supervision": 200, "notify": 200}
    assert answers(system, org.officer_token)["case_supervision"] == 200
    # The verifying services hold no key: a token of a key intake does not
    # publish is refused everywhere, even one naming intake's kid.
    stranger = SigningKey.generate()
    forged = issue_token(stranger, "company", org.company_id)
    claiming = jwt.encode(jwt.decode(org.company_token, options={"verify_signature": False}),
                          stranger.private_key, "EdDSA", headers={"kid": key["kid"]})
    for token in (forged, claiming):
        assert set(answers(system, token).values()) == {401}


def test_rotation_while_requests_run_logs_nobody_out(system):
    system.start()
    org = system.org()
    old_kid = kid_of(org.company_token)
    refused, stop = [], threading.Event()

    def keep_asking():
        while not stop.is_set():
            for name, code in answers(system, org.company_token).items():
                if code != 200:
                    refused.append((name, code))

    worker = threading.Thread(target=keep_asking)
    worker.start()
    try:
        time.sleep(0.5)
        r = system.client("intake", system.stack.env["FASTTRACK_ADMIN_TOKEN"]).post(
            "/admin/signing-keys/rotate")
        assert r.status_code == 201, r.text
        new_kid = r.json()["kid"]
        assert new_kid != old_kid and set(r.json()["published"]) == {old_kid, new_kid}
        assert {k["kid"] for k in jwks(system)} == {old_kid, new_kid}
        # New tokens carry the new kid and work at once everywhere (an
        # unknown kid makes case_supervision and notify refetch the set).
        company_id, new_token = org.add_company("After rotation")
        officer_token = org.add_officer(f"o-new-{org.station}", org.station)
        assert kid_of(new_token) == kid_of(officer_token) == new_kid
        assert answers(system, new_token) == {
            "intake": 200, "case_supervision": 200, "notify": 200}
        assert answers(system, officer_token)["case_supervision"] == 200
        time.sleep(0.5)
    finally:
        stop.set()
        worker.join(30)
    # The old token never stopped working, before, during or after.
    assert refused == []
    assert answers(system, org.company_token) == {
        "intake": 200, "case_supervision": 200, "notify": 200}
    # Only the admin may rotate.
    assert system.client("intake", org.officer_token).post(
        "/admin/signing-keys/rotate").status_code == 403
    assert system.client("intake").post("/admin/signing-keys/rotate").status_code == 401


def test_unknown_kids_refetch_the_set_once_not_per_request(system):
    system.start()
    org = system.org()
    assert answers(system, org.company_token)["notify"] == 200      # the set is cached
    before = jwks_fetches(system)
    strangers = [issue_token(SigningKey.generate(), "company", org.company_id)
                 for _ in range(40)]
    started = time.monotonic()
    for token in strangers:
        for name, path in PATHS[1:]:
            assert system.client(name, token).get(path).status_code == 401
    elapsed = time.monotonic() - started
    fetched = jwks_fetches(system) - before
    # Per service a burst of 3, then at most one refetch a second.
    assert 1 <= fetched <= 2 * (3 + int(elapsed) + 1), (fetched, elapsed)
    # A genuine token still passes after the flood.
    assert answers(system, org.company_token) == {
        "intake": 200, "case_supervision": 200, "notify": 200}

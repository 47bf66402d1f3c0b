"""Tokens and the who-may-do-what rules."""
from datetime import datetime, timedelta, timezone

import jwt
import pytest

from shared import auth
from shared.errors import Forbidden, Unauthorized

KEY = auth.SigningKey.generate()
KEYS = auth.StaticKeys({KEY.kid: KEY.public_key})


def bearer(token):
    return f"Bearer {token}"


def test_a_token_carries_role_subject_and_unit_path():
    token = auth.issue_token(KEY, "supervisor", "s1", "b1", ["b1", "city"])
    who = auth.authenticate(bearer(token), "admin-secret", KEYS)
    assert who == auth.Principal("supervisor", "s1", "b1", ("b1", "city"))


def test_a_token_names_its_key_and_carries_the_standard_claims():
    token = auth.issue_token(KEY, "company", "c1", ttl_days=2)
    assert jwt.get_unverified_header(token) == {"alg": "EdDSA", "kid": KEY.kid, "typ": "JWT"}
    claims = jwt.decode(token, KEY.public_key, algorithms=["EdDSA"], audience="fasttrack")
    assert {"iss", "aud", "sub", "role", "exp", "iat", "jti"} <= set(claims)
    assert (claims["iss"], claims["aud"], claims["exp"] - claims["iat"]) == (
        "fasttrack", "fasttrack", 2 * 86400)
    assert claims["jti"] != jwt.decode(auth.issue_token(KEY, "company", "c1"), KEY.public_key,
                                       algorithms=["EdDSA"], audience="fasttrack")["jti"]


def test_a_token_lives_at_least_its_lifetime_whatever_the_fraction_of_the_second():
    # Issued for one second at x.9 s, the second before this one: it still
    # answers now, 0.1 to 1.1 s later (truncated, its `exp` is this second)...
    issued = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(seconds=0.1)
    token = auth.issue_token(KEY, "company", "c1", now=issued, ttl=timedelta(seconds=1))
    assert auth.authenticate(bearer(token), None, KEYS).subject == "c1"
    # ... and one issued a second earlier, out of its lifetime, does not.
    token = auth.issue_token(KEY, "company", "c1", now=issued - timedelta(seconds=1),
                             ttl=timedelta(seconds=1))
    with pytest.raises(Unauthorized):
        auth.authenticate(bearer(token), None, KEYS)


def test_tokens_are_made_with_a_private_key_not_a_shared_secret():
    with pytest.raises(TypeError):
        auth.issue_token("k" * 32, "company", "c1")


def test_the_jwk_of_a_key_is_rfc_7517_and_its_kid_the_rfc_7638_thumbprint():
    jwk = KEY.jwk()
    assert set(jwk) == {"kty", "crv", "x", "kid", "alg", "use"}
    assert (jwk["kty"], jwk["crv"], jwk["alg"], jwk["use"]) == ("OKP", "Ed25519", "EdDSA", "sig")
    assert "d" not in jwk   # never the private part
    # pyjwt's own reading of the JWK gives the same public key.
    assert jwt.PyJWK(jwk).key.public_bytes_raw() == KEY.public_key.public_bytes_raw()
    assert auth.key_from_jwk(jwk).public_bytes_raw() == KEY.public_key.public_bytes_raw()
    assert KEY.kid == auth.thumbprint(KEY.public_key) and len(KEY.kid) == 43
    assert auth.SigningKey.from_pem(KEY.pem()).kid == KEY.kid


@pytest.mark.parametrize("jwk", [
    None, {}, dict(KEY.jwk(), kty="RSA"), dict(KEY.jwk(), crv="X25519"),
    dict(KEY.jwk(), use="enc"), dict(KEY.jwk(), alg="HS256"), dict(KEY.jwk(), x="short"),
    {k: v for k, v in KEY.jwk().items() if k != "kid"}])
def test_a_jwk_that_is_not_an_ed25519_signing_key_is_not_used(jwk):
    assert auth.key_from_jwk(jwk) is None


def test_an_expired_token_is_refused():
    long_ago = datetime.now(timezone.utc) - timedelta(days=30)
    token = auth.issue_token(KEY, "company", "c1", now=long_ago, ttl_days=1)
    with pytest.raises(Unauthorized):
        auth.authenticate(bearer(token), "admin-secret", KEYS)


def test_the_admin_token_is_the_configured_secret():
    assert auth.authenticate(bearer("admin-secret"), "admin-secret", KEYS).role == "admin"


def _claims(**changes):
    now = int(datetime.now(timezone.utc).timestamp())
    claims = {"iss": "fasttrack", "aud": "fasttrack", "sub": "x", "role": "company",
              "iat": now, "exp": now + 600, "jti": "j1"}
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def _signed(claims, key=KEY.private_key, alg="EdDSA", kid=KEY.kid):
    return bearer(jwt.encode(claims, key, alg, headers={"kid": kid} if kid else None))


OTHER = auth.SigningKey.generate()


@pytest.mark.parametrize("header", [
    None, "", "Basic abc", "Bearer ", "Bearer nonsense",
    bearer(auth.issue_token(OTHER, "company", "c1")),                 # unknown kid
    _signed(_claims(), OTHER.private_key),                            # known kid, other key
    _signed(_claims(), KEY.private_key, kid=None),                    # no kid
    _signed(_claims(), "k" * 32, "HS256"),                            # a shared secret
    _signed(_claims(), KEY.jwk()["x"], "HS256"),                      # public key as secret
    _signed(_claims(), None, "none"),                                 # unsigned
    _signed(_claims(role="admin")),
    _signed(_claims(role="officer")),                                 # police without a unit
    _signed(_claims(role="nobody")),
    _signed(_claims(iss="elsewhere")),
    _signed(_claims(aud="elsewhere")),
    _signed(_claims(aud=None)),
    _signed(_claims(jti=None)),
    _signed(_claims(iat=None)),
    _signed(_claims(exp=None)),
    _signed(_claims(sub=None)),
])
def test_missing_forged_or_malformed_tokens_are_refused(header):
    with pytest.raises(Unauthorized):
        auth.authenticate(header, "admin-secret", KEYS)


def test_a_token_of_the_right_shape_passes():
    assert auth.authenticate(_signed(_claims()), "admin-secret", KEYS).subject == "x"


def test_an_empty_admin_token_setting_admits_nobody_as_admin():
    with pytest.raises(Unauthorized):
        auth.authenticate(bearer(""), "", KEYS)


def test_role_table():
    auth.require(auth.Principal("admin", "admin"), "admin.manage")
    with pytest.raises(Forbidden):
        auth.require(auth.Principal("company", "c1"), "admin.manage")


def report(company="c1", path=("st1", "b1", "city"), offered_to=None):
    return {"company_id": company, "owner_unit_id": path[0], "owner_unit_path": list(path),
            "transfer": {"to_unit_id": offered_to[0], "to_unit_path": list(offered_to)}
            if offered_to else None}


OFFICER = auth.Principal("officer", "o1", "st1", ("st1", "b1"))
OTHER_OFFICER = auth.Principal("officer", "o2", "st2", ("st2", "b1"))
BUREAU_SUPERVISOR = auth.Principal("supervisor", "s1", "b1", ("b1", "city"))
OTHER_BUREAU = auth.Principal("supervisor", "s2", "b2", ("b2", "city"))
STATION_SUPERVISOR = auth.Principal("supervisor", "s3", "st1", ("st1", "b1"))
BUREAU_OFFICER = auth.Principal("officer", "o3", "b1", ("b1", "city"))


def test_company_sees_only_its_own_reports():
    assert auth.can_read_report(auth.Principal("company", "c1"), report())
    assert not auth.can_read_report(auth.Principal("company", "c2"), report())


def test_officers_read_their_unit_and_supervisors_their_subtree():
    assert auth.can_read_report(OFFICER, report())
    assert not auth.can_read_report(OTHER_OFFICER, report())
    assert auth.can_read_report(BUREAU_SUPERVISOR, report())
    assert not auth.can_read_report(OTHER_BUREAU, report())
    # An officer of the bureau is not a supervisor: no reach into the stations.
    assert not auth.can_read_report(BUREAU_OFFICER, report())


def listed(principal, report):
    """Whether report_filter finds `report` by its stored reach keys (an
    equality on a list matches any element, as the database does)."""
    flt = auth.report_filter(principal)
    keys = auth.report_reach(report)
    return any(branch[auth.REACH] in keys for branch in flt.get("$or", [flt]))


@pytest.mark.parametrize("who", [OFFICER, OTHER_OFFICER, BUREAU_SUPERVISOR, OTHER_BUREAU,
                                 STATION_SUPERVISOR, BUREAU_OFFICER, auth.Principal("company", "c1"),
                                 auth.Principal("company", "c2"), auth.Principal("admin", "a")])
@pytest.mark.parametrize("stored", [report(), report(offered_to=("st2", "b1")),
                                    report(path=("b1", "city")),
                                    report(offered_to=("b2", "city"))])
def test_each_lists_exactly_the_reports_it_may_read(who, stored):
    assert listed(who, stored) == auth.can_read_report(who, stored)


def test_only_the_owner_unit_acts_and_only_the_offered_unit_answers_an_offer():
    assert auth.can_act_on_report(OFFICER, report())
    assert auth.can_act_on_report(STATION_SUPERVISOR, report())
    assert not auth.can_act_on_report(BUREAU_SUPERVISOR, report())
    assert not auth.can_act_on_report(OTHER_OFFICER, report())
    assert not auth.can_act_on_report(auth.Principal("company", "c1"), report())
    offered = report(offered_to=("st2", "b1"))
    assert auth.can_read_report(OTHER_OFFICER, offered)
    assert auth.can_answer_transfer(OTHER_OFFICER, offered)
    assert not auth.can_answer_transfer(OFFICER, offered)
    assert not auth.can_answer_transfer(OTHER_OFFICER, report())


def test_the_company_and_the_owner_supply_materials():
    assert auth.can_supply_materials(auth.Principal("company", "c1"), report())
    assert not auth.can_supply_materials(auth.Principal("company", "c2"), report())
    assert auth.can_supply_materials(OFFICER, report())
    assert not auth.can_supply_materials(OTHER_OFFICER, report())

"""Tokens and the who-may-do-what rules."""
import jwt
import pytest

from shared import auth
from shared.errors import Forbidden, Unauthorized

KEY = "k" * 32


def bearer(token):
    return f"Bearer {token}"


def test_a_token_carries_role_subject_and_unit_path():
    token = auth.issue_token(KEY, "supervisor", "s1", "b1", ["b1", "city"])
    who = auth.authenticate(bearer(token), "admin-secret", KEY)
    assert who == auth.Principal("supervisor", "s1", "b1", ("b1", "city"))


def test_the_admin_token_is_the_configured_secret():
    assert auth.authenticate(bearer("admin-secret"), "admin-secret", KEY).role == "admin"


@pytest.mark.parametrize("header", [
    None, "", "Basic abc", "Bearer ", "Bearer nonsense",
    bearer(auth.issue_token("other-key" * 4, "company", "c1")),
    bearer(jwt.encode({"iss": "fasttrack", "sub": "x", "role": "admin"}, KEY, "HS256")),
    bearer(jwt.encode({"iss": "fasttrack", "sub": "x", "role": "officer"}, KEY, "HS256")),
    bearer(jwt.encode({"iss": "elsewhere", "sub": "x", "role": "company"}, KEY, "HS256")),
    bearer(jwt.encode({"iss": "fasttrack", "sub": "x", "role": "company"}, None, "none")),
])
def test_missing_forged_or_malformed_tokens_are_refused(header):
    with pytest.raises(Unauthorized):
        auth.authenticate(header, "admin-secret", KEY)


def test_an_empty_admin_token_setting_admits_nobody_as_admin():
    with pytest.raises(Unauthorized):
        auth.authenticate(bearer(""), "", KEY)


def test_role_table():
    auth.require(auth.Principal("admin", "admin"), "admin.manage")
    with pytest.raises(Forbidden):
        auth.require(auth.Principal("company", "c1"), "admin.manage")


def report(company="c1", path=("st1", "b1", "city")):
    return {"company_id": company, "owner_unit_path": list(path)}


def test_company_sees_only_its_own_reports():
    assert auth.can_read_report(auth.Principal("company", "c1"), report())
    assert not auth.can_read_report(auth.Principal("company", "c2"), report())


def test_officer_reaches_its_own_unit_and_supervisor_its_subtree():
    officer = auth.Principal("officer", "o1", "st1", ("st1", "b1"))
    other_officer = auth.Principal("officer", "o2", "st2", ("st2", "b1"))
    bureau_supervisor = auth.Principal("supervisor", "s1", "b1", ("b1", "city"))
    other_bureau = auth.Principal("supervisor", "s2", "b2", ("b2", "city"))
    bureau_officer = auth.Principal("officer", "o3", "b1", ("b1", "city"))
    assert auth.can_act_on_report(officer, report())
    assert not auth.can_act_on_report(other_officer, report())
    assert auth.can_act_on_report(bureau_supervisor, report())
    assert not auth.can_act_on_report(other_bureau, report())
    # An officer of the bureau is not a supervisor: no reach into the stations.
    assert not auth.can_act_on_report(bureau_officer, report())
    assert not auth.can_act_on_report(auth.Principal("company", "c1"), report())

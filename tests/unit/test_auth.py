"""Tokens and the who-may-do-what rules."""
from datetime import datetime, timedelta, timezone

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


def test_an_expired_token_is_refused():
    long_ago = datetime.now(timezone.utc) - timedelta(days=30)
    token = auth.issue_token(KEY, "company", "c1", now=long_ago, ttl_days=1)
    with pytest.raises(Unauthorized):
        auth.authenticate(bearer(token), "admin-secret", KEY)


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
    assert auth.report_filter(auth.Principal("company", "c1")) == {"company_id": "c1"}


def test_officers_read_their_unit_and_supervisors_their_subtree():
    assert auth.can_read_report(OFFICER, report())
    assert not auth.can_read_report(OTHER_OFFICER, report())
    assert auth.can_read_report(BUREAU_SUPERVISOR, report())
    assert not auth.can_read_report(OTHER_BUREAU, report())
    # An officer of the bureau is not a supervisor: no reach into the stations.
    assert not auth.can_read_report(BUREAU_OFFICER, report())


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

"""Company API keys' pure rules (services/intake/api_keys.py) and the scope
column of the permission table (shared/auth.py): which actions a key's
token may attempt, in every service."""
import base64
from datetime import timedelta

import jwt
import pytest
from nameko.containers import ServiceContainer
from werkzeug.datastructures import MultiDict

from services.case_supervision.service import CaseSupervisionService
from services.intake import api_keys
from services.intake.service import IntakeService
from shared import auth
from shared.openapi import openapi
from shared.errors import Forbidden, Unauthorized

KEY = auth.SigningKey.generate()
KEYS = auth.StaticKeys({KEY.kid: KEY.public_key})
MINUTES = timedelta(minutes=15)


def basic(client_id, secret):
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def key_principal(scope, company="c1"):
    token = auth.issue_token(KEY, "company", company, ttl=MINUTES, scope=scope,
                             client_id="ftk_1")
    return auth.authenticate(f"Bearer {token}", "admin-secret", KEYS)


def test_ids_and_secrets_are_prefixed_random_and_256_bits():
    secrets = {api_keys.new_key_secret() for _ in range(50)}
    assert len(secrets) == 50
    assert all(s.startswith("ftks_") and len(s) == 5 + 43 for s in secrets)
    assert api_keys.new_key_id().startswith("ftk_") and api_keys.new_key_id() != \
        api_keys.new_key_id()


def test_a_client_authenticates_by_http_basic_or_by_form_never_both():
    empty = MultiDict()
    assert api_keys.client_credentials(basic("ftk_a", "s3cret"), empty) == ("ftk_a", "s3cret")
    # RFC 6749 §2.3.1: each part is form-urlencoded before it is joined.
    assert api_keys.client_credentials(basic("ftk_a", "a%3Ab+c"), empty) == ("ftk_a", "a:b c")
    form = MultiDict({"client_id": "ftk_a", "client_secret": "s3cret"})
    assert api_keys.client_credentials(None, form) == ("ftk_a", "s3cret")
    assert api_keys.client_credentials(None, empty) is None
    with pytest.raises(api_keys.TwoWays):
        api_keys.client_credentials(basic("ftk_a", "s3cret"), form)
    # Only HTTP Basic authenticates a client in the header; a bearer is no client.
    assert api_keys.client_credentials("Bearer abc", empty) is None
    assert api_keys.client_credentials("Bearer abc", form) == ("ftk_a", "s3cret")
    for header in ("Basic", "basic  ", "Basic !!!", basic("ftk_a", ""), basic("", "x"),
                   "Basic " + base64.b64encode(b"no-colon").decode(),
                   "Basic " + base64.b64encode(b"\xff\xfe:x").decode(),
                   basic("ftk_a", "x" * 201)):
        with pytest.raises(api_keys.ClientAuthFailed):
            api_keys.client_credentials(header, empty)
    with pytest.raises(api_keys.ClientAuthFailed):
        api_keys.client_credentials(None, MultiDict({"client_id": "ftk_a"}))


@pytest.mark.parametrize("key_scope, asked, granted", [
    ("read", None, "read"), ("write", "", "write"), ("write", "read", "read"),
    ("write", "write", "write"), ("write", "read write", "write"), ("read", "write", None),
    ("read", "read write", None), ("write", "admin", None), ("read", "read  ", None),
])
def test_a_token_gets_the_keys_scope_or_a_narrower_one_asked_for(key_scope, asked, granted):
    assert api_keys.granted_scope(key_scope, asked) == granted


def test_a_keys_token_carries_its_scope_and_client_id():
    who = key_principal("read")
    assert (who.role, who.subject, who.scope, who.client_id, who.account) == (
        "company", "c1", "read", "ftk_1", None)
    with pytest.raises(ValueError):
        auth.issue_token(KEY, "company", "c1", ttl=MINUTES, scope="admin", client_id="k")


@pytest.mark.parametrize("claims", [
    {"role": "officer", "unit": "st1", "scope": "write", "client_id": "k"},   # a police key
    {"role": "company", "scope": "everything", "client_id": "k"},
    {"role": "company", "scope": "read"},                                      # no client_id
])
def test_a_token_with_a_scope_that_no_key_has_is_refused(claims):
    body = {"iss": "fasttrack", "aud": "fasttrack", "sub": "c1", "iat": 0, "jti": "j",
            "exp": 4102444800, **claims}
    token = jwt.encode(body, KEY.private_key, algorithm="EdDSA", headers={"kid": KEY.kid})
    with pytest.raises(Unauthorized):
        auth.authenticate(f"Bearer {token}", "admin-secret", KEYS)


def test_a_read_key_reads_and_is_refused_filing_and_materials():
    reader, writer = key_principal("read"), key_principal("write")
    report = {"company_id": "c1", "owner_unit_id": "st1", "owner_unit_path": ["st1"]}
    for action in ("report.list", "case.list", "notice.read", "incident_type.list"):
        auth.require(reader, action)
    assert auth.allows(reader, "report.read", report)
    assert not auth.allows(reader, "report.read", dict(report, company_id="c2"))
    for action in ("report.file", "report.supply_materials"):
        with pytest.raises(Forbidden, match="read scope"):
            auth.require(reader, action)
        auth.require(writer, action)
    assert not auth.allows(reader, "report.supply_materials", report)
    assert auth.allows(writer, "report.supply_materials", report)


@pytest.mark.parametrize("action", ["api_key.manage", "subscription.manage", "case.rate",
                                    "case.reopen", "account.change_password"])
def test_no_key_may_do_what_the_table_gives_no_key_scope(action):
    with pytest.raises(Forbidden):
        auth.require(key_principal("write"), action)
    # A person of the company may: the scope column binds keys alone.
    auth.require(auth.Principal("company", "c1", account="owner-1", company_role="owner"),
                 action)


def test_the_key_scopes_in_the_table_are_exactly_these():
    scoped = {a: p.key_scope for a, p in auth.PERMISSIONS.items() if p.key_scope}
    assert scoped == {"incident_type.list": "read", "report.file": "write",
                      "report.list": "read", "report.read": "read",
                      "report.supply_materials": "write", "case.list": "read",
                      "case.read": "read", "notice.read": "read"}


def test_only_a_signed_in_owner_of_that_company_manages_its_keys():
    owner = auth.Principal("company", "c1", account="o", company_role="owner")
    assert auth.allows(owner, "api_key.manage", "c1")
    assert not auth.allows(owner, "api_key.manage", "c2")
    for who in (auth.Principal("company", "c1", account="m", company_role="member"),
                auth.Principal("company", "c1"),                 # an admin-made token
                key_principal("write"),
                auth.Principal("officer", "o1", "st1", ("st1",))):
        assert not auth.allows(who, "api_key.manage", "c1"), who


def test_the_openapi_document_says_which_scope_a_key_needs():
    intake = openapi(ServiceContainer(IntakeService, {"AMQP_URI": "memory://"}), "intake")
    assert intake["paths"]["/reports"]["post"]["x-api-key-scope"] == "write"
    assert intake["paths"]["/reports"]["get"]["x-api-key-scope"] == "read"
    assert "x-api-key-scope" not in intake["paths"]["/company/api-keys"]["post"]
    assert "401" in intake["paths"]["/oauth/token"]["post"]["responses"]
    cases = openapi(ServiceContainer(CaseSupervisionService, {"AMQP_URI": "memory://"}),
                    "case_supervision")
    assert "x-api-key-scope" not in cases["paths"]["/cases/{case_id}/satisfaction"]["post"]

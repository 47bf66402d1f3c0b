"""Who may call what is one table (shared.auth.PERMISSIONS): every route
names an action in it, takes its roles from it, and shows them in its
service's OpenAPI document."""
import pytest
from nameko.containers import ServiceContainer

from services.case_supervision.service import CaseSupervisionService
from services.intake.service import IntakeService
from services.notify.service import NotifyService
from shared import auth
from shared.http import JsonHttp
from shared.openapi import openapi

# Public on purpose: the service's own state, its keys, and the way in (an
# invite or a password is the proof; RFC 6749 and 7009 take no bearer).
PUBLIC = {"/health", "/metrics", "/openapi.json", "/.well-known/jwks.json",
          "/oauth/token", "/oauth/revoke", "/accounts/password"}


def routes(service_cls):
    container = ServiceContainer(service_cls, {"AMQP_URI": "memory://"})
    return container, [e for e in container.entrypoints if isinstance(e, JsonHttp)]


@pytest.mark.parametrize("service_cls", [IntakeService, CaseSupervisionService, NotifyService])
def test_every_route_takes_its_roles_from_the_table_and_shows_them(service_cls):
    container, entrypoints = routes(service_cls)
    spec = openapi(container, service_cls.name)
    assert len(entrypoints) > len(PUBLIC)
    for ep in entrypoints:
        if ep.url.startswith("/docs"):   # the docs page: for people, not in the document
            assert ep.action is None
            continue
        op = spec["paths"][ep.url.replace("<", "{").replace(">", "}")][ep.method.lower()]
        if ep.url in PUBLIC:
            assert ep.action is None and "x-roles" not in op
            continue
        assert ep.action in auth.PERMISSIONS, (ep.url, ep.action)
        assert set(ep.roles) == auth.PERMISSIONS[ep.action].roles
        assert op["x-roles"] == sorted(auth.PERMISSIONS[ep.action].roles)
        assert op["description"].split("\n")[-1] == f"Roles: {', '.join(sorted(ep.roles))}."


def test_every_action_in_the_table_is_used_by_a_route():
    used = {ep.action for cls in (IntakeService, CaseSupervisionService, NotifyService)
            for ep in routes(cls)[1]}
    assert set(auth.PERMISSIONS) == used - {None}


def test_a_rule_decides_on_the_resource_and_the_role_alone_never_suffices():
    officer = auth.Principal("officer", "o1", "st1", ("st1", "b1"))
    report = {"company_id": "c1", "owner_unit_id": "st1", "owner_unit_path": ["st1", "b1"],
              "transfer": None}
    assert auth.allows(officer, "report.act", report)
    assert not auth.allows(officer, "report.act", dict(report, owner_unit_id="st2",
                                                       owner_unit_path=["st2", "b1"]))
    assert not auth.allows(auth.Principal("company", "c1"), "report.act", report)
    assert auth.allows(auth.Principal("company", "c1"), "report.read", report)

"""Who sees what in intake: every route, every role, own and another's
resource. Another's report does not exist for you (404); a role that may
never call a route gets 403; no token 401. Denied calls change nothing."""
import pytest

from services.intake.service import IntakeService
from support.client import Client
from support.organisation import Org
from support.reports import report_body
from tests.helpers import PROBLEM

ROUTES = [  # (method, path, body)
    ("GET", "/reports/{id}", None),
    ("POST", "/reports/{id}/acknowledge", None),
    ("POST", "/reports/{id}/accept", None),
    ("POST", "/reports/{id}/transfer", {"to_unit_id": "{st2}", "reason": "x"}),
    ("POST", "/reports/{id}/transfer/accept", None),
    ("POST", "/reports/{id}/transfer/decline", {"reason": "x"}),
    ("POST", "/reports/{id}/merge", {"into_report_id": "{other}", "reason": "x"}),
    ("POST", "/reports/{id}/materials", {"supplied": ["reporter_id"]}),
    ("POST", "/reports/{id}/materials/extra", {"items": [{"code": "a", "label": "A"}],
                                               "reason": "x"}),
]
# Who is refused what, on a report owned by station 1 of the company "mine".
# Everyone else listed is refused with 404 (it does not exist for them).
FORBIDDEN_ROLE = {  # 403: this role never calls this route
    "company": {"/acknowledge", "/accept", "/transfer", "/transfer/accept",
                "/transfer/decline", "/merge", "/materials/extra"},
    "admin": {route.replace("/reports/{id}", "") or "/" for _, route, _ in ROUTES},
}


@pytest.fixture(params=["issued", "signed_in"])
def world(running, request):
    """Every principal's token as the admin's create answered it, and as the
    person's own sign-in at POST /oauth/token answers it: the same matrix."""
    running.start(IntakeService)
    url, admin = running.urls["intake"], running.config["ADMIN_TOKEN"]
    signed_in = request.param == "signed_in"
    mine, theirs = Org(url, admin, sign_in=signed_in), Org(url, admin, sign_in=signed_in)
    st2 = mine.add_unit(f"st2-{mine.bureau}")
    return {"url": url, "mine": mine, "theirs": theirs, "st2": st2, "admin": admin}


def principals(world):
    mine, theirs = world["mine"], world["theirs"]
    return {
        "other company": ("company", theirs.company_token),
        "other unit's officer": ("officer", theirs.officer_token),
        "other bureau's supervisor": ("supervisor", theirs.supervisor_token),
        "admin": ("admin", world["admin"]),
        "own company": ("company", mine.company_token),
    }


def expanded(path, body, ids):
    def fill(v):
        return v.format(**ids) if isinstance(v, str) else v
    return fill(path), ({k: ([{kk: fill(vv) for kk, vv in i.items()} for i in v]
                             if isinstance(v, list) and v and isinstance(v[0], dict)
                             else fill(v)) for k, v in body.items()} if body else None)


def call(client, method, path, body):
    return client.get(path) if method == "GET" else client.post(path, body)


def test_every_route_hides_a_report_from_those_it_does_not_belong_to(world):
    mine = world["mine"]
    report = mine.file_report()
    other = mine.file_report(summary="other")
    ids = {"id": report["report_id"], "st2": world["st2"], "other": other["report_id"]}
    before = Client(world["url"], mine.officer_token).get(f"/reports/{ids['id']}").json()
    for name, (role, token) in principals(world).items():
        client = Client(world["url"], token)
        for method, route, body in ROUTES:
            path, filled = expanded(route, body, ids)
            suffix = route.replace("/reports/{id}", "") or "/"
            if name == "own company" and suffix in ("/", "/materials"):
                continue  # allowed; tested in test_intake_rules
            r = call(client, method, path, filled)
            expected = 403 if suffix in FORBIDDEN_ROLE.get(role, ()) else 404
            assert r.status_code == expected, (name, method, route, r.text)
            assert set(r.json()) == PROBLEM
    after = Client(world["url"], mine.officer_token).get(f"/reports/{ids['id']}").json()
    assert after == before  # nothing a refused call did left a trace


def test_without_a_valid_token_nothing_answers(world):
    rid = world["mine"].file_report()["report_id"]
    for token in (None, "forged.token.value", world["admin"] + "x"):
        client = Client(world["url"], token)
        for method, route, body in ROUTES:
            path, filled = expanded(route, body, {"id": rid, "st2": "x", "other": "y"})
            assert call(client, method, path, filled).status_code == 401
        assert client.get("/reports").status_code == 401
        assert client.post("/reports", report_body()).status_code == 401


def test_admin_routes_are_for_the_admin_only(world):
    mine = world["mine"]
    for token in (mine.company_token, mine.officer_token, mine.supervisor_token):
        client = Client(world["url"], token)
        for path in ("/admin/units", "/admin/officers", "/admin/companies"):
            assert client.post(path, {}).status_code == 403
        assert client.get("/admin/failures").status_code == 403


def test_lists_show_only_what_each_principal_may_see(world):
    mine, theirs = world["mine"], world["theirs"]
    rid = mine.file_report()["report_id"]
    theirs.file_report()

    def listed(token):
        return [i["report_id"] for i in Client(world["url"], token).get("/reports").json()[
            "items"]]
    assert listed(mine.company_token) == [rid]
    assert listed(mine.officer_token) == [rid]
    assert listed(mine.supervisor_token) == [rid]
    assert rid not in listed(theirs.company_token)
    assert rid not in listed(theirs.officer_token)
    assert rid not in listed(theirs.supervisor_token)

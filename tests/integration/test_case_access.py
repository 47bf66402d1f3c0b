"""Who sees what in case_supervision: every route × every principal, on a
case of company c1 worked by station st1 (st1 < b1 < city) whose lead o1 is
its only team member, and on a ledger item of st1. Another's case, ledger
item or unit does not exist for you: 404 with a JSON error, the very answer a
made-up id gets. A role that never calls a route, or one that sees the case
but may not do this to it: 403. No valid token: 401. Refused calls leave the
case and the ledger as they were; lists hold only what the principal may
see; and each allowed call goes through."""
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from shared.events import case_id_for
from tests.conftest import ADMIN_TOKEN
from tests.helpers import PROBLEM, bad_tokens, eventually, refusal
from tests.integration.case_world import World, fast, write_policy

PRINCIPALS = ("own company", "other company", "team officer", "colleague",
              "other unit's officer", "station supervisor", "bureau supervisor",
              "other bureau's supervisor", "admin")
OTHER_PATH = ["st9", "b9", "city"]
SOON = (datetime.now(timezone.utc) + timedelta(days=3)).isoformat()
CONCLUDE = {"result": "solved", "summary": "two arrested"}
WORK = (403, 403, 200, 403, 404, 403, 403, 404, 403)        # the team
SUPERVISE = (403, 403, 403, 403, 403, 200, 200, 404, 403)   # supervisors over st1
ROUTES = [  # method, path, body, the answer each of PRINCIPALS gets, in order
    ("GET", "/cases", None, (200, 200, 200, 200, 200, 200, 200, 200, 403)),
    ("GET", "/cases/{case}", None, (200, 404, 200, 200, 404, 200, 200, 404, 403)),
    ("POST", "/cases/{case}/progress", {"note": "x"}, WORK),
    ("POST", "/cases/{case}/conclude", CONCLUDE, WORK),
    ("POST", "/cases/{case}/pause", {"reason": "x"}, WORK),
    ("POST", "/cases/{case}/resume", None, WORK),
    ("POST", "/cases/{case}/team", {"officer_id": "o2"},
     (403, 403, 200, 403, 404, 200, 200, 404, 403)),
    ("POST", "/cases/{case}/lead", {"officer_id": "o2", "reason": "x"}, SUPERVISE),
    ("POST", "/cases/{case}/escalate", {"reason": "x"}, SUPERVISE),
    ("POST", "/cases/{case}/deadline", {"stage": "first_action", "due_at": SOON,
                                        "reason": "x"}, SUPERVISE),
    ("POST", "/cases/{case}/close", None, SUPERVISE),   # the case is flagged to st1
    ("POST", "/cases/{case}/reopen", {"reason": "x"},
     (200, 404, 403, 403, 403, 200, 200, 404, 403)),
    ("POST", "/cases/{case}/satisfaction", {"rating": 4},
     (201, 404, 403, 403, 403, 403, 403, 403, 403)),
    ("GET", "/ledger", None, (403, 403, 403, 403, 403, 200, 200, 200, 403)),
    ("POST", "/ledger/{item}/resolve", {"note": "x"}, SUPERVISE),
    ("GET", "/units/{unit}/scorecard", None, (403, 403, 200, 200, 404, 200, 200, 404, 200)),
    ("GET", "/units/{bureau}/scorecard", None, (403, 403, 404, 404, 404, 404, 200, 404, 200)),
    ("GET", "/ledger/export", None, (403, 403, 403, 403, 403, 200, 200, 200, 403)),
    ("GET", "/scorecards", None, (403, 403, 200, 200, 200, 200, 200, 200, 200)),
    ("GET", "/scorecards/export", None, (403, 403, 200, 200, 200, 200, 200, 200, 200)),
    ("GET", "/admin/failures", None, (403,) * 8 + (200,)),
]
# What the case must be in before the call that is allowed on it.
PREPARE = {"resume": ("pause", {"reason": "x"}), "close": ("conclude", CONCLUDE),
           "reopen": ("conclude", CONCLUDE), "satisfaction": ("conclude", CONCLUDE)}


class Access(World):
    """The World of tests/integration/case_world.py, with the principals of PRINCIPALS."""

    def __init__(self, running, policy_file):
        super().__init__(running, policy_file)
        self.other_head = self.token("supervisor", "s-b9", "b9", OTHER_PATH[1:])
        self.principals = dict(zip(PRINCIPALS, (
            self.company, self.other_company, self.officer, self.colleague, self.stranger,
            self.station_head, self.bureau_head, self.other_head, ADMIN_TOKEN)))

    def open_cases(self, n, **data):
        report_ids = [str(uuid.uuid4()) for _ in range(n)]
        for rid in report_ids:
            self.intake_event("report_accepted", rid, status="accepted",
                              case_id=case_id_for(rid),
                              accepted_at=datetime.now(timezone.utc).isoformat(),
                              **dict({"accepted_by": "o1"}, **data))
        reader = self.other_head if data.get("owner_unit_path") == OTHER_PATH else self.officer

        def found():
            items = [self.as_(reader).get("/cases", report_id=r).json()["items"]
                     for r in report_ids]
            return all(items) and [i[0]["case_id"] for i in items]
        return eventually(found, what="the cases opened")

    def ledger_items(self, n, path=("st1", "b1", "city")):
        """Intake's missed acknowledgements of `path[0]`: items in its ledger."""
        report_ids = [str(uuid.uuid4()) for _ in range(n)]
        unit = {"owner_unit_id": path[0], "owner_unit_path": list(path)}
        for rid in report_ids:
            self.intake_event("report_received", rid, **unit)
            self.intake_event("report_ack_overdue", rid, step=1, responsible_unit_id=path[0],
                              escalated_to_unit_id=path[0], **unit)
        head = self.other_head if path[0] == "st9" else self.bureau_head

        def found():
            items = {i["report_id"]: i["item_id"] for i in self.ledger(head)}
            return all(r in items for r in report_ids) and [items[r] for r in report_ids]
        return eventually(found, what="the ledger items")

    def snapshot(self, case_id):
        """The case and the ledgers as the people allowed to read them see them."""
        return (self.case(case_id, self.bureau_head), self.case(case_id, self.company),
                self.ledger(self.bureau_head), self.ledger(self.other_head))


@pytest.fixture
def w(running, tmp_path):
    path = str(tmp_path / "cases.yml")
    write_policy(path, fast())
    return Access(running, path).with_intake("o2").start()


def call(client, method, path, body):
    return client.get(path) if method == "GET" else client.post(path, body)


def test_every_route_answers_each_principal_as_its_role_and_reach_allow(w):
    case_id, = w.open_cases(1)
    item, = w.ledger_items(1)
    ids = {"case": case_id, "item": item, "unit": "st1", "bureau": "b1"}
    made_up = {"case": str(uuid.uuid4()), "item": str(uuid.uuid4()), "unit": "st404",
               "bureau": "b404"}
    before = w.snapshot(case_id)
    for method, route, body, answers in ROUTES:
        for name, expected in zip(PRINCIPALS, answers):
            if method == "POST" and expected < 300:
                continue  # it changes the case: test_each_allowed_call_goes_through
            client = w.as_(w.principals[name])
            r = call(client, method, route.format(**ids), body)
            assert r.status_code == expected, (name, method, route, r.text)
            if expected >= 400:
                assert set(r.json()) == PROBLEM, (name, route, r.text)
            if expected == 404:  # indistinguishable from what does not exist
                ghost = call(client, method, route.format(**made_up), body)
                assert refusal(ghost) == refusal(r) and r.status_code == 404, (name, route)
    assert w.snapshot(case_id) == before   # nothing a refused call did left a trace


def test_each_allowed_call_goes_through(w):
    allowed = [(route, body, name, expected) for method, route, body, answers in ROUTES
               for name, expected in zip(PRINCIPALS, answers)
               if method == "POST" and expected < 300]
    on_cases = [a for a in allowed if a[0].startswith("/cases/")]
    cases = iter(w.open_cases(len(on_cases)))
    items = iter(w.ledger_items(len(allowed) - len(on_cases)))
    for route, body, name, expected in allowed:
        ids = {"case": next(cases)} if route.startswith("/cases/") else {"item": next(items)}
        action = route.rsplit("/", 1)[1]
        if action in PREPARE:
            r = w.post(w.officer, ids.get("case"), *PREPARE[action])
            assert r.status_code == 200, r.text
        r = w.as_(w.principals[name]).post(route.format(**ids), body)
        assert r.status_code == expected, (name, route, r.text)


def test_without_a_valid_token_nothing_answers_and_nothing_changes(w):
    case_id, = w.open_cases(1)
    item, = w.ledger_items(1)
    ids = {"case": case_id, "item": item, "unit": "st1", "bureau": "b1"}
    before = w.snapshot(case_id)
    for name, token in bad_tokens().items():
        client = w.as_(token)
        for method, route, body, _ in ROUTES:
            r = call(client, method, route.format(**ids), body)
            assert r.status_code == 401, (name, method, route, r.text)
            assert set(r.json()) == PROBLEM
    assert w.snapshot(case_id) == before


def test_lists_show_only_what_each_principal_may_see(w):
    mine, = w.open_cases(1)
    theirs, = w.open_cases(1, company_id="c2", owner_unit_id="st9",
                           owner_unit_path=OTHER_PATH, accepted_by="o9")
    secret = "informant says the suspect is a cousin"
    assert w.post(w.officer, mine, "progress", {"note": secret}).status_code == 200
    my_item, = w.ledger_items(1)
    their_item, = w.ledger_items(1, OTHER_PATH)
    cases = {name: [c["case_id"] for c in w.as_(token).get("/cases").json()["items"]]
             for name, token in w.principals.items() if name != "admin"}
    assert cases == {
        "own company": [mine], "other company": [theirs], "team officer": [mine],
        "colleague": [mine], "other unit's officer": [theirs], "station supervisor": [mine],
        "bureau supervisor": [mine], "other bureau's supervisor": [theirs]}
    report_id = w.case(mine)["report_id"]
    for token in (w.other_company, w.stranger, w.other_head):
        assert w.as_(token).get("/cases", report_id=report_id).json()["items"] == []
    own = w.as_(w.company).get("/cases").json()["items"][0]
    assert "history" not in own and "team" not in own and secret not in str(own)
    ledgers = {name: [i["item_id"] for i in w.ledger(w.principals[name])]
               for name in ("station supervisor", "bureau supervisor",
                            "other bureau's supervisor")}
    assert ledgers == {"station supervisor": [my_item], "bureau supervisor": [my_item],
                       "other bureau's supervisor": [their_item]}
    for query in ({"case_id": mine}, {"unit_id": "st1"}):
        assert w.ledger(w.other_head, **query) == []

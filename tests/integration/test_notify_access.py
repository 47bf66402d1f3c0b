"""Who sees what in notify: every route × every role. A company's feed and
subscription are addressed by its token alone, so it reaches its own and
nothing else: no parameter, cursor or secret of another company's gets
through. Deliveries are the operator's (API.md): every other role gets 403
for any delivery id, the same answer whether it exists or not, so none leaks;
an id that does not exist is 404 to the admin. No valid token: 401. Refused
calls leave subscriptions, feeds and deliveries as they were."""
import uuid

import pytest
import requests

from shared.auth import issue_token
from tests.conftest import ADMIN_TOKEN, SIGNING_KEY
from tests.helpers import PROBLEM, bad_tokens, eventually, refusal
from tests.integration.notify_world import Case, Company, deliveries

PRINCIPALS = ("own company", "other company", "officer", "supervisor", "admin")
COMPANY, ADMIN = (200, 200, 403, 403, 403), (403, 403, 403, 403, 200)
CHANNELS = {"webhook_url": None, "email": None, "phone": None, "language": None}
ROUTES = [  # method, path, body, the answer each of PRINCIPALS gets, in order
    ("GET", "/notices", None, COMPANY),
    ("PUT", "/subscription", dict(CHANNELS, phone="+86 591 7777"), COMPANY),
    ("GET", "/subscription", None, COMPANY),
    ("POST", "/subscription/rotate-secret", None, COMPANY),
    ("GET", "/deliveries", None, ADMIN),
    ("GET", "/deliveries/{delivery}", None, ADMIN),
    ("POST", "/deliveries/{delivery}/replay", None, ADMIN),
    ("GET", "/admin/failures", None, ADMIN),
]


def send(base, token, method, path, body=None, **params):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.request(method, base + path, json=body, params=params,
                            headers=headers, timeout=15)


class Two:
    """Two companies, each with a case notice; the own company's webhook is
    down (a dead letter), the other's answers (delivered)."""

    def __init__(self, running, receiver):
        self.base = running.urls["notify"]
        self.mine, self.theirs = Company(running), Company(running)
        down, up = receiver(), receiver()
        down.down = True
        self.sub = {"mine": self.mine.subscribe(webhook_url=down.url),
                    "theirs": self.theirs.subscribe(webhook_url=up.url)}
        up.secrets = [self.sub["theirs"]["webhook_secret"]]
        self.cases = {"mine": Case(running, self.mine), "theirs": Case(running, self.theirs)}
        for case in self.cases.values():
            case.publish(case.event(1, "case_opened"), case.event(2, "case_progressed",
                                                                  disclose=True, note="x"))
        self.dead = eventually(lambda: len(deliveries(running, status="dead")) == 2 and
                               deliveries(running, status="dead"),
                               what="the own company's dead letters")[0]["delivery_id"]
        eventually(lambda: len(deliveries(running, status="delivered")) == 2,
                   what="the other company's webhooks")
        self.tokens = dict(zip(PRINCIPALS, (
            self.mine.token, self.theirs.token,
            issue_token(SIGNING_KEY, "officer", "o1", "st1", ["st1", "b1", "city"]),
            issue_token(SIGNING_KEY, "supervisor", "s-b1", "b1", ["b1", "city"]),
            ADMIN_TOKEN)))

    def get(self, who, path, **params):
        r = send(self.base, self.tokens[who], "GET", path, **params)
        assert r.status_code == 200, r.text
        return r.json()

    def snapshot(self):
        # The feed's items: its cursor also says when it was read (feed.py).
        return {who: (self.get(who, "/subscription"), self.get(who, "/notices")["items"])
                for who in ("own company", "other company")} | {
            "deliveries": self.get("admin", "/deliveries")}


@pytest.fixture
def two(running, notify, receivers):
    notify()
    return Two(running, receivers)


def test_every_route_answers_each_role_and_a_refusal_changes_nothing(two):
    ids, made_up = {"delivery": two.dead}, {"delivery": f"{uuid.uuid4()}:webhook"}
    before = two.snapshot()
    for method, route, body, answers in ROUTES:
        for name, expected in zip(PRINCIPALS, answers):
            if method != "GET" and expected < 300:
                continue  # it changes something: test_allowed_changes_touch_only_ones_own
            token = two.tokens[name]
            r = send(two.base, token, method, route.format(**ids), body)
            assert r.status_code == expected, (name, method, route, r.text)
            if expected >= 400:
                ghost = send(two.base, token, method, route.format(**made_up), body)
                assert refusal(ghost) == refusal(r)
                assert set(r.json()) == PROBLEM
    assert two.snapshot() == before     # the dead letter is still dead, never replayed
    for method in ("GET", "POST"):
        path = "/deliveries/{delivery}" + ("/replay" if method == "POST" else "")
        r = send(two.base, ADMIN_TOKEN, method, path.format(**made_up))
        assert r.status_code == 404 and set(r.json()) == PROBLEM


def test_a_company_sees_its_own_feed_and_subscription_only(two):
    for who, other in (("own company", "theirs"), ("other company", "mine")):
        own = "mine" if other == "theirs" else "theirs"
        feed = two.get(who, "/notices")["items"]
        assert {n["subject"] for n in feed} == {two.cases[own].id}
        assert len(feed) == 2
        sub = two.get(who, "/subscription")
        assert sub["company_id"] == getattr(two, own).id
        answers = str([feed, sub])
        assert two.cases[other].id not in answers
        assert two.sub[other]["webhook_secret"] not in answers
        assert two.sub[other]["webhook_url"] not in answers
    # Another company's cursor pages through one's own feed, and no filter
    # names another company.
    cursor = two.get("own company", "/notices", limit=1)["next"]
    page = two.get("other company", "/notices", after=cursor)["items"]
    assert two.cases["mine"].id not in str(page)
    r = send(two.base, two.theirs.token, "GET", "/notices", company_id=two.mine.id)
    assert r.status_code == 422 and set(r.json()) == PROBLEM
    listed = two.get("admin", "/deliveries", company_id=two.mine.id)["items"]
    assert {d["company_id"] for d in listed} == {two.mine.id}


def test_allowed_changes_touch_only_ones_own(two):
    before = two.snapshot()
    theirs = two.theirs.client.base
    r = send(theirs, two.theirs.token, "PUT", "/subscription",
             dict(CHANNELS, phone="+86 591 7777"))
    assert r.status_code == 200 and r.json()["company_id"] == two.theirs.id
    r = send(theirs, two.theirs.token, "POST", "/subscription/rotate-secret")
    assert r.status_code == 200 and r.json()["company_id"] == two.theirs.id
    assert two.get("own company", "/subscription") == before["own company"][0]
    r = send(two.base, two.mine.token, "POST", "/subscription/rotate-secret")
    assert r.status_code == 200
    assert r.json()["webhook_secret"] != before["own company"][0]["webhook_secret"]
    r = send(two.base, ADMIN_TOKEN, "POST", f"/deliveries/{two.dead}/replay")
    assert r.status_code == 200 and r.json()["status"] == "pending"
    assert two.get("other company", "/notices")["items"] == before["other company"][1]


def test_without_a_valid_token_nothing_answers_and_nothing_changes(two):
    before = two.snapshot()
    for name, token in bad_tokens().items():
        for method, route, body, _ in ROUTES:
            r = send(two.base, token, method, route.format(delivery=two.dead), body)
            assert r.status_code == 401, (name, method, route, r.text)
            assert set(r.json()) == PROBLEM
    assert two.snapshot() == before

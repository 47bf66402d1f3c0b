"""A company's webhook endpoints (notify's /webhooks) on the real broker and
database, with real receivers verifying every request with the
standardwebhooks library: filters, the delivery log, replay, the test
ping, 410 Gone, Retry-After, and another company's ids."""
import os
import time

from tests.helpers import eventually
from tests.integration.notify_world import Case, Company
from tests.integration.webhook_world import Endpoints

SHIPPED_LIMITS = os.path.join(os.path.dirname(__file__), "..", "..", "policy", "limits.yml")


def accepted(hook, name):
    return [a["payload"]["event_id"] for a in hook.accepted if a["company"] == name]


def test_two_endpoints_with_different_filters_each_get_only_their_events(
        running, notify, receivers):
    notify()
    company = Company(running)
    hook = receivers()
    hook.trust("sub", company.subscribe(webhook_url=hook.url_for("sub"))["webhook_secret"])
    ends = Endpoints(company)
    opened_only = ends.create(hook.url_for("a"), event_types=["case_opened"],
                              description="case intake")
    money = ends.create(hook.url_for("b"), event_types=["case_progressed", "loss_recovered"])
    assert opened_only["secret"].startswith("whsec_") and opened_only["secret"] != money["secret"]
    hook.trust("a", opened_only["secret"])
    hook.trust("b", money["secret"])
    case = Case(running, company)
    opened, internal, progressed, recovered = case.story()
    case.publish(recovered, progressed, internal, opened)

    eventually(lambda: len(hook.accepted) >= 6, what="six webhooks accepted")
    time.sleep(1)  # nothing more is coming
    assert accepted(hook, "a") == [opened["event_id"]]
    assert accepted(hook, "b") == [progressed["event_id"], recovered["event_id"]]  # in order
    assert accepted(hook, "sub") == [opened["event_id"], progressed["event_id"],
                                     recovered["event_id"]]  # the subscription's: every event
    assert hook.unverified == []  # each signed with its own endpoint's secret only
    assert all(len(a["verified_by"]) == 1 for a in hook.accepted)

    listed = ends.call("GET", "/webhooks").json()
    assert [e["endpoint_id"] for e in listed["items"]] == [
        "subscription", opened_only["endpoint_id"], money["endpoint_id"]]
    assert all("secret" not in e for e in listed["items"])
    assert listed["items"][1]["event_types"] == ["case_opened"]
    log = ends.log(money["endpoint_id"])["items"]
    assert [d["event_id"] for d in log] == [recovered["event_id"], progressed["event_id"]]
    assert all(d["endpoint_id"] == money["endpoint_id"] and d["status"] == "delivered"
               for d in log)
    assert [d["event_id"] for d in ends.log("subscription")["items"]][::-1] == accepted(
        hook, "sub")


def test_the_delivery_log_is_paged_with_a_cursor(running, notify, receivers):
    notify()
    company = Company(running)
    hook = receivers()
    ends = Endpoints(company)
    endpoint = ends.create(hook.url_for("a"))
    hook.trust("a", endpoint["secret"])
    case = Case(running, company)
    events = [case.event(1, "case_opened")] + [
        case.event(n, "case_progressed", previous_stage="opened", disclose=True,
                   note=f"step {n}") for n in range(2, 6)]
    case.publish(*events)
    eventually(lambda: len(hook.accepted) == 5, what="five webhooks")

    seen, after, pages = [], None, 0
    while True:
        r = ends.call("GET", f"/webhooks/{endpoint['endpoint_id']}/deliveries", limit=2,
                      **({"after": after} if after else {}))
        assert r.status_code == 200, r.text
        page = r.json()
        pages += 1
        seen += [d["event_id"] for d in page["items"]]
        if page["next"]:
            assert 'rel="next"' in r.headers["Link"] and "limit=2" in r.headers["Link"]
        after = page["next"]
        if not after:
            break
    assert pages == 3
    assert seen == [e["event_id"] for e in reversed(events)]  # newest first, each once
    bad = ends.call("GET", f"/webhooks/{endpoint['endpoint_id']}/deliveries", after="bm9wZQ")
    assert bad.status_code == 400 and bad.headers["Content-Type"].startswith(
        "application/problem+json")
    assert ends.call("GET", f"/webhooks/{endpoint['endpoint_id']}/deliveries",
                     sort="id").status_code == 422
    assert ends.call("GET", f"/webhooks/{endpoint['endpoint_id']}/deliveries",
                     limit=0).status_code == 422


def test_a_dead_delivery_replayed_with_a_key_is_delivered_once(running, notify, receivers):
    notify()
    company = Company(running)
    hook = receivers()
    hook.down = True
    ends = Endpoints(company)
    endpoint = ends.create(hook.url_for("a"))
    hook.trust("a", endpoint["secret"])
    case = Case(running, company)
    opened = case.event(1, "case_opened")
    case.publish(opened)
    path = f"/webhooks/{endpoint['endpoint_id']}/deliveries"
    dead = eventually(lambda: ends.log(endpoint["endpoint_id"], status="dead")["items"],
                      what="a dead delivery")[0]
    assert len(dead["attempts"]) == 5 and dead["attempts"][0]["status_code"] == 500
    assert accepted(hook, "a") == []

    hook.down = False
    r = ends.call("POST", f"{path}/{dead['delivery_id']}/replay")
    assert r.status_code == 200 and r.json()["status"] == "pending", r.text
    eventually(lambda: accepted(hook, "a") == [opened["event_id"]], what="the replay")
    time.sleep(1)
    assert accepted(hook, "a") == [opened["event_id"]]
    record = ends.call("GET", f"{path}/{dead['delivery_id']}").json()
    assert record["status"] == "delivered" and record["replays"] == 1
    assert ends.call("POST", f"{path}/{dead['delivery_id']}/replay").status_code == 409


def test_a_replay_retried_with_the_same_key_is_one_replay(running, notify, receivers):
    notify()
    company = Company(running)
    hook = receivers()
    hook.down = True
    ends = Endpoints(company)
    endpoint = ends.create(hook.url_for("a"))
    hook.trust("a", endpoint["secret"])
    case = Case(running, company)
    opened = case.event(1, "case_opened")
    case.publish(opened)
    path = f"/webhooks/{endpoint['endpoint_id']}/deliveries"
    dead = eventually(lambda: ends.log(endpoint["endpoint_id"], status="dead")["items"],
                      what="a dead delivery")[0]
    replay = f"{path}/{dead['delivery_id']}/replay"
    first = ends.call("POST", replay, headers={"Idempotency-Key": "replay-1"})
    assert first.status_code == 200 and first.json()["status"] == "pending", first.text
    again = ends.call("POST", replay, headers={"Idempotency-Key": "replay-1"})
    assert again.status_code == 200 and again.json()["replays"] == 1
    # Down still: the replay's five tries die again, and the same key does not
    # start a third round; a new key does.
    eventually(lambda: ends.call("GET", f"{path}/{dead['delivery_id']}").json()["status"]
               == "dead", what="the replay dead again")
    assert ends.call("POST", replay, headers={"Idempotency-Key": "replay-1"}).json()[
        "replays"] == 1
    hook.down = False
    assert ends.call("POST", replay, headers={"Idempotency-Key": "replay-2"}).status_code == 200
    eventually(lambda: accepted(hook, "a") == [opened["event_id"]], what="delivered once")
    time.sleep(1)
    assert accepted(hook, "a") == [opened["event_id"]]
    assert ends.call("GET", f"{path}/{dead['delivery_id']}").json()["replays"] == 2


def test_a_ping_arrives_signed_and_is_rate_limited(running, notify, receivers):
    notify(LIMITS_POLICY=SHIPPED_LIMITS)
    company = Company(running)
    hook = receivers()
    ends = Endpoints(company)
    endpoint = ends.create(hook.url_for("a"), event_types=["case_closed"])
    hook.trust("a", endpoint["secret"])
    r = ends.call("POST", f"/webhooks/{endpoint['endpoint_id']}/ping")
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["ok"] is True and answer["attempt"]["status_code"] == 204
    ping = hook.accepted[0]
    assert ping["payload"]["type"] == "webhook.ping"  # whatever the filter
    assert ping["payload"]["event_id"] == answer["event_id"] == ping["headers"]["webhook-id"]
    assert ping["verified_by"] == [endpoint["secret"]]

    rotated = ends.call("POST", f"/webhooks/{endpoint['endpoint_id']}/rotate-secret",
                        headers={"Idempotency-Key": "rot-1"})
    assert rotated.status_code == 200 and rotated.json()["secret"] != endpoint["secret"]
    same = ends.call("POST", f"/webhooks/{endpoint['endpoint_id']}/rotate-secret",
                     headers={"Idempotency-Key": "rot-1"})
    assert same.json()["secret"] == rotated.json()["secret"]  # the retry, not a new one
    assert "secret" not in ends.call("GET", f"/webhooks/{endpoint['endpoint_id']}").json()
    hook.trust("a", endpoint["secret"], rotated.json()["secret"])
    assert ends.call("POST", f"/webhooks/{endpoint['endpoint_id']}/ping").json()["ok"]
    assert len(hook.accepted[-1]["verified_by"]) == 2  # both sign during the overlap

    hook.down = True
    failed = ends.call("POST", f"/webhooks/{endpoint['endpoint_id']}/ping").json()
    assert failed["ok"] is False and failed["attempt"]["status_code"] == 500
    # Ten a minute, all ten at once (the shipped policy/limits.yml); past
    # them one each six seconds, so this quick loop is refused by the tenth.
    answers = []
    for _ in range(25):
        answers.append(ends.call("POST", f"/webhooks/{endpoint['endpoint_id']}/ping"))
        if answers[-1].status_code == 429:
            break
    assert answers[-1].status_code == 429 and int(answers[-1].headers["Retry-After"]) >= 1
    assert len(answers) >= 8 and all(a.status_code == 200 for a in answers[:7])


def test_a_410_disables_the_endpoint_and_the_company_reads_why(running, notify, receivers):
    notify()
    company = Company(running, language="zh-CN")
    hook = receivers()
    hook.gone = True
    ends = Endpoints(company)
    endpoint = ends.create(hook.url_for("a"), description="旧系统")
    hook.trust("a", endpoint["secret"])
    case = Case(running, company)
    opened, _, progressed, _ = case.story()
    case.publish(opened)
    path = f"/webhooks/{endpoint['endpoint_id']}"

    gone = eventually(lambda: not ends.call("GET", path).json()["enabled"],
                      what="the endpoint disabled")
    assert gone
    shown = ends.call("GET", path).json()
    assert shown["disabled_reason"] == "gone" and shown["disabled_at"]
    case.publish(progressed, case.event(2, "case_progressed", previous_stage="opened"))
    notice = eventually(lambda: [n for n in company.feed()
                                 if n["event_type"] == "webhook_endpoint_disabled"],
                        what="the notice in the feed")
    assert len(notice) == 1
    assert notice[0]["language"] == "zh-CN"
    assert notice[0]["title"] == "Webhook 接收端点已停用"
    assert "410" in notice[0]["body"] and "旧系统" in notice[0]["body"]
    eventually(lambda: len([n for n in company.feed()
                            if n["event_type"] == "case_progressed"]) == 1,
               what="the next step in the feed")
    time.sleep(1)
    assert len(hook.hits) == 1  # no retry, and the next step did not go there
    dead = ends.log(endpoint["endpoint_id"])["items"]
    assert [(d["event_id"], d["status"], len(d["attempts"])) for d in dead] == [
        (opened["event_id"], "dead", 1)]
    assert ends.call("POST", f"{path}/deliveries/{dead[0]['delivery_id']}/replay"
                     ).status_code == 409  # disabled: enable it first

    hook.gone = False
    enabled = ends.call("PATCH", path, {"enabled": True})
    assert enabled.status_code == 200 and enabled.json()["enabled"] is True
    closed = case.event(5, "case_closed")
    case.publish(case.event(4, "case_concluded", result="solved", summary="done"), closed)
    eventually(lambda: closed["event_id"] in accepted(hook, "a"), what="webhooks again")


def test_the_subscriptions_webhook_answering_410_is_turned_off_until_put_again(
        running, notify, receivers):
    notify()
    company = Company(running)
    hook = receivers()
    hook.gone = True
    hook.trust("sub", company.subscribe(webhook_url=hook.url_for("sub"))["webhook_secret"])
    ends = Endpoints(company)
    case = Case(running, company)
    case.publish(case.event(1, "case_opened"))
    eventually(lambda: not ends.call("GET", "/webhooks/subscription").json()["enabled"],
               what="the subscription's webhook off")
    notice = eventually(lambda: [n for n in company.feed()
                                 if n["event_type"] == "webhook_endpoint_disabled"],
                        what="the notice")
    assert notice[0]["title"] == "Webhook endpoint disabled"  # its language: en
    hook.gone = False
    hook.trust("sub", company.subscribe(webhook_url=hook.url_for("sub"))["webhook_secret"])
    assert ends.call("GET", "/webhooks/subscription").json()["enabled"] is True
    recovered = case.event(2, "loss_recovered", recovered_amount="1.00", frozen_amount="0.00",
                           total_recovered="1.00", total_frozen="0.00", estimated="9.00")
    case.publish(recovered)
    eventually(lambda: accepted(hook, "sub") == [recovered["event_id"]], what="on again")


def test_retry_after_of_a_429_and_a_503_is_honoured(running, notify, receivers):
    notify(DELIVERY_RETRY_MAX_DELAY=10)   # the backoff alone would wait 0.05 s
    company = Company(running)
    hook = receivers()
    hook.script = [(429, {"Retry-After": "2"}), (503, {"Retry-After": "1"})]
    ends = Endpoints(company)
    endpoint = ends.create(hook.url_for("a"))
    hook.trust("a", endpoint["secret"])
    case = Case(running, company)
    opened = case.event(1, "case_opened")
    case.publish(opened)
    eventually(lambda: accepted(hook, "a") == [opened["event_id"]], what="delivered")
    (first, _, s1), (second, _, s2), (third, _, s3) = hook.hits
    assert (s1, s2, s3) == (429, 503, 204)
    assert second - first >= 1.9 and third - second >= 0.9
    assert second - first < 6  # and not the 10 s cap either
    record = eventually(lambda: ends.log(endpoint["endpoint_id"], status="delivered")[
        "items"], what="recorded")[0]   # the courier records it after the answer
    assert [a["status_code"] for a in record["attempts"]] == [429, 503, None]


def test_another_companys_ids_are_unknown_and_bad_input_changes_nothing(
        running, notify, receivers):
    notify()
    owner, other = Company(running), Company(running)
    hook = receivers()
    mine = Endpoints(owner)
    endpoint = mine.create(hook.url_for("a"))
    hook.trust("a", endpoint["secret"])
    case = Case(running, owner)
    case.publish(case.event(1, "case_opened"))
    delivery = eventually(lambda: mine.log(endpoint["endpoint_id"], status="delivered")[
        "items"], what="a delivery")[0]
    theirs = Endpoints(other)
    own = theirs.create(hook.url_for("b"))
    eid, did = endpoint["endpoint_id"], delivery["delivery_id"]
    unknown = theirs.call("GET", "/webhooks/wh_nosuch").json()
    for method, path, body in [
            ("GET", f"/webhooks/{eid}", None), ("PATCH", f"/webhooks/{eid}", {"enabled": False}),
            ("DELETE", f"/webhooks/{eid}", None), ("POST", f"/webhooks/{eid}/rotate-secret", None),
            ("POST", f"/webhooks/{eid}/ping", None), ("GET", f"/webhooks/{eid}/deliveries", None),
            ("GET", f"/webhooks/{eid}/deliveries/{did}", None),
            ("POST", f"/webhooks/{eid}/deliveries/{did}/replay", None),
            ("GET", "/webhooks/subscription", None)]:
        r = theirs.call(method, path, body)
        assert r.status_code == 404, (method, path, r.text)
        if "/deliveries/" not in path:
            assert r.json()["detail"] == unknown["detail"]
    r = theirs.call("GET", f"/webhooks/{own['endpoint_id']}/deliveries/{did}")
    assert r.status_code == 404 and r.json()["detail"] == "投递记录不存在"
    assert len(hook.hits) == 1  # the owner's one delivery; no ping went out

    before = mine.call("GET", f"/webhooks/{eid}").json()
    for body in [{"enabled": False, "colour": "red"}, {"event_types": ["case_opened", "nope"]},
                 {"event_types": ["case_opened", "case_opened"]}, {"event_types": []},
                 {"url": "ftp://example.com/x"}, {}]:
        r = mine.call("PATCH", f"/webhooks/{eid}", body)
        assert r.status_code == 422, (body, r.text)
        assert r.headers["Content-Type"].startswith("application/problem+json")
    bad = mine.call("POST", "/webhooks", {"url": hook.url_for("c"), "event_types": ["x"]})
    assert bad.status_code == 422 and "event_types" in bad.json()["fields"]
    assert mine.call("GET", f"/webhooks/{eid}").json() == before
    assert [e["endpoint_id"] for e in mine.call("GET", "/webhooks").json()["items"]] == [eid]
    assert mine.call("PATCH", "/webhooks/subscription", {"enabled": False}).status_code == 404


def test_a_private_webhook_url_is_refused_and_nothing_is_stored(running, notify):
    notify(WEBHOOK_ALLOW_PRIVATE="0")
    company = Company(running, language="zh-CN")
    ends = Endpoints(company)
    for url in ("https://127.0.0.1/hook", "https://169.254.169.254/latest",
                "http://example.com/hook"):
        r = ends.call("POST", "/webhooks", {"url": url})
        assert r.status_code == 422, r.text
        assert r.json()["detail"] == "Webhook URL 被拒绝" and r.json()["fields"]["url"]
    assert ends.call("GET", "/webhooks").json()["items"] == []


def test_a_keyed_create_retried_answers_the_same_secret_and_endpoints_are_capped(
        running, notify, receivers):
    notify()
    company = Company(running)
    hook = receivers()
    ends = Endpoints(company)
    body = {"url": hook.url_for("a"), "event_types": ["case_opened"]}
    first = ends.call("POST", "/webhooks", body, headers={"Idempotency-Key": "make-1"})
    again = ends.call("POST", "/webhooks", body, headers={"Idempotency-Key": "make-1"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["secret"] == first.json()["secret"]   # the first answer, never lost
    assert again.json()["endpoint_id"] == first.json()["endpoint_id"]
    other = ends.call("POST", "/webhooks", dict(body, enabled=False),
                      headers={"Idempotency-Key": "make-1"})
    assert other.status_code == 422     # the same key, another body (the IETF draft)
    for n in range(19):
        ends.create(hook.url_for(f"e{n}"))
    over = ends.call("POST", "/webhooks", {"url": hook.url_for("one-too-many")})
    assert over.status_code == 409 and "20" in over.json()["detail"]
    listed = ends.call("GET", "/webhooks", limit=200).json()
    assert len(listed["items"]) == 20 and listed["next"] is None
    gone = ends.call("DELETE", f"/webhooks/{first.json()['endpoint_id']}")
    assert gone.status_code == 204
    assert ends.call("GET", f"/webhooks/{first.json()['endpoint_id']}").status_code == 404
    assert ends.call("POST", "/webhooks", {"url": hook.url_for("room")}).status_code == 201

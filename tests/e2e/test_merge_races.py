"""Merges raced for real: concurrent HTTP requests against the running intake
process, many tries, each try checked against the invariant a user relies
on (有案必受: no incident is ever dropped).

The invariant, over every report a try touches:
- following `merged_into` from any report ends at an open (not merged)
  report: no cycle, so no group of merged reports without an open one;
- each report's `merged_reports` lists exactly the reports whose
  `merged_into` names it, no more (no phantom link) and no fewer;
- every 200 is a merge that happened, every other answer a 409 or 404 that
  changed nothing.
"""
import random
from concurrent.futures import ThreadPoolExecutor

import pytest

from support.reports import report_body

TRIES = 40


@pytest.fixture(scope="module")
def org(running_system):
    return running_system.org()


def officer(system, org):
    return system.client("intake", org.officer_token)


def file(org, n):
    return [org.file_report(summary=f"race {i}")["report_id"] for i in range(n)]


def merge(client, source, target, reason="same incident"):
    return client.post(f"/reports/{source}/merge", {"into_report_id": target,
                                                    "reason": reason})


def at_once(*calls):
    """Send the calls concurrently; their answers' status codes, in order."""
    with ThreadPoolExecutor(len(calls)) as pool:
        futures = [pool.submit(call) for call in calls]
        return [f.result().status_code for f in futures]


def assert_merge_invariant(client, ids):
    reports = {rid: client.get(f"/reports/{rid}").json() for rid in ids}
    for rid, report in reports.items():
        seen, at = {rid}, report
        while at["status"] == "merged":
            at = reports.get(at["merged_into"]) or client.get(
                f"/reports/{at['merged_into']}").json()
            assert at["report_id"] not in seen, f"a cycle of merges through {rid}"
            seen.add(at["report_id"])
        assert (report["status"] == "merged") == (report["merged_into"] is not None)
        merged_in = sorted(r["report_id"] for r in reports.values()
                           if r["merged_into"] == rid)
        assert sorted(report["merged_reports"]) == merged_in, (rid, report)
    return reports


def test_two_merges_crossing_leave_exactly_one_open_report(running_system, org):
    client = officer(running_system, org)
    for _ in range(TRIES):
        a, b = file(org, 2)
        answers = at_once(lambda: merge(client, a, b), lambda: merge(client, b, a))
        assert sorted(answers) == [200, 409], answers
        reports = assert_merge_invariant(client, (a, b))
        assert sorted(r["status"] for r in reports.values()) == ["merged", "received"]
    # The one left open is free to be taken up: no merge still holds it.
    open_one = next(r for r in reports.values() if r["status"] == "received")
    assert client.post(f"/reports/{open_one['report_id']}/accept").status_code == 200


def test_a_cycle_of_three_merges_at_once_leaves_an_open_report(running_system, org):
    client = officer(running_system, org)
    for _ in range(TRIES):
        a, b, c = file(org, 3)
        answers = at_once(lambda: merge(client, a, b), lambda: merge(client, b, c),
                          lambda: merge(client, c, a))
        assert set(answers) <= {200, 409} and 200 in answers, answers
        reports = assert_merge_invariant(client, (a, b, c))
        assert sum(r["status"] == "merged" for r in reports.values()) == answers.count(200)


def test_one_report_merged_into_two_at_once_is_listed_by_the_winner_only(running_system,
                                                                         org):
    client = officer(running_system, org)
    for _ in range(TRIES):
        a, b, c = file(org, 3)
        answers = at_once(lambda: merge(client, a, b), lambda: merge(client, a, c))
        assert sorted(answers) == [200, 409], answers
        reports = assert_merge_invariant(client, (a, b, c))
        winner = reports[a]["merged_into"]
        assert reports[winner]["merged_reports"] == [a]
        assert reports[({b, c} - {winner}).pop()]["merged_reports"] == []


def test_accepting_a_report_while_it_is_merged_does_one_or_the_other(running_system, org):
    client = officer(running_system, org)
    outcomes = set()
    for _ in range(TRIES):
        a, b = file(org, 2)
        accept, merged = at_once(lambda: client.post(f"/reports/{a}/accept"),
                                 lambda: merge(client, a, b))
        assert sorted((accept, merged)) == [200, 409], (accept, merged)
        reports = assert_merge_invariant(client, (a, b))
        if accept == 200:
            assert reports[a]["status"] == "accepted" and reports[b]["merged_reports"] == []
        elif merged == 200:
            assert reports[a]["case_id"] is None and reports[b]["merged_reports"] == [a]
        outcomes.add((accept, merged))
    assert (200, 409) in outcomes or (409, 200) in outcomes


def test_random_concurrent_merges_in_a_group_never_lose_the_incident(running_system, org):
    client = officer(running_system, org)
    rng = random.Random(21)
    for _ in range(TRIES // 4):
        ids = file(org, 5)
        pairs = [tuple(rng.sample(ids, 2)) for _ in range(8)]
        answers = at_once(*[lambda s=s, t=t: merge(client, s, t) for s, t in pairs])
        assert set(answers) <= {200, 409}, answers
        reports = assert_merge_invariant(client, ids)
        assert any(r["status"] != "merged" for r in reports.values())


def test_a_merge_target_must_be_a_report_of_the_callers_own_unit(running_system, org):
    system = running_system
    other = org.add_unit(f"b1-{org.bureau}")
    b1 = system.client("intake", org.add_officer(f"o-{other}", other))
    walk_in = b1.post("/reports", report_body(company_id=org.company_id, channel="walk_in"))
    assert walk_in.status_code == 201, walk_in.text
    t = walk_in.json()["report_id"]
    client = officer(system, org)
    (a,) = file(org, 1)
    assert client.get(f"/reports/{t}").status_code == 404
    refused = merge(client, a, t)
    unknown = merge(client, a, "no-such-report")
    assert refused.status_code == unknown.status_code == 404
    assert refused.json() == unknown.json()  # the other unit's report stays unseen
    assert client.get(f"/reports/{a}").json()["status"] == "received"
    assert b1.get(f"/reports/{t}").json()["merged_reports"] == []


def test_a_merge_refused_for_its_reason_leaves_no_link(running_system, org):
    client = officer(running_system, org)
    a, b = file(org, 2)
    for reason in ("\ud800", "bad\udfff", "x" * 1001):
        r = merge(client, a, b, reason)
        assert r.status_code in (400, 422) and r.json()["error"]["fields"], r.text
    assert client.get(f"/reports/{b}").json()["merged_reports"] == []
    assert client.get(f"/reports/{a}").json()["status"] == "received"
    assert merge(client, a, b).status_code == 200  # nothing was left holding them

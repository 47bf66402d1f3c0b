"""The one question a service asks another now (RPC): case_supervision asks
intake who an officer is before a team changes. Bounded, and exactly one
answer and one effect even when intake dies mid-call."""
import threading
import time

from tests.helpers import eventually


def open_case(system, org):
    report = org.file_report()
    org.accept(report["report_id"])
    return eventually(lambda: system.cases_for(org, report["report_id"]))[0]


def add_member(system, org, case, officer_id):
    return system.client("case_supervision", org.officer_token).post(
        f"/cases/{case['case_id']}/team", {"officer_id": officer_id})


def second_officer(org):
    officer_id = f"partner-{org.station}"
    org.add_officer(officer_id, org.station, name="Sun")
    return officer_id


def test_only_a_known_officer_joins_a_team(system):
    system.start()
    org = system.org()
    case = open_case(system, org)
    r = add_member(system, org, case, "nobody-of-this-name")
    assert r.status_code == 422 and "officer_id" in r.json()["error"]["fields"]
    r = add_member(system, org, case, second_officer(org))
    assert r.status_code == 200, r.text
    assert r.json()["team"]["members"] == [org.officer_id, f"partner-{org.station}"]


def test_asking_a_stopped_intake_is_a_bounded_wait_and_a_clear_503(system):
    system.start("intake", "notify")
    system.start("case_supervision", FASTTRACK_RPC_TIMEOUT="3")
    org = system.org()
    case = open_case(system, org)
    partner = second_officer(org)
    system.stop("intake")
    started = time.monotonic()
    r = add_member(system, org, case, partner)
    waited = time.monotonic() - started
    assert r.status_code == 503 and "intake" in r.json()["error"]["message"]
    assert 2.5 <= waited < 8
    # The request expired with the wait: intake back, nothing was applied twice.
    system.start("intake")
    r = add_member(system, org, case, partner)
    assert r.status_code == 200 and r.json()["team"]["members"].count(partner) == 1


def test_intake_killed_mid_call_still_gives_one_answer_and_one_effect(system):
    system.start("notify")
    system.start("case_supervision", FASTTRACK_RPC_TIMEOUT="30")
    system.start("intake", FASTTRACK_FAULT="crash_in_rpc:officer")
    org = system.org()
    case = open_case(system, org)
    partner = second_officer(org)
    answers = []
    caller = threading.Thread(target=lambda: answers.append(
        add_member(system, org, case, partner)))
    caller.start()
    # intake dies holding the unacknowledged request; the broker gives it to
    # the next intake, whose answer reaches the waiting caller.
    assert system.stack.services["intake"].wait(20) == -9
    system.start("intake")
    caller.join(40)
    assert len(answers) == 1 and answers[0].status_code == 200, answers
    members = system.client("case_supervision", org.officer_token).get(
        f"/cases/{case['case_id']}").json()["team"]["members"]
    assert members.count(partner) == 1

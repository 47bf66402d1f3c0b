"""Issue 3's whole path as users live it, on the running processes: a
company's report, a transfer declined then accepted, a duplicate merged, a
missed acknowledgement escalating, and the case opening from the report."""
import os

import yaml

from shared.policy import ROOT
from support.client import Client
from tests.helpers import Tap, eventually


def fast_policy(tmp_path):
    with open(os.path.join(ROOT, "policy", "intake.yml"), encoding="utf-8") as f:
        policy = yaml.safe_load(f)
    policy.update(ack_seconds=2, ack_escalation_interval_seconds=1)
    path = tmp_path / "intake-fast.yml"
    path.write_text(yaml.safe_dump(policy, allow_unicode=True), encoding="utf-8")
    return str(path)


def test_first_contact_from_receipt_to_case(system, tmp_path):
    system.start(FASTTRACK_INTAKE_POLICY=fast_policy(tmp_path))
    events = Tap(system.env["AMQP_URI"], "intake")
    org = system.org()
    st2 = org.add_unit(f"st2-{org.bureau}")
    receiver = system.client("intake", org.add_officer(f"o-{st2}", st2))
    sender = system.client("intake", org.officer_token)

    # A report nobody acknowledges: the owner's supervisor, then the bureau, are told.
    ignored = org.file_report(incident_type="theft", estimated_loss="900.00")
    steps = eventually(lambda: len(events.of("report_ack_overdue",
                                             report_id=ignored["report_id"])) == 2
                       and events.of("report_ack_overdue", report_id=ignored["report_id"]),
                       timeout=30, what="two escalation steps")
    assert [e["data"]["escalated_to_unit_id"] for e in steps] == [org.station, org.bureau]

    # The main report: offered to another station, declined, offered again, accepted.
    report = org.file_report()
    rid = report["report_id"]
    sender.post(f"/reports/{rid}/acknowledge")
    sender.post(f"/reports/{rid}/transfer", {"to_unit_id": st2, "reason": "their district"})
    r = receiver.post(f"/reports/{rid}/transfer/decline", {"reason": "not our district"})
    assert r.json()["owner_unit_id"] == org.station
    sender.post(f"/reports/{rid}/transfer", {"to_unit_id": st2, "reason": "it is: see map"})
    r = receiver.post(f"/reports/{rid}/transfer/accept")
    assert r.json()["owner_unit_id"] == st2
    assert [o["unit_id"] for o in r.json()["owners"]] == [org.station, st2]

    # The company reports the same incident again: flagged. The report it
    # repeats is station 2's now, so station 1 cannot merge into it — a merge
    # is no way to hand a report over — it offers it, and station 2 merges it.
    again = org.file_report(summary="Same invoice, reported twice")
    aid = again["report_id"]
    assert sender.get(f"/reports/{aid}").json()["likely_duplicate_of"] == [rid]
    r = receiver.post(f"/reports/{aid}/merge", {"into_report_id": rid, "reason": "same"})
    assert r.status_code == 404  # the duplicate is still station 1's to merge
    r = sender.post(f"/reports/{aid}/merge", {"into_report_id": rid, "reason": "same"})
    assert r.status_code == 404  # and station 2's report is no target of station 1's
    sender.post(f"/reports/{aid}/transfer", {"to_unit_id": st2, "reason": "repeats theirs"})
    assert receiver.post(f"/reports/{aid}/transfer/accept").status_code == 200
    r = receiver.post(f"/reports/{aid}/merge", {"into_report_id": rid, "reason": "same"})
    assert r.json()["status"] == "merged" and r.json()["merged_into"] == rid
    assert receiver.get(f"/reports/{rid}").json()["merged_reports"] == [aid]

    # The new owner accepts; the case opens from it, once.
    accepted = receiver.post(f"/reports/{rid}/accept").json()
    cases = eventually(lambda: Client(system.stack.service_url("case_supervision"),
                                      receiver.token).get("/cases", report_id=rid)
                       .json()["items"], what="the case")
    assert len(cases) == 1 and cases[0]["case_id"] == accepted["case_id"]
    assert cases[0]["team"]["lead_officer_id"] == f"o-{st2}"
    history = [h["action"] for h in receiver.get(f"/reports/{rid}").json()["history"]]
    assert history == ["receive", "acknowledge", "transfer", "transfer_decline", "transfer",
                       "transfer_accept", "accept"]
    kinds = [e["type"] for e in events.drain() if e["subject"] == rid]
    assert kinds == ["report_received", "report_acknowledged", "report_transfer_offered",
                     "report_transfer_declined", "report_transfer_offered",
                     "report_transferred", "report_accepted"]
    events.conn.release()

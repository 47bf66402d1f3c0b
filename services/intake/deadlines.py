"""Intake's clocks, pure: acknowledgement (有警必接), transfer offers and the
same-day check (當天業務當天辦完). Time is passed in; days are Asia/Shanghai."""
from datetime import datetime, time, timedelta

from shared import history
from shared.fields import SHANGHAI

# A report's clocks, in the order the sweep runs them when several have run
# out at once; a clock set to None (absent) has stopped.
CLOCKS = ("ack_next_at", "transfer_next_at", "same_day_due_at", "merge_link_due_at")
# The merging worker links its target at once; the sweep only finishes what
# a crash left, so it leaves a fresh link to that worker.
MERGE_LINK_GRACE = timedelta(seconds=2)


def runs_out_at(report, clock):
    """When `clock` of `report` has run out, or None if it has stopped."""
    at = report.get(clock)
    if at is None:
        return None
    return at + MERGE_LINK_GRACE if clock == "merge_link_due_at" else at


def next_due(report):
    """When the sweep next has work on `report`: the earliest of its running
    clocks, or None when all have stopped. Stored on the report as its one
    indexed clock (repository.py): one index for the four, not four, each
    of which every write of a report rewrites (issue 19)."""
    return min((at for at in (runs_out_at(report, c) for c in CLOCKS) if at is not None),
               default=None)


def first_run_out(report, now):
    """The clock of `report` the sweep runs next at `now` (CLOCKS' order),
    or None if none has run out."""
    return next((c for c in CLOCKS if (at := runs_out_at(report, c)) is not None and at <= now),
                None)


def ack_due(policy, received_at):
    return received_at + timedelta(seconds=policy["ack_seconds"])


def transfer_respond_by(policy, offered_at):
    return offered_at + timedelta(seconds=policy["transfer_respond_seconds"])


def ack_escalation(step, owner_path):
    """Where the n-th missed-acknowledgement escalation goes: the owner unit's
    supervisor first, then each unit up the tree; None past the top."""
    index = step - 1
    return owner_path[index] if index < len(owner_path) else None


def next_ack_check(policy, step, owner_path, now):
    """When to escalate again after step `step`, or None at the top."""
    if ack_escalation(step + 1, owner_path) is None:
        return None
    return now + timedelta(seconds=policy["ack_escalation_interval_seconds"])


def same_day_due(policy, received_at):
    """The end of the business day a report was received on, in UTC.

    The day ends at the policy's local `same_day_end` (HH:MM[:SS], Asia/Shanghai);
    a report received after that time belongs to the next day.
    """
    end = time.fromisoformat(policy["same_day_end"])
    local = received_at.astimezone(SHANGHAI)
    due = datetime.combine(local.date(), end, tzinfo=SHANGHAI)
    if due <= local:
        due += timedelta(days=1)
    return due.astimezone(received_at.tzinfo)


def local_day(at):
    return at.astimezone(SHANGHAI).date().isoformat()


def ack_overdue(report, policy, now, event_data):
    """The next step of a missed acknowledgement: who is told, and when next."""
    step = report["ack_step"] + 1
    to_unit = ack_escalation(step, report["owner_unit_path"])
    fields = {"ack_step": step,
              "ack_next_at": next_ack_check(policy, step, report["owner_unit_path"], now)}
    return fields, [history.by_system("ack_overdue", now, step=step,
                                      escalated_to_unit_id=to_unit)], [
        ("report_ack_overdue", event_data(report, step=step,
                                          responsible_unit_id=report["owner_unit_id"],
                                          escalated_to_unit_id=to_unit))]


def transfer_overdue(report, now, event_data):
    """An offer nobody answered: the sending unit's supervisor is told, once."""
    offer = report["transfer"]
    return {"transfer_next_at": None}, [history.by_system(
        "transfer_overdue", now, to_unit_id=offer["to_unit_id"])], [
        ("report_transfer_overdue", event_data(
            report, responsible_unit_id=offer["from_unit_id"], to_unit_id=offer["to_unit_id"],
            escalated_to_unit_id=offer["from_unit_id"]))]


def same_day_missed(report, now, event_data):
    """Received that day and still not accepted, merged or transferred."""
    day = local_day(report["received_at"])
    return {"same_day_due_at": None}, [history.by_system("same_day_missed", now, day=day)], [
        ("report_same_day_missed", event_data(report, day=day,
                                              responsible_unit_id=report["owner_unit_id"]))]

"""The timers: the stale-case sweep, re-timing on a new policy, the relay.

They run in every instance. Each step is claimed by the one conditional
update on `{_id, version}` that also stores it with its events: of two
instances that read the same case, one update matches and the other's
matches nothing (modified_count 0), so no step happens twice.
"""
import logging
from datetime import timedelta

from nameko.timer import timer

from services.case_supervision import escalation
from services.case_supervision.parts import CaseServiceParts
from services.case_supervision.repository import CASES, StaleCase
from shared import clock

log = logging.getLogger(__name__)
BATCH = 100
# (database, policy version) -> when a look found no open case timed by
# another version. Cases are opened on the version in force, so once none is
# left the look is only repeated now and then (another instance may still
# run an older file during an upgrade): the look reads every case, as
# SecantusDB answers "version not equal to" by scanning the collection
# (69 ms at 5,000 cases, growing with them), and it ran every 2 s.
RETIMED: dict = {}
LOOK_AGAIN = timedelta(minutes=10)


class Sweep(CaseServiceParts):
    @timer(interval=1)
    def take_due_deadline_steps(self):
        """Warn before a deadline, record a miss, climb the ladder, for the
        cases due now only (read through the `next_due_at` index)."""
        now = clock.now()
        for case in self.repo.due_cases(now, BATCH):
            step = escalation.due_step(case, self.policy, now)
            result = escalation.take_step(case, step, self.policy, now) if step else ({}, [], [])
            try:
                # With no step due, the write just moves next_due_at on.
                self.change(case, result, if_changed=StaleCase)
            except StaleCase:
                log.info("case %s: another instance took this step", case["_id"])

    @timer(interval=2)
    def recompute_deadlines(self):
        """A changed policy file re-times the open cases it did not time."""
        policy = self.policy
        done = (self.repo.db.name, policy["version"])
        looked = RETIMED.get(done)
        if looked and clock.now() - looked < LOOK_AGAIN:
            return
        cases = self.repo.cases_on_old_policy(policy["version"], BATCH)
        if not cases:
            RETIMED[done] = clock.now()
        for case in cases:
            try:
                self.change(case, ({}, [], []), if_changed=StaleCase)
            except StaleCase:
                log.info("case %s: re-timed elsewhere", case["_id"])

    @timer(interval=2)
    def relay_outbox(self):
        self.relay.sweep([CASES])

"""The courier: a timer in every instance takes due deliveries, one claim
each, and tries them side by side in green threads.

A delivery is tried only when its predecessor on the same channel and
subject is finished, so each channel carries a case's notices in sequence
order. A failure is retried with exponential backoff and jitter, then the
delivery is a dead letter; a dead letter steps aside (later notices are not
held for ever) and an admin may replay it. Every try is kept on the record.
A failure on one channel is that delivery's alone: the feed was written
before any delivery, and the other channels have their own deliveries.
"""
import logging
import random
import time
from datetime import timedelta

import eventlet

from services.notify.channel_rules import FINISHED, after_failure, retry_delay

log = logging.getLogger(__name__)
BATCH = 50
PARALLEL = 10
STRANDED_AFTER = timedelta(seconds=10)  # longer than any wake-up takes without a crash


class Courier:
    def __init__(self, repo, channels, now, rand=random.random):
        self.repo = repo
        self.store = repo.deliveries
        self.channels = channels
        self.now = now
        self.rand = rand
        # A claimed try that outlives this (a crashed instance) is tried again.
        self.lease = timedelta(seconds=3 * channels.timeout + 30)

    def deliver_due(self):
        self.store.wake_stranded(self.now(), STRANDED_AFTER)
        due = self.store.due(self.now(), BATCH)
        if not due:
            return 0
        pool = eventlet.GreenPool(PARALLEL)
        for delivery in due:
            pool.spawn_n(self.try_once, delivery)
        pool.waitall()
        return len(due)

    def try_once(self, delivery):
        if not self.store.claim(delivery, self.now() + self.lease):
            return  # another instance has it
        subscription = self.repo.subscription(delivery["company_id"])
        target = self.channels.target(delivery["channel"], subscription)
        now = self.now()
        if not target:  # the company turned this channel off meanwhile
            self._finish(delivery, {"at": now, "ok": False, "target": None,
                                    "error": "channel no longer subscribed"},
                         {"status": "skipped", "next_attempt_at": None})
            return
        notice = self.repo.notice(delivery["notice_id"])
        started = time.monotonic()
        attempt = {"at": now, "target": target, "status_code": None}
        try:
            detail = self.channels.send(delivery["channel"], target, notice,
                                        subscription, now, delivery["_id"])
            attempt.update(ok=True, detail=detail)
            fields = {"status": "delivered", "delivered_at": self.now(),
                      "next_attempt_at": None}
        except Exception as exc:  # any failure is this delivery's, recorded
            log.warning("%s delivery %s failed: %s", delivery["channel"],
                        delivery["_id"], exc)
            attempt.update(ok=False, error=str(exc)[:500] or type(exc).__name__,
                           status_code=getattr(exc, "status_code", None))
            tries = delivery["tries"] + 1
            c = self.channels
            fields = after_failure(tries, c.max_tries, self.now(),
                                   retry_delay(tries, c.base_delay, c.max_delay, self.rand()))
        attempt["ms"] = int((time.monotonic() - started) * 1000)
        self._finish(delivery, attempt, fields)

    def _finish(self, delivery, attempt, fields):
        self.store.record(delivery, attempt, fields)
        if fields["status"] in FINISHED:
            # Marked first, then the successor woken: see DeliveryStore.add.
            self.store.wake_successors(delivery["_id"], self.now())

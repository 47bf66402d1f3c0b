"""The courier: a timer in every instance claims due deliveries a batch at
a time and tries them side by side in green threads.

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

from services.notify.channel_rules import FINISHED, retry_delay
from services.notify.endpoint_rules import after_failure_of, as_subscription

log = logging.getLogger(__name__)
BATCH = 50
PARALLEL = 10
BUSY_FOR = 5.0  # seconds one timer tick keeps taking full batches
STRANDED_AFTER = timedelta(seconds=10)  # longer than any wake-up takes without a crash


class Courier:
    def __init__(self, repo, channels, now, rand=random.random, on_gone=None):
        self.repo = repo
        # (delivery, its subscription or endpoint) after a 410 Gone: the
        # endpoint is disabled and the company told (endpoints.py).
        self.on_gone = on_gone
        self.store = repo.deliveries
        self.channels = channels
        self.now = now
        self.rand = rand
        # A claimed batch that outlives this (a crashed instance) is tried
        # again: every try in it timing out takes BATCH / PARALLEL timeouts.
        self.lease = timedelta(seconds=channels.timeout * -(-BATCH // PARALLEL) + 30)

    def deliver_due(self):
        """Try due deliveries a batch at a time while there are full batches
        (a backlog), for at most BUSY_FOR seconds, then let the timer wait."""
        started, tried = time.monotonic(), 0
        while time.monotonic() - started < BUSY_FOR:
            due = self.store.due(self.now(), BATCH)
            woken = 0
            if due:
                done, woken = self.deliver(due)
                tried += done
            # Go on while there is a backlog, or while this batch made its
            # successors due (a case's next notice on the same channel): they
            # go now, not a tick later.
            if len(due) < BATCH and not woken:
                break
        return tried

    def deliver(self, due):
        """One batch: claimed, its subscriptions and notices read, in three
        round trips; then each try's own result; then one wake-up for the
        deliveries that waited on the ones finished. (tried, woken)."""
        now = self.now()
        mine = self.store.claim(due, now, now + self.lease)
        if not mine:
            return 0, 0  # another instance has them
        subscriptions = self.repo.subscriptions({d["company_id"] for d in mine})
        notices = self.repo.notices_by_id({d["notice_id"] for d in mine})
        endpoints = self.repo.endpoints.by_ids(
            {d["endpoint_id"] for d in mine if d.get("endpoint_id")})
        finished: list = []
        pool = eventlet.GreenPool(PARALLEL)
        for delivery in mine:
            # An endpoint's delivery goes to that endpoint, signed with its
            # secrets; a deleted or disabled one has no target (skipped).
            source = (as_subscription(endpoints.get(delivery["endpoint_id"]))
                      if delivery.get("endpoint_id")
                      else subscriptions.get(delivery["company_id"]))
            pool.spawn_n(self.try_once, delivery, source,
                         notices.get(delivery["notice_id"]), finished)
        pool.waitall()
        woken = 0
        if finished:
            # Marked first, then the successors woken: see DeliveryStore.add.
            woken = self.store.wake_successors(finished, self.now())
        return len(mine), woken

    def wake_stranded(self):
        return self.store.wake_stranded(self.now(), STRANDED_AFTER)

    def try_once(self, delivery, subscription, notice, finished):
        target = self.channels.target(delivery["channel"], subscription)
        now = self.now()
        if not target:  # the company turned this channel off meanwhile
            self._finish(delivery, {"at": now, "ok": False, "target": None,
                                    "error": "channel no longer subscribed"},
                         {"status": "skipped", "next_attempt_at": None}, finished)
            return
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
            fields = after_failure_of(
                tries, c.max_tries, self.now(),
                retry_delay(tries, c.base_delay, c.max_delay, self.rand()),
                attempt["status_code"] if delivery["channel"] == "webhook" else None,
                getattr(exc, "retry_after", None), c.max_delay)
        attempt["ms"] = int((time.monotonic() - started) * 1000)
        self._finish(delivery, attempt, fields, finished)
        if fields.get("gone") and self.on_gone:
            try:
                self.on_gone(delivery, subscription)
            except Exception:  # the delivery is recorded; the next 410 tries again
                log.exception("disabling the endpoint of delivery %s failed",
                              delivery["_id"])

    def _finish(self, delivery, attempt, fields, finished):
        self.store.record(delivery, attempt, fields)
        if fields["status"] in FINISHED:
            finished.append(delivery["_id"])

"""The courier of alerts to police: a timer in every instance claims due
alert deliveries (email, SMS, the unit's robot) a batch at a time and tries
them side by side, as the notices' courier does, in their own collection.
A failure is retried with backoff and jitter, then the delivery is a dead
letter (GET /alert-deliveries; an admin may replay it); one channel's
failure is that delivery's alone.
"""
import logging
import random
import time
from datetime import timedelta

import eventlet

from services.notify.channel_rules import FINISHED, after_failure, retry_delay
from services.notify.courier import STRANDED_AFTER

log = logging.getLogger(__name__)
BATCH = 50
PARALLEL = 10


class AlertCourier:
    """Tries due alert deliveries side by side, like the notices' courier:
    backoff with jitter, then a dead letter; one channel's failure is that
    delivery's alone."""

    def __init__(self, store, channels, robot, now, rand=random.random):
        self.store, self.deliveries = store, store.deliveries
        self.channels, self.robot, self.now, self.rand = channels, robot, now, rand
        self.lease = timedelta(seconds=channels.timeout * -(-BATCH // PARALLEL) + 30)

    def deliver_due(self):
        now = self.now()
        due = self.deliveries.due(now, BATCH)
        mine = self.deliveries.claim(due, now, now + self.lease) if due else []
        finished: list = []
        pool = eventlet.GreenPool(PARALLEL)
        for delivery in mine:
            pool.spawn_n(self.try_once, delivery, finished)
        pool.waitall()
        if finished:
            # Marked first, then the next of each lane woken (DeliveryStore.add).
            self.deliveries.wake_successors(finished, self.now())
        return len(mine)

    def wake_stranded(self):
        return self.deliveries.wake_stranded(self.now(), STRANDED_AFTER)

    def try_once(self, delivery, finished):
        now, started = self.now(), time.monotonic()
        attempt = {"at": now, "status_code": None}
        try:
            detail = self.send(delivery, now)
            attempt.update(ok=True, detail=detail)
            fields = {"status": "delivered", "delivered_at": self.now(),
                      "next_attempt_at": None}
        except Exception as exc:   # any failure is this delivery's, recorded
            log.warning("alert %s delivery %s failed: %s", delivery["channel"],
                        delivery["_id"], exc)
            attempt.update(ok=False, error=str(exc)[:500] or type(exc).__name__,
                           status_code=getattr(exc, "status_code", None))
            tries, c = delivery["tries"] + 1, self.channels
            fields = after_failure(tries, c.max_tries, self.now(),
                                   retry_delay(tries, c.base_delay, c.max_delay, self.rand()))
        attempt["ms"] = int((time.monotonic() - started) * 1000)
        self.deliveries.record(delivery, attempt, fields)
        if fields["status"] in FINISHED:
            finished.append(delivery["_id"])

    def send(self, delivery, now):
        if delivery["channel"] == "robot":
            robot = self.store.robot(delivery["unit_id"])
            if not robot:
                raise ValueError("the unit has no robot any more")
            # Deliveries made before WeCom name only mobiles.
            mentions = delivery.get("mentions") or [
                {"mobile": m} for m in delivery.get("mobiles") or ()]
            return self.robot.send(robot, delivery["title"], delivery["body"], mentions, now)
        profile = self.store.profile(delivery["person_id"]) or {}
        target = profile.get({"email": "email", "sms": "phone"}[delivery["channel"]])
        if not target:
            raise ValueError(f"no {delivery['channel']} target any more")
        message = {"title": delivery["title"], "body": delivery["body"],
                   "event_id": delivery["event_id"],
                   "language": delivery.get("language") or "zh-CN"}
        return self.channels.send(delivery["channel"], target, message, None, now,
                                  delivery["_id"])

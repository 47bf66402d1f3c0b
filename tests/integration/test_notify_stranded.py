"""A notify killed between marking a delivery done and waking the next one
must not leave the next one waiting for ever (found by the chaos run)."""
from datetime import datetime, timedelta, timezone

from services.notify.delivery_store import DeliveryStore
from services.notify.service import NotifyService


def delivery(_id, after, status, created_at):
    return {"_id": _id, "after": after, "status": status, "tries": 0, "attempts": [],
            "next_attempt_at": None, "created_at": created_at, "channel": "webhook"}


def test_a_delivery_whose_predecessor_finished_is_woken_even_after_a_crash(running):
    running.start(NotifyService)
    store = DeliveryStore(running.db("notify"))
    now = datetime.now(timezone.utc)
    old = now - timedelta(minutes=1)
    # What the crash leaves: the first is delivered, the second never woken.
    store.coll.insert_many([delivery("d1", None, "delivered", old),
                            delivery("d2", "d1", "pending", old),
                            delivery("d3", "d2", "pending", old),     # still waits on d2
                            delivery("d4", "d9", "pending", now)])    # too young to judge
    assert store.wake_stranded(now, timedelta(seconds=10)) == 1
    assert [d["_id"] for d in store.due(now, 10)] == ["d2"]
    assert store.coll.find_one({"_id": "d3"})["next_attempt_at"] is None
    assert store.coll.find_one({"_id": "d4"})["next_attempt_at"] is None

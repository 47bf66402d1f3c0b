"""The courier claims due deliveries a batch at a time: two notify
instances reaching for the same batch must try each delivery once, and a
batch whose instance died must be tried again when its lease runs out."""
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from services.notify.delivery_store import DeliveryStore
from shared.mongo import connect


def due_delivery(_id, at):
    return {"_id": _id, "after": None, "status": "pending", "tries": 0, "attempts": [],
            "next_attempt_at": at, "created_at": at, "channel": "webhook"}


@pytest.fixture
def store(service_config):
    """A DeliveryStore on a database of its own, with no notify running:
    no courier but the test's takes its deliveries."""
    client = connect(service_config(0)["MONGO_URI"])
    db = client[f"claims_{uuid.uuid4().hex[:8]}"]
    yield DeliveryStore(db)
    client.drop_database(db.name)
    client.close()


def test_two_instances_claiming_one_batch_take_each_delivery_once(store):
    now = datetime.now(timezone.utc)
    store.coll.insert_many([due_delivery(f"d{i}", now - timedelta(seconds=i))
                            for i in range(6)])
    store.coll.insert_one(dict(due_delivery("later", now + timedelta(hours=1))))
    due = store.due(now, 10)
    lease = timedelta(minutes=2)
    first = store.claim(due, now, now + lease)
    second = store.claim(due, now, now + lease)  # the same batch, read before the first claim
    assert sorted(d["_id"] for d in first) == [f"d{i}" for i in range(6)]
    assert second == []
    assert store.due(now, 10) == []
    # The first instance dies mid-batch; once its lease is over, another takes it.
    after_lease = now + lease + timedelta(seconds=1)
    again = store.claim(store.due(after_lease, 10), after_lease, after_lease + lease)
    assert sorted(d["_id"] for d in again) == [f"d{i}" for i in range(6)]


def test_finishing_a_batch_wakes_only_what_waited_on_it(store):
    now = datetime.now(timezone.utc)
    store.coll.insert_many([dict(due_delivery(f"w{i}", None), after=f"d{i}")
                            for i in range(3)])
    store.wake_successors(["d0", "d2"], now)
    assert sorted(d["_id"] for d in store.due(now, 10)) == ["w0", "w2"]

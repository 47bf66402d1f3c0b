"""Notify keeps the documents it reads for every event (subscriptions,
companies, endpoints, rosters, robots, alert settings) between handlings,
and still never answers from a copy older than a change another instance
completed before the handling began, or, for an event's handling, before
its event occurred (shared/kept.py)."""
import time
from datetime import datetime, timezone

import eventlet
import pytest

from services.notify.repository import Repository
from shared import kept
from tests.helpers import two_instances


@pytest.fixture
def world(service_config):
    """Notify's database, and a way to make one handling's repository on
    instance "a" or "b" (two processes' copies)."""
    with two_instances(service_config(0)["MONGO_URI"], Repository) as world:
        yield world


def test_a_second_handling_reads_only_the_counter(world):
    handling, finds = world
    handling("b").create_subscription("co-1", {"channels": ["webhook"], "language": "zh-CN"})
    handling("a").subscription("co-1")
    finds.collections.clear()

    again = handling("a")
    assert again.subscription("co-1")["language"] == "zh-CN"
    assert again.company("co-1") == {}   # none yet: read once, then kept as none
    assert again.company("co-1") == {}
    assert handling("a").subscription("co-1")["language"] == "zh-CN"
    assert finds.collections == ["epochs", "companies", "epochs"]


def test_a_change_on_another_instance_is_seen_by_the_next_handling(world):
    handling, _ = world
    handling("b").create_subscription("co-1", {"channels": ["webhook"], "language": "en"})
    assert handling("a").subscription("co-1")["language"] == "en"
    assert handling("a").endpoints.enabled_for("co-1") == []

    b = handling("b")
    b.update_subscription("co-1", {"language": "zh-CN"})
    b.endpoints.create({"_id": "ep-1", "company_id": "co-1", "enabled": True,
                        "url": "https://receiver.example/hook"})

    a = handling("a")
    assert a.subscription("co-1")["language"] == "zh-CN"
    assert [e["_id"] for e in a.endpoints.enabled_for("co-1")] == ["ep-1"]

    endpoint = b.endpoints.get("co-1", "ep-1")
    assert handling("b").endpoints.disable_gone(endpoint, endpoint.get("created_at"))
    assert handling("a").endpoints.enabled_for("co-1") == []


def test_alert_settings_read_together_and_kept_apart(world):
    handling, finds = world
    handling("b").alerts.save_profile("p-1", {"language": "en", "channels": ["sms"]})
    finds.collections.clear()

    first = handling("a").alerts.profiles(["p-1", "p-2"])
    assert first["p-1"]["language"] == "en" and first["p-2"] is None
    assert handling("a").alerts.profile("p-2") is None
    assert finds.collections == ["epochs", "alert_profiles", "epochs"]

    handling("b").alerts.save_profile("p-2", {"language": "zh-CN", "channels": ["email"]})
    assert handling("a").alerts.profile("p-2")["language"] == "zh-CN"


def test_a_copy_is_not_changed_by_its_reader(world):
    handling, _ = world
    handling("b").create_subscription("co-1", {"channels": ["webhook"], "language": "en"})
    handling("a").subscription("co-1")["language"] = "fr"
    assert handling("a").subscription("co-1")["language"] == "en"


def test_a_database_made_again_is_not_answered_from_the_old_ones_copies(world):
    """The counter of a database dropped and made again (or restored from a
    backup) counts from its own start: the copies of the old one go."""
    handling, _ = world
    handling("b").create_subscription("co-1", {"channels": ["webhook"], "language": "en"})
    assert handling("a").subscription("co-1")["language"] == "en"
    b = handling("b")
    b.db.client.drop_database(b.db.name)
    handling("b").create_subscription("co-1", {"channels": ["webhook"], "language": "zh-CN"})
    assert handling("a").subscription("co-1")["language"] == "zh-CN"


def test_handlings_begun_before_a_read_of_the_counter_share_it(world):
    """Under load one read of the counter serves every handling of the
    process begun before it began; one begun after it reads again."""
    handling, finds = world
    handling("b").create_subscription("co-1", {"channels": ["webhook"], "language": "en"})
    first, second = handling("a"), handling("a")
    finds.collections.clear()

    assert first.subscription("co-1")["language"] == "en"
    assert second.subscription("co-1")["language"] == "en"
    assert finds.collections == ["epochs", "subscriptions"]

    handling("b").update_subscription("co-1", {"language": "zh-CN"})
    finds.collections.clear()
    assert handling("a").subscription("co-1")["language"] == "zh-CN"
    assert finds.collections == ["epochs", "subscriptions"]


def test_a_handling_waits_for_a_read_of_the_counter_on_its_way(world):
    """Handlings at once: the ones begun before a read that is on its way
    take its answer instead of sending their own."""
    handling, finds = world
    handling("b").create_subscription("co-1", {"channels": ["webhook"], "language": "en"})
    handlings = [handling("a") for _ in range(5)]
    finds.collections.clear()

    pool = eventlet.GreenPool()
    languages = list(pool.imap(lambda h: h.subscription("co-1")["language"], handlings))
    assert languages == ["en"] * 5
    assert finds.collections.count("epochs") == 1


def test_a_change_made_while_a_read_is_on_its_way_is_seen_by_a_handling_begun_after_it(world):
    handling, _ = world
    handling("b").create_subscription("co-1", {"channels": ["webhook"], "language": "en"})
    early = handling("a")
    assert early.subscription("co-1")["language"] == "en"
    handling("b").update_subscription("co-1", {"language": "zh-CN"})
    late = handling("a")     # began after the change: the early read is not for it
    assert late.subscription("co-1")["language"] == "zh-CN"


def test_an_events_handling_takes_a_read_begun_after_the_event_occurred(world):
    """An event's handling sees the changes completed before its event
    occurred: a read of the counter begun after that serves it, and one
    begun before does not, nor one older than FRESH_FOR."""
    handling, finds = world
    b = handling("b")
    b.create_subscription("co-1", {"channels": ["webhook"], "language": "en"})
    before_the_change = datetime.now(timezone.utc)
    b.update_subscription("co-1", {"language": "zh-CN"})
    occurred = datetime.now(timezone.utc)          # the event, after the change
    assert handling("a").subscription("co-1")["language"] == "zh-CN"
    finds.collections.clear()

    # Queued behind that read: the read began after both events occurred.
    for at in (occurred, before_the_change):
        waited = handling("a")
        waited.kept.after(at)
        assert waited.subscription("co-1")["language"] == "zh-CN"
    assert finds.collections == []

    # An event after the read began reads the counter, and sees a change
    # completed before it occurred.
    b.update_subscription("co-1", {"language": "en"})
    fresh = handling("a")
    fresh.kept.after(datetime.now(timezone.utc))
    assert fresh.subscription("co-1")["language"] == "en"
    assert finds.collections == ["epochs", "subscriptions"]


def test_an_events_handling_does_not_take_a_read_older_than_fresh_for(world, monkeypatch):
    handling, finds = world
    handling("b").create_subscription("co-1", {"channels": ["webhook"], "language": "en"})
    occurred = datetime.now(timezone.utc)
    assert handling("a").subscription("co-1")["language"] == "en"
    monkeypatch.setattr(kept, "FRESH_FOR", 0.05)
    time.sleep(0.1)
    finds.collections.clear()
    late = handling("a")
    late.kept.after(occurred)
    assert late.subscription("co-1")["language"] == "en"
    assert finds.collections == ["epochs"]

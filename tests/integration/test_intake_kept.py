"""Intake keeps its units and officers between handlings (an accept names
its officer, an alert asks for its unit's people) and still never answers
from a copy older than a change another instance completed before the
handling began (shared/kept.py)."""
import uuid

import pytest
from pymongo import monitoring

from services.intake.repository import Repository
from shared.kept import Memory
from shared.mongo import connect


class Finds(monitoring.CommandListener):
    def __init__(self):
        self.collections = []

    def started(self, event):
        if event.command_name == "find":
            self.collections.append(event.command["find"])

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass


@pytest.fixture
def world(service_config):
    """Intake's database, and one handling's repository on instance "a" or "b"."""
    finds = Finds()
    client = connect(service_config(0)["MONGO_URI"], event_listeners=[finds])
    db = client[f"kept_{uuid.uuid4().hex[:8]}"]
    memories = {"a": Memory(), "b": Memory()}

    def handling(instance):
        return Repository(db, memories[instance])
    yield handling, finds
    client.drop_database(db.name)
    client.close()


def officer(officer_id, unit_id, name):
    return {"_id": officer_id, "unit_id": unit_id, "name": name, "role": "officer"}


def test_a_second_handling_reads_only_the_counter(world):
    handling, finds = world
    b = handling("b")
    b.insert("units", {"_id": "st1", "path": ["st1", "city"]})
    b.insert("officers", officer("o1", "st1", "Li"))
    first = handling("a")
    assert first.officer("o1")["name"] == "Li"
    assert [o["_id"] for o in first.officers_of("st1")] == ["o1"]
    finds.collections.clear()

    again = handling("a")
    assert again.officer("o1")["name"] == "Li"
    assert again.unit("st1")["path"] == ["st1", "city"]
    assert [o["_id"] for o in again.officers_of("st1")] == ["o1"]
    assert finds.collections == ["epochs", "units"]   # the unit was not read before


def test_officers_added_or_changed_on_another_instance_are_seen_by_the_next_handling(world):
    handling, _ = world
    b = handling("b")
    b.insert("units", {"_id": "st1", "path": ["st1", "city"]})
    b.insert("officers", officer("o1", "st1", "Li"))
    a = handling("a")
    assert [o["name"] for o in a.officers_of("st1")] == ["Li"]
    assert a.officer("o2") is None

    b = handling("b")
    b.insert("officers", officer("o2", "st1", "Wang"))
    b.update_officer("o1", {"name": "Li Ming"})

    a = handling("a")
    assert [o["name"] for o in a.officers_of("st1")] == ["Li Ming", "Wang"]
    assert a.officer("o2")["name"] == "Wang"
    assert a.officer("o1")["name"] == "Li Ming"


def test_a_unit_made_on_another_instance_is_no_longer_unknown(world):
    handling, _ = world
    assert handling("a").unit("st9") is None
    handling("b").insert("units", {"_id": "st9", "path": ["st9", "city"]})
    assert handling("a").unit("st9")["path"] == ["st9", "city"]


def test_a_company_registered_on_another_instance_can_file_at_once(world):
    handling, finds = world
    assert handling("a").company("co-1") is None       # kept as unknown
    handling("b").insert("companies", {"_id": "co-1", "name": "Harbour Trading",
                                       "outbox": [{"event_id": "e1"}]})
    company = handling("a").company("co-1")
    assert company["name"] == "Harbour Trading" and "outbox" not in company
    finds.collections.clear()
    assert handling("a").company("co-1")["name"] == "Harbour Trading"
    assert finds.collections == ["epochs"]

"""Intake keeps its units, officers and companies between handlings (an
accept names its officer, an alert asks for its unit's people, a filing
reads its company) and still never answers from a copy older than a change
another instance completed before the handling began (shared/kept.py)."""
import time

import pytest
from nameko.standalone.rpc import ClusterRpcProxy

from services.intake.repository import Repository
from services.intake.service import IntakeService
from tests.helpers import two_instances


@pytest.fixture
def world(service_config):
    """Intake's database, and one handling's repository on instance "a" or "b"."""
    with two_instances(service_config(0)["MONGO_URI"], Repository) as world:
        yield world


def officer(officer_id, unit_id, name):
    return {"_id": officer_id, "unit_id": unit_id, "name": name, "role": "officer"}


def station_with_li(repo):
    repo.insert("units", {"_id": "st1", "path": ["st1", "city"]})
    repo.insert("officers", officer("o1", "st1", "Li"))


def test_a_second_handling_reads_only_the_counter(world):
    handling, finds = world
    station_with_li(handling("b"))
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
    station_with_li(handling("b"))
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


def test_the_unit_tree_is_read_once_and_a_unit_added_elsewhere_is_in_it_at_once(world):
    """Every filing routes through the whole tree: read once, not a filing."""
    handling, finds = world
    station_with_li(handling("b"))
    assert set(handling("a").units()) == {"st1"}
    finds.collections.clear()
    assert handling("a").units()["st1"]["path"] == ["st1", "city"]
    assert finds.collections == ["epochs"]

    handling("b").insert("units", {"_id": "st2", "path": ["st2", "city"]})
    assert set(handling("a").units()) == {"st1", "st2"}


def test_an_alert_ask_for_an_event_reads_no_counter_a_read_after_the_event_answered(running):
    """notify asks intake for a unit's people for an event it alerts on, and
    says when the event occurred (`since`): a read of the kept counter begun
    after that answers the ask too (shared/kept.py), as it would the event's
    own handling. An ask for an event after the last read, or for none,
    reads the counter."""
    running.start(IntakeService)
    admin = running.admin("intake")
    assert admin.post("/admin/units", {"unit_id": "city", "name": "City", "kind": "bureau",
                                         "parent_unit_id": None}
                      ).status_code == 201
    db = running.db("intake")
    with ClusterRpcProxy(running.config) as rpc:
        before = time.time()
        db.command("profile", 2)
        try:
            first = rpc.intake.unit_people("city")               # reads the counter
            earlier = rpc.intake.unit_people("city", before)     # served by that read
            later = rpc.intake.unit_people("city", time.time())  # after it: reads again
        finally:
            db.command("profile", 0)
    assert first == earlier == later and first["path"] == ["city"]
    reads = db["system.profile"].count_documents({"op": "query", "ns": f"{db.name}.epochs"})
    assert reads == 2

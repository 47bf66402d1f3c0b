"""notify asks intake for a unit's people (alerting.py): an ask begun after
an event occurred serves it, under FRESH_FOR old; nothing older does."""
from datetime import datetime, timedelta, timezone

import pytest

from services.notify.alerting import Alerter
from shared.kept import FRESH_FOR

T0 = datetime(2026, 12, 2, 10, 0, tzinfo=timezone.utc)


class Intake:
    """intake's directory as the RPC answers it; `people` changes between asks."""

    def __init__(self):
        self.people = ["o1"]
        self.asks = 0
        self.down = False

    def call(self, method, unit_id, since):
        assert method == "unit_people"
        self.since = since
        if self.down:
            raise TimeoutError("intake did not answer")
        self.asks += 1
        return {"unit_id": unit_id, "path": [unit_id, "city"],
                "people": [{"officer_id": p, "name": p, "role": "officer"} for p in self.people]}


class Store:
    def __init__(self):
        self.kept = {}

    def keep_unit(self, unit):
        self.kept[unit["unit_id"]] = unit

    def known_unit(self, unit_id):
        return self.kept.get(unit_id)


@pytest.fixture
def world():
    intake, store, asked, wall = Intake(), Store(), {}, [T0.timestamp()]

    def handling(occurred_at):
        """One event's handling (a new Alerter, as each worker makes), now = wall[0]."""
        alerter = Alerter(store, {}, intake, {}, None, None, wall=lambda: wall[0], asked=asked)
        alerter.since = None if occurred_at is None else occurred_at.timestamp()
        return alerter

    return intake, handling, wall


def people(alerter):
    return [p["officer_id"] for p in alerter.unit("st1")["people"]]


def test_events_that_occurred_before_an_ask_began_share_its_answer(world):
    intake, handling, wall = world
    assert people(handling(T0 - timedelta(milliseconds=50))) == ["o1"]
    wall[0] += 0.3
    assert people(handling(T0 - timedelta(milliseconds=10))) == ["o1"]
    assert people(handling(T0)) == ["o1"]
    assert intake.asks == 1


def test_an_event_after_the_ask_asks_again_and_sees_a_change_made_before_it(world):
    intake, handling, wall = world
    people(handling(T0 - timedelta(milliseconds=50)))
    intake.people = ["o1", "o2"]             # an officer added, then an event
    wall[0] += 0.2
    assert people(handling(T0 + timedelta(milliseconds=100))) == ["o1", "o2"]
    assert intake.asks == 2
    # intake is told when the event occurred: its directory as of then serves.
    assert intake.since == (T0 + timedelta(milliseconds=100)).timestamp()


def test_an_ask_older_than_fresh_for_serves_no_event(world):
    intake, handling, wall = world
    people(handling(T0 - timedelta(milliseconds=50)))
    wall[0] += FRESH_FOR + 0.1
    people(handling(T0 - timedelta(milliseconds=50)))
    assert intake.asks == 2


def test_a_timer_with_no_event_always_asks(world):
    intake, handling, wall = world
    people(handling(T0 - timedelta(milliseconds=50)))
    people(handling(None))
    assert intake.asks == 2 and intake.since is None


def test_with_intake_away_the_last_answer_kept_serves_and_is_not_shared(world):
    intake, handling, wall = world
    people(handling(T0 - timedelta(milliseconds=50)))
    intake.down = True
    wall[0] += FRESH_FOR + 0.1
    assert people(handling(T0 + timedelta(seconds=1))) == ["o1"]   # from the database
    intake.down, intake.people = False, ["o2"]
    assert people(handling(T0 + timedelta(seconds=1))) == ["o2"]


def test_an_events_time_is_read_as_utc_and_a_time_it_cannot_read_asks():
    from services.notify.alerting import _instant
    assert _instant(T0) == T0.timestamp()
    assert _instant(T0.replace(tzinfo=None)) == T0.timestamp()   # as read back from Mongo
    assert _instant(T0.isoformat()) is None
    assert _instant(None) is None

"""Two events of one report taken at once: each is released by the handling
that stored it (or by the one that moves the cursor to just before it),
not by both — and never by neither (services/notify/domain.in_flight)."""
import uuid
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from services.notify import domain
from services.notify.alert_order import AlertOrder
from services.notify.ordering import Sequencer
from services.notify.repository import Repository
from services.notify.taking import Taking
from shared.mongo import connect
from tests.integration.notify_world import report_events

POLICY = {"follow_up_after_seconds": 3600, "order_max_hold_seconds": 3600}
NOW = datetime.now(timezone.utc)


@pytest.fixture
def repo(service_config):
    """Notify's repository on a database of its own, with no notify running:
    the test's handlings are the only ones."""
    client = connect(service_config(0)["MONGO_URI"])
    db = client[f"in_flight_{uuid.uuid4().hex[:8]}"]
    repo = Repository(db)
    for name, indexes in Repository.INDEXES.items():
        for keys, options in indexes:
            db[name].create_index(keys, **options)
    yield repo
    client.drop_database(db.name)
    client.close()


class Recorder:
    """Stands in for the alerter: which events were raised, how often."""

    def __init__(self):
        self.raised = []

    def take(self, event, lanes):
        self.raised.append(event["sequence"])


def handling(repo, event, at=NOW, alerter=None):
    """One handling of `event`, as NotifyService.handle_event runs it, its
    stored record kept in hand; the notices' and the alerts' releases."""
    taking = Taking(repo, lambda: at)
    taking.store(event)
    return taking


def release(repo, taking, event, alerter, at=NOW):
    Sequencer(repo, domain.load_templates(), POLICY, lambda: at,
              marks=taking.marks).take(event, taking.stored)
    AlertOrder(repo, alerter, timedelta(hours=1), lambda: at,
               marks=taking.marks).take(event, taking.stored)
    taking.marks.write()


def told(repo):
    return [n["sequence"] for n in repo.db.notices.find().sort("sequence", 1)]


def test_the_second_of_two_events_taken_at_once_leaves_the_first_to_its_handling(repo):
    received, overdue, *_ = report_events(SimpleNamespace(id="c1"), "r1")
    alerter = Recorder()
    first, second = handling(repo, received), handling(repo, overdue)
    release(repo, second, overdue, alerter)      # the first is stored, not released yet
    assert told(repo) == [] and alerter.raised == []
    assert repo.subject("r1")["released"] == 0
    release(repo, first, received, alerter)      # its handling goes on to the second
    assert told(repo) == [1]                     # 2 (ack overdue) is not told to companies
    assert alerter.raised == [1, 2]              # each raised once, in order
    assert repo.subject("r1")["released"] == 2
    assert repo.db.events.count_documents({"state": "held"}) == 0


def test_an_event_whose_handling_died_long_ago_is_released_by_the_next(repo):
    received, overdue, *_ = report_events(SimpleNamespace(id="c1"), "r1")
    handling(repo, received, at=NOW - domain.IN_FLIGHT - timedelta(seconds=1))  # then died
    alerter = Recorder()
    release(repo, handling(repo, overdue), overdue, alerter)
    assert told(repo) == [1] and alerter.raised == [1, 2]
    assert repo.subject("r1")["released"] == 2


def test_an_early_event_is_released_by_the_handling_of_the_one_before_it(repo):
    received, overdue, acknowledged, _ = report_events(SimpleNamespace(id="c1"), "r1")
    alerter = Recorder()
    for event in (acknowledged, overdue):   # 3 then 2: neither's turn, both held
        release(repo, handling(repo, event), event, alerter)
    assert told(repo) == [] and alerter.raised == []
    release(repo, handling(repo, received), received, alerter)
    assert told(repo) == [1, 3] and alerter.raised == [1, 2, 3]
    assert repo.db.events.count_documents({"state": "held"}) == 0


def test_a_redelivery_goes_on_where_its_first_handling_died_after_its_release(repo):
    """The first handling released its event and died before going on to the
    next, which the other handling had left to it: the redelivered message
    goes on."""
    received, overdue, *_ = report_events(SimpleNamespace(id="c1"), "r1")
    alerter = Recorder()
    first, second = handling(repo, received), handling(repo, overdue)
    release(repo, second, overdue, alerter)             # left to the first
    sequencer = Sequencer(repo, domain.load_templates(), POLICY, lambda: NOW)
    record = dict(first.stored, event_id=received["event_id"])
    sequencer._release(repo.subject("r1"), record)      # released, then SIGKILL
    order = AlertOrder(repo, alerter, timedelta(hours=1), lambda: NOW)
    order._raise(repo.alerts.cursor("r1"), first.stored)
    assert repo.subject("r1")["released"] == 1 and alerter.raised == [1]
    release(repo, handling(repo, received), received, alerter)   # the redelivery
    assert repo.subject("r1")["released"] == 2
    assert alerter.raised == [1, 2] and told(repo) == [1]


def test_a_case_opening_whose_acceptance_was_released_by_a_handling_that_died_is_told(repo):
    """The acceptance was released by the handling of the report's first
    event, which died before going on to the case; the opening's own
    handling had found it waiting and returned. The overdue sweep tells it
    once it has waited IN_FLIGHT."""
    company = SimpleNamespace(id="c1")
    received, overdue, acknowledged, accepted = report_events(company, "r1")
    opening = dict(received, event_id=str(uuid.uuid4()), type="case_opened", subject="k1",
                   source="case_supervision", sequence=1,
                   data=dict(received["data"], case_id="k1", case_number="FT-C-2026-000001",
                             stage="investigation", accepted_sequence=2))
    accepted = dict(accepted, sequence=2)
    earlier = NOW - domain.IN_FLIGHT - timedelta(seconds=1)
    alerter = Recorder()
    release(repo, handling(repo, opening, at=earlier), opening, alerter, at=earlier)
    assert repo.subject("k1")["released"] == 0            # waits for its acceptance
    sequencer = Sequencer(repo, domain.load_templates(), POLICY, lambda: NOW)
    for event in (received, accepted):                      # released, then SIGKILL
        taking = handling(repo, event)
        sequencer._release(repo.subject("r1"), dict(taking.stored, event_id=event["event_id"]))
    assert repo.subject("r1")["released"] == 2 and repo.subject("k1")["released"] == 0
    sequencer.release_overdue()
    assert repo.subject("k1")["released"] == 1
    assert [n["event_type"] for n in repo.db.notices.find({"subject": "k1"})] == ["case_opened"]
    assert repo.db.events.find_one({"_id": opening["event_id"]})["state"] == "released"

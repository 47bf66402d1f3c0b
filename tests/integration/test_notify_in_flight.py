"""Two events of one report taken at once: each is released by the handling
that stored it (or by the one that moves the cursor to just before it),
not by both — and never by neither (services/notify/domain.in_flight)."""
import uuid
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest
from pymongo import monitoring

from services.notify import domain
from services.notify.alert_order import AlertOrder
from services.notify.ordering import Sequencer
from services.notify.repository import Repository
from services.notify.taking import Taking, write_left_marks
from shared.events import case_id_for
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
    """As NotifyService.handle_event: both consumers, the shared move of an
    event in order and each going on from it, then the record."""
    order = AlertOrder(repo, alerter, timedelta(hours=1), lambda: at, marks=taking.marks)
    sequencer = Sequencer(repo, domain.load_templates(), POLICY, lambda: at,
                          marks=taking.marks, alert_order=order)
    sequencer.take(event, taking.stored, taking.subject, taking)
    order.take(event, taking.stored, taking.cursor, taking)
    if taking.move():
        sequencer.went_on(event, taking.stored, taking.moved["notices"])
        order.went_on(event, taking.stored, sequencer.alert_cursors.get(
            event["subject"], taking.moved["alerts"]), sequencer.nothing_after.get(
            event["subject"]))
    taking.write()


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
    write_left_marks(repo, NOW)   # notify's timer, a second later at most
    assert repo.db.events.count_documents({"state": "held"}) == 0


def test_an_event_whose_handling_died_long_ago_is_released_by_the_next(repo):
    received, overdue, *_ = report_events(SimpleNamespace(id="c1"), "r1")
    # The inbox's retry stores its event first (once=False), then died.
    Taking(repo, lambda: NOW - domain.IN_FLIGHT - timedelta(seconds=1), once=False
           ).store(received)
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
    write_left_marks(repo, NOW)
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


def writes_to_events(repo, run, collection="events", commands=("insert", "update")):
    """The inserts and updates `run()` sends to the events collection."""
    seen = []

    class Writes(monitoring.CommandListener):
        def started(self, event):
            if event.command_name in commands and \
                    event.command.get(event.command_name) == collection:
                seen.append(event.command_name)

        def succeeded(self, event):
            pass

        def failed(self, event):
            pass
    host, port = repo.db.client.address
    client = connect(f"mongodb://{host}:{port}", event_listeners=[Writes()])
    watched = Repository(client[repo.db.name])
    try:
        run(watched)
    finally:
        client.close()
    return seen


def test_an_event_in_order_is_not_stored_its_cursors_keep_it_told(repo):
    """The next event for both cursors, moved past it by its handling: no
    record and no mark (issue 19); a redelivery finds it behind both
    cursors, stores it as told, and tells nothing again."""
    received, overdue, *_ = report_events(SimpleNamespace(id="c1"), "r1")
    alerter = Recorder()

    def both(watched):
        for event in (received, overdue):
            release(watched, handling(watched, event), event, alerter)
    assert writes_to_events(repo, both) == []
    assert told(repo) == [1] and alerter.raised == [1, 2]
    redelivered = handling(repo, received)
    assert redelivered.fresh is False and redelivered.pending is None   # a duplicate
    release(repo, redelivered, received, alerter)
    assert repo.db.events.count_documents({}) == 0
    assert told(repo) == [1] and alerter.raised == [1, 2]


def test_an_event_in_order_moves_both_its_cursors_in_one_write(repo):
    """The notices' and the alerts' cursors share the subject's document:
    an event in order moves both with one write (the first makes it)."""
    received, overdue, acknowledged, _ = report_events(SimpleNamespace(id="c1"), "r1")
    alerter = Recorder()

    def each(watched):
        for event in (received, overdue, acknowledged):
            release(watched, handling(watched, event), event, alerter)
    assert writes_to_events(repo, each, "subjects", ("insert", "update", "findAndModify")) \
        == ["insert", "update", "update"]
    subject, cursor = repo.subject_and_cursor("r1")
    assert (subject["v"], subject["released"]) == (3, 3)
    assert (cursor["v"], cursor["released"]) == (3, 3)
    assert told(repo) == [1, 3] and alerter.raised == [1, 2, 3]


def test_a_redelivery_after_a_move_that_died_before_going_on_goes_on(repo):
    """Told at once and both cursors moved, then SIGKILL before going on to
    the acceptance stored meanwhile: the broker redelivers; the receipt is
    behind both cursors (a duplicate, not stored, told nothing again), and
    its handling goes on to the acceptance."""
    received, overdue, *_ = report_events(SimpleNamespace(id="c1"), "r1")
    alerter = Recorder()
    taking = handling(repo, received)
    release(repo, handling(repo, overdue), overdue, alerter)      # stored held
    order = AlertOrder(repo, alerter, timedelta(hours=1), lambda: NOW, marks=taking.marks)
    Sequencer(repo, domain.load_templates(), POLICY, lambda: NOW, marks=taking.marks,
              alert_order=order).take(received, taking.stored, taking.subject, taking)
    order.take(received, taking.stored, taking.cursor, taking)
    assert taking.move()                                          # then died
    assert repo.subject("r1")["released"] == 1 and alerter.raised == [1]
    redelivered = handling(repo, received)
    assert redelivered.fresh is False
    release(repo, redelivered, received, alerter)
    assert told(repo) == [1] and alerter.raised == [1, 2]
    subject, cursor = repo.subject_and_cursor("r1")
    assert (subject["released"], cursor["released"]) == (2, 2)
    assert repo.db.events.count_documents({"_id": received["event_id"]}) == 0


def test_two_copies_of_an_event_in_order_taken_at_once_tell_it_once(repo):
    """Two instances take the same message (a redelivery while the first
    still works): both release it at once, one moves each cursor, no
    record is needed, and the company has one notice."""
    received, *_ = report_events(SimpleNamespace(id="c1"), "r1")
    alerter = Recorder()
    one, two = handling(repo, received), handling(repo, received)
    assert one.pending is not None and two.pending is not None
    release(repo, one, received, alerter)
    release(repo, two, received, alerter)
    # Both raised its alerts (the same ids: stored once); one notice.
    assert told(repo) == [1] and alerter.raised == [1, 1]
    assert repo.subject("r1")["released"] == 1 and repo.alerts.cursor("r1")["released"] == 1
    assert repo.db.events.count_documents({}) == 0   # the cursors keep it told


def test_the_marks_many_handlings_leave_are_written_in_one_update(repo):
    """Three reports, each accepted while its receipt is told: every
    acceptance is stored held and released by its receipt's handling. Their
    marks wait for notify's timer, which writes all three in one update."""
    alerter = Recorder()
    for n in range(3):
        received, overdue, *_ = report_events(SimpleNamespace(id="c1"), f"r{n}")
        first, second = handling(repo, received), handling(repo, overdue)
        release(repo, second, overdue, alerter)
        release(repo, first, received, alerter)
    held = {e["_id"] for e in repo.db.events.find({"state": "held", "alert_state": "held"})}
    assert len(held) == 3 and all(repo.subject(f"r{n}")["released"] == 2 for n in range(3))
    assert writes_to_events(repo, lambda watched: write_left_marks(watched, NOW)) == ["update"]
    assert repo.db.events.count_documents({"state": "held"}) == 0
    assert repo.db.events.count_documents({"alert_state": "held"}) == 0
    assert writes_to_events(repo, lambda watched: write_left_marks(watched, NOW)) == []


def test_marks_lost_with_their_process_are_written_by_the_sweep(repo):
    """SIGKILL after the releases and before the timer: the marks in memory
    are gone, the events stay held behind their cursors, told once; the
    overdue sweep marks them after the hold and tells nothing again."""
    from services.notify import taking as taking_module
    received, overdue, *_ = report_events(SimpleNamespace(id="c1"), "r1")
    alerter = Recorder()
    first, second = handling(repo, received), handling(repo, overdue)
    release(repo, second, overdue, alerter)
    release(repo, first, received, alerter)
    taking_module._LEFT.pop(repo.db.name)                   # the process died
    assert repo.db.events.find_one({"_id": overdue["event_id"]})["state"] == "held"
    later = NOW + timedelta(hours=1, seconds=1)
    Sequencer(repo, domain.load_templates(), POLICY, lambda: later).release_overdue()
    AlertOrder(repo, alerter, timedelta(hours=1), lambda: later).release_overdue()
    record = repo.db.events.find_one({"_id": overdue["event_id"]})
    assert (record["state"], record["alert_state"]) == ("released", "released")
    assert told(repo) == [1] and alerter.raised == [1, 2]


def test_alert_cursors_kept_apart_move_onto_their_subjects_at_start(repo):
    """Before issue 19's one document per subject, alert cursors had a
    collection of their own: notify's start moves each onto its subject's
    document (one with a notices' cursor, one without), and the cases'
    leads are still found by their reports. Starting twice moves nothing
    twice."""
    received, overdue, *_ = report_events(SimpleNamespace(id="c1"), "r1")
    alerter = Recorder()
    release(repo, handling(repo, received), received, alerter)   # r1: both cursors at 1
    repo.db.subjects.update_one({"_id": "r1"}, {"$unset": {"alerts": ""}})
    repo.db.alert_cursors.insert_many([
        {"_id": "r1", "v": 4, "released": 1, "lanes": {}},
        {"_id": case_id_for("r9"), "v": 2, "released": 3, "lanes": {}, "report_id": "r9",
         "lead_officer_id": "officer-li", "lead_unit_id": "st1"}])
    for _ in range(2):
        Repository.upgrade(repo.db)
    assert repo.db.alert_cursors.count_documents({}) == 0
    subject, cursor = repo.subject_and_cursor("r1")
    assert (subject["v"], subject["released"]) == (1, 1)
    assert (cursor["v"], cursor["released"]) == (4, 1)
    case = case_id_for("r9")   # a case's subject: the id its report makes
    assert repo.alerts.cursor(case)["released"] == 3 and repo.subject(case)["released"] == 0
    assert repo.alerts.lead_of("r9") == "officer-li"
    # Both cursors go on from there, each on its own version.
    release(repo, handling(repo, overdue), overdue, alerter)
    subject, cursor = repo.subject_and_cursor("r1")
    assert (subject["released"], cursor["released"]) == (2, 2)
    assert alerter.raised == [1, 2]


def test_events_that_waited_for_one_in_order_move_both_cursors_in_one_write_each(repo):
    """A report accepted while its receipt is told: the acceptance, stored
    held, is told and raised by the receipt's handling right after its own,
    both cursors moved together: one write an event, not two."""
    received, overdue, acknowledged, _ = report_events(SimpleNamespace(id="c1"), "r1")
    alerter = Recorder()

    def taken_together(watched):
        first = handling(watched, received)
        waiting = [handling(watched, e) for e in (overdue, acknowledged)]
        for event, taking in zip((overdue, acknowledged), waiting):
            release(watched, taking, event, alerter)   # neither's turn yet
        release(watched, first, received, alerter)
    # Each stored to wait says so on the subject (its `held`: an update
    # each); the receipt's insert finds the document those made and moves
    # it instead; then one write an event, both cursors together.
    assert writes_to_events(repo, taken_together, "subjects",
                            ("insert", "update", "findAndModify")) == [
        "update", "update", "insert", "update", "update", "update"]
    subject, cursor = repo.subject_and_cursor("r1")
    assert (subject["released"], cursor["released"]) == (3, 3)
    assert told(repo) == [1, 3] and alerter.raised == [1, 2, 3]


class FailingOnce(Recorder):
    """An alerter whose first raise fails (intake's roster not answering)."""

    def __init__(self):
        super().__init__()
        self.failed = False

    def take(self, event, lanes):
        if not self.failed:
            self.failed = True
            raise RuntimeError("roster unavailable")
        super().take(event, lanes)


def test_alerts_failing_on_an_event_in_order_leave_the_notices_cursor_moved_alone(repo):
    """The alerts' consumer fails before it leaves its cursor's state: the
    shared write moves the notices' cursor alone, the record says the
    alerts are still to raise, and the inbox's retry raises them."""
    received, *_ = report_events(SimpleNamespace(id="c1"), "r1")
    alerter = FailingOnce()
    taking = handling(repo, received)
    sequencer = Sequencer(repo, domain.load_templates(), POLICY, lambda: NOW,
                          marks=taking.marks)
    order = AlertOrder(repo, alerter, timedelta(hours=1), lambda: NOW, marks=taking.marks)
    sequencer.take(received, taking.stored, taking.subject, taking)
    with pytest.raises(RuntimeError):   # the inbox records it, for its retry
        order.take(received, taking.stored, taking.cursor, taking)
    assert taking.move() and set(taking.moved) == {"notices"}
    sequencer.went_on(received, taking.stored, taking.moved["notices"])
    taking.write()
    record = repo.db.events.find_one({"_id": received["event_id"]})
    assert (record["state"], record["alert_state"]) == ("released", "held")
    subject, cursor = repo.subject_and_cursor("r1")
    assert (subject["released"], cursor["released"]) == (1, 0)
    retry = Taking(repo, lambda: NOW, once=False)          # the inbox's retry
    assert retry.store(received) is False
    AlertOrder(repo, alerter, timedelta(hours=1), lambda: NOW,
               marks=retry.marks).take(received, retry.stored, retry.cursor, retry)
    assert alerter.raised == [1] and repo.alerts.cursor("r1")["released"] == 1
    assert told(repo) == [1]


class FailingOn(Recorder):
    """An alerter failing on one sequence while `failing` holds."""

    def __init__(self, sequence):
        super().__init__()
        self.sequence, self.failing = sequence, True

    def take(self, event, lanes):
        if self.failing and event["sequence"] == self.sequence:
            raise RuntimeError("roster unavailable")
        super().take(event, lanes)


def test_alerts_failing_on_an_event_told_together_leave_its_notice_moved_alone(repo):
    """The acceptance's alerts fail while the receipt's handling tells it
    with its own: its notice is told and its cursor moved alone; the alerts'
    own going on fails on it too (the inbox records it), and the retry
    raises it and goes on."""
    received, overdue, acknowledged, _ = report_events(SimpleNamespace(id="c1"), "r1")
    alerter = FailingOn(2)
    release(repo, handling(repo, overdue), overdue, alerter)       # stored held
    first = handling(repo, received)
    with pytest.raises(RuntimeError):   # the alerts' going on, as the inbox sees it
        release(repo, first, received, alerter)
    subject, cursor = repo.subject_and_cursor("r1")
    assert (subject["released"], cursor["released"]) == (2, 1)
    assert told(repo) == [1] and alerter.raised == [1]
    alerter.failing = False
    retry = Taking(repo, lambda: NOW, once=False)                  # the inbox's retry
    retry.store(received)
    AlertOrder(repo, alerter, timedelta(hours=1), lambda: NOW,
               marks=retry.marks).take(received, retry.stored, retry.cursor, retry)
    assert alerter.raised == [1, 2] and repo.alerts.cursor("r1")["released"] == 2


def test_an_event_another_handling_here_is_telling_is_left_to_it(repo):
    """The receipt's handling reaches the acceptance while the acceptance's
    own handling, in the same process, is telling it: it leaves it (no
    second notice, deliveries and alerts, no lost cursor write); the one
    telling it goes on after it."""
    from services.notify.taking import telling
    received, overdue, *_ = report_events(SimpleNamespace(id="c1"), "r1")
    alerter = Recorder()
    release(repo, handling(repo, overdue), overdue, alerter)       # stored held
    with telling(repo, "r1", 2, "notices") as mine:                # its own, mid-way
        assert mine
        release(repo, handling(repo, received), received, alerter)
        assert repo.subject("r1")["released"] == 1
    order = AlertOrder(repo, alerter, timedelta(hours=1), lambda: NOW)
    Sequencer(repo, domain.load_templates(), POLICY, lambda: NOW,
              alert_order=order).advance("r1")                     # as it goes on
    subject, cursor = repo.subject_and_cursor("r1")
    assert (subject["released"], cursor["released"]) == (2, 2)
    assert alerter.raised == [1, 2]


def test_the_place_after_an_event_in_order_is_read_by_neither_cursor(repo):
    """Both cursors moved past the receipt in one write, which answers that
    nothing is stored to wait past them (`held`): the notices' consumer
    does not read the place after it, nor the alerts' consumer: whoever
    stores an event there finds both cursors moved and tells it itself."""
    received, overdue, *_ = report_events(SimpleNamespace(id="c1"), "r1")
    alerter = Recorder()
    assert writes_to_events(repo, lambda watched: release(
        watched, handling(watched, received), received, alerter),
        commands=("find",)) == []
    release(repo, handling(repo, overdue), overdue, alerter)
    assert alerter.raised == [1, 2] and repo.alerts.cursor("r1")["released"] == 2


def test_a_reports_next_event_here_guesses_its_cursors_from_the_last_move(repo):
    """The acceptance, taken in the process that just moved its report's
    cursors past the receipt, guesses them from that move instead of
    reading them; a guess gone stale (another instance told it meanwhile)
    only loses the move: told once."""
    received, overdue, acknowledged, _ = report_events(SimpleNamespace(id="c1"), "r1")
    alerter = Recorder()
    release(repo, handling(repo, received), received, alerter)
    assert writes_to_events(repo, lambda watched: release(
        watched, handling(watched, overdue), overdue, alerter),
        "subjects", commands=("find",)) == []
    assert repo.subject("r1")["released"] == 2
    # Another instance tells the third event; this process still remembers 2.
    repo.db.subjects.update_one({"_id": "r1"}, {"$set": {"released": 3, "alerts.released": 3},
                                                "$inc": {"v": 1, "alerts.v": 1}})
    release(repo, handling(repo, acknowledged), acknowledged, alerter)
    subject, cursor = repo.subject_and_cursor("r1")
    assert (subject["released"], cursor["released"]) == (3, 3)
    assert told(repo) == [1, 3] and repo.db.notices.count_documents({}) == 2
    assert repo.db.events.count_documents({}) == 0


def test_a_release_reads_the_next_place_only_when_its_subject_says_one_waits(repo):
    """`held` on the subject (domain.nothing_held_after): a release whose
    move answers no event stored past it reads nothing more; one stored to
    wait is read, and told, by the release of the one before it."""
    received, overdue, acknowledged, _ = report_events(SimpleNamespace(id="c1"), "r1")
    alerter = Recorder()

    def in_order(watched):
        for event in (received, overdue):
            release(watched, handling(watched, event), event, alerter)
    assert writes_to_events(repo, in_order, commands=("find",)) == []
    assert told(repo) == [1] and alerter.raised == [1, 2]

    received, overdue, acknowledged, _ = report_events(SimpleNamespace(id="c1"), "r2")
    alerter.raised.clear()

    def one_waits(watched):
        release(watched, handling(watched, acknowledged), acknowledged, alerter)  # 3: waits
        for event in (received, overdue):
            release(watched, handling(watched, event), event, alerter)
    # Read: the place at the cursor, by 3's own handling (each consumer);
    # the place after 1 (nothing there yet) and after 2 (3, stored).
    assert writes_to_events(repo, one_waits, commands=("find",)) == ["find"] * 4
    assert alerter.raised == [1, 2, 3] and repo.subject("r2")["released"] == 3


def test_an_event_stored_after_the_move_before_it_goes_on_by_itself(repo):
    """The release of 1 found nothing waiting past it and read nothing; 2,
    stored after that move, finds the cursor at 1 in its mark's answer and
    is told by its own handling."""
    received, overdue, *_ = report_events(SimpleNamespace(id="c1"), "r1")
    alerter = Recorder()
    release(repo, handling(repo, received), received, alerter)
    retry = Taking(repo, lambda: NOW, once=False)   # the inbox's retry stores first
    assert retry.store(overdue) is True
    assert retry.subject["released"] == 1 and retry.subject["held"] == 2
    release(repo, retry, overdue, alerter)
    assert alerter.raised == [1, 2] and repo.subject("r1")["released"] == 2


def test_a_subject_written_before_held_was_kept_is_read_as_before(repo):
    """A subject's document from before `held`, with an event a process of
    then stored to wait past its cursor: the release before it reads the
    place, and tells it."""
    received, overdue, acknowledged, _ = report_events(SimpleNamespace(id="c1"), "r1")
    alerter = Recorder()
    release(repo, handling(repo, received), received, alerter)
    repo.db.subjects.update_one({"_id": "r1"}, {"$unset": {"held": ""}})
    repo.db.events.insert_one(repo.event_record(acknowledged, NOW))   # not marked
    release(repo, handling(repo, overdue), overdue, alerter)
    assert alerter.raised == [1, 2, 3] and told(repo) == [1, 3]
    assert repo.subject("r1")["released"] == 3

"""notify's handlings of one report's events (and of its case's opening)
take turns in a process; other reports' do not wait (taking.one_at_a_time)."""
import eventlet

from services.notify.taking import one_at_a_time, order_key


def body(event_type, subject, **data):
    return {"type": event_type, "subject": subject, "data": data}


RECEIVED = body("report_received", "r1")
ACCEPTED = body("report_accepted", "r1", case_id="k1")
OPENED = body("case_opened", "k1", report_id="r1", accepted_sequence=2)
OTHER = body("report_received", "r2")


def run_together(*bodies):
    """Each body's handling holds its turn for a moment; the order in which
    they start and end."""
    seen = []

    def handle(name, message):
        with one_at_a_time(message):
            seen.append(("start", name))
            eventlet.sleep(0.01)
            seen.append(("end", name))
    threads = [eventlet.spawn(handle, name, message) for name, message in bodies]
    for thread in threads:
        thread.wait()
    return seen


def test_a_reports_events_and_its_cases_opening_take_turns():
    seen = run_together(("received", RECEIVED), ("accepted", ACCEPTED), ("opened", OPENED))
    assert seen == [("start", "received"), ("end", "received"),
                    ("start", "accepted"), ("end", "accepted"),
                    ("start", "opened"), ("end", "opened")]


def test_another_reports_event_does_not_wait():
    seen = run_together(("received", RECEIVED), ("other", OTHER))
    assert seen[:2] == [("start", "received"), ("start", "other")]


def test_a_message_that_cannot_say_its_report_waits_for_nothing():
    assert order_key({"type": "case_opened", "data": None}) is None
    assert order_key("not an event") is None
    seen = run_together(("received", RECEIVED), ("broken", {"data": {}}))
    assert seen[:2] == [("start", "received"), ("start", "broken")]


def test_turns_are_forgotten_once_nobody_waits():
    from services.notify import taking
    run_together(("received", RECEIVED), ("accepted", ACCEPTED))
    assert taking._ONE_AT_A_TIME == {}

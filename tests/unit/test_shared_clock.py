"""shared/clock.py: a due read's range."""
from datetime import datetime, timedelta, timezone

from shared import clock


def test_a_due_range_holds_every_run_out_clock_and_no_stopped_one():
    now = clock.now()
    due = clock.due(now)
    # The range as the database applies it: a clock matches when it is a
    # time within both bounds; a stopped clock (None) is below the lower one.
    def matches(value):
        return value is not None and due["$gte"] <= value <= due["$lte"]
    assert matches(now)
    assert matches(now - timedelta(days=3650))
    assert not matches(now + timedelta(milliseconds=1))
    assert not matches(None)
    # The lower bound is what keeps SecantusDB's index walk off the stopped
    # clocks: without it the read walks from the bottom of the index.
    assert due["$gte"] <= datetime(2000, 1, 1, tzinfo=timezone.utc)

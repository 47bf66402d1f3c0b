"""The rate limits' arithmetic (shared/ratelimit.py): GCRA admits a burst,
then the limit's pace, and says when the next request will fit."""
import pytest
from marshmallow import ValidationError

from shared.ratelimit import Limit, admits, pace


def run(rule, times):
    """What a key answers to requests at these times: True admitted."""
    interval, tolerance = pace(rule, rule["per_principal"])
    tat, answers = None, []
    for now in times:
        moved = admits(tat, now, interval, tolerance)
        answers.append(moved is not None)
        tat = moved if moved is not None else tat
    return answers


def test_a_whole_window_at_once_when_no_burst_is_set():
    rule = {"window_seconds": 60, "per_principal": 3}
    assert run(rule, [0, 0, 0, 0]) == [True, True, True, False]


def test_after_the_burst_one_request_per_share_of_the_window():
    rule = {"window_seconds": 60, "per_principal": 60, "burst": 2}
    # 2 at once, then one a second: at 10/s only every tenth gets in.
    times = [n / 10 for n in range(40)]
    admitted = [t for t, ok in zip(times, run(rule, times)) if ok]
    assert admitted == [0.0, 0.1, 1.0, 2.0, 3.0]


def test_a_client_at_its_limits_pace_is_never_refused():
    rule = {"window_seconds": 60, "per_principal": 60, "burst": 1}
    assert all(run(rule, [float(n) for n in range(300)]))


def test_never_twice_the_limit_across_a_window_edge():
    rule = {"window_seconds": 60, "per_principal": 60}
    times = [59.0] * 100 + [60.0] * 100   # a fixed window would let 120 by
    assert sum(run(rule, times)) == 61


def test_the_wait_is_until_the_time_is_back_within_the_burst():
    interval, tolerance = pace({"window_seconds": 3600, "per_principal": 3}, 3)
    tat = 3 * interval              # three at once, at 0
    assert admits(tat, 0, interval, tolerance) is None
    assert tat - tolerance == 1200  # Retry-After: a third of the hour
    assert admits(tat, 1200, interval, tolerance) == 4 * interval


def test_a_burst_above_the_count_is_refused_by_the_policy():
    with pytest.raises(ValidationError) as refused:
        Limit().load({"window_seconds": 60, "per_principal": 10, "burst": 11})
    assert refused.value.messages == {"burst": ["must not be above the window's count"]}
    assert Limit().load({"window_seconds": 60, "per_principal": 10, "burst": 10})["burst"] == 10


def test_an_address_may_send_the_same_share_of_its_count_at_once():
    rule = {"window_seconds": 60, "per_principal": 60, "per_source": 600, "burst": 10}
    assert pace(rule, 60) == (1.0, 9.0)                  # 10 at once, then one a second
    interval, tolerance = pace(rule, 600)
    assert (interval, round(tolerance / interval) + 1) == (0.1, 100)   # 100 at once

from datetime import timedelta

from shared.inbox import backoff


def test_retry_delay_grows_exponentially_with_jitter():
    low = [backoff(n, 5, rand=lambda: 0.0) for n in (1, 2, 3, 4)]
    high = [backoff(n, 5, rand=lambda: 0.999999) for n in (1, 2, 3, 4)]
    assert low == [timedelta(seconds=s) for s in (2.5, 5, 10, 20)]
    assert all(lo < hi <= 2 * lo for lo, hi in zip(low, high))

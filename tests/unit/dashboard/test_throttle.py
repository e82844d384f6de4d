"""Failed logins are counted per key over a sliding window."""

from __future__ import annotations

from asyncz_like.dashboard.throttle import LoginThrottle


def test_five_failures_block_until_the_window_passes() -> None:
    now = [0.0]
    throttle = LoginThrottle(max_failures=5, window=300, monotonic=lambda: now[0])
    for _ in range(4):
        throttle.failed("ip:1", "user:ann")
        assert throttle.retry_after("ip:1", "user:ann") == 0
    now[0] = 10
    throttle.failed("ip:1", "user:ann")
    assert throttle.retry_after("ip:1") == 290  # the oldest failure leaves at 300
    assert throttle.retry_after("user:ann", "ip:2") == 290
    assert throttle.retry_after("ip:2", "user:bob") == 0
    now[0] = 300
    assert throttle.retry_after("ip:1") == 0  # the first failure has left the window


def test_a_success_clears_the_keys() -> None:
    throttle = LoginThrottle(max_failures=2, monotonic=lambda: 0.0)
    throttle.failed("ip:1")
    throttle.succeeded("ip:1")
    throttle.failed("ip:1")
    assert throttle.retry_after("ip:1") == 0

"""Token bucket: smooth rate cap with back-pressure, pure (the caller passes the time)."""

from __future__ import annotations

import pytest

from connector.throttle import TokenBucket


def test_burst_is_available_at_once_then_the_rate_refills() -> None:
    b = TokenBucket(rate=100, burst=10, now=0.0)
    assert all(b.try_take(1, 0.0) for _ in range(10))
    assert not b.try_take(1, 0.0)
    assert b.wait_time(1, 0.0) == pytest.approx(0.01)
    assert b.try_take(1, 0.01)


def test_refill_never_exceeds_the_burst() -> None:
    b = TokenBucket(rate=100, burst=5, now=0.0)
    assert b.available(1000.0) == 5


def test_sustained_rate_is_the_configured_rate() -> None:
    b = TokenBucket(rate=50, burst=5, now=0.0)
    sent = sum(1 for k in range(10_000) if b.try_take(1, k / 1000))
    assert 5 + 495 <= sent <= 5 + 500  # the initial burst, then 50/s for 10 s


@pytest.mark.parametrize(("rate", "burst"), [(0, None), (-1, None), (10, 0.5)])
def test_bad_settings_are_refused(rate: float, burst: float | None) -> None:
    with pytest.raises(ValueError):
        TokenBucket(rate, burst)

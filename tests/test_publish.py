"""Publishing decisions that need no Redis: the TTL a feed advertises."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from syndicator.publish import ttl_minutes

T0 = datetime(2026, 11, 20, tzinfo=UTC)


def every(minutes: float, n: int) -> list[datetime]:
    return [T0 + timedelta(minutes=minutes * i) for i in range(n)]


def test_no_history_uses_the_poll_interval():
    assert ttl_minutes(30, []) == 30
    assert ttl_minutes(30, every(10, 2)) == 30
    assert ttl_minutes(1, []) == 5  # never below five minutes
    assert ttl_minutes(7 * 24 * 60, []) == 24 * 60  # never above a day


def test_half_the_median_gap_between_versions():
    assert ttl_minutes(30, every(60, 10)) == 30
    assert ttl_minutes(30, every(600, 5)) == 300
    # One burst does not drag the TTL down: the median ignores it.
    burst = [*every(120, 6), T0 + timedelta(minutes=241)]
    assert ttl_minutes(30, burst) == 60


def test_bounds():
    assert ttl_minutes(30, every(2, 10)) == 5
    assert ttl_minutes(30, every(5000, 4)) == 24 * 60

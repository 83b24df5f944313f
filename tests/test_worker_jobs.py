"""How long a failed fetch waits before its retry (syndicator/worker/jobs.py, `retry_delay`).

Upstreams that answer 503 or 429 are retried with exponential backoff (2, 4, 8 … s, ±20 %
jitter so many sources do not retry in step), never sooner than the upstream's own
Retry-After, and never later than MAX_RETRY_DELAY (10 minutes: the next poll comes anyway).
"""

from __future__ import annotations

import pytest

from syndicator.worker.jobs import MAX_RETRY_DELAY, retry_delay

SAMPLES = 200


@pytest.mark.parametrize("job_try", [1, 2, 3, 5, 8])
def test_backoff_doubles_per_try_within_the_jitter(job_try):
    delays = [retry_delay(job_try, None) for _ in range(SAMPLES)]

    assert min(delays) >= 0.8 * 2.0**job_try
    assert max(delays) <= 1.2 * 2.0**job_try
    assert len(set(delays)) > 1  # jittered, so sources that failed together spread out


@pytest.mark.parametrize("job_try", [10, 20, 100])
def test_backoff_never_exceeds_the_maximum(job_try):
    assert all(retry_delay(job_try, None) <= MAX_RETRY_DELAY for _ in range(SAMPLES))
    assert MAX_RETRY_DELAY == 600.0


def test_retry_after_is_honoured_when_longer_than_the_backoff():
    assert all(retry_delay(1, 120.0) == 120.0 for _ in range(SAMPLES))
    # A short Retry-After does not shorten the backoff.
    assert all(retry_delay(5, 1.0) >= 0.8 * 32 for _ in range(SAMPLES))


def test_a_retry_after_beyond_the_maximum_is_capped():
    # An upstream asking for an hour is tried again after ten minutes: the job must not
    # sit in the queue longer than the maximum (the next scheduled poll is not held up).
    assert retry_delay(1, 3600.0) == MAX_RETRY_DELAY

"""Source fetch state and the poll schedule (syndicator/store/sources.py).

`next_poll` decides how hard we hit an upstream: jitter spreads sources that share an
interval, and the backoff keeps a broken upstream from being polled every few minutes,
yet never waits longer than six hours (or the source's own interval, if longer). The
Redis side is checked against a real server: what a failure and a recovery leave behind.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis

from syndicator.ingest.report import IngestReport, failed
from syndicator.models import Source, Validators
from syndicator.store.keys import Keys
from syndicator.store.sources import MAX_BACKOFF, due_sources, load_state, next_poll, record_outcome

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
SAMPLES = 400  # enough that a jitter stuck on one side would show (0.75**400 ≈ 1e-50)


def source(interval: timedelta = timedelta(minutes=30), **fields: object) -> Source:
    return Source(id="s1", url="https://upstream.example/feed", poll_interval=interval, **fields)


def delays(src: Source, errors: int = 0) -> list[float]:
    """Seconds until the next poll, over many draws of the jitter."""
    return [(next_poll(src, NOW, errors) - NOW).total_seconds() for _ in range(SAMPLES)]


# ---------------------------------------------------------------- next_poll


def test_no_errors_polls_after_the_interval_within_ten_percent_jitter() -> None:
    got = delays(source(timedelta(minutes=30)))

    assert all(1620 <= d <= 1980 for d in got)  # 1800 s ± 10 %
    # Really jittered, on both sides: sources sharing an interval spread out.
    assert min(got) < 1800 - 90 and max(got) > 1800 + 90


@pytest.mark.parametrize(("errors", "expected_minutes"), [(1, 60), (2, 120), (3, 240)])
def test_each_consecutive_error_doubles_the_wait(errors: int, expected_minutes: int) -> None:
    base = expected_minutes * 60

    assert all(0.9 * base <= d <= 1.1 * base for d in delays(source(), errors))


@pytest.mark.parametrize("errors", [5, 10, 11, 1000])
def test_backoff_never_exceeds_six_hours(errors: int) -> None:
    cap = MAX_BACKOFF.total_seconds()

    assert timedelta(hours=6) == MAX_BACKOFF
    assert all(0.9 * cap <= d <= 1.1 * cap for d in delays(source(), errors))


def test_an_interval_longer_than_the_cap_is_kept_not_shortened() -> None:
    daily = timedelta(days=1)
    day = daily.total_seconds()

    assert all(0.9 * day <= d <= 1.1 * day for d in delays(source(daily), errors=3))


def test_next_poll_keeps_the_time_zone_of_now() -> None:
    assert next_poll(source(), NOW).tzinfo is UTC


# ---------------------------------------------------------------- state in Redis


async def record_failure(redis: Redis, keys: Keys, src: Source, *, now: datetime, error: str) -> int:
    """Record a failed poll the way an ingest does; returns the error count now stored."""
    await record_outcome(redis, keys, src, failed(src.id, src.url, error), now=now)
    return (await load_state(redis, keys, src.id)).consecutive_errors


async def record_success(
    redis: Redis,
    keys: Keys,
    src: Source,
    *,
    now: datetime,
    validators: Validators,
    counts: dict[str, int] | None = None,
    warnings: tuple[str, ...] = (),
) -> None:
    report = IngestReport(
        src.id,
        src.url,
        "updated",
        counts=counts or {},
        http_status=200,
        validators=validators,
        warnings=warnings,
    )
    await record_outcome(redis, keys, src, report, now=now)


async def record_listing_page(
    redis: Redis,
    keys: Keys,
    src: Source,
    *,
    now: datetime,
    error: str | None = None,
    unmapped: str | None = None,
) -> None:
    """A page found by the listing: failed (with `error`) or stored with an unmapped path."""
    if error is not None:
        report = failed(src.id, f"{src.url}/page", error, from_listing=True)
    else:
        report = IngestReport(
            src.id, f"{src.url}/page", "updated", http_status=200, from_listing=True, unmapped=unmapped
        )
    await record_outcome(redis, keys, src, report, now=now)


async def test_a_never_polled_source_has_empty_state(redis: Redis, prefix: str) -> None:
    state = await load_state(redis, Keys(prefix), "s1")

    assert (state.consecutive_errors, state.last_success, state.warnings) == (0, None, ())
    assert state.validators == Validators(etag=None, last_modified=None)


async def test_failures_count_up_and_a_success_resets_them(redis: Redis, prefix: str) -> None:
    keys, src = Keys(prefix), source()

    assert await record_failure(redis, keys, src, now=NOW, error="timeout after 60 s") == 1
    assert await record_failure(redis, keys, src, now=NOW, error="HTTP 503") == 2
    failed = await load_state(redis, keys, "s1")
    assert (failed.consecutive_errors, failed.last_status) == (2, "error")
    assert failed.last_error == f"s1: {src.url}: HTTP 503"  # source, URL and reason
    assert failed.last_error_at == "2026-11-20T12:00:00+00:00"
    # Due again after the doubled wait (2 errors: 4 × 30 min, ± 10 %).
    due = datetime.fromisoformat(failed.next_due) - NOW
    assert timedelta(minutes=108) <= due <= timedelta(minutes=132)
    assert await redis.zscore(keys.due, "s1") == pytest.approx(NOW.timestamp() + due.total_seconds())

    later = NOW + timedelta(hours=3)
    await record_success(
        redis,
        keys,
        src,
        now=later,
        validators=Validators(etag='"v2"', last_modified="Fri, 20 Nov 2026 14:00:00 GMT"),
        counts={"new": 3},
        warnings=("dropped 2 entries beyond the limit of 50", "recovered from malformed XML"),
    )
    ok = await load_state(redis, keys, "s1")
    assert (ok.consecutive_errors, ok.last_error, ok.last_status) == (0, None, "200 ok: 3 new")
    assert ok.last_success == ok.last_attempt == "2026-11-20T15:00:00+00:00"
    assert ok.validators == Validators(etag='"v2"', last_modified="Fri, 20 Nov 2026 14:00:00 GMT")
    assert ok.warnings == ("dropped 2 entries beyond the limit of 50", "recovered from malformed XML")


async def test_a_failure_keeps_the_validators_of_the_last_success(redis: Redis, prefix: str) -> None:
    keys, src = Keys(prefix), source()
    await record_success(redis, keys, src, now=NOW, validators=Validators(etag='"v1"', last_modified=None))
    await record_failure(redis, keys, src, now=NOW + timedelta(hours=1), error="HTTP 500")

    state = await load_state(redis, keys, "s1")
    assert state.etag == '"v1"' and state.last_success == "2026-11-20T12:00:00+00:00"


async def test_new_sources_are_due_at_once_and_disabled_ones_never(redis: Redis, prefix: str) -> None:
    keys = Keys(prefix)
    sources = {
        "new": Source(id="new", url="https://a.example/feed"),
        "off": Source(id="off", url="https://b.example/feed", enabled=False),
        "polled": Source(id="polled", url="https://c.example/feed"),
    }
    await record_success(redis, keys, sources["polled"], now=NOW, validators=Validators())

    assert await due_sources(redis, keys, sources, NOW) == ["new"]
    # Two hours on, the polled source's 30-minute interval has passed too.
    assert sorted(await due_sources(redis, keys, sources, NOW + timedelta(hours=2))) == ["new", "polled"]


async def test_a_source_removed_from_the_config_is_not_due(redis: Redis, prefix: str) -> None:
    keys = Keys(prefix)
    gone = Source(id="gone", url="https://gone.example/feed")
    await record_failure(redis, keys, gone, now=NOW - timedelta(days=2), error="HTTP 404")

    assert await due_sources(redis, keys, {}, NOW) == []


async def test_page_failures_and_unmapped_paths_leave_the_listing_state_alone(
    redis: Redis, prefix: str
) -> None:
    keys = Keys(prefix)
    src = source()
    await record_listing_page(redis, keys, src, now=NOW, error="HTTP 404 for /a/1.html")
    await record_listing_page(redis, keys, src, now=NOW, error="HTTP 404 for /a/2.html")
    await record_listing_page(redis, keys, src, now=NOW, unmapped="体育/足球")

    raw = await redis.hgetall(keys.source_state("s1"))
    assert raw[b"page_errors"] == b"2"
    assert raw[b"last_page_error"].decode() == f"s1: {src.url}/page: HTTP 404 for /a/2.html"
    assert raw[b"unmapped"] == b"1" and raw[b"last_unmapped"].decode() == "体育/足球"
    state = await load_state(redis, keys, "s1")
    assert (state.consecutive_errors, state.last_error) == (0, None)

"""Polling from the server's hints (syndicator/fetch/hints.py, syndicator/store/polling.py).

next = clamp(max(adaptive, hint), min_poll_interval, max_poll_interval) ± 10 % jitter. The
scheduler tests run a real ingest against a loopback upstream that sends each hint, then
read the stored `next_due` and check it against the bounds the formula gives with its
jitter — never against the clock. A 429 for one source is shown to hold back its host's
other sources ingested by another runtime (another worker) sharing the Redis.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
from arq import Retry

from syndicator.cli_operate import SOURCE_COLUMNS, _source_row
from syndicator.config import ConfigError, load_config
from syndicator.fetch.hints import feed_hint, header_hint, parse_retry_after, retry_hint
from syndicator.ingest import IngestReport, ingest_source
from syndicator.models import FeedRefresh, PollHint, Source, Validators
from syndicator.operate.health import source_health
from syndicator.runtime import Runtime
from syndicator.store.keys import Keys
from syndicator.store.polling import DEFAULT_COOLDOWN, next_adaptive, plan_poll, poll_bounds
from syndicator.store.schema import store_version
from syndicator.store.sources import load_state, record_outcome
from syndicator.worker.jobs import MAX_RETRY_DELAY, ingest_job, page_job
from tests.builders import items, rss, write_config
from tests.conftest import REPO
from tests.processes import run_cli

RSS = "application/rss+xml"
SY = 'xmlns:sy="http://purl.org/rss/1.0/modules/syndication/" '


def feed(extra: str = "", prefix: str = "h", n: int = 2) -> bytes:
    return rss(items(prefix, n), extra=extra).replace(b"<rss ", b"<rss " + SY.encode(), 1)


def http_date(when: datetime) -> str:
    return format_datetime(when, usegmt=True)


# ---------------------------------------------------------------- reading the hints


T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"cache-control": "public, max-age=7200"}, PollHint(7200, "Cache-Control max-age")),
        ({"cache-control": "max-age=7200", "age": "200"}, PollHint(7000, "Cache-Control max-age")),
        (
            {"expires": http_date(T0 + timedelta(hours=3)), "date": http_date(T0)},
            PollHint(10800, "Expires"),
        ),
        # max-age wins over Expires (RFC 9111 §5.3)
        (
            {
                "cache-control": "max-age=60",
                "expires": http_date(T0 + timedelta(hours=3)),
                "date": http_date(T0),
            },
            PollHint(60, "Cache-Control max-age"),
        ),
    ],
)
def test_header_hints(headers: dict[str, str], expected: PollHint) -> None:
    assert header_hint(headers, T0) == expected


@pytest.mark.parametrize(
    "headers",
    [
        {"cache-control": "max-age=banana"},
        {"cache-control": "max-age=-5"},
        {"cache-control": "max-age=99999999999999999999"},
        {"cache-control": "no-store, max-age=600"},
        {"cache-control": "no-cache, max-age=600"},
        {"cache-control": "max-age=600", "age": "900"},  # already stale
        {"cache-control": ",,;=="},
        {"expires": "never"},
        {"expires": "0"},
        {"expires": http_date(T0 - timedelta(hours=1)), "date": http_date(T0)},
        {"expires": "Thu, 99 Foo 20260 99:99:99 GMT"},
        {},
    ],
)
def test_bad_or_useless_header_values_give_no_hint_and_no_exception(headers: dict[str, str]) -> None:
    assert header_hint(headers, T0) is None


def test_a_broken_age_counts_as_none() -> None:
    assert header_hint({"cache-control": "max-age=600", "age": "x"}, T0) == PollHint(
        600, "Cache-Control max-age"
    )


@pytest.mark.parametrize(
    ("refresh", "expected"),
    [
        (FeedRefresh(ttl="60"), PollHint(3600, "RSS <ttl>")),
        (FeedRefresh(update_period="hourly", update_frequency="2"), PollHint(1800, "sy:updatePeriod")),
        (FeedRefresh(update_period="daily"), PollHint(86400, "sy:updatePeriod")),
        (FeedRefresh(update_frequency="4"), PollHint(21600, "sy:updatePeriod")),  # period defaults to daily
        (FeedRefresh(ttl="30", update_period="weekly"), PollHint(604800, "sy:updatePeriod")),  # the longest
        (FeedRefresh(ttl="sixty"), None),
        (FeedRefresh(ttl="-1"), None),
        (FeedRefresh(ttl="0"), None),
        (FeedRefresh(ttl="99999999999999"), None),
        (FeedRefresh(update_period="fortnightly"), None),
        (FeedRefresh(update_period="hourly", update_frequency="0"), None),
        (FeedRefresh(update_period="hourly", update_frequency="-2"), None),
        (FeedRefresh(update_period="hourly", update_frequency="often"), None),
        (FeedRefresh(), None),
    ],
)
def test_feed_hints(refresh: FeedRefresh, expected: PollHint | None) -> None:
    assert feed_hint(refresh) == expected


def test_retry_after_forms_and_cap() -> None:
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after(http_date(T0 + timedelta(seconds=90)), http_date(T0)) == 90.0
    assert parse_retry_after("999999999") == 86400.0
    assert parse_retry_after("999999999", cap=3600.0) == 3600.0
    for bad in ("soon", "-3", "1.5", "", None, "Mon, 99 Foo 2026"):
        assert parse_retry_after(bad) is None
    assert retry_hint(429, 120.0) == PollHint(120.0, "Retry-After (HTTP 429)")
    assert retry_hint(503, 60.0) == PollHint(60.0, "Retry-After (HTTP 503)")
    assert retry_hint(500, 60.0) is None and retry_hint(429, None) is None and retry_hint(429, 0.0) is None


# ---------------------------------------------------------------- the formula, pure


def src(interval: str | timedelta = timedelta(minutes=10), **fields: object) -> Source:
    return Source(id="s", url="https://up.example/feed", poll_interval=interval, **fields)  # type: ignore[arg-type]


def delays(plan_seconds: list[float]) -> tuple[float, float]:
    return min(plan_seconds), max(plan_seconds)


def test_the_hint_wins_only_when_longer_and_the_bounds_clamp_both() -> None:
    source = src(max_poll_interval=timedelta(hours=2))
    cases = [
        (None, 600.0, "poll_interval 10m"),
        (PollHint(60, "Cache-Control max-age"), 600.0, "poll_interval 10m"),
        (PollHint(3600, "RSS <ttl>"), 3600.0, "upstream hint: RSS <ttl> 1h"),
        (PollHint(36000, "RSS <ttl>"), 7200.0, "upstream hint: RSS <ttl> 10h, cut to max_poll_interval 2h"),
    ]
    for hint, interval, reason in cases:
        seen = [(plan_poll(source, T0, hint=hint).due - T0).total_seconds() for _ in range(300)]
        plan = plan_poll(source, T0, hint=hint)
        assert (plan.interval, plan.reason) == (interval, reason)
        low, high = delays(seen)
        assert 0.9 * interval <= low and high <= 1.1 * interval
        assert low < interval * 0.97 and high > interval * 1.03  # really jittered, both ways
    raised = plan_poll(src(min_poll_interval=timedelta(hours=1)), T0)
    assert (raised.interval, raised.reason) == (3600.0, "poll_interval 10m, raised to min_poll_interval 1h")


def test_bounds_default_to_the_poll_interval_and_a_day() -> None:
    assert poll_bounds(src()) == (600.0, 86400.0)
    assert poll_bounds(src(timedelta(days=2))) == (172800.0, 172800.0)
    assert poll_bounds(src(min_poll_interval=timedelta(minutes=1))) == (60.0, 86400.0)


def test_adaptive_grows_while_nothing_changes_and_follows_the_changes() -> None:
    source = src(timedelta(minutes=30), min_poll_interval=timedelta(minutes=1))
    assert next_adaptive(source, None, changed=False, since_last_change=None) == 1800 * 1.25
    assert next_adaptive(source, 1800, changed=True, since_last_change=None) == 1800  # first change seen
    assert next_adaptive(source, 1800, changed=True, since_last_change=1200) == 600  # twice per change
    assert next_adaptive(source, 600, changed=True, since_last_change=7200) == 600  # never up on a change
    assert next_adaptive(source, 80000, changed=False, since_last_change=None) == 86400  # max
    assert next_adaptive(source, 70, changed=True, since_last_change=20) == 60  # min


async def test_adaptive_interval_follows_how_often_the_source_really_changes(redis, prefix) -> None:
    keys = Keys(prefix)
    source = src(timedelta(minutes=30), min_poll_interval=timedelta(minutes=1))
    changed = IngestReport("s", source.url, "updated", counts={"new": 1}, http_status=200)
    same = IngestReport("s", source.url, "not-modified", http_status=304, validators=Validators(etag='"x"'))

    async def poll(report: IngestReport, at: datetime) -> tuple[float, float]:
        await record_outcome(redis, keys, source, report, now=at)
        state = await load_state(redis, keys, "s")
        assert state.adaptive_interval is not None and state.next_due is not None
        return state.adaptive_interval, (datetime.fromisoformat(state.next_due) - at).total_seconds()

    # A source that changes every 20 minutes: polled about every 10.
    at = T0
    assert (await poll(changed, at))[0] == 1800
    for _ in range(4):
        at += timedelta(minutes=20)
        adaptive, wait = await poll(changed, at)
        assert adaptive == 600 and 540 - 1 <= wait <= 660 + 1
    # It goes quiet: each empty poll stretches the interval by a quarter, up to the day.
    for _ in range(30):
        at += timedelta(seconds=adaptive)
        expected = min(adaptive * 1.25, 86400)
        adaptive, wait = await poll(same, at)
        assert adaptive == pytest.approx(expected, abs=0.1)
        assert 0.9 * expected - 1 <= wait <= 1.1 * expected + 1
    assert adaptive == 86400
    health = (await load_state(redis, keys, "s")).next_due_reason
    assert health == "adaptive interval at max_poll_interval 1d"


# ---------------------------------------------------------------- against a loopback upstream


def config_for(tmp_path: Path, upstream, redis_url: str, prefix: str, fetch: str = "", **sources: dict):
    return write_config(
        tmp_path,
        redis_url=redis_url,
        prefix=prefix,
        categories=[{"slug": "tech", "title": "Tech"}],
        sources=[
            {
                "id": sid,
                "url": upstream.url(f"/{sid}"),
                "categories": ["tech"],
                "allow_private_network": True,
                "poll_interval": "10m",
                **fields,
            }
            for sid, fields in sources.items()
        ],
        extra_server=f"\n[fetch]\n{fetch}\n" if fetch else "",
    )


async def stored_wait(runtime: Runtime, source_id: str, now: datetime) -> float:
    state = await load_state(runtime.redis, runtime.keys, source_id)
    assert state.next_due is not None
    due = datetime.fromisoformat(state.next_due)
    score = await runtime.redis.zscore(runtime.keys.due, source_id)
    assert abs(score - due.timestamp()) < 1  # the due set says the same
    return (due - now).total_seconds()


def within_jitter(wait: float, interval: float, slack: float = 1.0) -> bool:
    """`wait` is `interval` ± 10 %, give or take the stored time's whole seconds."""
    return 0.9 * interval - slack <= wait <= 1.1 * interval + slack


HINTS = [
    # (headers, channel extra, status, expected interval, the hint health names)
    ({"Cache-Control": "public, max-age=7200"}, "", 200, 7200, "Cache-Control max-age 2h"),
    ({"Cache-Control": "max-age=60"}, "", 200, 600, None),  # shorter than poll_interval: ignored
    ({}, "<ttl>90</ttl>", 200, 5400, "RSS <ttl> 1h30m"),
    (
        {},
        "<sy:updatePeriod>hourly</sy:updatePeriod><sy:updateFrequency>2</sy:updateFrequency>",
        200,
        1800,
        None,
    ),
    ({}, "<sy:updatePeriod>weekly</sy:updatePeriod>", 200, 86400, "sy:updatePeriod 7d"),  # max 1 day
    ({"Retry-After": "3600"}, "", 429, 3600, "Retry-After (HTTP 429) 1h"),
    ({"Retry-After": "7200"}, "", 503, 3600, "Retry-After (HTTP 503) 1h"),  # max_retry_after 1h
    ({"Retry-After": "30"}, "", 429, 1200, "Retry-After (HTTP 429) 30s"),  # backoff 2 × 10m is longer
]


@pytest.mark.parametrize(("headers", "extra", "status", "interval", "shown"), HINTS)
async def test_each_hint_sets_the_next_poll_by_the_formula(
    tmp_path, upstream, redis, redis_url, prefix, headers, extra, status, interval, shown
) -> None:
    upstream.put("/feed", feed(extra), RSS, status=status, headers=headers)
    config = config_for(tmp_path, upstream, redis_url, prefix, 'max_retry_after = "1h"', feed={})
    runtime = Runtime.open(config, redis_url)
    try:
        now = datetime.now(UTC)
        report = await ingest_source(runtime, "feed", now=now)
        assert report.status == ("updated" if status == 200 else "error")
        wait = await stored_wait(runtime, "feed", now)
        assert within_jitter(wait, interval), (wait, interval)
        health = await source_health(runtime, "feed")
        if shown is not None:
            assert health.poll_hint == shown
        reason = health.next_due_reason or ""
        if interval == 86400:
            assert reason.endswith("cut to max_poll_interval 1d")
        elif status == 200 and shown is not None:
            assert reason == f"upstream hint: {shown}"
        if status != 200:
            assert reason.startswith("backoff after 1 error") or reason.startswith(
                "upstream hint: Retry-After"
            )
    finally:
        await runtime.close()


async def test_expires_against_the_response_date(tmp_path, upstream, redis, redis_url, prefix) -> None:
    expires = http_date(datetime.now(UTC) + timedelta(hours=3))
    upstream.put("/feed", feed(), RSS, headers={"Expires": expires})
    config = config_for(tmp_path, upstream, redis_url, prefix, feed={})
    runtime = Runtime.open(config, redis_url)
    try:
        now = datetime.now(UTC)
        await ingest_source(runtime, "feed", now=now)
        assert within_jitter(await stored_wait(runtime, "feed", now), 10800, slack=3)
        reason = (await source_health(runtime, "feed")).next_due_reason
        assert reason in ("upstream hint: Expires 3h", "upstream hint: Expires 2h59m")
    finally:
        await runtime.close()


async def test_the_feeds_own_hint_holds_across_304s(tmp_path, upstream, redis, redis_url, prefix) -> None:
    upstream.put("/feed", feed("<ttl>120</ttl>"), RSS)
    config = config_for(tmp_path, upstream, redis_url, prefix, feed={})
    runtime = Runtime.open(config, redis_url)
    try:
        for expected in ("updated", "not-modified"):
            now = datetime.now(UTC)
            assert (await ingest_source(runtime, "feed", now=now)).status == expected
            assert within_jitter(await stored_wait(runtime, "feed", now), 7200)
            assert (await source_health(runtime, "feed")).poll_hint == "RSS <ttl> 2h"
    finally:
        await runtime.close()


async def test_min_and_max_poll_interval_clamp(tmp_path, upstream, redis, redis_url, prefix) -> None:
    upstream.put("/slow", feed("<ttl>600</ttl>"), RSS)  # 10 h
    upstream.put("/fast", feed(), RSS)
    config = config_for(
        tmp_path,
        upstream,
        redis_url,
        prefix,
        slow={"max_poll_interval": "2h"},
        fast={"min_poll_interval": "45m"},
    )
    runtime = Runtime.open(config, redis_url)
    try:
        now = datetime.now(UTC)
        await ingest_source(runtime, "slow", now=now)
        await ingest_source(runtime, "fast", now=now)
        assert within_jitter(await stored_wait(runtime, "slow", now), 7200)
        assert within_jitter(await stored_wait(runtime, "fast", now), 2700)
        slow, fast = [await source_health(runtime, s) for s in ("slow", "fast")]
        assert slow.next_due_reason == "upstream hint: RSS <ttl> 10h, cut to max_poll_interval 2h"
        assert fast.next_due_reason == "adaptive interval at min_poll_interval 45m"
    finally:
        await runtime.close()


async def test_bad_hint_values_are_ignored_without_an_exception(
    tmp_path, upstream, redis, redis_url, prefix
) -> None:
    headers = {"Cache-Control": "max-age=banana", "Expires": "never", "Age": "old"}
    upstream.put(
        "/feed", feed("<ttl>soon</ttl><sy:updatePeriod>sometimes</sy:updatePeriod>"), RSS, headers=headers
    )
    upstream.put("/limited", feed(), RSS, status=429, headers={"Retry-After": "after lunch"})
    config = config_for(tmp_path, upstream, redis_url, prefix, feed={}, limited={})
    runtime = Runtime.open(config, redis_url)
    try:
        now = datetime.now(UTC)
        assert (await ingest_source(runtime, "feed", now=now)).status == "updated"
        assert within_jitter(await stored_wait(runtime, "feed", now), 600)
        health = await source_health(runtime, "feed")
        assert (health.poll_hint, health.next_due_reason) == (None, "poll_interval 10m")
        limited = await ingest_source(runtime, "limited", now=now)
        assert limited.status == "error" and limited.retry_after is None and limited.hint is None
        assert within_jitter(await stored_wait(runtime, "limited", now), 1200)  # plain backoff
        # No Retry-After: the host still cools down, for DEFAULT_COOLDOWN.
        ttl_ms = await runtime.redis.pttl(runtime.keys.host_cooldown("127.0.0.1"))
        assert DEFAULT_COOLDOWN * 1000 - 5000 < ttl_ms <= DEFAULT_COOLDOWN * 1000
    finally:
        await runtime.close()


async def test_a_429_cools_down_the_host_for_other_sources_in_another_worker(
    tmp_path, upstream, redis, redis_url, prefix
) -> None:
    upstream.put("/a", feed(), RSS, status=429, headers={"Retry-After": "1200"})
    upstream.put("/b", feed(prefix="b"), RSS)
    upstream.put("/c", b"<html><body><article><h1>c</h1><p>text</p></article></body></html>", "text/html")
    config = config_for(tmp_path, upstream, redis_url, prefix, a={}, b={}, c={"kind": "page"})
    first, second = Runtime.open(config, redis_url), Runtime.open(config, redis_url)  # two workers
    try:
        now = datetime.now(UTC)
        got = await first.fetcher.fetch(config.sources["b"], Validators())  # the host answers b
        assert got.status == 200
        assert (await ingest_source(first, "a", now=now)).status == "error"
        assert within_jitter(await stored_wait(first, "a", now), 1200)
        before = len(upstream.requests)

        for source_id in ("b", "c"):  # the other worker: no request to the host, polls put off
            report = await ingest_source(second, source_id, now=now)
            assert report.status == "deferred", report
            assert "cooling down (HTTP 429 to source a)" in (report.reason or "")
            wait = await stored_wait(second, source_id, now)
            assert 1200 - 1 <= wait <= 1200 + 0.1 * 1200 + 3  # after the cool-down, never before
            health = await source_health(second, source_id)
            assert health.next_due_reason.startswith("deferred: host 127.0.0.1 cooling down (HTTP 429")
            # The API's JSON and the `syndicator sources` table say so too.
            assert health.as_dict()["next_due_reason"] == health.next_due_reason
            row = dict(zip(SOURCE_COLUMNS, _source_row(health), strict=True))
            assert row["NEXT DUE BECAUSE"] == health.next_due_reason
            state = await load_state(second.redis, second.keys, source_id)
            assert state.consecutive_errors == 0 and state.last_attempt is None  # not a failure
        assert len(upstream.requests) == before
        ttl_ms = await second.redis.pttl(second.keys.host_cooldown("127.0.0.1"))
        assert 1_190_000 < ttl_ms <= 1_200_000
    finally:
        await first.close()
        await second.close()


async def test_a_429_cools_down_the_host_for_a_real_worker_process(
    tmp_path, upstream, redis, redis_url, prefix
) -> None:
    """As above, with the other worker a real `syndicator worker --burst` process: its
    scheduler finds b and c due and their jobs are put off, the host asked nothing."""
    upstream.put("/a", feed(), RSS, status=429, headers={"Retry-After": "1200"})
    upstream.put("/b", feed(prefix="b"), RSS)
    upstream.put("/c", b"<html><body><article><h1>c</h1><p>text</p></article></body></html>", "text/html")
    config = config_for(tmp_path, upstream, redis_url, prefix, a={}, b={}, c={"kind": "page"})
    runtime = Runtime.open(config, redis_url)
    try:
        await store_version(runtime.redis, runtime.keys)  # a new store, stamped as a worker would
        now = datetime.now(UTC)
        assert (await ingest_source(runtime, "a", now=now)).status == "error"
        before = len(upstream.requests)
        worker = await asyncio.to_thread(run_cli, "worker", "--burst", "--config", str(config.path))
        assert worker.returncode == 0, worker.stderr
        assert len(upstream.requests) == before  # neither b nor c
        for source_id in ("b", "c"):
            health = await source_health(runtime, source_id)
            assert health.next_due_reason is not None, worker.stderr
            assert health.next_due_reason.startswith(
                "deferred: host 127.0.0.1 cooling down (HTTP 429 to source a)"
            )
            assert 1200 - 1 <= await stored_wait(runtime, source_id, now) <= 1200 + 0.1 * 1200 + 3
            assert health.consecutive_errors == 0 and health.last_fetch_at is None
    finally:
        await runtime.close()


async def test_a_shorter_cool_down_does_not_cut_a_longer_one(
    tmp_path, upstream, redis, redis_url, prefix
) -> None:
    upstream.put("/a", feed(), RSS, status=503, headers={"Retry-After": "900"})
    upstream.put("/b", feed(), RSS, status=429, headers={"Retry-After": "60"})
    config = config_for(tmp_path, upstream, redis_url, prefix, a={}, b={})
    runtime = Runtime.open(config, redis_url)
    try:
        now = datetime.now(UTC)
        await ingest_source(runtime, "a", now=now)
        # b's own fetch would be deferred by a's cool-down; record a 429 for b as a worker would.
        report = IngestReport(
            "b",
            config.sources["b"].url,
            "error",
            error="b: 429",
            reason="HTTP 429",
            retryable=True,
            retry_after=60.0,
            http_status=429,
            hint=PollHint(60.0, "Retry-After (HTTP 429)"),
        )
        await record_outcome(runtime.redis, runtime.keys, config.sources["b"], report, now=now)
        ttl_ms = await runtime.redis.pttl(runtime.keys.host_cooldown("127.0.0.1"))
        assert 890_000 < ttl_ms <= 900_000
    finally:
        await runtime.close()


# ---------------------------------------------------------------- configuration


def test_every_new_key_is_documented_in_the_reference_file() -> None:
    text = (REPO / "config" / "syndicator.toml").read_text("utf-8")
    for key in ("min_poll_interval", "max_poll_interval", "max_retry_after"):
        assert f"{key} " in text or f"{key}=" in text, key
    assert 'max_retry_after = "1d"' in text


BASE = """
[[categories]]
slug = "tech"

[[sources]]
id = "s"
url = "https://up.example/feed"
"""


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            BASE + 'min_poll_interval = "2h"\nmax_poll_interval = "1h"\n',
            "sources[0].min_poll_interval: 7200s is more than max_poll_interval 3600s",
        ),
        (BASE + 'max_poll_interval = "soon"\n', "sources[0].max_poll_interval: bad duration 'soon'"),
        ('[fetch]\nmax_retry_after = "0s"\n' + BASE, "fetch.max_retry_after: duration must be positive"),
    ],
)
def test_bad_polling_keys_are_config_errors_naming_the_key(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "syndicator.toml"
    path.write_text(text, "utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    assert message in str(info.value)


def test_polling_keys_load(tmp_path: Path) -> None:
    path = tmp_path / "syndicator.toml"
    path.write_text(
        '[fetch]\nmax_retry_after = "2h"\n' + BASE + 'min_poll_interval = "5m"\nmax_poll_interval = "6h"\n',
        "utf-8",
    )
    config = load_config(path, environ={})
    source = config.sources["s"]
    assert config.fetch.max_retry_after == 7200.0
    assert (source.min_poll_interval, source.max_poll_interval) == (timedelta(minutes=5), timedelta(hours=6))
    assert replace(source, min_poll_interval=None).min_poll_interval is None


async def test_jobs_leave_a_long_retry_after_to_the_schedule_and_page_jobs_wait_for_the_host(
    tmp_path, upstream, redis, redis_url, prefix
) -> None:
    upstream.put("/a", feed(), RSS, status=429, headers={"Retry-After": "1200"})
    upstream.put("/p", b"<html><body><article><h1>p</h1><p>text</p></article></body></html>", "text/html")
    config = config_for(tmp_path, upstream, redis_url, prefix, a={}, site={"kind": "listing"})
    runtime = Runtime.open(config, redis_url)
    try:
        ctx = {"runtime": runtime, "job_try": 1, "worker_id": "test"}
        line = await ingest_job(ctx, "a")  # no arq Retry: 1200 s is the schedule's to keep
        assert line.endswith("HTTP 429 Too Many Requests")
        assert within_jitter(await stored_wait(runtime, "a", datetime.now(UTC)), 1200, slack=5)
        before = len(upstream.requests)
        with pytest.raises(Retry) as info:  # a page a listing found: retried when the host may be asked
            await page_job(ctx, "site", upstream.url("/p"))
        assert info.value.defer_score == MAX_RETRY_DELAY * 1000  # the cool-down's 1200 s, capped
        assert len(upstream.requests) == before
    finally:
        await runtime.close()

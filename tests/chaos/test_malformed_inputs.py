"""Seven small hostile inputs, and the source boundary that keeps any failure a source's own.

Each input once raised out of `ingest_source` (UnicodeEncodeError, OverflowError,
ValueError, RecursionError): nothing was recorded, the source was polled again every tick,
and `syndicator ingest a b c` stopped at `b`. Now each is handled where it arises — the
entry or character is dropped with a warning, or the document is refused with a reason —
and anything no stage foresaw becomes a recorded `internal error while ingesting` failure.

Everything runs for real: a loopback upstream, the real pipeline, a real Redis, and for the
command line a real `syndicator` process.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from syndicator.ingest import INTERNAL_ERROR, ingest_source
from syndicator.models import Config
from syndicator.runtime import Runtime
from syndicator.store.articles import newest_articles
from syndicator.store.schema import migrate
from syndicator.store.sources import SourceState
from tests.builders import items, json_feed, rss, write_config
from tests.chaos.attacks import GOOD, HOSTILE_LINK, KEPT, REFUSED, two_out_of_range_dates
from tests.harness import run_burst_worker
from tests.processes import run_cli, store_environment
from tests.upstream import Upstream

POLL = timedelta(hours=1)


def _config(tmp_path: Path, upstream: Upstream, redis_url: str, prefix: str, ids: list[str]) -> Config:
    return write_config(
        tmp_path,
        redis_url=redis_url,
        prefix=prefix,
        categories=[{"slug": "tech", "title": "Technology"}],
        sources=[
            {
                "id": sid,
                "url": upstream.url(f"/{sid}"),
                "categories": ["tech"],
                "allow_private_network": True,
                "poll_interval": "1h",
            }
            for sid in ids
        ],
    )


async def _ingest(config: Config, redis_url: str, source_id: str, now: datetime):
    runtime = Runtime.open(config, redis_url)
    try:
        report = await ingest_source(runtime, source_id, now=now)
        state = await _read_state(runtime, source_id)
        stored = await newest_articles(runtime.redis, runtime.keys, "tech", 50)
    finally:
        await runtime.close()
    return report, state, stored


async def _read_state(runtime: Runtime, source_id: str) -> SourceState:
    """The source's state as `load_state` reads it, but sparing the bytes a test corrupted."""
    raw = await runtime.redis.hgetall(runtime.keys.source_state(source_id))
    fields = {k.decode(): v.decode("utf-8", "replace") for k, v in raw.items()}
    return SourceState(
        last_status=fields.get("last_status"),
        last_error=fields.get("last_error") or None,
        consecutive_errors=int(fields.get("consecutive_errors", 0)),
        next_due=fields.get("next_due"),
        warnings=tuple(w for w in fields.get("warnings", "").split("\n") if w),
    )


def _backed_off(state: SourceState, now: datetime) -> bool:
    """A failure's next poll: at least the doubled interval (less 10 % jitter) away."""
    assert state.next_due is not None
    return datetime.fromisoformat(state.next_due) - now >= 2 * POLL * 0.9


@pytest.mark.parametrize("name", sorted(KEPT))
async def test_a_bad_character_or_date_costs_only_itself(
    name, tmp_path, upstream, redis, redis_url, prefix, caplog
):
    body, content_type = KEPT[name]
    upstream.put(f"/{name}", body, content_type)
    config = _config(tmp_path, upstream, redis_url, prefix, [name])
    now = datetime.now(UTC).replace(microsecond=0)
    with caplog.at_level(logging.WARNING):
        report, state, stored = await _ingest(config, redis_url, name, now)

    assert report.status == "updated", report.line()
    assert state.last_status is not None and state.last_status.startswith("200 ok: 3 new")
    assert state.consecutive_errors == 0 and state.last_error is None
    by_link = {a.url: a for a in stored}
    assert {i.link for i in GOOD} <= set(by_link) and HOSTILE_LINK in by_link
    hostile = by_link[HOSTILE_LINK]
    if name == "surrogate-ref":
        assert hostile.title == "bad title"
        assert any("character reference" in w for w in state.warnings)
    else:
        # No usable date: the fetch time stands in, flagged as an estimate, with a warning.
        assert hostile.date_estimated and hostile.published == now
        # Said where the source's owner looks (its recorded health), once, with a count.
        assert "1 entry had a date out of range; first-seen time used" in state.warnings
        assert report.warnings == state.warnings
    assert "Traceback" not in caplog.text


async def test_dates_out_of_range_are_one_warning_with_a_count(tmp_path, upstream, redis_url, prefix):
    """Two such entries in one run: one line in the source's health, not one per entry."""
    upstream.put("/two-dates", two_out_of_range_dates(), "application/rss+xml")
    config = _config(tmp_path, upstream, redis_url, prefix, ["two-dates"])
    _, state, stored = await _ingest(config, redis_url, "two-dates", datetime.now(UTC).replace(microsecond=0))

    assert sum(a.date_estimated for a in stored) == 2
    assert [w for w in state.warnings if "out of range" in w] == [
        "2 entries had dates out of range; first-seen time used"
    ]


@pytest.mark.parametrize("name", sorted(REFUSED))
async def test_an_unholdable_json_document_is_refused_with_a_reason(
    name, tmp_path, upstream, redis, redis_url, prefix
):
    config = _config(tmp_path, upstream, redis_url, prefix, [name])
    upstream.put(f"/{name}", json_feed(GOOD), "application/feed+json")
    first = datetime.now(UTC).replace(microsecond=0)
    good, _, before = await _ingest(config, redis_url, name, first)
    assert good.status == "updated" and len(before) == len(GOOD)

    body, reason = REFUSED[name]
    upstream.put(f"/{name}", body, "application/feed+json")
    later = first + timedelta(hours=1)
    report, state, after = await _ingest(config, redis_url, name, later)

    assert report.status == "error" and reason in (report.reason or "")
    assert state.last_status == "error" and state.consecutive_errors == 1
    assert (
        state.last_error is not None
        and reason in state.last_error
        and upstream.url(f"/{name}") in state.last_error
    )
    assert _backed_off(state, later)
    assert [a.id for a in after] == [a.id for a in before]  # the earlier good poll's items stay


async def _corrupt_state(config: Config, redis_url: str, source_id: str) -> None:
    """Bytes no code expects in the source's state: reading it raises UnicodeDecodeError.

    A real fault (a hand edit, another program, a bug in an older version) that no stage
    names, so only the boundary stands between it and the caller's loop.
    """
    runtime = Runtime.open(config, redis_url)
    try:
        await migrate(runtime.redis, runtime.keys)  # stamp the store, as the first command would
        await runtime.redis.hset(runtime.keys.source_state(source_id), "etag", b"\xff\xfe")
    finally:
        await runtime.close()


async def test_an_unexpected_exception_becomes_a_recorded_failure(
    tmp_path, upstream, redis, redis_url, prefix, caplog
):
    config = _config(tmp_path, upstream, redis_url, prefix, ["feed"])
    upstream.put("/feed", rss(GOOD), "application/rss+xml")
    first = datetime.now(UTC).replace(microsecond=0)
    _, _, before = await _ingest(config, redis_url, "feed", first)
    await _corrupt_state(config, redis_url, "feed")

    later = first + timedelta(hours=1)
    with caplog.at_level(logging.DEBUG, logger="syndicator"):
        report, state, after = await _ingest(config, redis_url, "feed", later)

    assert report.status == "error"
    assert report.reason is not None
    assert report.reason.startswith(f"{INTERNAL_ERROR}: UnicodeDecodeError: 'utf-8' codec can't decode")
    assert state.last_status == "error" and state.consecutive_errors == 1
    assert state.last_error is not None and INTERNAL_ERROR in state.last_error
    assert _backed_off(state, later)
    assert [a.id for a in after] == [a.id for a in before]
    # Logged once, at ERROR, with the traceback an operator needs to report the bug.
    errors = [r for r in caplog.records if r.name == "syndicator.ingest" and r.exc_info]
    assert len(errors) == 1 and errors[0].levelno == logging.ERROR
    assert errors[0].getMessage() == report.line()


async def test_a_worker_records_an_unexpected_exception_and_logs_it_once(
    tmp_path, upstream, redis, redis_url, prefix, caplog
):
    config = _config(tmp_path, upstream, redis_url, prefix, ["feed"])
    upstream.put("/feed", rss(GOOD), "application/rss+xml")
    await _corrupt_state(config, redis_url, "feed")
    with caplog.at_level(logging.INFO):
        await run_burst_worker(config, redis_url)

    runtime = Runtime.open(config, redis_url)
    try:
        state = await _read_state(runtime, "feed")
    finally:
        await runtime.close()
    assert state.consecutive_errors == 1 and INTERNAL_ERROR in (state.last_error or "")
    # Once by us (arq's own INFO line shows the job's return value, which is the report's line).
    ours = [r for r in caplog.records if r.name.startswith("syndicator")]
    mentions = [r for r in ours if INTERNAL_ERROR in r.getMessage()]
    assert len(mentions) == 1 and mentions[0].levelno == logging.ERROR and mentions[0].exc_info
    assert not any(r.name.startswith("arq") and r.levelno >= logging.ERROR for r in caplog.records)


async def test_the_command_line_reaches_every_source_past_hostile_ones(
    tmp_path, upstream, redis, redis_url, prefix
):
    """`syndicator ingest a <every hostile input> c`: one line each, `c` reached, exit 1, and
    no traceback anywhere (the CLI logs an internal error's traceback at DEBUG only)."""
    upstream.put("/a", rss(items("a", 1)), "application/rss+xml")
    upstream.put("/c", rss(items("c", 1)), "application/rss+xml")
    upstream.put("/broken-state", rss(items("b", 1)), "application/rss+xml")
    for name, (body, content_type) in KEPT.items():
        upstream.put(f"/{name}", body, content_type)
    for name, (body, _) in REFUSED.items():
        upstream.put(f"/{name}", body, "application/feed+json")
    ids = ["a", *KEPT, *REFUSED, "broken-state", "c"]
    config = _config(tmp_path, upstream, redis_url, prefix, ids)
    await _corrupt_state(config, redis_url, "broken-state")
    # In a thread, so that this loop keeps serving the upstream the process fetches from.
    result = await asyncio.to_thread(
        run_cli, "ingest", "--config", str(config.path), *ids, env=store_environment(redis_url, prefix)
    )

    lines = result.stdout.strip().splitlines()
    assert result.returncode == 1, result.stderr
    assert len(lines) == len(ids), result.stdout
    total = len(ids)
    assert lines[0] == f"[1/{total}] a: 1 new"
    assert lines[-1] == f"[{total}/{total}] c: 1 new"
    for n, name in enumerate(KEPT, 2):
        assert lines[n - 1].startswith(f"[{n}/{total}] {name}: 3 "), lines[n - 1]  # new or merged
    for line, (name, (_, reason)) in zip(lines[1 + len(KEPT) : -2], REFUSED.items(), strict=True):
        assert f"source {name} (" in line and reason in line, line
    assert f"{INTERNAL_ERROR}: UnicodeDecodeError" in lines[-2]
    assert "Traceback" not in result.stdout and "Traceback" not in result.stderr, result.stderr


async def test_cancellation_passes_through_the_boundary(tmp_path, upstream, redis, redis_url, prefix):
    """A worker shutting down cancels its jobs: that is not the source's failure to record."""
    config = _config(tmp_path, upstream, redis_url, prefix, ["slow"])
    upstream.put("/slow", rss(GOOD), "application/rss+xml", delay=5.0)
    runtime = Runtime.open(config, redis_url)
    try:
        task = asyncio.create_task(ingest_source(runtime, "slow"))
        await asyncio.sleep(0.3)  # the request is in flight: the upstream answers after 5 s
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        state = await _read_state(runtime, "slow")
    finally:
        await runtime.close()
    assert state.last_status is None and state.consecutive_errors == 0

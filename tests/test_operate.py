"""Operating it, end to end: runs, health, re-ingest, pause/resume, force, heartbeats.

A real arq worker (in this process, in burst mode) polls a loopback upstream whose
sources fail on purpose — 404, 500, a timeout, 429 and 410 — and the operate layer
(`syndicator.operate`), which the admin API and the CLI both call, reports what happened.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from arq.connections import create_pool

from syndicator.ingest import ingest_source
from syndicator.operate import (
    Selection,
    UnknownCategory,
    UnknownRun,
    UnknownSource,
    UnknownState,
    get_run,
    list_health,
    pause,
    queue_status,
    reingest,
    rerender,
    resume,
    source_health,
    source_runs,
)
from syndicator.runtime import Runtime
from syndicator.store.articles import load_articles
from syndicator.store.connection import arq_settings
from syndicator.store.heartbeats import live_workers, write_heartbeat
from syndicator.store.keys import Keys
from syndicator.store.runs import KEEP_PER_SOURCE, create_run, recent_runs
from syndicator.store.sources import halted_sources
from syndicator.worker.schedule import schedule_job
from tests.builders import items, rss, write_config
from tests.harness import run_burst_worker

SECRET = "s3cr3t-t0ken"


def failing_world(tmp_path, upstream, redis_url, prefix, **extra_sources):
    """Six feed sources: one fine, five failing on purpose, in two categories.

    One try per job (`max_tries = 1`) so a retryable failure is recorded at once, and a
    one-second fetch limit so the slow upstream times out.
    """
    # One item from the last hour, two from days ago: 3 stored, 1 in the last 24 hours.
    recent = datetime.now(UTC) - timedelta(hours=1)
    upstream.put("/ok.rss", rss(items("ok", 3, start=recent, step_hours=50)), "application/rss+xml")
    upstream.put("/broken.rss", b"oops", "text/plain", status=500)
    upstream.put("/slow.rss", rss(items("slow", 1)), "application/rss+xml", delay=3.0)
    upstream.put("/limited.rss", b"slow down", "text/plain", status=429, headers={"Retry-After": "120"})
    upstream.put("/gone.rss", b"gone", "text/plain", status=410)
    sources = [
        ("ok", "/ok.rss", "tech"),
        ("missing", f"/missing.rss?token={SECRET}", "tech"),
        ("broken", "/broken.rss", "news"),
        ("slow", "/slow.rss", "news"),
        ("limited", "/limited.rss", "news"),
        ("gone", "/gone.rss", "tech"),
    ]

    # The 429 cools its host down for every source on it (store/polling.py): `limited` is
    # reached by another name, so the others on 127.0.0.1 are still polled.
    def url(sid: str, path: str) -> str:
        return (
            upstream.url(path).replace("127.0.0.1", "localhost") if sid == "limited" else upstream.url(path)
        )

    return write_config(
        tmp_path,
        redis_url=redis_url,
        prefix=prefix,
        extra_server='max_tries = 1\n\n[fetch]\ntotal_timeout = "1s"\nread_timeout = "1s"',
        categories=[{"slug": "tech", "title": "Tech"}, {"slug": "news", "title": "News"}],
        sources=[
            {"id": sid, "url": url(sid, path), "categories": [slug], "allow_private_network": True}
            for sid, path, slug in sources
        ]
        + list(extra_sources.values()),
    )


def _url(runtime: Runtime) -> str:
    return runtime.config.settings.redis_url or ""


@pytest.fixture
async def world(tmp_path, upstream, redis, redis_url, prefix):
    """The failing world after one scheduler tick and a worker that ran every job."""
    config = failing_world(tmp_path, upstream, redis_url, prefix)
    await run_burst_worker(config, redis_url)
    queue = await create_pool(arq_settings(redis_url), default_queue_name=config.settings.queue_name)
    runtime = Runtime.open(config, redis_url, queue=queue)
    try:
        yield runtime
    finally:
        await runtime.close()
        await queue.aclose()


async def test_health_shows_each_state_and_reason(world, upstream):
    health = {h.source_id: h for h in await list_health(world)}
    assert {s: h.state for s, h in health.items()} == {
        "ok": "ok",
        "missing": "failing",
        "broken": "failing",
        "slow": "failing",
        "limited": "failing",
        "gone": "gone",
    }
    ok = health["ok"]
    assert (ok.last_outcome, ok.last_http_status, ok.consecutive_errors) == ("updated", 200, 0)
    assert ok.last_status == "200 ok: 3 new" and ok.last_error is None
    assert ok.articles_stored == 3 and ok.articles_24h == 1
    assert ok.mean_fetch_seconds is not None and ok.mean_fetch_seconds >= 0
    assert ok.last_fetch_at is not None and ok.next_due is not None and ok.next_due > ok.last_fetch_at

    assert (health["missing"].last_http_status, health["missing"].last_error) == (404, "HTTP 404 Not Found")
    assert (health["broken"].last_http_status, health["broken"].last_error) == (
        500,
        "HTTP 500 Internal Server Error",
    )
    assert health["slow"].last_http_status is None and "timed out" in health["slow"].last_error
    assert (health["limited"].last_http_status, health["limited"].last_error) == (
        429,
        "HTTP 429 Too Many Requests",
    )
    for sid in ("missing", "broken", "slow", "limited"):
        h = health[sid]
        assert (h.consecutive_errors, h.last_outcome, h.articles_stored) == (1, "error", 0), sid
        assert h.last_error_at is not None and h.next_due is not None, sid

    gone = health["gone"]
    assert (gone.last_http_status, gone.next_due) == (410, None)
    assert gone.state_reason == "the upstream answered HTTP 410 Gone" and gone.state_since is not None
    assert len(upstream.seen("/gone.rss")) == 1

    # The secret in a source URL shows nowhere: not in the URL, not in the error.
    assert health["missing"].url.endswith("/missing.rss?token=***")
    assert SECRET not in json.dumps([h.as_dict() for h in health.values()])

    # Filters: by state and by category (the category's own sources and its children's).
    assert [h.source_id for h in await list_health(world, state="failing", category="news")] == [
        "broken",
        "slow",
        "limited",
    ]
    assert [h.source_id for h in await list_health(world, state="gone")] == ["gone"]
    with pytest.raises(UnknownState):
        await list_health(world, state="sad")
    with pytest.raises(UnknownCategory):
        await list_health(world, category="nope")
    with pytest.raises(UnknownSource):
        await source_health(world, "nope")


async def test_every_scheduled_enqueue_is_a_run(world):
    for sid in ("ok", "missing", "broken", "slow", "limited", "gone"):
        (run,) = await source_runs(world, sid)
        assert (run.kind, run.tries, run.force) == ("schedule", 1, False), sid
        assert run.queued_at <= run.started_at <= run.finished_at, sid
        assert run.worker and run.worker.count(":") == 2, sid
        assert await get_run(world, run.run_id) == run
    (ok,) = await source_runs(world, "ok")
    assert (ok.state, ok.summary, ok.reason) == ("done", "3 new", None)
    (missing,) = await source_runs(world, "missing")
    assert (missing.state, missing.summary, missing.reason) == ("failed", None, "HTTP 404 Not Found")
    (gone,) = await source_runs(world, "gone")
    assert (gone.state, gone.reason) == ("failed", "HTTP 410 Gone")
    with pytest.raises(UnknownRun):
        await get_run(world, "0123456789abcdef")
    with pytest.raises(UnknownSource):
        await source_runs(world, "nope")
    assert (await queue_status(world)).runs == ()


async def test_the_scheduler_does_not_poll_a_gone_source_until_resumed(world, upstream):
    await world.redis.zadd(world.keys.due, {sid: 0 for sid in world.config.sources})  # all overdue
    await run_burst_worker(world.config, _url(world))
    assert len(upstream.seen("/gone.rss")) == 1
    assert len(upstream.seen("/ok.rss")) == 2

    upstream.put("/gone.rss", rss(items("back", 2)), "application/rss+xml")
    after = await resume(world, "gone")
    assert after.state == "failing" and after.next_due is not None  # one error on record, due now
    await run_burst_worker(world.config, _url(world))
    health = await source_health(world, "gone")
    assert (health.state, health.articles_stored, health.consecutive_errors) == ("ok", 2, 0)
    assert len(await source_runs(world, "gone")) == 2


async def test_a_gone_source_that_answers_an_inline_ingest_is_not_gone_any_more(world, upstream):
    await pause(world, "ok")
    upstream.put("/gone.rss", rss(items("back", 1)), "application/rss+xml")
    for sid in ("gone", "ok"):
        assert (await ingest_source(world, sid)).status != "error"
    assert {s: h.state for s, h in (await halted_sources(world.redis, world.keys)).items()} == {
        "ok": "paused"
    }
    assert (await source_health(world, "gone")).state == "ok"


async def test_reingest_one_source_a_category_and_the_failing(world, upstream):
    one = await reingest(world, world.queue, Selection(source_ids=("ok",)))
    assert [s for s, _ in one.queued] == ["ok"] and one.skipped == ()
    again = await reingest(world, world.queue, Selection(source_ids=("ok", "broken")))
    assert [s for s, _ in again.queued] == ["broken"]
    ((skipped, why),) = again.skipped
    assert skipped == "ok" and why.startswith(f"run {one.queued[0][1]} is already queued (reingest")
    status = await queue_status(world)
    assert status.depth == 2 and {r.source_id for r in status.runs} == {"ok", "broken"}

    await run_burst_worker(world.config, _url(world))
    run = await get_run(world, one.queued[0][1])
    assert (run.kind, run.state, run.summary) == ("reingest", "done", "not modified (304)")

    news = await reingest(world, world.queue, Selection(category="news"))
    assert [s for s, _ in news.queued] == ["broken", "slow", "limited"]
    await run_burst_worker(world.config, _url(world))
    failing = await reingest(world, world.queue, Selection(failing=True))
    assert [s for s, _ in failing.queued] == ["missing", "broken", "slow", "limited"]
    everything = await reingest(world, world.queue, Selection(all=True))
    assert [s for s, _ in everything.queued] == ["ok"]
    assert dict(everything.skipped)["gone"].startswith("gone (the upstream answered 410) since ")
    assert dict(everything.skipped)["broken"].startswith("run ")
    await run_burst_worker(world.config, _url(world))
    for sid, run_id in failing.queued:
        run = await get_run(world, run_id)
        if sid == "limited":  # its host is cooling down after its 429: not fetched, put off
            assert (run.state, run.tries) == ("done", 1) and run.summary.startswith("deferred: "), run
            continue
        assert (run.state, run.tries) == ("failed", 1), sid
    health = await source_health(world, "broken")
    assert health.consecutive_errors == 4  # the tick, the first re-ingest, news, failing
    with pytest.raises(UnknownSource):
        await reingest(world, world.queue, Selection(source_ids=("nope",)))
    with pytest.raises(UnknownCategory):
        await reingest(world, world.queue, Selection(category="nope"))


async def test_pause_stops_polling_and_resume_restarts_it(world, upstream):
    paused = await pause(world, "ok", reason="maintenance upstream")
    assert (paused.state, paused.state_reason, paused.next_due) == ("paused", "maintenance upstream", None)
    skipped = await reingest(world, world.queue, Selection(source_ids=("ok",)))
    assert skipped.queued == () and "paused since" in skipped.skipped[0][1]
    await world.redis.zadd(world.keys.due, {"ok": 0})
    await run_burst_worker(world.config, _url(world))
    assert len(upstream.seen("/ok.rss")) == 1  # still only the first poll

    # A restart (a new runtime on the same store) still sees the pause.
    again = Runtime.open(world.config, _url(world))
    try:
        assert (await source_health(again, "ok")).state == "paused"
    finally:
        await again.close()

    resumed = await resume(world, "ok")
    assert resumed.state == "ok" and resumed.next_due is not None
    await run_burst_worker(world.config, _url(world))
    assert len(upstream.seen("/ok.rss")) == 2


async def test_a_pause_is_forgotten_when_a_reload_removes_the_source(world):
    await pause(world, "ok")
    await pause(world, "broken")
    kept = {k: v for k, v in world.config.sources.items() if k != "ok"}
    world.config = replace(world.config, sources=kept)  # what a reload applies
    await schedule_job({"runtime": world, "redis": world.queue})
    assert set(await halted_sources(world.redis, world.keys)) == {"broken", "gone"}


HARBOUR_PAGE = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Quiet harbour</title>'
    '<meta property="article:published_time" content="2026-11-20T08:00:00Z"></head><body><article>'
    "<h1>Quiet harbour</h1><p>The harbour was quiet that morning, and the boats rocked gently "
    "against the old stone quay while gulls circled overhead.</p>"
    # A promotion no general rule knows for one (not a call to action): only the site's
    # own `drop` rule can take it out.
    '<p class="promo">HARBOUR GALA TICKETS: the annual dinner dance returns to the town hall '
    "on the first Saturday of spring.</p><p>By noon the fishermen had returned with their catch, and the "
    "market stalls along the waterfront filled with voices.</p></article></body></html>"
)
"""An article page with a promotion in its body that only a site `drop` rule takes out."""


def harbour_config(tmp_path, upstream, redis_url, prefix, *, kind: str, path: str, rules: dict[str, object]):
    """Source `harbour` of `kind` at `path` on the upstream, with site `rules`."""
    return write_config(
        tmp_path,
        redis_url=redis_url,
        prefix=prefix,
        categories=[{"slug": "tech", "title": "Tech"}],
        sources=[
            {
                "id": "harbour",
                "url": upstream.url(path),
                "kind": kind,
                "categories": ["tech"],
                "allow_private_network": True,
                "crawl_delay": "10ms",
                "rules": rules,
            }
        ],
    )


async def reingest_plain_then_forced(config, redis_url: str):
    """Re-ingest `harbour` without and then with `force`, a worker running each; the two
    runs and the one stored article afterwards."""
    queue = await create_pool(arq_settings(redis_url), default_queue_name=config.settings.queue_name)
    runtime = Runtime.open(config, redis_url, queue=queue)
    try:
        plain = await reingest(runtime, queue, Selection(source_ids=("harbour",)))
        await run_burst_worker(config, redis_url)
        forced = await reingest(runtime, queue, Selection(source_ids=("harbour",)), force=True)
        await run_burst_worker(config, redis_url)
        plain_run = await get_run(runtime, plain.queued[0][1])
        forced_run = await get_run(runtime, forced.queued[0][1])
        ids = await runtime.redis.zrange(runtime.keys.category_index("tech"), 0, -1)
        (article,) = await load_articles(runtime.redis, runtime.keys, [i.decode() for i in ids])
    finally:
        await runtime.close()
        await queue.aclose()
    return plain_run, forced_run, article


async def test_force_re_extracts_a_page_whose_upstream_answers_304(
    tmp_path, upstream, redis, redis_url, prefix
):
    upstream.put("/harbour.html", HARBOUR_PAGE.encode(), "text/html; charset=utf-8")
    where = {"kind": "page", "path": "/harbour.html"}
    await run_burst_worker(
        harbour_config(tmp_path, upstream, redis_url, prefix, **where, rules={}), redis_url
    )
    # An improved rule: the promotion is site chrome. The upstream has not changed.
    improved = harbour_config(tmp_path, upstream, redis_url, prefix, **where, rules={"drop": ["p.promo"]})
    plain_run, forced_run, article = await reingest_plain_then_forced(improved, redis_url)
    assert plain_run.summary == "not modified (304)"
    assert (forced_run.summary, forced_run.force) == ("1 changed", True)
    assert [s.status for s in upstream.seen("/harbour.html")] == [200, 304, 200]
    assert "If-None-Match" not in upstream.seen("/harbour.html")[2].headers
    assert "GALA" not in article.content_html and "fishermen" in article.content_html


ARTICLE_PATH = "/news/2026/11/20/harbour.html"
INDEXES = {
    "listing": (
        "/news/",
        f'<!doctype html><html><body><main><ul><li><a href="{ARTICLE_PATH}">Quiet harbour</a></li>'
        "</ul></main></body></html>",
        "text/html; charset=utf-8",
    ),
    "sitemap": (
        "/sitemap.xml",
        '<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        "<url><loc>{article}</loc><lastmod>2026-11-20</lastmod></url></urlset>",
        "application/xml",
    ),
}


@pytest.mark.parametrize("kind", ["listing", "sitemap"])
async def test_force_re_reads_the_known_pages_of_a_listing_or_sitemap_that_answers_304(
    kind, tmp_path, upstream, redis, redis_url, prefix
):
    """A plain re-ingest stops at the index's 304, so an improved rule never reaches a page
    found before; a forced one reads the index again and every page it lists."""
    path, index, content_type = INDEXES[kind]
    upstream.put(path, index.replace("{article}", upstream.url(ARTICLE_PATH)).encode(), content_type)
    upstream.put(ARTICLE_PATH, HARBOUR_PAGE.encode(), "text/html; charset=utf-8")
    await run_burst_worker(
        harbour_config(tmp_path, upstream, redis_url, prefix, kind=kind, path=path, rules={}), redis_url
    )
    improved = harbour_config(
        tmp_path, upstream, redis_url, prefix, kind=kind, path=path, rules={"drop": ["p.promo"]}
    )
    plain_run, forced_run, article = await reingest_plain_then_forced(improved, redis_url)
    assert plain_run.summary == "not modified (304)"
    assert (forced_run.summary, forced_run.force) == ("1 found, 1 new pages", True)
    assert [s.status for s in upstream.seen(path)] == [200, 304, 200]
    assert "If-None-Match" not in upstream.seen(path)[2].headers
    assert [s.status for s in upstream.seen(ARTICLE_PATH)] == [200, 200]  # not read on the 304
    assert "GALA" not in article.content_html and "fishermen" in article.content_html


async def test_force_keeps_politeness_a_host_cooling_down_is_not_fetched(world, upstream):
    """`force` drops the stored validators, not the 429's cool-down: the run is put off."""
    upstream.put("/limited.rss", rss(items("limited", 2)), "application/rss+xml")  # would answer now
    before = await source_health(world, "limited")
    forced = await reingest(world, world.queue, Selection(source_ids=("limited",)), force=True)
    await run_burst_worker(world.config, _url(world))
    assert len(upstream.seen("/limited.rss")) == 1  # only the tick's, which got the 429
    run = await get_run(world, forced.queued[0][1])
    assert (run.state, run.force, run.tries) == ("done", True, 1)
    assert run.summary.startswith("deferred: host localhost cooling down"), run.summary
    after = await source_health(world, "limited")
    assert (after.consecutive_errors, after.articles_stored) == (1, 0)  # no fetch, no error counted
    # Put off until the cool-down the 429's `Retry-After: 120` started ends.
    assert before.last_fetch_at is not None and after.next_due is not None
    wait = datetime.fromisoformat(after.next_due) - datetime.fromisoformat(before.last_fetch_at)
    assert timedelta(seconds=110) <= wait <= timedelta(seconds=140), wait  # plus its jitter


async def test_source_errors_are_warnings_with_fields_and_no_secret(
    tmp_path, upstream, redis, redis_url, prefix, caplog
):
    config = failing_world(tmp_path, upstream, redis_url, prefix)
    caplog.set_level(logging.INFO, logger="syndicator")
    await run_burst_worker(config, redis_url)
    ours = [r for r in caplog.records if getattr(r, "event", "").startswith("ingest_")]
    by_source = {r.source_id: r for r in ours}
    assert set(by_source) == set(config.sources)
    for sid, record in by_source.items():
        failed = sid != "ok"
        assert record.levelno == (logging.WARNING if failed else logging.INFO), sid
        assert record.outcome == ("error" if failed else "updated"), sid
        assert record.run_id and record.duration >= 0, sid
    assert by_source["missing"].url.endswith("/missing.rss?token=***")
    assert SECRET not in caplog.text and "token=***" in caplog.text


async def test_runs_keep_the_last_fifty_per_source_for_seven_days(redis, redis_url, prefix):
    keys = Keys(prefix)
    made = [await create_run(redis, keys, "busy", kind="schedule") for _ in range(KEEP_PER_SOURCE + 5)]
    kept = await recent_runs(redis, keys, "busy")
    assert [r.run_id for r in kept] == [r.run_id for r in reversed(made)][:KEEP_PER_SOURCE]
    ttl = await redis.ttl(keys.run(made[-1].run_id))
    assert 6 * 86400 < ttl <= 7 * 86400
    assert 6 * 86400 < await redis.ttl(keys.source_runs("busy")) <= 7 * 86400


async def test_rerender_publishes_a_category_again(world):
    result = await rerender(world, "tech")
    assert result.queued
    assert await world.redis.zcard(world.config.settings.queue_name) == 1
    with pytest.raises(UnknownCategory):
        await rerender(world, "nope")


async def test_heartbeats_expire_and_a_worker_removes_its_own(world):
    await write_heartbeat(
        world.redis, world.keys, "host-a:11:abc", started=datetime.now(UTC), jobs_running=2, beat_interval=5
    )
    (beat,) = await live_workers(world.redis, world.keys)  # the burst workers removed theirs
    assert (beat.host, beat.pid, beat.jobs_running, beat.beat_interval) == ("host-a", 11, 2, 5)
    assert 10_000 < await world.redis.pttl(world.keys.heartbeat("host-a:11:abc")) <= 15_000


async def test_a_retried_run_counts_its_tries_and_ends_done(tmp_path, upstream, redis, redis_url, prefix):
    upstream.put("/flaky.rss", b"busy", "text/plain", status=503, headers={"Retry-After": "1"})
    config = write_config(
        tmp_path,
        redis_url=redis_url,
        prefix=prefix,
        categories=[{"slug": "tech", "title": "Tech"}],
        sources=[{"id": "flaky", "url": upstream.url("/flaky.rss"), "allow_private_network": True}],
    )
    retry_reasons: list[str | None] = []

    async def recover_after_the_first_try() -> None:
        while not upstream.seen("/flaky.rss"):  # noqa: ASYNC110 - the upstream records, it does not signal
            await asyncio.sleep(0.05)
        keys = Keys(prefix)
        while not retry_reasons or retry_reasons[-1] is None:
            (run,) = await recent_runs(redis, keys, "flaky")
            retry_reasons.append(run.reason if run.state == "queued" else None)
            await asyncio.sleep(0.05)
        upstream.put("/flaky.rss", rss(items("flaky", 2)), "application/rss+xml")

    recovering = asyncio.create_task(recover_after_the_first_try())
    await run_burst_worker(config, redis_url)
    await recovering
    (run,) = await recent_runs(redis, Keys(prefix), "flaky")
    assert (run.state, run.tries, run.summary, run.reason) == ("done", 2, "2 new", None)
    assert retry_reasons[-1].startswith("try 1 failed: HTTP 503 Service Unavailable; retrying in ")

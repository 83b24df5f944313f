"""The arq worker for real: a worker process killed mid-job, retries with backoff."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace

import pytest
from arq.connections import create_pool

from syndicator.ingest import ingest_source
from syndicator.runtime import Runtime
from syndicator.store.connection import arq_settings
from syndicator.store.keys import Keys
from syndicator.worker.schedule import schedule_job
from tests.builders import items, one_feed_config, rss
from tests.conftest import REPO, delete_created
from tests.harness import run_burst_worker, snapshot


def big_feed_config(tmp_path, upstream, redis_url, prefix):
    upstream.put("/big.rss", rss(items("big", 300)), "application/rss+xml")
    return one_feed_config(
        tmp_path, upstream, redis_url=redis_url, prefix=prefix, path="/big.rss", source_id="big"
    )


@pytest.mark.slow  # a worker process killed mid-job and a second one: ~20 s; CI runs it
async def test_worker_killed_mid_job_then_rerun_leaves_same_data(
    tmp_path, upstream, redis, redis_url, prefix
):
    config = big_feed_config(tmp_path, upstream, redis_url, prefix)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNDICATOR_")}
    worker = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "syndicator.cli", "worker", "--config", config.path),
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    index = Keys(config.settings.redis_prefix).category_index("tech")
    stored_at_kill = 0
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            stored_at_kill = await redis.zcard(index)
            if stored_at_kill:
                break
            await asyncio.sleep(0.002)
    finally:
        worker.send_signal(signal.SIGKILL)
        await worker.wait()
    assert stored_at_kill > 0, "the worker never started storing"

    # A new worker picks the job up again once arq's in-progress lock expires.
    await run_burst_worker(config, redis_url)
    after_rerun = await snapshot(redis, prefix)

    clean_prefix = prefix.replace(":", "c:")
    clean = replace(config, settings=replace(config.settings, redis_prefix=clean_prefix))
    runtime = Runtime.open(clean, redis_url)
    try:
        await ingest_source(runtime, "big")
        reference = await snapshot(redis, clean_prefix)
    finally:
        await runtime.close()
        await delete_created(redis, clean_prefix)

    strip = lambda s: {k: v for k, v in s.items() if not k.startswith("feedver:")}  # noqa: E731
    assert len([k for k in reference if k.startswith("article:")]) == 300
    assert strip(after_rerun) == strip(reference)


async def test_503_is_retried_with_backoff_then_succeeds(tmp_path, upstream, redis, redis_url, prefix):
    config = big_feed_config(tmp_path, upstream, redis_url, prefix)
    upstream.put("/big.rss", b"busy", "text/plain", status=503, headers={"Retry-After": "1"})
    runtime = Runtime.open(config, redis_url)

    async def recover_later() -> None:
        while not upstream.seen("/big.rss"):  # noqa: ASYNC110 - the upstream records, it does not signal
            await asyncio.sleep(0.05)
        upstream.put("/big.rss", rss(items("big", 3)), "application/rss+xml")

    try:
        recovering = asyncio.create_task(recover_later())
        started = time.monotonic()
        await run_burst_worker(config, redis_url)
        elapsed = time.monotonic() - started
        await recovering
        state = await redis.hgetall(f"{prefix}source:big".encode())
        statuses = [r.status for r in upstream.seen("/big.rss")]
    finally:
        await runtime.close()
    assert statuses == [503, 200]
    assert elapsed >= 1.0  # honoured Retry-After before trying again
    assert state[b"consecutive_errors"] == b"0"
    assert state[b"last_status"].startswith(b"200 ok: 3 new")
    assert await redis.zcard(Keys(prefix).category_index("tech")) == 3


async def test_404_is_recorded_not_retried(tmp_path, upstream, redis, redis_url, prefix):
    config = big_feed_config(tmp_path, upstream, redis_url, prefix)
    del upstream.documents["/big.rss"]
    await run_burst_worker(config, redis_url)
    state = await redis.hgetall(f"{prefix}source:big".encode())
    assert len(upstream.seen("/big.rss")) == 1
    error = state[b"last_error"].decode()
    assert error.startswith("big: ") and upstream.url("/big.rss") in error and "404" in error
    assert state[b"consecutive_errors"] == b"1"


async def test_schedule_enqueues_at_most_one_pending_ingest_per_source(
    tmp_path, upstream, redis, redis_url, prefix
):
    config = big_feed_config(tmp_path, upstream, redis_url, prefix)
    queue = await create_pool(arq_settings(redis_url), default_queue_name=config.settings.queue_name)
    runtime = Runtime.open(config, redis_url, queue=queue)
    ctx = {"runtime": runtime, "redis": queue}
    try:
        first = await schedule_job(ctx)
        second = await schedule_job(ctx)  # the first ingest is still pending
        pending = await redis.zcard(config.settings.queue_name)
        await run_burst_worker(config, redis_url)
        third = await schedule_job(ctx)  # ingested: not due again for its poll interval
    finally:
        await runtime.close()
        await queue.aclose()
    assert (first, second, pending, third) == (1, 0, 1, 0)
    assert len(upstream.seen("/big.rss")) == 1


async def test_scheduler_publishes_a_category_whose_publish_was_lost(
    tmp_path, upstream, redis, redis_url, prefix
):
    config = big_feed_config(tmp_path, upstream, redis_url, prefix)
    upstream.put("/big.rss", rss(items("big", 2)), "application/rss+xml")
    await run_burst_worker(config, redis_url)  # ingested and published
    version = await redis.get(Keys(prefix).feed_version("tech"))
    # An ingest marked the category dirty just as its publish job finished: the enqueue
    # was refused, so nothing would publish the change.
    await redis.hset(Keys(prefix).feed("tech", "rss"), "digest", "stale")
    await redis.incr(Keys(prefix).dirty("tech"))
    queue = await create_pool(arq_settings(redis_url), default_queue_name=config.settings.queue_name)
    runtime = Runtime.open(config, redis_url, queue=queue)
    try:
        await schedule_job({"runtime": runtime, "redis": queue})
        assert await redis.zcard(config.settings.queue_name) == 1  # the publish job
        await run_burst_worker(config, redis_url)
    finally:
        await runtime.close()
        await queue.aclose()
    assert int(await redis.get(Keys(prefix).feed_version("tech"))) == int(version) + 1
    assert await redis.get(Keys(prefix).published_mark("tech")) == await redis.get(Keys(prefix).dirty("tech"))

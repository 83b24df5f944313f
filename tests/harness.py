"""Test harness: a burst arq worker, an ingested store served on loopback, a store snapshot."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import replace

from aiohttp import ClientSession
from aiohttp.test_utils import TestServer
from arq.worker import Worker, create_worker
from multidict import CIMultiDict

from syndicator.ingest import ingest_source
from syndicator.publish import publish_missing
from syndicator.runtime import Runtime
from syndicator.store.codec import article_from_json
from syndicator.store.connection import RedisUrls
from syndicator.web.app import create_app
from syndicator.worker import worker_settings
from tests.conftest import JSONFEED_SCHEMA

SCHEMA = json.loads(JSONFEED_SCHEMA.read_text())


async def run_burst_worker(config, redis_url: str | RedisUrls) -> None:
    worker = create_worker(
        worker_settings(config, redis_url), burst=True, handle_signals=False, poll_delay=0.05
    )
    try:
        await worker.main()
    finally:
        await worker.close()


async def stop_worker(worker: Worker, main: asyncio.Task[None]) -> None:
    """Stop an in-process arq worker started with `main = create_task(worker.main())`.

    A job still running gets up to 10 s to finish first: arq's `close()` cancels it and
    then gathers it, which raises `CancelledError` into the test (seen on a loaded machine,
    a delivery job still in flight as the test left its block).
    """
    main.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await main
    running = [task for task in worker.tasks.values() if not task.done()]
    if running:
        await asyncio.wait(running, timeout=10)
    with contextlib.suppress(asyncio.CancelledError):
        await worker.close()


@contextlib.asynccontextmanager
async def serving(
    config, redis_url: str, source_ids: tuple[str, ...] = (), *, port: int | None = None
) -> AsyncIterator[tuple[Runtime, TestServer]]:
    """`source_ids` ingested into a real store, every category published, and the app
    serving it on loopback (on `port` when a test needs a fixed address)."""
    runtime = Runtime.open(config, redis_url)
    for source_id in source_ids:
        await ingest_source(runtime, source_id)
    await publish_missing(runtime)
    server = TestServer(create_app(runtime), host="127.0.0.1", **({"port": port} if port else {}))
    await server.start_server()
    try:
        yield runtime, server
    finally:
        await server.close()
        await runtime.close()


async def fetch_all_feeds(
    config, redis_url: str, slugs: tuple[str, ...] = ("tech", "qinggan/gushi", "qinggan", "all")
) -> dict[tuple[str, str], tuple[int, CIMultiDict[str], bytes]]:
    runtime = Runtime.open(config, redis_url)
    server = TestServer(create_app(runtime))
    await server.start_server()
    out = {}
    try:
        async with ClientSession() as http:
            for slug in slugs:
                for fmt in ("rss", "atom", "json"):
                    async with http.get(server.make_url(f"/feeds/{slug}.{fmt}")) as resp:
                        out[(slug, fmt)] = (resp.status, resp.headers.copy(), await resp.read())
    finally:
        await server.close()
        await runtime.close()
    return out


async def snapshot(redis, prefix: str) -> dict[str, object]:
    """Everything a reader could observe: records (minus first-seen), indexes, feed bytes."""
    state: dict[str, object] = {}
    async for key in redis.scan_iter(match=f"{prefix}*"):
        name = key.decode()[len(prefix) :]
        kind = await redis.type(key)
        if name.startswith("article:"):
            record, indexes = article_from_json(await redis.get(key))
            state[name] = (replace(record, first_seen=None), indexes)
        elif name.startswith("cat:"):
            state[name] = await redis.zrange(key, 0, -1, withscores=True)
        elif name.startswith("feed:"):
            state[name] = await redis.hget(key, "digest")
        elif name.startswith("url:") or (kind == b"string" and name.startswith("feedver:")):
            state[name] = await redis.get(key)
    return state

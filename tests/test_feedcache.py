"""The in-process feed cache: no Redis round trip while live, never stale after a publish."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer

from syndicator.embedded import EmbeddedRedis
from syndicator.ingest import ingest_source
from syndicator.runtime import Runtime
from syndicator.store.keys import Keys
from syndicator.web.app import create_app
from syndicator.web.feeds import FEED_CACHE
from tests.builders import items, one_feed_config, rss


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Redis of this module's own, even when SYNDICATOR_TEST_REDIS_URL names a shared one:
    these tests count the server's HMGET calls, which other test processes would move."""
    with EmbeddedRedis(tmp_path_factory.mktemp("own-redis"), appendonly=False) as server:
        yield server.url


@pytest.fixture
async def app_and_client(tmp_path, upstream, redis, redis_url, prefix):
    upstream.put("/feed.rss", rss(items("cache", 4)), "application/rss+xml")
    config = one_feed_config(
        tmp_path, upstream, redis_url=redis_url, prefix=prefix, path="/feed.rss", source_id="c"
    )
    runtime = Runtime.open(config, redis_url)
    await ingest_source(runtime, "c")
    app = create_app(runtime)
    server = TestServer(app)
    await server.start_server()
    async with ClientSession(auto_decompress=False) as http:
        await wait_live(app)
        yield app, server, http, runtime
    await server.close()
    await runtime.close()


async def wait_live(app, seconds: float = 5.0) -> None:
    cache = app[FEED_CACHE]
    for _ in range(int(seconds / 0.02)):
        if cache.live:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the feed cache never subscribed")


async def etag_of(server, http, path="/feeds/tech.atom", **headers) -> tuple[int, str]:
    async with http.get(server.make_url(path), headers={"Accept-Encoding": "identity", **headers}) as resp:
        await resp.read()
        return resp.status, resp.headers["ETag"]


async def hmget_calls(redis) -> int:
    stats = await redis.info("commandstats")
    return int(stats.get("cmdstat_hmget", {}).get("calls", 0))


async def test_repeat_polls_are_answered_from_memory(app_and_client, redis):
    app, server, http, _ = app_and_client
    _, etag = await etag_of(server, http)
    before = await hmget_calls(redis)
    for _ in range(20):
        status, again = await etag_of(server, http, **{"If-None-Match": etag})
        assert (status, again) == (304, etag)
    assert await hmget_calls(redis) == before
    assert app[FEED_CACHE].hits >= 20


async def test_publish_in_this_process_is_seen_by_the_next_request(app_and_client, upstream):
    _, server, http, runtime = app_and_client
    _, first = await etag_of(server, http)
    upstream.put("/feed.rss", rss(items("cache", 5)), "application/rss+xml")
    await ingest_source(runtime, "c")  # publishes inline, in this process
    status, second = await etag_of(server, http, **{"If-None-Match": first})
    assert status == 200 and second != first


async def test_announcement_from_another_process_invalidates(app_and_client, redis, prefix):
    _, server, http, _ = app_and_client
    _, first = await etag_of(server, http)
    # Another process's publish: the stored feed changes, then the version is announced.
    await redis.hset(Keys(prefix).feed("tech", "atom"), "etag", "v999-atom-elsewhere")
    await redis.publish(f"{prefix}published", "tech 999")
    for _ in range(100):
        _, etag = await etag_of(server, http)
        if etag != first:
            break
        await asyncio.sleep(0.02)
    assert etag == '"v999-atom-elsewhere"'


async def test_lost_subscription_empties_the_cache_when_it_is_back(app_and_client, redis, prefix):
    app, server, http, _ = app_and_client
    cache = app[FEED_CACHE]
    await etag_of(server, http)  # cached now
    assert cache.subscriptions == 1
    clients = await redis.client_list()
    (ours,) = [c for c in clients if c.get("name") == cache.client_name]
    await redis.client_kill_filter(_id=ours["id"])
    # A change whose announcement is lost with the connection ...
    await redis.hset(Keys(prefix).feed("tech", "atom"), "etag", "v998-atom-unannounced")
    # ... is served once the subscription is back: re-subscribing empties the cache.
    for _ in range(250):
        _, etag = await etag_of(server, http)
        if etag == '"v998-atom-unannounced"':
            break
        await asyncio.sleep(0.02)
    assert etag == '"v998-atom-unannounced"'
    assert cache.subscriptions == 2 and cache.live

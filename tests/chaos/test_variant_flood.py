"""Uncached variants cannot starve the server (issue 9, item 5), over real sockets.

A unique `?q=` per request makes every request a render. Each client address may cause
`server.variant_renders_per_minute` renders (60) in any minute; the next uncached variant
is a 429 with Retry-After, while cache hits, the plain feed and other addresses carry on.
The server listens on 127.0.0.1; the second client connects from 127.0.0.2 (`local_addr`:
all of 127.0.0.0/8 is loopback on Linux).

Many addresses, each within its own budget, are bounded together by
`server.variant_renders_per_second`: past it an uncached variant is a 503 with Retry-After
for whoever asks, and the plain feed and cached variants are still served.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from aiohttp import ClientSession, TCPConnector, web
from multidict import CIMultiDict

from syndicator.ingest import ingest_source
from syndicator.runtime import Runtime
from syndicator.web.app import create_app
from syndicator.web.cache import RenderCache
from syndicator.web.ratelimit import RenderLimiter
from syndicator.web.variants import VARIANTS
from tests.builders import items, rss, write_config


@dataclass
class Server:
    base: str
    app: web.Application

    @property
    def renders(self) -> int:
        return self.app[VARIANTS].renders


async def start(tmp_path, upstream, redis_url: str, prefix: str, extra_server: str = "") -> tuple:
    upstream.put("/news.rss", rss(items("news", 30)), "application/rss+xml")
    config = write_config(
        tmp_path,
        redis_url=redis_url,
        prefix=prefix,
        categories=[{"slug": "news", "title": "News"}],
        sources=[
            {
                "id": "news",
                "url": upstream.url("/news.rss"),
                "categories": ["news"],
                "allow_private_network": True,
            }
        ],
        extra_server=extra_server,
    )
    runtime = Runtime.open(config, redis_url)
    await ingest_source(runtime, "news")
    app = create_app(runtime)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runtime, runner, Server(f"http://127.0.0.1:{port}", app)


@pytest.fixture
async def server(tmp_path, upstream, redis_url, prefix) -> AsyncIterator[Server]:
    # Everyone's budget off: sixty renders in a row from one address are this fixture's point.
    runtime, runner, server = await start(
        tmp_path, upstream, redis_url, prefix, "variant_renders_per_second = 0"
    )
    yield server
    await runner.cleanup()
    await runtime.close()


def client(address: str) -> ClientSession:
    return ClientSession(connector=TCPConnector(local_addr=(address, 0), force_close=True))


async def get(http: ClientSession, url: str, **headers: str) -> tuple[int, CIMultiDict[str], str]:
    async with http.get(url, headers=headers) as resp:
        return resp.status, resp.headers.copy(), await resp.text()


async def test_61st_uncached_variant_in_a_minute_is_429_and_nothing_else_is(server):
    feed = f"{server.base}/feeds/news.rss"
    async with client("127.0.0.1") as first, client("127.0.0.2") as second:
        for n in range(60):
            status, _, body = await get(first, f"{feed}?q=word{n}")
            assert status == 200, (n, body)
        assert server.renders == 60

        status, headers, body = await get(first, f"{feed}?q=word60")
        assert status == 429
        assert 1 <= int(headers["Retry-After"]) <= 60
        assert headers["Content-Type"].startswith("text/plain")
        assert body.count("\n") == 1 and "at most 60 a minute" in body
        assert server.renders == 60  # refused before rendering

        # A cached variant (any spelling of the same query) and the plain feed: never limited.
        assert (await get(first, f"{feed}?q=word0"))[0] == 200
        assert (await get(first, f"{feed}?q=%20WORD0%20"))[0] == 200
        assert (await get(first, feed))[0] == 200
        assert (await get(first, f"{server.base}/feeds/news.json"))[0] == 200
        # Another address has a budget of its own.
        assert (await get(second, f"{feed}?q=word61"))[0] == 200
        assert (await get(first, f"{feed}?q=word62"))[0] == 429
        assert server.renders == 61


async def test_forwarded_for_is_read_only_from_a_trusted_proxy(tmp_path, upstream, redis_url, prefix):
    extra = 'variant_renders_per_minute = 2\ntrusted_proxies = ["127.0.0.3/32"]'
    runtime, runner, server = await start(tmp_path, upstream, redis_url, prefix, extra)
    feed = f"{server.base}/feeds/news.atom"
    words = (f"w{n}" for n in itertools.count())
    try:
        async with client("127.0.0.1") as direct, client("127.0.0.3") as proxy:
            # Not a trusted proxy: a forged header changes nothing, the peer is the client.
            statuses = [
                (await get(direct, f"{feed}?q={next(words)}", **{"X-Forwarded-For": f"10.0.0.{n}"}))[0]
                for n in range(3)
            ]
            assert statuses == [200, 200, 429]
            # The trusted proxy: each reader it forwards has its own budget.
            for reader in ("10.1.1.1", "10.1.1.2"):
                statuses = [
                    (
                        await get(
                            proxy, f"{feed}?q={next(words)}", **{"X-Forwarded-For": f"6.6.6.6, {reader}"}
                        )
                    )[0]
                    for _ in range(3)
                ]
                assert statuses == [200, 200, 429], reader
    finally:
        await runner.cleanup()
        await runtime.close()


async def test_renders_from_many_addresses_share_one_budget_then_503(tmp_path, upstream, redis_url, prefix):
    extra = "variant_renders_per_minute = 60\nvariant_renders_per_second = 3"
    runtime, runner, server = await start(tmp_path, upstream, redis_url, prefix, extra)
    now = [5000.0]  # the budget's clock stands still: the second is the test's to end
    variants = server.app[VARIANTS]
    variants.budget = RenderLimiter(window=1.0, max_clients=1, clock=lambda: now[0])
    variants.refusal_delay = 0  # held refusals are covered elsewhere; here only the answers
    feed = f"{server.base}/feeds/news.rss"
    addresses = [f"127.0.0.{n}" for n in range(10, 20)]
    try:
        answers = []
        for n, address in enumerate(addresses):  # each address asks for one new variant
            async with client(address) as http:
                answers.append(await get(http, f"{feed}?q=many{n}"))
        assert [status for status, _, _ in answers] == [200] * 3 + [503] * 7
        for _, headers, body in answers[3:]:
            assert headers["Retry-After"] == "1"
            assert headers["Content-Type"].startswith("text/plain")
            assert body.count("\n") == 1 and "at most 3 a second from all readers" in body
        assert server.renders == 3 and variants.budget.refused == 7
        assert variants.limiter.refused == 0  # no address was over its own budget

        async with client(addresses[-1]) as refused:
            # What needs no render is still served to a refused address: plain, cached, 304.
            assert (await get(refused, feed))[0] == 200
            status, headers, _ = await get(refused, f"{feed}?q=many0")
            assert status == 200
            assert (await get(refused, f"{feed}?q=many0", **{"If-None-Match": headers["ETag"]}))[0] == 304
            assert (await get(refused, f"{feed}?q=again"))[0] == 503
            now[0] += 1.0  # the next second: room for three more renders
            assert (await get(refused, f"{feed}?q=again"))[0] == 200
        assert server.renders == 4
    finally:
        await runner.cleanup()
        await runtime.close()


def test_limiter_window_retry_after_and_bounded_memory():
    now = [1000.0]
    limiter = RenderLimiter(max_clients=3, clock=lambda: now[0])
    for _ in range(3):  # at 1000, 1010, 1020
        assert limiter.acquire("a", 3) == 0
        now[0] += 10
    now[0] += 0.5
    assert limiter.acquire("a", 3) == 30  # the first slot frees at 1060, 29.5 s from now
    now[0] = 1060.0
    assert limiter.acquire("a", 3) == 0  # a sliding window: exactly one slot freed
    assert limiter.acquire("a", 3) == 10  # the next at 1070
    assert limiter.acquire("a", 0) == 0  # 0: unlimited
    for name in ("b", "c", "d"):  # the least recently seen client is forgotten first
        limiter.acquire(name, 3)
    assert len(limiter) == 3 and limiter.acquire("a", 3) == 0


async def test_over_budget_client_still_gets_304s_and_cache_hits(tmp_path, upstream, redis_url, prefix):
    extra = "variant_renders_per_minute = 2"
    runtime, runner, server = await start(tmp_path, upstream, redis_url, prefix, extra)
    server.app[VARIANTS].cache = RenderCache(1, 1 << 30)  # one entry: w0 is evicted by w1
    feed = f"{server.base}/feeds/news.rss"
    try:
        async with client("127.0.0.1") as http:
            status, headers, _ = await get(http, f"{feed}?q=w0")
            assert status == 200
            assert (await get(http, f"{feed}?q=w1"))[0] == 200  # budget spent; w0 left the cache
            # Revalidating w0 needs no render: 304, not 429.
            assert (await get(http, f"{feed}?q=w0", **{"If-None-Match": headers["ETag"]}))[0] == 304
            assert (await get(http, f"{feed}?q=w0"))[0] == 429  # a render it has no budget for
            assert (await get(http, f"{feed}?q=w1"))[0] == 200  # still cached
            assert server.renders == 2
    finally:
        await runner.cleanup()
        await runtime.close()

"""Two processes publishing one category at once, and publishing what is already published.

Each change of what a feed shows is one version, whoever publishes it and however often:
the version times make the TTL the feeds advertise (`publish.ttl_minutes`), so a change
stored twice, or a version stored for nothing, shows readers another `<ttl>` (and another
ETag for the same items). The interleavings are forced step by step, on a real Redis.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from arq.connections import create_pool

from syndicator.ingest import ingest_source
from syndicator.publish import publish_category, render_for_publish, store_rendering
from syndicator.runtime import Runtime
from syndicator.store import feeds
from syndicator.store.connection import arq_settings
from syndicator.store.feeds import content_digest, load_feed_all, published_state, save_version_if
from tests.builders import BASE_TIME, Item, items, one_feed_config, rss
from tests.upstream import Upstream

SLUG = "news"
FORMATS = ("rss", "atom", "json")


@dataclass
class World:
    upstream: Upstream
    a: Runtime  # two processes on one Redis, publishing inline
    b: Runtime
    queued: Runtime  # a third that only stores: its publish requests wait in the queue
    items: list[Item]

    async def store_only(self, new_items: list[Item]) -> None:
        """Serve `new_items` upstream and store them without publishing (the feed is stale)."""
        self.items = new_items
        self.upstream.put("/feed.rss", rss(new_items), "application/rss+xml")
        report = await ingest_source(self.queued, "web")
        assert report.status == "updated", report

    async def version(self) -> int:
        return (await published_state(self.a.redis, self.a.keys, SLUG, FORMATS)).version


def newer(n: int) -> Item:
    return Item(
        guid=f"new-{n}",
        title=f"new title {n}",
        link=f"https://web.example/new/{n}",
        published=BASE_TIME + timedelta(hours=n),
        body=f"<p>new body {n}</p>",
    )


@pytest.fixture
async def world(tmp_path, upstream, redis, redis_url, prefix) -> AsyncIterator[World]:
    first = items("web", 3)
    upstream.put("/feed.rss", rss(first), "application/rss+xml")
    config = one_feed_config(
        tmp_path,
        upstream,
        redis_url=redis_url,
        prefix=prefix,
        path="/feed.rss",
        source_id="web",
        slug=SLUG,
        title="News",
        poll_interval="10m",
    )
    queue = await create_pool(arq_settings(redis_url), default_queue_name=config.settings.queue_name)
    a, b = Runtime.open(config, redis_url), Runtime.open(config, redis_url)
    queued = Runtime.open(config, redis_url, queue=queue)
    try:
        await ingest_source(a, "web")  # version 1
        yield World(upstream, a, b, queued, first)
    finally:
        for runtime in (a, b, queued):
            await runtime.close()
        await queue.aclose()


async def stored_digests(runtime: Runtime) -> dict[str, str | None]:
    return (await published_state(runtime.redis, runtime.keys, SLUG, FORMATS)).digests


async def test_a_change_two_processes_render_at_once_is_stored_once(world: World):
    await world.store_only([newer(1), *world.items])
    # Both processes render the change against version 1, before either stores it.
    seen_by_b = await render_for_publish(world.b, SLUG)
    assert seen_by_b.changed and seen_by_b.based_on == 1

    assert await publish_category(world.a, SLUG) == 2
    # b's render is of version 1's successor too: it must not store a third version...
    assert await store_rendering(world.b, SLUG, seen_by_b) is None
    assert (
        await save_version_if(
            world.b.redis,
            world.b.keys,
            SLUG,
            seen_by_b.rendered,
            based_on=1,
            ttl_minutes=seen_by_b.ttl,
            now=BASE_TIME,
            base_url=world.b.site_url,
        )
        is None
    )
    # ...and publishing again, it finds a's version already shows what it rendered.
    assert await publish_category(world.b, SLUG) is None
    assert await world.version() == 2
    assert await stored_digests(world.a) == {
        fmt: content_digest(body) for fmt, (body, _media) in seen_by_b.rendered.items()
    }
    times = (await published_state(world.a.redis, world.a.keys, SLUG, FORMATS)).times
    assert len(times) == 2


async def test_publishing_what_is_published_stores_nothing(world: World):
    # Three versions: the next one's TTL comes from their times, not from the poll interval
    # (10 minutes, so that TTL is another), but the third's came from the poll interval.
    for n in range(1, 3):
        await world.store_only([newer(n), *world.items])
        assert await publish_category(world.a, SLUG) == n + 1
    before = await stored_digests(world.a)

    # Nothing changed: no process, however often it publishes, stores another version.
    for runtime in (world.a, world.b, world.a):
        assert not (await render_for_publish(runtime, SLUG)).changed
        assert await publish_category(runtime, SLUG) is None
    assert await world.version() == 3
    assert await stored_digests(world.a) == before

    # A change is still one version.
    await world.store_only([newer(9), *world.items])
    assert await publish_category(world.b, SLUG) == 4
    assert await publish_category(world.a, SLUG) is None
    assert await stored_digests(world.a) != before


async def test_a_render_compresses_only_the_formats_that_changed_and_stores_their_bytes(
    world: World, monkeypatch
):
    """A publish starts compressing each format that differs from the stored one as soon
    as it is rendered (on the publish threads, while the next format renders); an
    unchanged render compresses nothing, and what a changed one stores is each format's
    `compress` exactly."""
    compressed: list[tuple[str, int]] = []
    original = feeds._one

    def counted(coding: str, body: bytes) -> bytes:
        compressed.append((coding, len(body)))
        return original(coding, body)

    monkeypatch.setattr(feeds, "_one", counted)
    unchanged = await render_for_publish(world.a, SLUG)
    assert not unchanged.changed and unchanged.compressing == {} and compressed == []

    await world.store_only([newer(1), *world.items])
    rendering = await render_for_publish(world.a, SLUG)
    assert rendering.changed and set(rendering.compressing) == set(FORMATS)
    assert await store_rendering(world.a, SLUG, rendering) == 2
    assert sorted(compressed) == sorted(
        (coding, len(body)) for body, _media in rendering.rendered.values() for coding in ("gzip", "br")
    )  # each format once a coding: nothing compressed again at store time
    for fmt, (body, _media) in rendering.rendered.items():
        stored = await load_feed_all(world.a.redis, world.a.keys, SLUG, fmt)
        assert stored is not None and stored.bodies == feeds.compress(body)

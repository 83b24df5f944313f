"""Publish: render a category's feeds once per change and store the bytes for serving.

Ingest jobs only mark a category dirty and ask for one publish job per category; arq's job
id makes that request coalesce with one already queued. A publish that is already running
when new items land sees the dirty counter move and renders again, so no change is lost
and no feed is rendered once per ingested item. Processes that publish one category at
once (inline publishes have no queue to coalesce them) store one change once: a version is
stored only while the version its render was compared with is still the stored one.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from arq.connections import ArqRedis

from syndicator import metrics
from syndicator.render import FORMATS, EntryCache, FeedDocument
from syndicator.runtime import Runtime
from syndicator.store.archive import number_items, subscription_links
from syndicator.store.articles import newest_articles
from syndicator.store.atomic import get_many
from syndicator.store.feeds import (
    VERSION_HISTORY,
    Compressing,
    content_digest,
    published_state,
    record_base_url,
    save_version_if,
    start_compressing,
    stored_base_urls,
    version_times,
)
from syndicator.store.manifests import build_manifest, save_manifest

log = logging.getLogger(__name__)

PUBLISH_DELAY = 0.2  # seconds: lets a burst of ingest jobs share one render
MAX_ROUNDS = 5
# Versions whose times a version's TTL comes from: one fewer than are kept, so the TTL the
# stored version got (from the versions before it) can still be worked out.
TTL_HISTORY = VERSION_HISTORY - 1


# Each format's entries as the last renders made them, reused by the next render of the
# same stored article (render/reuse.py): a publish re-renders a page of which usually
# one item changed.
_ENTRIES: dict[str, EntryCache[Any]] = {fmt: EntryCache() for fmt in FORMATS}


MIN_TTL_MINUTES = 5
MAX_TTL_MINUTES = 24 * 60


def poll_minutes(runtime: Runtime, slug: str) -> int:
    """The shortest poll interval among the sources that feed `slug` (60 if none)."""
    intervals = [
        s.poll_interval.total_seconds()
        for s in runtime.config.sources.values()
        if s.enabled
        and any(slug in runtime.config.category_with_ancestors(c) for c in s.categories or ("all",))
    ]
    return max(1, int(min(intervals) // 60)) if intervals else 60


def ttl_minutes(poll: int, version_times: list[datetime]) -> int:
    """How long readers may cache the feed, from how often it has actually changed.

    Half the median gap between its recent versions (a reader then sees a change about
    half a typical gap late at most), within [5 min, 1 day]. With fewer than three
    versions there is no history yet: the shortest poll interval of its sources.
    """
    if len(version_times) < 3:
        return max(MIN_TTL_MINUTES, min(poll, MAX_TTL_MINUTES))
    times = sorted(version_times)
    gaps = sorted((b - a).total_seconds() / 60 for a, b in itertools.pairwise(times))
    median = gaps[len(gaps) // 2]
    return int(max(MIN_TTL_MINUTES, min(median / 2, MAX_TTL_MINUTES)))


async def request_publish(runtime: Runtime, slugs: Iterable[str]) -> None:
    """Mark `slugs` dirty and make sure a publish job will render each one."""
    slugs = list(slugs)
    for slug in slugs:
        await runtime.redis.incr(runtime.keys.dirty(slug))
    await enqueue_publish(runtime, slugs)


async def enqueue_publish(runtime: Runtime, slugs: Iterable[str]) -> None:
    """One publish job per slug (coalesced by job id), or publish inline without a queue."""
    if runtime.queue is None:
        for slug in slugs:
            await publish_category(runtime, slug)
        return
    for slug in slugs:
        await runtime.queue.enqueue_job(
            "publish_category",
            slug,
            _job_id=runtime.keys.job_id("publish", slug),
            _defer_by=PUBLISH_DELAY,
            _queue_name=runtime.config.settings.queue_name,
        )


async def render_category(
    runtime: Runtime,
    slug: str,
    *,
    ttl: int | None = None,
    on_rendered: Callable[[str, bytes], None] | None = None,
) -> tuple[dict[str, tuple[bytes, str]], int]:
    """Every format of `slug` from what the store holds now (fmt → (body, media type)),
    and the TTL in minutes the documents carry: `ttl`, or else the one a new version
    would get now (from the times of the versions stored so far). `on_rendered(fmt,
    body)` is called as each format is done, before the next is rendered."""
    category = runtime.config.categories[slug]
    # RFC 5005: number new index members (idempotent) so the feed can link its newest archive.
    archive = await number_items(runtime.redis, runtime.keys, slug, category.items_per_feed)
    articles = await newest_articles(runtime.redis, runtime.keys, slug, category.items_per_feed)
    if ttl is None:
        history = await version_times(runtime.redis, runtime.keys, slug)
        ttl = ttl_minutes(poll_minutes(runtime, slug), history[:TTL_HISTORY])
    updated = max((a.updated for a in articles), default=datetime(2000, 1, 1, tzinfo=UTC))
    document = FeedDocument(
        category=category,
        articles=tuple(articles),
        site_url=runtime.site_url,
        updated=updated,
        ttl_minutes=ttl,
        source_titles={s.id: s.title for s in runtime.config.sources.values() if s.title},
        category_labels=runtime.config.category_labels(),
        publisher=runtime.config.settings.publisher or "",
    )
    rendered: dict[str, tuple[bytes, str]] = {}
    for fmt, renderer in FORMATS.items():
        links = subscription_links(runtime.site_url, archive, fmt)
        body = renderer.render(replace(document, links=links), _ENTRIES[fmt])
        rendered[fmt] = (body, renderer.media_type)
        if on_rendered is not None:
            on_rendered(fmt, body)
    return rendered, ttl


@dataclass(frozen=True)
class Rendering:
    """One publish round's render of a category, and the stored version it differs from."""

    based_on: int  # the stored version compared with (0: never published)
    rendered: dict[str, tuple[bytes, str]]
    ttl: int
    changed: bool  # whether readers would get other bytes than the stored version's
    # fmt → its gzip and br under way, for the formats that changed (`start_compressing`)
    compressing: dict[str, Compressing] = field(default_factory=dict)


async def render_for_publish(runtime: Runtime, slug: str) -> Rendering:
    """Render `slug` and compare it with the stored version.

    A version's TTL comes from the times of the versions before it, so a version changes
    the TTL the next one would carry. To tell whether anything changed, render with the TTL
    the stored version gets from the versions before *it*: the same store and config then
    give the same bytes, however often they are published (comparing with the TTL a new
    version would get made every publish after the third version differ, if only in
    `<ttl>`, and store a version, which changed the TTL again). Only a real change (new
    items, edits, config, or another poll interval) renders with the new version's TTL.
    """
    redis, keys = runtime.redis, runtime.keys
    state = await published_state(redis, keys, slug, FORMATS)
    poll = poll_minutes(runtime, slug)
    before_stored = state.times[1 : 1 + TTL_HISTORY] if state.version else state.times[:TTL_HISTORY]
    stored_ttl = ttl_minutes(poll, before_stored)
    # A format that differs from the stored one is compressed (on the publish threads,
    # which zlib and brotli let run beside this one) while the next format renders.
    compressing: dict[str, Compressing] = {}

    def compress_if_changed(fmt: str, body: bytes) -> None:
        if state.digests.get(fmt) != content_digest(body):
            compressing[fmt] = start_compressing(body)

    with metrics.timed(metrics.RENDER_SECONDS):
        rendered, ttl = await render_category(runtime, slug, ttl=stored_ttl, on_rendered=compress_if_changed)
    changed = bool(compressing)
    if changed and state.version:
        new_ttl = ttl_minutes(poll, state.times[:TTL_HISTORY])
        if new_ttl != ttl:
            compressing = {}  # of the bodies with the old TTL: left to finish, not used

            def compress_all(fmt: str, body: bytes) -> None:
                compressing[fmt] = start_compressing(body)

            with metrics.timed(metrics.RENDER_SECONDS):
                rendered, ttl = await render_category(runtime, slug, ttl=new_ttl, on_rendered=compress_all)
    return Rendering(
        based_on=state.version, rendered=rendered, ttl=ttl, changed=changed, compressing=compressing
    )


async def store_rendering(
    runtime: Runtime, slug: str, rendering: Rendering, *, now: datetime | None = None
) -> int | None:
    """Store a changed `rendering` as the next version, unless another publisher stored a
    version since it was rendered (then None: render again, and compare with that one)."""
    # What this version contains, for delta responses (RFC 3229 A-IM: feed): the version it
    # will be if stored is the next one. Worked out now, while the publish threads are
    # still compressing the last formats (save_version_if waits for them).
    manifest = build_manifest(rendering.based_on + 1, rendering.rendered)
    version = await save_version_if(
        runtime.redis,
        runtime.keys,
        slug,
        rendering.rendered,
        based_on=rendering.based_on,
        ttl_minutes=rendering.ttl,
        now=now or datetime.now(UTC),
        base_url=runtime.site_url,
        bus=runtime.bus,
        started=rendering.compressing,
    )
    if version is not None:
        assert version == manifest.version
        await save_manifest(runtime.redis, runtime.keys, slug, manifest)
        log.info("published %s version %d", slug, version)
        await request_push(runtime, slug, version)
    return version


async def request_push(runtime: Runtime, slug: str, version: int) -> None:
    """Ask a worker to push `slug`'s new version to the hub's subscribers (hub/fanout.py),
    when anyone subscribes to anything. Queued by name: publish does not import the hub.
    An inline publish (`syndicator ingest`) queues it too, on the queue's Redis
    (`runtime.bus`: the store may be another server, or a cluster, which holds no queue):
    the workers deliver it (or the first one to start, if none runs now)."""
    if not await runtime.redis.exists(runtime.keys.hub_topics):
        return
    queue = runtime.queue or ArqRedis(connection_pool=runtime.bus.connection_pool)
    await queue.enqueue_job(
        "hub_fanout",
        slug,
        version,
        _job_id=runtime.keys.job_id("hub", f"fanout:{slug}:{version}"),
        _queue_name=runtime.config.settings.queue_name,
    )


async def publish_category(runtime: Runtime, slug: str, *, now: datetime | None = None) -> int | None:
    """Render `slug` until it is no longer dirty; returns the new version, or None if unchanged.

    Processes may publish one category at once (workers, `serve`, CLI ingests): a version
    is stored only if no other was stored since this render's comparison, so one change
    is stored once, and a publisher that lost renders again and compares with the winner's.
    """
    version: int | None = None
    for _ in range(MAX_ROUNDS):
        mark = await runtime.redis.get(runtime.keys.dirty(slug))
        rendering = await render_for_publish(runtime, slug)
        metrics.PUBLISHES.labels(slug, "changed" if rendering.changed else "unchanged").inc()
        if rendering.changed:
            stored = await store_rendering(runtime, slug, rendering, now=now)
            if stored is None:
                log.debug("%s: another process published version %d first", slug, rendering.based_on + 1)
                continue
            version = stored
        elif (await stored_base_urls(runtime.redis, runtime.keys, [slug]))[slug] != runtime.site_url:
            # The same bytes, stored before versions recorded their base URL: record it, so
            # no process takes this version for one rendered with another address.
            await record_base_url(runtime.redis, runtime.keys, slug, runtime.site_url)
        if await runtime.redis.get(runtime.keys.dirty(slug)) == mark:
            # Everything stored up to `mark` is published: stale_categories() compares.
            await runtime.redis.set(runtime.keys.published_mark(slug), mark or b"0")
            break
    return version


async def stale_categories(runtime: Runtime) -> list[str]:
    """Categories stored into since their last completed publish.

    The safety net for one race: an ingest that marks a category dirty just as its
    publish job is finishing cannot enqueue another (arq refuses a job id still in use),
    so the scheduler finds such categories here and publishes them.
    """
    slugs = list(runtime.config.categories)
    keys = runtime.keys
    values = await get_many(
        runtime.redis, [k for s in slugs for k in (keys.dirty(s), keys.published_mark(s))]
    )
    stale = []
    for i, slug in enumerate(slugs):
        dirty, published = values[2 * i], values[2 * i + 1]
        if dirty is not None and dirty != published:
            stale.append(slug)
    return stale


async def publish_missing(runtime: Runtime) -> None:
    """Publish every category that has never been published (empty ones too), so every
    configured feed URL answers from the start."""
    for slug in runtime.config.categories:
        if not await runtime.redis.exists(runtime.keys.feed(slug, "rss")):
            await publish_category(runtime, slug)


async def moved_categories(runtime: Runtime) -> dict[str, str]:
    """Categories whose stored feeds were rendered with another base URL than this
    process's (slug → that URL): their self links name an address this process does not
    serve. Never-published categories, and versions from before base URLs were recorded,
    are not listed here (`republish_moved` publishes those too)."""
    stored = await stored_base_urls(runtime.redis, runtime.keys, list(runtime.config.categories))
    return {slug: url for slug, url in stored.items() if url is not None and url != runtime.site_url}


async def republish_moved(runtime: Runtime) -> list[str]:
    """Publish, inline, every category not stored with this process's base URL: never
    published, published before base URLs were recorded, or rendered for another address
    (a restart on another port, a new `public_url`). Returns the slugs published.

    `serve` runs this before it opens its port and a worker before it takes any job, so a
    feed never names as its own an address it is not served at."""
    stored = await stored_base_urls(runtime.redis, runtime.keys, list(runtime.config.categories))
    moved = [slug for slug, url in stored.items() if url != runtime.site_url]
    moved_from = sorted({url for url in stored.values() if url is not None and url != runtime.site_url})
    if moved_from:
        log.info(
            "base URL is now %s (was %s): republishing %d categories",
            runtime.site_url,
            ", ".join(moved_from),
            len(moved),
        )
    for slug in moved:
        await publish_category(runtime, slug)
    return moved

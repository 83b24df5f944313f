"""Publish: render a category's feeds once per change and store the bytes for serving.

Ingest jobs only mark a category dirty and ask for one publish job per category; arq's job
id makes that request coalesce with one already queued. A publish that is already running
when new items land sees the dirty counter move and renders again, so no change is lost
and no feed is rendered once per ingested item.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime

from syndicator.render import FORMATS, FeedDocument
from syndicator.runtime import Runtime
from syndicator.store.articles import newest_articles
from syndicator.store.feeds import content_digest, save_version, stored_digest

log = logging.getLogger(__name__)

PUBLISH_DELAY = 0.2  # seconds: lets a burst of ingest jobs share one render
MAX_ROUNDS = 5


def ttl_minutes(runtime: Runtime, slug: str) -> int:
    """How long readers may cache: the shortest poll interval among the category's sources."""
    intervals = [
        s.poll_interval.total_seconds()
        for s in runtime.config.sources.values()
        if s.enabled
        and any(slug in runtime.config.category_with_ancestors(c) for c in s.categories or ("all",))
    ]
    return max(1, int(min(intervals) // 60)) if intervals else 60


async def request_publish(runtime: Runtime, slugs: Iterable[str]) -> None:
    """Mark `slugs` dirty and make sure a publish job will render each one."""
    slugs = list(slugs)
    for slug in slugs:
        await runtime.redis.incr(runtime.keys.dirty(slug))
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


async def render_category(runtime: Runtime, slug: str) -> dict[str, tuple[bytes, str]]:
    """Every format of `slug` from what the store holds now: fmt → (body, media type)."""
    category = runtime.config.categories[slug]
    articles = await newest_articles(runtime.redis, runtime.keys, slug, category.items_per_feed)
    updated = max((a.updated for a in articles), default=datetime(2000, 1, 1, tzinfo=UTC))
    document = FeedDocument(
        category=category,
        articles=tuple(articles),
        site_url=runtime.site_url,
        updated=updated,
        ttl_minutes=ttl_minutes(runtime, slug),
        source_titles={s.id: s.title for s in runtime.config.sources.values() if s.title},
    )
    return {fmt: (renderer.render(document), renderer.media_type) for fmt, renderer in FORMATS.items()}


async def publish_category(runtime: Runtime, slug: str, *, now: datetime | None = None) -> int | None:
    """Render `slug` until it is no longer dirty; returns the new version, or None if unchanged."""
    version: int | None = None
    for _ in range(MAX_ROUNDS):
        mark = await runtime.redis.get(runtime.keys.dirty(slug))
        rendered = await render_category(runtime, slug)
        changed = False
        for fmt, (body, _media) in rendered.items():
            if await stored_digest(runtime.redis, runtime.keys, slug, fmt) != content_digest(body):
                changed = True
        if changed:
            version = await save_version(
                runtime.redis, runtime.keys, slug, rendered, now=now or datetime.now(UTC)
            )
            log.info("published %s version %d", slug, version)
        if await runtime.redis.get(runtime.keys.dirty(slug)) == mark:
            break
    return version


async def publish_missing(runtime: Runtime) -> None:
    """Publish every category that has never been published (empty ones too), so every
    configured feed URL answers from the start."""
    for slug in runtime.config.categories:
        if not await runtime.redis.exists(runtime.keys.feed(slug, "rss")):
            await publish_category(runtime, slug)

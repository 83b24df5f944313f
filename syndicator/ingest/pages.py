"""Article web pages: one page → one article; listings and sitemaps → page jobs.

Discovery (a listing or sitemap poll) only finds URLs and enqueues one page job per URL
it has not seen before (or whose sitemap lastmod moved), so a worker crash costs one
page, and many workers share a crawl. Every request to an upstream host goes through the
host's politeness slot: at most `host_concurrency` in flight across all workers, and
`crawl_delay` seconds between starts.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import datetime
from urllib.parse import urlsplit

from syndicator.discover import DiscoverError, parse_listing, parse_sitemap
from syndicator.extract import ExtractError, extract_article
from syndicator.extract.decode import decode_html
from syndicator.fetch import FetchError
from syndicator.ingest.feed import fetch_failed
from syndicator.ingest.report import IngestReport, summarise_counts
from syndicator.ingest.storing import store_articles
from syndicator.models import FetchResult, Source, Validators
from syndicator.normalise.categories import map_categories
from syndicator.normalise.page import normalise_page
from syndicator.runtime import Runtime
from syndicator.store.politeness import host_slot
from syndicator.store.sources import (
    load_state,
    record_failure,
    record_page_failure,
    record_success,
    record_unmapped,
)

MAX_CHILD_SITEMAPS = 50


@asynccontextmanager
async def _polite(runtime: Runtime, source: Source, url: str) -> AsyncIterator[None]:
    host = urlsplit(url).hostname or ""
    if not host:  # file: URLs have no host to be polite to
        yield
        return
    async with host_slot(
        runtime.redis, runtime.keys, host, limit=source.host_concurrency, delay=source.crawl_delay
    ):
        yield


async def fetch_politely(
    runtime: Runtime, source: Source, url: str, validators: Validators | None = None
) -> FetchResult:
    async with _polite(runtime, source, url):
        return await runtime.fetcher.fetch(replace(source, url=url), validators or Validators())


def page_job_id(runtime: Runtime, url: str) -> str:
    return runtime.keys.job_id("page", hashlib.sha256(url.encode()).hexdigest()[:24])


async def ingest_page(runtime: Runtime, source: Source, url: str, *, now: datetime) -> IngestReport:
    """Fetch one article page, extract it, store it. `url` is the source's own for `page` sources."""
    redis, keys = runtime.redis, runtime.keys
    own = url == source.url  # a `page` source: its fetch state is the source's state
    validators = (await load_state(redis, keys, source.id)).validators if own else Validators()

    async def failed(error: str) -> None:
        if own:
            await record_failure(redis, keys, source, now=now, error=error)
        else:
            await record_page_failure(redis, keys, source.id, now=now, error=error)
            await redis.hdel(keys.seen_pages(source.id), url)  # try it again on the next poll

    try:
        fetched = await fetch_politely(runtime, source, url, validators)
    except FetchError as exc:
        await failed(str(exc))
        return replace(fetch_failed(source, exc), url=url)
    if fetched.status == 304:
        await record_success(
            redis, keys, source, now=now, validators=fetched.validators, status="304 not modified"
        )
        return IngestReport(source.id, url, "not-modified")

    try:
        page = extract_article(
            fetched.body,
            fetched.final_url,
            content_type=fetched.headers.get("content-type"),
            timezone=source.timezone,
            rules=source.rules,
            now=now,
        )
    except ExtractError as exc:
        error = f"{source.id}: {fetched.final_url}: no article: {exc}"
        await failed(error)
        return IngestReport(source.id, url, "error", error=error)

    categories, mapped = map_categories(page.category_path, source)
    if page.category_path and not mapped:
        await record_unmapped(redis, keys, source.id, "/".join(page.category_path))
    article = normalise_page(page, source, fetched_at=now, categories=categories)
    counts, touched = await store_articles(runtime, f"page:{source.id}:{url}", [article], now=now)
    if own:
        await record_success(
            redis,
            keys,
            source,
            now=now,
            validators=fetched.validators,
            status=f"{fetched.status} ok: {summarise_counts(counts)}",
            warnings=page.warnings,
        )
    return IngestReport(
        source.id, url, "updated", counts=dict(counts), warnings=page.warnings, touched=tuple(sorted(touched))
    )


async def _discover_listing(runtime: Runtime, source: Source, first: FetchResult) -> list[tuple[str, str]]:
    """(url, lastmod) of the article links on the listing and up to `max_depth - 1` next pages."""
    found: list[tuple[str, str]] = []
    fetched: FetchResult | None = first
    visited: set[str] = set()
    for depth in range(source.max_depth):
        if fetched is None or fetched.final_url in visited:
            break
        visited.add(fetched.final_url)
        text, _encoding = decode_html(fetched.body, fetched.headers.get("content-type"))
        listing = parse_listing(text, fetched.final_url)
        found.extend((u, "") for u in listing.article_urls)
        if not listing.next_page or depth + 1 >= source.max_depth:
            break
        fetched = await fetch_politely(runtime, source, listing.next_page)
    return found


async def _discover_sitemap(runtime: Runtime, source: Source, first: FetchResult) -> list[tuple[str, str]]:
    document = parse_sitemap(first.body, first.final_url)
    links = list(document.links)
    for child in document.sitemaps[:MAX_CHILD_SITEMAPS]:
        fetched = await fetch_politely(runtime, source, child.url)
        links.extend(parse_sitemap(fetched.body, fetched.final_url).links)
    return [(link.url, link.lastmod.isoformat() if link.lastmod else "") for link in links]


async def discover_pages(runtime: Runtime, source: Source, *, now: datetime) -> IngestReport:
    """Poll a listing or sitemap source and enqueue (or, without a queue, run) new pages."""
    redis, keys = runtime.redis, runtime.keys
    state = await load_state(redis, keys, source.id)
    try:
        first = await fetch_politely(runtime, source, source.url, state.validators)
        if first.status == 304:
            await record_success(
                redis, keys, source, now=now, validators=first.validators, status="304 not modified"
            )
            return IngestReport(source.id, source.url, "not-modified")
        discover = _discover_listing if source.kind == "listing" else _discover_sitemap
        found = await discover(runtime, source, first)
    except FetchError as exc:
        await record_failure(redis, keys, source, now=now, error=str(exc))
        return fetch_failed(source, exc)
    except DiscoverError as exc:
        error = f"{source.id}: {source.url}: unusable {source.kind}: {exc}"
        await record_failure(redis, keys, source, now=now, error=error)
        return IngestReport(source.id, source.url, "error", error=error)

    new_urls: list[str] = []
    for url, lastmod in dict(found).items():
        if len(new_urls) >= source.max_pages:
            break
        seen = await redis.hget(keys.seen_pages(source.id), url)
        if seen is None or (lastmod and lastmod > seen.decode()):
            await redis.hset(keys.seen_pages(source.id), url, lastmod)
            new_urls.append(url)

    counts = {"found": len(dict(found)), "new pages": len(new_urls)}
    reports: list[IngestReport] = []
    for url in new_urls:
        if runtime.queue is not None:
            await runtime.queue.enqueue_job(
                "ingest_page",
                source.id,
                url,
                _job_id=page_job_id(runtime, url),
                _queue_name=runtime.config.settings.queue_name,
            )
        else:  # CLI: run each page now, in order
            reports.append(await ingest_page(runtime, source, url, now=now))
    for report in reports:
        for key, n in report.counts.items():
            counts[key] = counts.get(key, 0) + n
        counts["page errors"] = counts.get("page errors", 0) + (report.status == "error")
    errors = tuple(r.error for r in reports if r.error)
    await record_success(
        redis,
        keys,
        source,
        now=now,
        validators=first.validators,
        status=f"{first.status} ok: {summarise_counts(counts)}",
        warnings=errors,
    )
    return IngestReport(source.id, source.url, "updated", counts=counts, warnings=errors)

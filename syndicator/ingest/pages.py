"""Article web pages: one page → one article; listings and sitemaps → page jobs.

Discovery (a listing or sitemap poll) only finds URLs and enqueues one page job per URL
it has not seen before (or whose sitemap lastmod moved), so a worker crash costs one
page, and many workers share a crawl. Every request to an upstream host goes through the
host's politeness slot: at most `host_concurrency` in flight across all workers, and
`crawl_delay` seconds between starts (or robots.txt's Crawl-delay, when longer). Every
page fetch, and every redirect it follows, asks robots.txt first (`fetch_politely`,
`syndicator.fetch.robots`); a sitemap source may name a robots.txt, whose `Sitemap:`
lines are then its sitemaps.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from urllib.parse import urlsplit

from syndicator.discover import DiscoveredLink, DiscoverError, SitemapDocument, parse_sitemap
from syndicator.extract import ExtractError, extract_article
from syndicator.fetch import FetchError, RobotsRefused
from syndicator.fetch.hints import header_hint
from syndicator.fetch.robots import (
    RobotsVerdict,
    is_robots_url,
    remember_robots,
    robots_allows,
    robots_sitemaps,
)
from syndicator.ingest.bounded import OverParseLimit, bounded, read_listing
from syndicator.ingest.report import IngestReport, failed, not_modified
from syndicator.ingest.storing import store_articles
from syndicator.models import Article, FetchResult, Source, Validators
from syndicator.normalise.categories import map_categories
from syndicator.normalise.page import normalise_page
from syndicator.process import Chain
from syndicator.runtime import Runtime
from syndicator.store.politeness import host_slot
from syndicator.store.polling import check_host, host_of
from syndicator.store.raw import keep_raw, page_input
from syndicator.store.sources import load_state

MAX_CHILD_SITEMAPS = 50


@asynccontextmanager
async def _polite(
    runtime: Runtime, source: Source, url: str, robots_delay: float | None = None
) -> AsyncIterator[None]:
    host = urlsplit(url).hostname or ""
    if not host:  # file: URLs have no host to be polite to
        yield
        return
    delay = max(source.crawl_delay, robots_delay or 0.0)
    async with host_slot(runtime.redis, runtime.keys, host, limit=source.host_concurrency, delay=delay):
        yield


async def fetch_politely(
    runtime: Runtime, source: Source, url: str, validators: Validators | None = None
) -> FetchResult:
    """The page-fetch path (page kinds, listing pages, sitemaps, full text, previews):
    `may_fetch` first (the host's cool-down, then robots.txt), then the host's politeness
    slot, spaced by the larger of the source's `crawl_delay` and robots.txt's Crawl-delay,
    then the fetch.

    Every redirect's target is asked the same before it is requested: its own host's
    cool-down, and its own origin's robots.txt when robots.txt governs the first URL (not
    a feed's own document, nor a source with `obey_robots = false`), so a redirect cannot
    lead past either. A target on another host also waits its turn in that host's
    politeness slot (its crawl delay and concurrency at the start; the first host's slot
    is the one held for the whole fetch).
    """
    verdict = await may_fetch(runtime, source, url)
    host = host_of(url)

    async def before_redirect(target: str) -> None:
        target_verdict = await may_fetch(runtime, source, target, robots=verdict.checked)
        if host_of(target) != host:
            async with _polite(runtime, source, target, target_verdict.crawl_delay):
                pass  # its turn came: the request follows at once

    async with _polite(runtime, source, url, verdict.crawl_delay):
        return await runtime.fetcher.fetch(
            replace(source, url=url), validators or Validators(), before_redirect=before_redirect
        )


async def may_fetch(runtime: Runtime, source: Source, url: str, *, robots: bool = True) -> RobotsVerdict:
    """Whether the page-fetch path may request `url` (its first URL or a redirect's target).

    A host cooling down after a 429/503 is asked nothing, not even its robots.txt
    (HostCoolingDown); then, with `robots`, `robots_allows`, whose refusal raises
    RobotsRefused, a FetchError naming the URL and the reason. Returns the verdict (its
    Crawl-delay); without `robots`, an unchecked one.
    """
    if host_of(url):
        await check_host(runtime.redis, runtime.keys, url)
    if not robots:
        return RobotsVerdict(True, "a redirect of a URL robots.txt does not govern", checked=False)
    verdict = await robots_allows(runtime, source, url)
    if not verdict.allowed:
        raise RobotsRefused(source.id, url, verdict.reason)
    return verdict


def page_job_id(runtime: Runtime, url: str) -> str:
    return runtime.keys.job_id("page", hashlib.sha256(url.encode()).hexdigest()[:24])


async def ingest_one_page(
    runtime: Runtime, source: Source, url: str, *, now: datetime, force: bool = False
) -> IngestReport:
    """Fetch one article page, extract it, store it, and return what happened (recording nothing).

    `url` is the source's own for a `page` source, whose fetch state is the source's state;
    any other URL is a page found by the source's listing or sitemap (`from_listing`).
    `force` fetches without the stored validators, so the page is extracted again.
    """
    from_listing = url != source.url
    if from_listing:
        validators, kept_warnings = Validators(), ()
    else:
        state = await load_state(runtime.redis, runtime.keys, source.id)
        validators, kept_warnings = (Validators() if force else state.validators), state.warnings

    try:
        fetched = await fetch_politely(runtime, source, url, validators)
    except FetchError as exc:
        return failed(source.id, url, exc.reason, fetch=exc, from_listing=from_listing)
    if fetched.status == 304:
        return not_modified(
            source.id,
            url,
            fetched.validators,
            kept_warnings=kept_warnings,
            from_listing=from_listing,
            hint=header_hint(fetched.headers, now),
        )

    try:
        read = await read_page(runtime, source, fetched, now=now)
    except ExtractError as exc:
        return failed(source.id, url, f"no article: {exc}", at=fetched.final_url, from_listing=from_listing)
    except OverParseLimit as exc:
        return failed(source.id, url, exc.reason, at=fetched.final_url, from_listing=from_listing)

    chain = Chain(runtime, source, now=now)  # the processing stage, as for a feed's items
    run_key = f"page:{source.id}:{url}"
    counts, touched = await store_articles(runtime, run_key, [read.article], now=now, chain=chain)
    await keep_raw(  # for `syndicator reprocess`; a blocked page's too (store/raw.py)
        runtime.redis,
        runtime.keys,
        runtime.config.settings,
        article_id=read.article.id,
        source_id=source.id,
        kind="page",
        data=page_input(fetched.body, fetched.headers, fetched.final_url, fetched.status),
        blocked=chain.dropped > 0,
        now=now,
    )
    return IngestReport(
        source.id,
        url,
        "updated",
        counts=dict(counts),
        warnings=(*read.warnings, *chain.warnings),
        touched=tuple(sorted(touched)),
        http_status=fetched.status,
        validators=fetched.validators,
        from_listing=from_listing,
        body_bytes=len(fetched.body),
        unmapped=read.unmapped,
        hint=header_hint(fetched.headers, now),
        rule_counts=chain.rule_counts,
    )


@dataclass(frozen=True)
class PageRead:
    """What one fetched article page becomes: its Article (categories mapped), the
    extraction's warnings, and the upstream category path no rule mapped (None if mapped)."""

    article: Article
    warnings: tuple[str, ...]
    unmapped: str | None


async def read_page(
    runtime: Runtime, source: Source, fetched: FetchResult, *, now: datetime, remember: bool = True
) -> PageRead:
    """Extract (in the parse pool), map categories and normalise one fetched page: the stage
    ingest and preview share. Raises ExtractError or OverParseLimit; `remember=False`
    records nothing (see `bounded`)."""
    page = await bounded(
        runtime,
        fetched.body,
        extract_article,
        fetched.final_url,
        remember=remember,
        content_type=fetched.headers.get("content-type"),
        timezone=source.timezone,
        rules=source.rules,
        now=now,
        encoding=source.encoding,
    )
    categories, mapped = map_categories(page.category_path, source)
    article = normalise_page(page, source, fetched_at=now, categories=categories)
    unmapped = "/".join(page.category_path) if page.category_path and not mapped else None
    return PageRead(article, page.warnings, unmapped)


@dataclass(frozen=True)
class Discovered:
    """The article links a listing or sitemap gave, as (url, lastmod) in document order;
    `documents` listing pages or sitemaps read; `more`: one more was left out by the
    caller's `max_documents`."""

    links: list[tuple[str, str]]
    documents: int
    more: bool = False


async def discover_links(
    runtime: Runtime,
    source: Source,
    first: FetchResult,
    *,
    max_documents: int | None = None,
    remember: bool = True,
) -> Discovered:
    """The links of a listing (and up to `max_depth - 1` next pages) or a sitemap (and up to
    `MAX_CHILD_SITEMAPS` children), reading at most `max_documents` documents in all.

    The stage ingest and preview share; raises FetchError, DiscoverError, OverParseLimit.
    """
    if source.kind == "listing":
        return await _discover_listing(runtime, source, first, max_documents, remember)
    return await _discover_sitemap(runtime, source, first, max_documents, remember)


async def _discover_listing(
    runtime: Runtime, source: Source, first: FetchResult, max_documents: int | None, remember: bool
) -> Discovered:
    found: list[tuple[str, str]] = []
    fetched: FetchResult | None = first
    visited: set[str] = set()
    depth_limit = source.max_depth if max_documents is None else min(source.max_depth, max_documents)
    more = False
    for depth in range(depth_limit):
        if fetched is None or fetched.final_url in visited:
            break
        visited.add(fetched.final_url)
        listing = await bounded(
            runtime,
            fetched.body,
            read_listing,
            fetched.headers.get("content-type"),
            fetched.final_url,
            source.encoding,
            remember=remember,
        )
        found.extend((u, "") for u in listing.article_urls)
        if not listing.next_page or depth + 1 >= source.max_depth:
            break
        if depth + 1 >= depth_limit:
            more = True
            break
        fetched = await fetch_politely(runtime, source, listing.next_page)
    return Discovered(found, len(visited), more)


async def _discover_sitemap(
    runtime: Runtime, source: Source, first: FetchResult, max_documents: int | None, remember: bool
) -> Discovered:
    # A sitemap source whose URL is a robots.txt reads the sitemaps its `Sitemap:` lines
    # name, and one level below them: robots.txt names sitemap indexes as often as sitemaps.
    from_robots = is_robots_url(first.final_url) or is_robots_url(source.url)
    if from_robots:
        if first.status == 200 and is_robots_url(source.url):  # the page checks below read it
            await remember_robots(runtime, source.url, first.body)
        named = await bounded(runtime, first.body, robots_sitemaps, first.final_url, remember=remember)
        document = SitemapDocument(links=(), sitemaps=tuple(DiscoveredLink(url) for url in named))
    else:
        document = await bounded(runtime, first.body, parse_sitemap, first.final_url, remember=remember)
    links = list(document.links)
    queue = [(child.url, 1) for child in document.sitemaps[:MAX_CHILD_SITEMAPS]]
    budget = (
        MAX_CHILD_SITEMAPS if max_documents is None else min(MAX_CHILD_SITEMAPS, max(0, max_documents - 1))
    )
    read = 0
    while queue and read < budget:
        url, depth = queue.pop(0)
        read += 1
        fetched = await fetch_politely(runtime, source, url)
        child = await bounded(runtime, fetched.body, parse_sitemap, fetched.final_url, remember=remember)
        links.extend(child.links)
        if from_robots and depth == 1:
            queue.extend((grandchild.url, 2) for grandchild in child.sitemaps)
    more = bool(queue) and max_documents is not None and read >= budget
    found = [(link.url, link.lastmod.isoformat() if link.lastmod else "") for link in links]
    return Discovered(found, 1 + read, more)


async def discover_pages(
    runtime: Runtime, source: Source, *, now: datetime, force: bool = False
) -> IngestReport:
    """Poll a listing or sitemap source and enqueue (or, without a queue, run) new pages.

    Pages run inline come back in the report's `pages`, to be recorded with the poll.
    `force` fetches the listing without its validators and takes every page it lists as
    new (up to `max_pages`), so pages seen before are extracted again.
    """
    redis, keys = runtime.redis, runtime.keys
    state = await load_state(redis, keys, source.id)
    try:
        first = await fetch_politely(runtime, source, source.url, None if force else state.validators)
        if first.status == 304:
            hint = header_hint(first.headers, now)
            return not_modified(
                source.id, source.url, first.validators, kept_warnings=state.warnings, hint=hint
            )
        found = (await discover_links(runtime, source, first)).links
    except FetchError as exc:
        return failed(source.id, source.url, exc.reason, fetch=exc)
    except DiscoverError as exc:
        return failed(source.id, source.url, f"unusable {source.kind}: {exc}")
    except OverParseLimit as exc:
        return failed(source.id, source.url, f"{source.kind}: {exc.reason}")

    new_urls: list[str] = []
    for url, lastmod in dict(found).items():
        if len(new_urls) >= source.max_pages:
            break
        seen = await redis.hget(keys.seen_pages(source.id), url)
        if force or seen is None or (lastmod and lastmod > seen.decode()):
            await redis.hset(keys.seen_pages(source.id), url, lastmod)
            new_urls.append(url)

    counts = {"found": len(dict(found)), "new pages": len(new_urls)}
    pages: list[IngestReport] = []
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
            pages.append(await ingest_one_page(runtime, source, url, now=now))
    for page in pages:
        for key, n in page.counts.items():
            counts[key] = counts.get(key, 0) + n
        counts["page errors"] = counts.get("page errors", 0) + (page.status == "error")
    return IngestReport(
        source.id,
        source.url,
        "updated",
        counts=counts,
        warnings=tuple(p.error for p in pages if p.error),
        http_status=first.status,
        validators=first.validators,
        pages=tuple(pages),
        body_bytes=len(first.body),
        hint=header_hint(first.headers, now),
    )

"""Adding sources the way feed-reader users do: paste a site's address, or import an OPML file.

`discover_source` finds the feed behind an address — the address itself if it is a feed,
else the page's `<link rel="alternate">` feeds, else the common paths (`/feed`,
`/rss.xml`, …) on its origin — or, when there is none, takes the address as a `listing`
page (it links to several articles) or a single `page`. Every request goes through the
fetch stage with its address guard and the host's politeness slot, and every byte of the
upstream is read in the parse pool (`syndicator.discover.feeds`), as ingest does.

`plan_source` adds the table it would write and its preview (`operate.preview`); the
CLI shows the preview, asks, and `add_to_config` appends the tables to the file
(`config.append`: comments kept, validated, atomic) and announces the reload through
Redis, so every process polls the new sources. The admin API never adds sources.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from syndicator.config.append import NewSource, append_sources
from syndicator.config.reload import ConfigReloader, ReloadOutcome
from syndicator.discover import DiscoverError
from syndicator.discover.feeds import FeedLink, common_feed_urls, feed_links, looks_like_feed
from syndicator.fetch import FetchError
from syndicator.ingest.bounded import OverParseLimit, bounded, read_listing
from syndicator.ingest.pages import fetch_politely
from syndicator.models import FetchResult, Source
from syndicator.operate.errors import OperateError
from syndicator.operate.preview import InvalidSource, Preview, preview_source, source_from_table
from syndicator.redact import redact_url
from syndicator.runtime import Runtime

LISTING_MIN_LINKS = 3  # a page linking to this many articles is a listing, else one article


class DiscoveryFailed(OperateError):
    """The address could not be read at all (refused, unreachable, HTTP error, not HTML)."""


@dataclass(frozen=True)
class Discovery:
    """What an address turned out to be."""

    url: str  # the source's URL: the feed found, or the page itself
    kind: str  # feed, listing or page
    how: str  # how it was found, for the operator and the comment in the file
    title: str = ""


@dataclass(frozen=True)
class Planned:
    """A source ready to be appended: its table, the Source it validates to, its preview."""

    table: dict[str, Any]
    source: Source
    discovery: Discovery
    preview: Preview

    def new_source(self, *, by: str, now: datetime | None = None) -> NewSource:
        day = (now or datetime.now(UTC)).date().isoformat()
        return NewSource(
            self.table,
            comments=(
                f"added by `syndicator {by}` on {day}",
                self.discovery.how,
            ),
        )


def _probe(runtime: Runtime, url: str, *, allow_private_network: bool) -> Source:
    """The source the discovery fetches go through (guard, limits, politeness)."""
    table = {"id": "add-source", "url": url, "allow_private_network": allow_private_network}
    try:
        return source_from_table(runtime, table, allow_file=False)
    except InvalidSource as exc:
        raise DiscoveryFailed(str(exc)) from None


async def _fetch(runtime: Runtime, probe: Source, url: str) -> FetchResult:
    # Each address tried is the probe's own (a feed source's feed): autodiscovery looks for
    # feeds, which robots.txt does not govern here (only pages do: fetch/robots.py).
    return await fetch_politely(runtime, replace(probe, url=url), url)


async def _is_feed(runtime: Runtime, fetched: FetchResult) -> bool:
    return await bounded(
        runtime, fetched.body, looks_like_feed, fetched.headers.get("content-type"), remember=False
    )


async def discover_source(runtime: Runtime, url: str, *, allow_private_network: bool = False) -> Discovery:
    """What to poll for `url`: its feed (by autodiscovery), else the page as a listing or page.

    Raises DiscoveryFailed when the address itself cannot be fetched or read.
    """
    probe = _probe(runtime, url, allow_private_network=allow_private_network)
    try:
        page = await _fetch(runtime, probe, url)
    except FetchError as exc:
        raise DiscoveryFailed(f"{redact_url(url)}: {exc.reason}") from None
    try:
        if await _is_feed(runtime, page):
            return Discovery(url, "feed", f"{redact_url(url)} is a feed")
        links: list[FeedLink] = await bounded(
            runtime, page.body, feed_links, page.headers.get("content-type"), page.final_url, remember=False
        )
    except OverParseLimit as exc:
        raise DiscoveryFailed(f"{redact_url(url)}: {exc.reason}") from None
    except DiscoverError as exc:
        raise DiscoveryFailed(f"{redact_url(url)}: {exc}") from None
    if links:
        found = links[0]
        how = f'found by <link rel="alternate" type="{found.format}"> on {redact_url(url)}'
        return Discovery(found.url, "feed", how, found.title)
    for candidate in common_feed_urls(page.final_url):
        if candidate in (url, page.final_url):
            continue
        try:
            fetched = await _fetch(runtime, probe, candidate)
            if fetched.status == 200 and await _is_feed(runtime, fetched):
                path = urlsplit(candidate).path
                return Discovery(candidate, "feed", f"found at the common path {path} of {redact_url(url)}")
        except (FetchError, OverParseLimit):
            continue
    try:
        listing = await bounded(
            runtime, page.body, read_listing, page.headers.get("content-type"), page.final_url, remember=False
        )
        n = len(listing.article_urls)
    except (DiscoverError, OverParseLimit):
        n = 0
    if n >= LISTING_MIN_LINKS:
        return Discovery(
            url, "listing", f"no feed found: {redact_url(url)} read as a listing ({n} article links)"
        )
    return Discovery(url, "page", f"no feed found: {redact_url(url)} read as one article page")


def derived_id(url: str, taken: Sequence[str], title: str = "") -> str:
    """A source id from its title (`Alpha News` → `alpha-news`) when that has letters or
    digits in ASCII, else from the address's host (`www.example.com` → `example-com`),
    made unique with `-2`, `-3`, …"""
    base = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:60].strip("-")
    if not base:
        host = (urlsplit(url).hostname or "source").lower().removeprefix("www.")
        base = re.sub(r"[^a-z0-9]+", "-", host).strip("-") or "source"
    if not base[0].isalnum():
        base = "s-" + base
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}-{n}", n + 1
    return candidate


def configured_urls(runtime: Runtime) -> dict[str, str]:
    """Every configured source's URL (as compared: see `same_url`) → its id."""
    return {same_url(s.url): s.id for s in runtime.config.sources.values()}


def same_url(url: str) -> str:
    """`url` as two addresses of one feed compare: scheme and host lower-cased, no fragment,
    no trailing slash on the path."""
    parts = urlsplit(url.strip())
    path = parts.path.rstrip("/") or "/"
    query = f"?{parts.query}" if parts.query else ""
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}{path}{query}"


async def plan_source(
    runtime: Runtime,
    url: str,
    *,
    category: str | None = None,
    source_id: str | None = None,
    title: str = "",
    allow_private_network: bool = False,
    taken: Sequence[str] = (),
) -> Planned:
    """Discover, build the `[[sources]]` table (validated like the file's) and preview it.

    `taken`: ids already planned alongside (import-opml) besides the configured ones.
    Raises DiscoveryFailed, or InvalidSource for a bad id or category.
    """
    discovery = await discover_source(runtime, url, allow_private_network=allow_private_network)
    ids = [*runtime.config.sources, *taken]
    chosen = source_id or derived_id(discovery.url, ids, title or discovery.title)
    if chosen in ids:
        raise InvalidSource(f"source.id: {chosen!r} is already a source; choose another with --id")
    table: dict[str, Any] = {"id": chosen, "url": discovery.url, "kind": discovery.kind}
    if category:
        table["categories"] = [category]
    if title or discovery.title:
        table["title"] = title or discovery.title
    if allow_private_network:
        table["allow_private_network"] = True
    source = source_from_table(runtime, table, allow_file=False)
    preview = await preview_source(runtime, source)
    return Planned(table, source, discovery, preview)


async def add_to_config(runtime: Runtime, planned: Sequence[Planned], *, by: str) -> ReloadOutcome:
    """Append the planned sources to the running configuration's file (validated, atomic,
    comments kept), then reload it here and announce the reload to every process."""
    await asyncio.to_thread(append_sources, runtime.config.path, [p.new_source(by=by) for p in planned])
    reloader = ConfigReloader(runtime)
    return await reloader.reload_and_announce()

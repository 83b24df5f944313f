"""Source preview: what a source would produce, through the whole pipeline, storing nothing.

The same stages as ingest (`syndicator.ingest`): the fetch with the address guard, through
the host's politeness slot (`fetch_politely`); parsing or extraction in the parse pool's
child processes (`read_feed`, `read_page`, `discover_links`); normalising; category
mapping. Nothing is stored: no article, index, source state, seen page or over-limit
record. The only keys a preview writes are the politeness slot's own — a lease removed
when the request ends and the host's next-start time, which expires after the source's
`crawl_delay` (plus one second) — so a preview is counted against the host like any poll,
and the robots.txt cache of an origin whose pages it fetched (the upstream's rules, kept at
most a day: `syndicator.fetch.robots`), since a preview obeys robots.txt as ingest does.

A preview stops at `MAX_ITEMS` articles, `MAX_PAGES` listing pages (or sitemaps) and
`TIME_LIMIT` seconds, whichever comes first, and says which (`stopped`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from contextlib import aclosing
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from syndicator.config.errors import ConfigError
from syndicator.config.schema import build_source
from syndicator.discover import DiscoverError
from syndicator.extract import ExtractError
from syndicator.fetch import FetchError
from syndicator.ingest.bounded import OverParseLimit
from syndicator.ingest.pages import PageRead, discover_links, fetch_politely, read_page
from syndicator.ingest.pipeline import NormaliseFailed, read_feed
from syndicator.models import Article, Source
from syndicator.operate.errors import OperateError, UnknownSource
from syndicator.parse import ParseError
from syndicator.process import PREVIEW_STEPS, Chain
from syndicator.redact import redact_headers, redact_text, redact_url
from syndicator.runtime import Runtime
from syndicator.store.politeness import HostBusy

log = logging.getLogger(__name__)

MAX_ITEMS = 20
MAX_PAGES = 3
TIME_LIMIT = 30.0
SUMMARY_CHARS = 500
PREVIEW_ID = "preview"  # the id of a previewed table that names none


class InvalidSource(OperateError):
    """A source table that does not validate as a `[[sources]]` table (or is refused here)."""


@dataclass(frozen=True)
class PreviewArticle:
    """One article the source would produce, as it would be stored."""

    title: str
    url: str
    published: str | None  # ISO 8601 in UTC; None when the source gave no usable date
    categories: tuple[str, ...]  # the categories it would go into (mapping applied)
    summary: str
    warnings: tuple[str, ...]

    @classmethod
    def of(cls, article: Article, warnings: tuple[str, ...] = ()) -> PreviewArticle:
        summary = article.summary
        if len(summary) > SUMMARY_CHARS:
            summary = summary[: SUMMARY_CHARS - 1] + "…"
        if article.date_estimated:
            warnings = (*warnings, "no usable date: the time it was first seen would be used")
        published = None if article.date_estimated else article.published.isoformat()
        categories = article.categories or ("all",)
        return cls(article.title, article.url, published, categories, summary, warnings)


@dataclass
class Preview:
    """What a preview found. `error` is why it produced nothing more (the fetch refused by
    the address guard, an unusable feed, …); `articles` are those read before it."""

    source_id: str
    kind: str
    url: str  # secrets redacted
    articles: list[PreviewArticle] = field(default_factory=list)
    error: str | None = None
    documents: int = 0  # upstream documents fetched (feed, listing pages, sitemaps, articles)
    stopped: list[str] = field(default_factory=list)  # which limit ended it, if any
    warnings: list[str] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)  # the source's header names → "***"

    @property
    def ok(self) -> bool:
        return self.error is None

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


def source_from_table(runtime: Runtime, table: Mapping[str, Any], *, allow_file: bool) -> Source:
    """A `[[sources]]` table (from JSON or TOML) validated exactly as the config file's are,
    against the running configuration's categories. `id` may be left out (`preview`).

    `allow_file=False` (over HTTP) refuses `file:` URLs: they would read the server's files.
    Raises InvalidSource with the key and the problem.
    """
    if not isinstance(table, Mapping):
        raise InvalidSource("source: must be a table (an object) of [[sources]] keys")
    url = table.get("url")
    if not allow_file and isinstance(url, str) and url.strip().lower().startswith("file:"):
        raise InvalidSource(
            "source.url: file: URLs are refused over HTTP (they would read this server's files); "
            "preview them with `syndicator preview --source-file`"
        )
    data = dict(table)
    data.setdefault("id", PREVIEW_ID)
    config = runtime.config
    try:
        return build_source(data, Path(config.path), config.categories)
    except ConfigError as exc:
        raise InvalidSource(f"{exc.key}: {exc.problem}") from None


def configured_source(runtime: Runtime, source_id: str) -> Source:
    source = runtime.config.sources.get(source_id)
    if source is None:
        raise UnknownSource(source_id, list(runtime.config.sources))
    return source


async def preview_source(
    runtime: Runtime,
    source: Source,
    *,
    now: datetime | None = None,
    max_items: int = MAX_ITEMS,
    max_pages: int = MAX_PAGES,
    time_limit: float = TIME_LIMIT,
) -> Preview:
    """Run `source` through fetch, parse or extract, normalise and category mapping; store nothing.

    Never raises for what the upstream does: a refused or failed fetch, an unusable
    document or a limit is the preview's `error` or `stopped`.
    """
    now = now or datetime.now(UTC)
    preview = Preview(source.id, source.kind, redact_url(source.url), headers=redact_headers(source.headers))
    try:
        async with asyncio.timeout(time_limit):
            await _run(runtime, source, preview, now=now, max_items=max_items, max_pages=max_pages)
    except TimeoutError:
        preview.stopped.append(f"time limit of {time_limit:g} s")
    except FetchError as exc:
        preview.error = exc.reason
    except HostBusy as exc:
        preview.error = f"host busy: {exc}"
    except ParseError as exc:
        preview.error = f"unusable feed: {exc}"
    except DiscoverError as exc:
        preview.error = f"unusable {source.kind}: {exc}"
    except ExtractError as exc:
        preview.error = f"no article: {exc}"
    except OverParseLimit as exc:
        preview.error = exc.reason
    if preview.error is not None:
        preview.error = redact_text(preview.error)
    log.info(
        "preview of %s: %d articles%s",
        preview.url,
        len(preview.articles),
        f", {preview.error}" if preview.error else "",
        extra={"event": "preview", "source_id": source.id, "url": preview.url},
    )
    return preview


async def _run(
    runtime: Runtime, source: Source, preview: Preview, *, now: datetime, max_items: int, max_pages: int
) -> None:
    first = await fetch_politely(runtime, source, source.url)
    preview.documents += 1
    chain = Chain(runtime, source, now=now, steps=PREVIEW_STEPS)  # the filters: no effects
    if source.kind == "feed":
        feed = await read_feed(runtime, source, first, now=now, remember=False, fingerprints=False)
        try:
            async with aclosing(feed.chunks()) as chunks:  # leaving early cancels the jobs under way
                async for chunk in chunks:
                    dropped = await _dropped(chain, chunk.articles)
                    for article in chunk.articles:
                        if len(preview.articles) >= max_items:
                            preview.stopped.append(f"{max_items} items")
                            return
                        preview.articles.append(PreviewArticle.of(article, dropped.get(article.id, ())))
        except NormaliseFailed as exc:
            preview.warnings.append(exc.reason)
        finally:
            preview.warnings[:0] = feed.warnings  # the parse's first, as before
        return
    if source.kind == "page":
        read = await read_page(runtime, source, first, now=now, remember=False)
        preview.articles.append(await _page_article(chain, read))
        return

    discovered = await discover_links(runtime, source, first, max_documents=max_pages, remember=False)
    preview.documents += discovered.documents - 1
    if discovered.more:
        preview.stopped.append(f"{max_pages} pages")
    urls = list(dict(discovered.links))
    take = min(max_items, source.max_pages)
    if len(urls) > take:
        preview.stopped.append(f"{max_items} items" if take == max_items else f"max_pages ({take})")
    for url in urls[:take]:
        try:
            fetched = await fetch_politely(runtime, source, url)
            preview.documents += 1
            read = await read_page(runtime, source, fetched, now=now, remember=False)
        except FetchError as exc:
            preview.warnings.append(f"{redact_url(url)}: {exc.reason}")
            continue
        except ExtractError as exc:
            preview.warnings.append(f"{redact_url(url)}: no article: {exc}")
            continue
        except OverParseLimit as exc:
            preview.warnings.append(f"{redact_url(url)}: {exc.reason}")
            continue
        preview.articles.append(await _page_article(chain, read))


async def _dropped(chain: Chain, articles: list[Article]) -> dict[str, tuple[str, ...]]:
    """A warning for each article the processing stage would drop, by id."""
    batch = await chain.process(articles)
    return {d.article.id: (f"would not be stored: {d.reason}",) for d in batch.dropped}


async def _page_article(chain: Chain, read: PageRead) -> PreviewArticle:
    warnings = read.warnings
    if read.unmapped:
        warnings = (*warnings, f"upstream category {read.unmapped!r} maps to no category")
    warnings = (*warnings, *(await _dropped(chain, [read.article])).get(read.article.id, ()))
    return PreviewArticle.of(read.article, warnings)

"""Ingest: one source, one pass through fetch → parse/extract → normalise → store → publish.

The body of the worker's jobs and of `syndicator ingest`. `feed.py` handles feeds,
`pages.py` article pages, listings and sitemaps; `storing.py` is what they share. Each
returns an `IngestReport` and records nothing on the source; the two entry points here
record it, once, with `record_outcome` — so the source's state has one writer and says
what the report says.
"""

from __future__ import annotations

from datetime import UTC, datetime

from syndicator.ingest.feed import ingest_feed
from syndicator.ingest.pages import discover_pages, ingest_one_page
from syndicator.ingest.report import IngestReport, summarise_counts
from syndicator.models import Source
from syndicator.runtime import Runtime
from syndicator.store.sources import record_outcome

__all__ = ["IngestReport", "ingest_page", "ingest_source", "summarise_counts"]


async def ingest_source(runtime: Runtime, source_id: str, *, now: datetime | None = None) -> IngestReport:
    """Poll one source (a feed, a page, or a listing/sitemap and its new pages) and record it."""
    now = now or datetime.now(UTC)
    source = runtime.config.sources[source_id]
    if source.kind == "feed":
        report = await ingest_feed(runtime, source, now=now)
    elif source.kind == "page":
        report = await ingest_one_page(runtime, source, source.url, now=now)
    else:
        report = await discover_pages(runtime, source, now=now)
    await record_outcome(runtime.redis, runtime.keys, source, report, now=now)
    return report


async def ingest_page(runtime: Runtime, source: Source, url: str, *, now: datetime) -> IngestReport:
    """One page a listing or sitemap found (the worker's `ingest_page` job), recorded."""
    report = await ingest_one_page(runtime, source, url, now=now)
    await record_outcome(runtime.redis, runtime.keys, source, report, now=now)
    return report

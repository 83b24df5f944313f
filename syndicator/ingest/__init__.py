"""Ingest: one source, one pass through fetch → parse/extract → normalise → store → publish.

The body of the worker's jobs and of `syndicator ingest`. `feed.py` handles feeds,
`pages.py` article pages, listings and sitemaps; `storing.py` is what they share.
"""

from __future__ import annotations

from datetime import UTC, datetime

from syndicator.ingest.feed import ingest_feed
from syndicator.ingest.pages import discover_pages, ingest_page
from syndicator.ingest.report import IngestReport, summarise_counts
from syndicator.runtime import Runtime

__all__ = ["IngestReport", "ingest_page", "ingest_source", "summarise_counts"]


async def ingest_source(runtime: Runtime, source_id: str, *, now: datetime | None = None) -> IngestReport:
    now = now or datetime.now(UTC)
    source = runtime.config.sources[source_id]
    if source.kind == "feed":
        return await ingest_feed(runtime, source, now=now)
    if source.kind == "page":
        return await ingest_page(runtime, source, source.url, now=now)
    return await discover_pages(runtime, source, now=now)

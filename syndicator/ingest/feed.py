"""A feed source, one pass: fetch → parse → normalise → store → (request) publish.

It never loses stored items: a fetch or parse failure stores nothing, and the articles
and feeds already published stay exactly as they were. It returns what happened; the
caller (`syndicator.ingest.ingest_source`) records it on the source.
"""

from __future__ import annotations

from datetime import datetime

from syndicator.fetch import FetchError
from syndicator.ingest.bounded import OverParseLimit, bounded
from syndicator.ingest.report import IngestReport, failed, not_modified
from syndicator.ingest.storing import store_articles
from syndicator.models import Article, Source, Validators
from syndicator.normalise import NormaliseError, normalise_entry
from syndicator.parse import ParseError
from syndicator.parse.limits import parse_bounded
from syndicator.runtime import Runtime
from syndicator.store.sources import load_state


async def ingest_feed(
    runtime: Runtime, source: Source, *, now: datetime, force: bool = False
) -> IngestReport:
    """`force`: fetch without the stored validators, so a 304 cannot skip the parse."""
    state = await load_state(runtime.redis, runtime.keys, source.id)
    try:
        fetched = await runtime.fetcher.fetch(source, Validators() if force else state.validators)
    except FetchError as exc:
        return failed(source.id, source.url, exc.reason, fetch=exc)
    if fetched.status == 304:
        return not_modified(source.id, source.url, fetched.validators, kept_warnings=state.warnings)

    limits = runtime.config.fetch
    try:
        feed = await bounded(
            runtime,
            fetched.body,
            parse_bounded,
            dict(fetched.headers),
            fetched.final_url,
            max_entries=limits.max_entries,
            max_field_bytes=limits.max_field_bytes,
        )
    except ParseError as exc:
        return failed(source.id, source.url, f"unusable feed: {exc}", at=fetched.final_url)
    except OverParseLimit as exc:
        return failed(source.id, source.url, exc.reason, at=fetched.final_url)

    warnings = list(feed.warnings)
    articles: list[Article] = []
    skipped = 0
    for position, entry in enumerate(feed.entries):
        try:
            articles.append(
                normalise_entry(
                    entry, source, feed_url=fetched.final_url, fetched_at=now, categories=source.categories
                )
            )
        except NormaliseError as exc:
            skipped += 1
            warnings.append(f"entry {position} skipped: {exc}")

    counts, touched = await store_articles(runtime, f"feed:{source.id}", articles, now=now)
    if skipped:
        counts["skipped"] += skipped
    return IngestReport(
        source.id,
        source.url,
        "updated",
        counts=dict(counts),
        warnings=tuple(warnings),
        touched=tuple(sorted(touched)),
        http_status=fetched.status,
        validators=fetched.validators,
    )

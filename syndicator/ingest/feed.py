"""A feed source, one pass: fetch → parse → normalise → store → (request) publish.

It never loses stored items: a fetch or parse failure is recorded on the source, and the
articles and feeds already published stay exactly as they were.
"""

from __future__ import annotations

from datetime import datetime

from syndicator.fetch import FetchError
from syndicator.ingest.report import IngestReport, summarise_counts
from syndicator.ingest.storing import store_articles
from syndicator.models import Article, Source
from syndicator.normalise import NormaliseError, normalise_entry
from syndicator.parse import ParseError, parse_feed
from syndicator.runtime import Runtime
from syndicator.store.sources import load_state, record_failure, record_success


def fetch_failed(source: Source, exc: FetchError) -> IngestReport:
    return IngestReport(
        source.id, source.url, "error", error=str(exc), retryable=exc.retryable, retry_after=exc.retry_after
    )


async def ingest_feed(runtime: Runtime, source: Source, *, now: datetime) -> IngestReport:
    redis, keys = runtime.redis, runtime.keys
    state = await load_state(redis, keys, source.id)
    try:
        fetched = await runtime.fetcher.fetch(source, state.validators)
    except FetchError as exc:
        await record_failure(redis, keys, source, now=now, error=str(exc))
        return fetch_failed(source, exc)

    if fetched.status == 304:
        await record_success(
            redis,
            keys,
            source,
            now=now,
            validators=fetched.validators,
            status="304 not modified",
            warnings=state.warnings,
        )
        return IngestReport(source.id, source.url, "not-modified")

    try:
        feed = parse_feed(
            fetched.body, fetched.headers, fetched.final_url, max_entries=runtime.config.fetch.max_entries
        )
    except ParseError as exc:
        error = f"{source.id}: {fetched.final_url}: unusable feed: {exc}"
        await record_failure(redis, keys, source, now=now, error=error)
        return IngestReport(source.id, source.url, "error", error=error)

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
    await record_success(
        redis,
        keys,
        source,
        now=now,
        validators=fetched.validators,
        status=f"{fetched.status} ok: {summarise_counts(counts)}",
        warnings=tuple(warnings),
    )
    return IngestReport(
        source.id,
        source.url,
        "updated",
        counts=dict(counts),
        warnings=tuple(warnings),
        touched=tuple(sorted(touched)),
    )

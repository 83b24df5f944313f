"""One source, one pass: fetch → parse → normalise → store → (request) publish.

This is the body of the worker's ingest job and of `syndicator ingest`. It never loses
stored items: a fetch or parse failure is recorded on the source and the articles and
feeds already published stay exactly as they were.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

from syndicator.fetch import FetchError
from syndicator.models import ALL_CATEGORY, Source
from syndicator.normalise import NormaliseError, normalise_entry
from syndicator.parse import ParseError, parse_feed
from syndicator.publish import request_publish
from syndicator.runtime import Runtime
from syndicator.store.articles import Outcome, apply_retention, upsert_article
from syndicator.store.sources import load_state, record_failure, record_success, set_publish_pending

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IngestReport:
    """What one pass did, for the job log, the CLI and the tests."""

    source_id: str
    url: str
    status: str  # "updated", "not-modified", "error"
    counts: dict[str, int] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    error: str | None = None
    retryable: bool = False
    retry_after: float | None = None
    touched: tuple[str, ...] = ()

    def line(self) -> str:
        if self.status == "error":
            return f"{self.source_id}: error: {self.error}"
        if self.status == "not-modified":
            return f"{self.source_id}: not modified (304)"
        parts = summarise_counts(self.counts)
        warn = f"; {len(self.warnings)} warning(s): {'; '.join(self.warnings)}" if self.warnings else ""
        return f"{self.source_id}: {parts}{warn}"


def summarise_counts(counts: dict[str, int]) -> str:
    """`3 new, 1 changed` — the same words in the job log, the CLI and the source state."""
    return ", ".join(f"{n} {k}" for k, n in sorted(counts.items()) if n) or "no entries"


def source_indexes(runtime: Runtime, source: Source) -> tuple[str, ...]:
    """Every category index an article of `source` goes into: its categories, parents, `all`."""
    slugs: list[str] = []
    for slug in source.categories or (ALL_CATEGORY,):
        slugs.extend(runtime.config.category_with_ancestors(slug))
    return tuple(dict.fromkeys(slugs))


async def ingest_source(runtime: Runtime, source_id: str, *, now: datetime | None = None) -> IngestReport:
    now = now or datetime.now(UTC)
    source = runtime.config.sources[source_id]
    state = await load_state(runtime.redis, runtime.keys, source_id)

    try:
        fetched = await runtime.fetcher.fetch(source, state.validators)
    except FetchError as exc:
        await record_failure(runtime.redis, runtime.keys, source, now=now, error=str(exc))
        return IngestReport(
            source_id,
            source.url,
            "error",
            error=str(exc),
            retryable=exc.retryable,
            retry_after=exc.retry_after,
        )

    if fetched.status == 304:
        await record_success(
            runtime.redis,
            runtime.keys,
            source,
            now=now,
            validators=fetched.validators,
            status="304 not modified",
            warnings=state.warnings,
        )
        return IngestReport(source_id, source.url, "not-modified")

    try:
        feed = parse_feed(
            fetched.body, fetched.headers, fetched.final_url, max_entries=runtime.config.fetch.max_entries
        )
    except ParseError as exc:
        error = f"{source_id}: {fetched.final_url}: unusable feed: {exc}"
        await record_failure(runtime.redis, runtime.keys, source, now=now, error=error)
        return IngestReport(source_id, source.url, "error", error=error)

    indexes = source_indexes(runtime, source)
    await set_publish_pending(runtime.redis, runtime.keys, source_id, True)
    warnings = list(feed.warnings)
    counts: Counter[str] = Counter()
    touched: set[str] = set()
    for position, entry in enumerate(feed.entries):
        try:
            article = normalise_entry(
                entry, source, feed_url=fetched.final_url, fetched_at=now, categories=source.categories
            )
        except NormaliseError as exc:
            counts["skipped"] += 1
            warnings.append(f"entry {position} skipped: {exc}")
            continue
        result = await upsert_article(runtime.redis, runtime.keys, article, indexes, now=now)
        counts[result.outcome.value] += 1
        touched.update(result.indexes)
        if result.outcome is Outcome.EVICTED:
            log.debug("%s: %s is past retention, not re-added", source_id, result.article_id)

    if state.publish_pending:  # an earlier run died between storing and publishing
        touched.update(indexes)
    for slug in sorted(touched):
        evicted = await apply_retention(
            runtime.redis,
            runtime.keys,
            runtime.config.categories[slug],
            now=now,
            evicted_memory=runtime.config.settings.evicted_memory,
        )
        counts["retired"] += len(evicted)

    summary = summarise_counts(counts)
    await record_success(
        runtime.redis,
        runtime.keys,
        source,
        now=now,
        validators=fetched.validators,
        status=f"{fetched.status} ok: {summary}",
        warnings=tuple(warnings),
    )
    if touched:
        await request_publish(runtime, sorted(touched))
    await set_publish_pending(runtime.redis, runtime.keys, source_id, False)
    return IngestReport(
        source_id,
        source.url,
        "updated",
        counts=dict(counts),
        warnings=tuple(warnings),
        touched=tuple(sorted(touched)),
    )

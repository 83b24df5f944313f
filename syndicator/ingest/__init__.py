"""Ingest: one source, one pass through fetch → parse/extract → normalise → store → publish.

The body of the worker's jobs and of `syndicator ingest`. `feed.py` handles feeds,
`pages.py` article pages, listings and sitemaps; `storing.py` is what they share. Each
returns an `IngestReport` and records nothing on the source; the two entry points here
record it, once, with `record_outcome` — so the source's state has one writer and says
what the report says.

The entry points are also the source boundary: whatever one source does to us, it stays
that source's failure. An exception nobody named (a bug, or an input no stage expected)
becomes a failed report, `internal error while ingesting: ValueError: …`, recorded with
backoff like any other failure and logged once with its traceback — never raised into the
caller's loop, where it would stop the other sources and leave this one's state unwritten
(so it would be polled again at once, forever). What is not the source's fault passes
through untouched: cancellation, arq's Retry, a busy host (the job retries) and an
unreachable Redis (which could not record the failure anyway, and must not cost the
source a backoff).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable
from dataclasses import replace
from datetime import UTC, datetime

from arq import Retry
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from syndicator.ingest.feed import ingest_feed
from syndicator.ingest.fulltext import read_full_text
from syndicator.ingest.pages import discover_pages, ingest_one_page
from syndicator.ingest.report import IngestReport, deferred, failed, summarise_counts
from syndicator.models import Source
from syndicator.redact import redact_text
from syndicator.runtime import Runtime
from syndicator.store.politeness import HostBusy
from syndicator.store.polling import HostCoolingDown
from syndicator.store.sources import defer_poll, record_outcome

__all__ = [
    "INTERNAL_ERROR",
    "IngestReport",
    "ingest_full_text",
    "ingest_page",
    "ingest_source",
    "is_internal_error",
    "summarise_counts",
]

log = logging.getLogger(__name__)

INTERNAL_ERROR = "internal error while ingesting"
"""How a failed report's reason starts when the failure was an unexpected exception."""

# Raised inside an ingest but not a failure of the source: they keep their own meaning.
# (asyncio.CancelledError and KeyboardInterrupt are BaseExceptions, never caught below.
# arq's Retry is raised by the jobs after the report is back; listed for any step that
# may one day raise it from inside.)
PASS_THROUGH: tuple[type[Exception], ...] = (HostBusy, Retry, RedisConnectionError, RedisTimeoutError)


async def ingest_source(
    runtime: Runtime,
    source_id: str,
    *,
    now: datetime | None = None,
    traceback_level: int = logging.ERROR,
    force: bool = False,
) -> IngestReport:
    """Poll one source (a feed, a page, or a listing/sitemap and its new pages) and record it.

    Never raises for something the source did (see the module's docstring). A source whose
    host is cooling down after a 429 or 503 (to it or to any source on that host, in any
    worker: store/polling.py) is not fetched: its poll is put off to the cool-down's end and
    the report says `deferred`, recording no error.
    `force` ignores the stored validators (no conditional GET) and re-reads pages a
    listing or sitemap found before, so improved extraction reaches stored articles; it
    goes through the same politeness slots as any poll.
    `traceback_level` is where an internal error's traceback is logged: ERROR for a worker,
    whose log is the operator's only view; the CLI passes DEBUG, since it prints the
    report's line itself and a traceback there reads as a crash of the command.
    """
    now = now or datetime.now(UTC)
    source = runtime.config.sources[source_id]
    if source.kind == "feed":
        work = ingest_feed(runtime, source, now=now, force=force)
    elif source.kind == "page":
        work = ingest_one_page(runtime, source, source.url, now=now, force=force)
    else:
        work = discover_pages(runtime, source, now=now, force=force)
    started = time.monotonic()
    try:
        report = await _guarded(work, source, source.url, from_listing=False, traceback_level=traceback_level)
    except HostCoolingDown as cooling:  # its host said 429/503 (to any source): not polled now
        due = await defer_poll(runtime.redis, runtime.keys, source, cooling, now=now)
        reason = f"host {cooling.host} cooling down ({cooling.reason}); next poll {due:%Y-%m-%d %H:%M:%S}"
        return deferred(source.id, source.url, reason)
    duration = time.monotonic() - started
    await record_outcome(runtime.redis, runtime.keys, source, report, now=now, duration=duration)
    return report


async def ingest_page(
    runtime: Runtime,
    source: Source,
    url: str,
    *,
    now: datetime,
    traceback_level: int = logging.ERROR,
) -> IngestReport:
    """One page a listing or sitemap found (the worker's `ingest_page` job), recorded.

    Never raises for something the page did; a busy host (HostBusy) passes through for the
    job to retry.
    """
    work = ingest_one_page(runtime, source, url, now=now)
    report = await _guarded(
        work, source, url, from_listing=url != source.url, traceback_level=traceback_level
    )
    await record_outcome(runtime.redis, runtime.keys, source, report, now=now)
    return report


async def ingest_full_text(
    runtime: Runtime,
    source: Source,
    article_id: str,
    *,
    now: datetime,
    last_try: bool = True,
    traceback_level: int = logging.ERROR,
) -> IngestReport:
    """The page of one item of a `full_text` feed source (the worker's `full_text` job),
    recorded on the source (ingest/fulltext.py). Never raises for something the page did;
    a busy host (HostBusy) passes through for the job to retry."""
    work = read_full_text(runtime, source, article_id, now=now, last_try=last_try)
    report = await _guarded(work, source, source.url, from_listing=False, traceback_level=traceback_level)
    if not report.full_text:  # the boundary's own report of an unexpected exception
        report = replace(report, full_text=True)
    await record_outcome(runtime.redis, runtime.keys, source, report, now=now)
    return report


def is_internal_error(report: IngestReport) -> bool:
    """Whether the report is the boundary's own (an unexpected exception, already logged
    with its traceback): the caller need not log its line again."""
    return report.status == "error" and (report.reason or "").startswith(INTERNAL_ERROR + ":")


async def _guarded(
    work: Awaitable[IngestReport], source: Source, url: str, *, from_listing: bool, traceback_level: int
) -> IngestReport:
    """`work`'s report, or a failed report for an exception it should not have raised."""
    try:
        return await work
    except PASS_THROUGH:
        raise
    except Exception as exc:  # the source boundary: see the module's docstring
        reason = f"{INTERNAL_ERROR}: {type(exc).__name__}: {_one_line(exc)}"
        report = failed(source.id, url, reason, from_listing=from_listing)
        log.log(traceback_level, "%s", redact_text(report.line()), exc_info=exc)
        return report


def _one_line(exc: BaseException, limit: int = 300) -> str:
    """The exception's message on one line, cut to `limit` characters: it goes into the
    source's state and the CLI's one line per source."""
    text = " ".join(str(exc).split()) or "(no message)"
    return text if len(text) <= limit else text[: limit - 1] + "…"

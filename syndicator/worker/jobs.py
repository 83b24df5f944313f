"""arq job functions on the queue: thin wrappers that turn arq's ctx into library calls.

The job names arq knows them by (`ingest_source`, `ingest_page`, `publish_category`) are
given in `settings.py`; the cron job that enqueues ingests is in `schedule.py`.

Retries: a retryable fetch failure (timeout, 5xx, 429) raises arq's `Retry` with a backoff
computed from `job_try`, honouring the upstream's Retry-After; everything else is recorded
on the source by `ingest_source` and the job ends.
"""

from __future__ import annotations

import logging
import random
from datetime import UTC, datetime
from typing import Any

from arq import Retry

from syndicator.ingest import IngestReport, ingest_page, ingest_source, is_internal_error
from syndicator.publish import publish_category as publish
from syndicator.runtime import Runtime
from syndicator.store.politeness import HostBusy

log = logging.getLogger("syndicator.worker")

MAX_RETRY_DELAY = 600.0


def retry_delay(job_try: int, retry_after: float | None) -> float:
    """Exponential backoff with jitter (2, 4, 8 … s), never sooner than Retry-After, and
    never later than MAX_RETRY_DELAY (a longer Retry-After is cut to it)."""
    backoff = min(MAX_RETRY_DELAY, 2.0**job_try) * random.uniform(0.8, 1.2)
    return min(MAX_RETRY_DELAY, max(backoff, retry_after or 0.0))


def source_removed(source_id: str) -> str:
    """A job queued for a source a reload has since removed: it ends, recording nothing."""
    line = f"{source_id}: source removed"
    log.info("%s (removed from the configuration; job dropped)", line)
    return line


def log_report(report: IngestReport, page_url: str | None = None) -> None:
    """A failure is a WARNING whose line names the source and URL once; the rest is INFO
    (a page's URL appended, which a failure's line already names). An internal error was
    logged already, at ERROR with its traceback, by the ingest boundary: not again."""
    if is_internal_error(report):
        return
    if report.status == "error":
        log.warning("%s", report.line())
    elif page_url is None:
        log.info("%s", report.line())
    else:
        log.info("%s %s", report.line(), page_url)


async def ingest_job(ctx: dict[str, Any], source_id: str) -> str:
    runtime: Runtime = ctx["runtime"]
    if source_id not in runtime.config.sources:
        return source_removed(source_id)
    report: IngestReport = await ingest_source(runtime, source_id)
    log_report(report)
    job_try = int(ctx.get("job_try", 1))
    if report.retryable and job_try < runtime.config.settings.max_tries:
        raise Retry(defer=retry_delay(job_try, report.retry_after))
    return report.line()


async def page_job(ctx: dict[str, Any], source_id: str, url: str) -> str:
    """One article page found by a listing or sitemap source."""
    runtime: Runtime = ctx["runtime"]
    source = runtime.config.sources.get(source_id)
    if source is None:
        return source_removed(source_id)
    job_try = int(ctx.get("job_try", 1))
    try:
        report = await ingest_page(runtime, source, url, now=datetime.now(UTC))
    except HostBusy:
        raise Retry(defer=retry_delay(job_try, 5.0)) from None
    log_report(report, url)
    if report.retryable and job_try < runtime.config.settings.max_tries:
        raise Retry(defer=retry_delay(job_try, report.retry_after))
    return f"{report.line()} {url}"


async def publish_job(ctx: dict[str, Any], slug: str) -> str:
    runtime: Runtime = ctx["runtime"]
    if slug not in runtime.config.categories:
        return f"{slug}: unknown category"
    version = await publish(runtime, slug)
    return f"{slug}: version {version}" if version else f"{slug}: unchanged"

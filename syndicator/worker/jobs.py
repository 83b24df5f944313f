"""arq job functions on the queue: thin wrappers that turn arq's ctx into library calls.

The job names arq knows them by (`ingest_source`, `ingest_page`, `full_text`,
`reprocess_articles`, `publish_category`, `hub_verify`, `hub_maintain`) are given in
`settings.py`; the cron job that enqueues ingests is in `schedule.py`.

Retries: a retryable fetch failure (timeout, 5xx, 429) raises arq's `Retry` with a backoff
computed from `job_try`, honouring the upstream's Retry-After — unless that is longer than
MAX_RETRY_DELAY: then the source's next poll (at least the Retry-After) takes over; everything
else is recorded on the source by `ingest_source` and the job ends. A page job whose host is
cooling down (store/polling.py) retries when the cool-down ends.

Runs: an ingest job carries its run id (`syndicator.operate.enqueue`) and records its run
(store/runs.py): running with the try and the worker, then done with the summary or
failed with the reason. A paused or gone source's job ends at once, polling nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from datetime import UTC, datetime
from typing import Any

from arq import Retry
from redis.exceptions import RedisError

from syndicator.hub.intent import Intent, VerifyRetry, verify
from syndicator.hub.leases import maintain
from syndicator.ingest import IngestReport, ingest_full_text, ingest_page, ingest_source, is_internal_error
from syndicator.operate.reprocess import run_job
from syndicator.publish import publish_category as publish
from syndicator.redact import redact_text, redact_url
from syndicator.runtime import Runtime
from syndicator.store.hub import take_pending
from syndicator.store.politeness import HostBusy
from syndicator.store.polling import HostCoolingDown
from syndicator.store.runs import create_run, finish_run, mark_retrying, mark_running
from syndicator.store.sources import halted_sources
from syndicator.web.topics import served_by

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


def log_report(
    report: IngestReport,
    page_url: str | None = None,
    *,
    run_id: str | None = None,
    duration: float | None = None,
) -> None:
    """A failure is a WARNING whose line names the source and URL once; the rest is INFO
    (a page's URL appended, which a failure's line already names). An internal error was
    logged already, at ERROR with its traceback, by the ingest boundary: not again.
    URLs are redacted; the record carries the source, run, outcome and duration as fields."""
    if is_internal_error(report):
        return
    extra = {
        "event": "ingest_failed" if report.status == "error" else "ingest_done",
        "source_id": report.source_id,
        "url": redact_url(page_url or report.error_at or report.url),
        "outcome": report.status,
        **({"run_id": run_id} if run_id else {}),
        **({"duration": round(duration, 3)} if duration is not None else {}),
    }
    line = redact_text(report.line())
    if report.status == "error":
        log.warning("%s", line, extra=extra)
    elif page_url is None:
        log.info("%s", line, extra=extra)
    else:
        log.info("%s %s", line, redact_url(page_url), extra=extra)


def run_summary(report: IngestReport) -> str:
    """The report's line without the leading `source: ` (a run names its source already)."""
    line = redact_text(report.line())
    prefix = f"{report.source_id}: "
    return line[len(prefix) :] if line.startswith(prefix) else line


def _reason(report: IngestReport) -> str:
    return redact_text(report.reason or report.error or "error")


async def ingest_job(
    ctx: dict[str, Any], source_id: str, run_id: str | None = None, force: bool = False
) -> str:
    """One run of one source: recorded as running, then done or failed (or queued again
    for a retry). A job queued without a run id (by an older version) gets a run here."""
    runtime: Runtime = ctx["runtime"]
    redis, keys = runtime.redis, runtime.keys
    job_try = int(ctx.get("job_try", 1))
    if source_id not in runtime.config.sources:
        if run_id is not None:  # queued before the reload that removed it
            await finish_run(redis, keys, run_id, ok=True, summary="skipped: source removed")
        return source_removed(source_id)
    if run_id is None:
        run_id = (await create_run(redis, keys, source_id, kind="schedule")).run_id
    await mark_running(redis, keys, run_id, worker=ctx.get("worker_id", "unknown"), try_number=job_try)
    try:
        halt = (await halted_sources(redis, keys)).get(source_id)
        if halt is not None:
            await finish_run(redis, keys, run_id, ok=True, summary=f"skipped: source {halt.state}")
            return f"{source_id}: {halt.state}, not polled"
        started = time.monotonic()
        report: IngestReport = await ingest_source(runtime, source_id, force=force)
        log_report(report, run_id=run_id, duration=time.monotonic() - started)
        # A Retry-After beyond MAX_RETRY_DELAY: the schedule polls it then (store/polling.py).
        waits_long = (report.retry_after or 0.0) > MAX_RETRY_DELAY
        if report.retryable and job_try < runtime.config.settings.max_tries and not waits_long:
            delay = retry_delay(job_try, report.retry_after)
            why = f"try {job_try} failed: {_reason(report)}; retrying in {delay:.0f} s"
            await mark_retrying(redis, keys, run_id, reason=why)
            raise Retry(defer=delay)
        ok = report.status != "error"
        summary, reason = (run_summary(report), None) if ok else (None, _reason(report))
        await finish_run(redis, keys, run_id, ok=ok, summary=summary, reason=reason)
        return report.line()
    except Retry:
        raise
    except (Exception, asyncio.CancelledError) as exc:
        # Interrupted (the worker stopping, so arq runs it again, or the job timing out),
        # or a failure the ingest boundary let through (Redis, a busy host): the run says
        # so if Redis lets it, and the exception goes on to arq as before.
        if isinstance(exc, asyncio.CancelledError):
            reason = "interrupted (job timed out or worker stopped)"
        else:
            reason = f"{type(exc).__name__}: {redact_text(str(exc))}"
        with contextlib.suppress(RedisError, OSError):
            await finish_run(redis, keys, run_id, ok=False, reason=reason)
        raise


async def page_job(ctx: dict[str, Any], source_id: str, url: str) -> str:
    """One article page found by a listing or sitemap source."""
    runtime: Runtime = ctx["runtime"]
    source = runtime.config.sources.get(source_id)
    if source is None:
        return source_removed(source_id)
    job_try = int(ctx.get("job_try", 1))
    try:
        report = await ingest_page(runtime, source, url, now=datetime.now(UTC))
    except HostBusy as busy:  # a cool-down (429/503) retries when it ends, up to MAX_RETRY_DELAY
        wait = busy.wait(datetime.now(UTC)) if isinstance(busy, HostCoolingDown) else 5.0
        raise Retry(defer=retry_delay(job_try, wait)) from None
    log_report(report, url)
    if report.retryable and job_try < runtime.config.settings.max_tries:
        raise Retry(defer=retry_delay(job_try, report.retry_after))
    return f"{report.line()} {url}"


async def full_text_job(ctx: dict[str, Any], source_id: str, article_id: str) -> str:
    """The page of one new item of a `full_text` feed source (ingest/fulltext.py)."""
    runtime: Runtime = ctx["runtime"]
    source = runtime.config.sources.get(source_id)
    if source is None:
        return source_removed(source_id)
    job_try = int(ctx.get("job_try", 1))
    last_try = job_try >= runtime.config.settings.max_tries
    try:
        report = await ingest_full_text(runtime, source, article_id, now=datetime.now(UTC), last_try=last_try)
    except HostBusy:
        raise Retry(defer=retry_delay(job_try, 5.0)) from None
    log_report(report, report.error_at or report.url)
    if report.retryable and not last_try:
        raise Retry(defer=retry_delay(job_try, report.retry_after))
    return f"{report.line()} {report.url}"


async def publish_job(ctx: dict[str, Any], slug: str) -> str:
    runtime: Runtime = ctx["runtime"]
    if slug not in runtime.config.categories:
        return f"{slug}: unknown category"
    version = await publish(runtime, slug)
    return f"{slug}: version {version}" if version else f"{slug}: unchanged"


async def reprocess_job(
    ctx: dict[str, Any], reprocess_id: str, run_id: str, source_id: str, article_ids: list[str]
) -> str:
    """One job of a reprocess (operate/reprocess.py): at most 200 articles of one source,
    re-read from their kept raw input; its run recorded like an ingest's. Run again after
    its worker died, it changes nothing twice (the module says how)."""
    runtime: Runtime = ctx["runtime"]
    run = await run_job(
        runtime,
        reprocess_id,
        run_id,
        source_id,
        article_ids,
        worker=ctx.get("worker_id", "unknown"),
        try_number=int(ctx.get("job_try", 1)),
    )
    return f"{source_id}: reprocess {reprocess_id}: {run.result(()).summary()}"


HUB_VERIFY_TRIES = 3


async def hub_verify_job(ctx: dict[str, Any], intent: dict[str, object]) -> str:
    """Verification of intent of one hub (un)subscription request (hub/intent.py), queued
    by POST /hub after its 202. A callback that timed out or answered 5xx/429 is tried
    again (30 s, 60 s …), up to HUB_VERIFY_TRIES; then the request is dropped."""
    runtime: Runtime = ctx["runtime"]
    request = Intent.from_args(intent)
    job_try = int(ctx.get("job_try", 1))
    try:
        outcome = await verify(runtime, request, served_by(runtime))
    except VerifyRetry as exc:
        if job_try < HUB_VERIFY_TRIES:
            raise Retry(defer=30.0 * 2 ** (job_try - 1)) from None
        await take_pending(runtime.redis, runtime.keys, request.subscription_id, request.nonce)
        outcome = f"{request.mode} {request.callback}: not verified after {job_try} tries: {exc}"
    log.info("%s", outcome)
    return outcome


async def hub_maintain_job(ctx: dict[str, Any]) -> str:
    """Once a minute: remove subscriptions whose lease ended, deny those whose topic went."""
    runtime: Runtime = ctx["runtime"]
    return (await maintain(runtime, served_by(runtime))).line()

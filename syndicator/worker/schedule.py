"""The scheduler: an arq cron job that enqueues an ingest for every source that is due.

Its own module because it is the one job that runs on a clock rather than on a queue
entry, and the one place that decides job ids (so a pending ingest is never doubled).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from syndicator.publish import enqueue_publish, stale_categories
from syndicator.runtime import Runtime
from syndicator.store.sources import due_sources


async def schedule_job(ctx: dict[str, Any]) -> int:
    """Enqueue an ingest for every due source; a pending one is not enqueued twice."""
    runtime: Runtime = ctx["runtime"]
    now = datetime.now(UTC)
    enqueued = 0
    for source_id in await due_sources(runtime.redis, runtime.keys, runtime.config.sources, now):
        job = await ctx["redis"].enqueue_job(
            "ingest_source",
            source_id,
            _job_id=runtime.keys.job_id("ingest", source_id),
            _queue_name=runtime.config.settings.queue_name,
        )
        enqueued += job is not None
    await enqueue_publish(runtime, await stale_categories(runtime))
    return enqueued

"""The scheduler: an arq cron job that enqueues an ingest for every source that is due.

Its own module because it is the one job that runs on a clock rather than on a queue
entry. Every ingest it queues is a run (`syndicator.operate.enqueue`, which also decides
job ids, so a pending ingest is never doubled). Paused and gone sources are not due
(store/sources.py); the halts of sources the configuration no longer has are dropped
when a reload removes them (config/reload.py) and again here, each tick, for a worker
started on a file that no longer has them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from syndicator.ingest.fulltext import release_due
from syndicator.operate.enqueue import enqueue_ingest
from syndicator.publish import enqueue_publish, stale_categories
from syndicator.runtime import Runtime
from syndicator.store.sources import due_sources, forget_removed
from syndicator.subscriber.subscribe import renew_due, unsubscribe_removed


async def schedule_job(ctx: dict[str, Any]) -> int:
    """Enqueue an ingest for every due source; a pending one is not enqueued twice."""
    runtime: Runtime = ctx["runtime"]
    now = datetime.now(UTC)
    sources = runtime.config.sources
    await forget_removed(runtime.redis, runtime.keys, sources)
    enqueued = 0
    for source_id in await due_sources(runtime.redis, runtime.keys, sources, now):
        run = await enqueue_ingest(runtime, ctx["redis"], source_id, kind="schedule", now=now)
        enqueued += run is not None
    await release_due(runtime, now=now)  # items whose full_text_wait is over
    await enqueue_publish(runtime, await stale_categories(runtime))
    await unsubscribe_removed(runtime, now=now)  # WebSub: of sources a reload removed
    await renew_due(runtime, now=now)  # WebSub subscriptions near their lease's end
    return enqueued

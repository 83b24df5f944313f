"""The one way an ingest is queued: a run recorded, then its arq job, or nothing.

The scheduler's tick and an operator's re-ingest both come here, so every queued ingest
has a run (store/runs.py) and none is queued twice: the job id is the source's
(`Keys.job_id("ingest", id)`), and arq refuses a job id that is still queued or
running. The run is recorded before the job is enqueued, so a worker that picks the job
up at once finds it; when arq refuses, the run is discarded again.
"""

from __future__ import annotations

import logging
from datetime import datetime

from arq.connections import ArqRedis

from syndicator.runtime import Runtime
from syndicator.store.runs import Run, RunKind, create_run, discard_run

log = logging.getLogger("syndicator.operate")

INGEST_JOB = "ingest_source"


async def enqueue_ingest(
    runtime: Runtime,
    queue: ArqRedis,
    source_id: str,
    *,
    kind: RunKind,
    force: bool = False,
    now: datetime | None = None,
) -> Run | None:
    """Queue one ingest of `source_id` as a new run; None when one is already pending."""
    run = await create_run(runtime.redis, runtime.keys, source_id, kind=kind, force=force, now=now)
    job = await queue.enqueue_job(
        INGEST_JOB,
        source_id,
        run.run_id,
        force,
        _job_id=runtime.keys.job_id("ingest", source_id),
        _queue_name=runtime.config.settings.queue_name,
    )
    if job is None:
        await discard_run(runtime.redis, runtime.keys, run)
        return None
    log.log(
        logging.INFO if kind == "reingest" else logging.DEBUG,  # a tick's are the routine
        "%s: run %s queued (%s%s)",
        source_id,
        run.run_id,
        kind,
        ", forced" if force else "",
        extra={"event": "run_queued", "source_id": source_id, "run_id": run.run_id},
    )
    return run

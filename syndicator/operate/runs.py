"""Runs for operators: one by id, or a source's recent ones (store/runs.py records them)."""

from __future__ import annotations

from syndicator.operate.errors import UnknownRun, UnknownSource
from syndicator.runtime import Runtime
from syndicator.store.runs import Run, load_run, recent_runs


async def get_run(runtime: Runtime, run_id: str) -> Run:
    """The run `run_id`; UnknownRun when none is recorded (or it expired)."""
    run = await load_run(runtime.redis, runtime.keys, run_id)
    if run is None:
        raise UnknownRun(run_id)
    return run


async def source_runs(runtime: Runtime, source_id: str, *, limit: int = 50) -> list[Run]:
    """`source_id`'s last runs (at most 50), newest first; UnknownSource when not configured."""
    if source_id not in runtime.config.sources:
        raise UnknownSource(source_id, list(runtime.config.sources))
    return await recent_runs(runtime.redis, runtime.keys, source_id, limit=min(limit, 50))

"""The queue as operators see it: jobs waiting, runs in progress, workers alive.

Depth is arq's queue (a sorted set of job ids, ingests, pages and publishes alike); runs
are ours (`store/runs.py`); workers are our heartbeats (`store/heartbeats.py`), one per
worker, which arq's single health-check key cannot give.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from syndicator.runtime import Runtime
from syndicator.store.heartbeats import Heartbeat, live_workers
from syndicator.store.runs import Run, active_runs


@dataclass(frozen=True)
class QueueStatus:
    depth: int  # jobs waiting in arq's queue (due now or deferred)
    runs: tuple[Run, ...]  # ingest runs queued or running, oldest first
    workers: tuple[Heartbeat, ...]  # live heartbeats

    def as_dict(self, now: datetime | None = None) -> dict[str, object]:
        now = now or datetime.now(UTC)
        return {
            "depth": self.depth,
            "runs_in_progress": [r.as_dict() for r in self.runs],
            "workers": [
                {**w.as_dict(), "age_seconds": round(w.age(now), 3), "stale": w.stale(now)}
                for w in self.workers
            ],
        }


async def queue_depth(runtime: Runtime) -> int:
    return int(await runtime.bus.zcard(runtime.config.settings.queue_name))


async def queue_status(runtime: Runtime) -> QueueStatus:
    redis, keys = runtime.redis, runtime.keys
    return QueueStatus(
        depth=await queue_depth(runtime),
        runs=tuple(await active_runs(redis, keys)),
        workers=tuple(await live_workers(runtime.bus, keys)),
    )

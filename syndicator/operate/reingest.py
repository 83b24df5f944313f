"""Re-ingest: queue one run per selected source for the workers, never two at once.

An operator picks one or more sources, a category's sources, all sources, or only the
failing ones. Each selected source that can be polled gets a run (`enqueue.py`); the
others are reported as skipped with the reason: a run already pending (arq would not
queue the job twice, and the run that is pending is named), paused or gone (resume it
first), or disabled in the configuration. `force` ignores stored validators and reads
known pages again; politeness limits still apply, as to any poll.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from arq.connections import ArqRedis

from syndicator.operate.enqueue import enqueue_ingest
from syndicator.operate.errors import NoQueue, UnknownCategory, UnknownSource
from syndicator.operate.health import feeds_category
from syndicator.runtime import Runtime
from syndicator.store.runs import pending_run
from syndicator.store.sources import halted_sources, load_state


@dataclass(frozen=True)
class Selection:
    """Which sources: named ids, a category's, only the failing ones, or all of them.

    More than one may be given; a source is selected if any names it. Nothing given
    selects nothing (the CLI and API require one).
    """

    source_ids: tuple[str, ...] = ()
    category: str | None = None
    failing: bool = False
    all: bool = False

    @property
    def empty(self) -> bool:
        return not (self.source_ids or self.category or self.failing or self.all)


@dataclass(frozen=True)
class ReingestResult:
    """The runs queued (source id, run id) and the sources skipped (source id, reason)."""

    queued: tuple[tuple[str, str], ...] = ()
    skipped: tuple[tuple[str, str], ...] = field(default=())

    def as_dict(self) -> dict[str, object]:
        return {
            "queued": [{"source_id": s, "run_id": r} for s, r in self.queued],
            "skipped": [{"source_id": s, "reason": r} for s, r in self.skipped],
        }


async def select_sources(runtime: Runtime, selection: Selection) -> list[str]:
    """The selected source ids in configuration order (UnknownSource, UnknownCategory)."""
    config = runtime.config
    for source_id in selection.source_ids:
        if source_id not in config.sources:
            raise UnknownSource(source_id, list(config.sources))
    if selection.category is not None and selection.category not in config.categories:
        raise UnknownCategory(selection.category)
    failing: set[str] = set()
    if selection.failing:
        halted = await halted_sources(runtime.redis, runtime.keys)
        for source_id in config.sources:
            state = await load_state(runtime.redis, runtime.keys, source_id)
            if state.consecutive_errors and source_id not in halted:
                failing.add(source_id)
    return [
        s.id
        for s in config.sources.values()
        if selection.all
        or s.id in selection.source_ids
        or s.id in failing
        or (selection.category is not None and feeds_category(config, s, selection.category))
    ]


async def reingest(
    runtime: Runtime,
    queue: ArqRedis | None,
    selection: Selection,
    *,
    force: bool = False,
    now: datetime | None = None,
) -> ReingestResult:
    """Queue a `reingest` run for every selected source that can be polled now."""
    if queue is None:
        raise NoQueue("re-ingest queues runs for the workers and needs the arq queue")
    now = now or datetime.now(UTC)
    chosen = await select_sources(runtime, selection)
    halted = await halted_sources(runtime.redis, runtime.keys)
    queued: list[tuple[str, str]] = []
    skipped: list[tuple[str, str]] = []
    for source_id in chosen:
        source = runtime.config.sources[source_id]
        halt = halted.get(source_id)
        if not source.enabled:
            skipped.append((source_id, "disabled in the configuration"))
        elif halt is not None:
            why = "paused" if halt.state == "paused" else "gone (the upstream answered 410)"
            skipped.append((source_id, f"{why} since {halt.at}; resume it first"))
        elif run := await enqueue_ingest(runtime, queue, source_id, kind="reingest", force=force, now=now):
            queued.append((source_id, run.run_id))
        else:
            skipped.append((source_id, await _pending_reason(runtime, source_id)))
    return ReingestResult(tuple(queued), tuple(skipped))


async def _pending_reason(runtime: Runtime, source_id: str) -> str:
    run = await pending_run(runtime.redis, runtime.keys, source_id)
    if run is None:
        return "a run is already pending (queued or running)"
    return f"run {run.run_id} is already {run.state} ({run.kind}, queued {run.queued_at})"

"""Run-time controls: pause and resume a source, re-render a category.

A pause is stored in Redis (`store/sources.py`), not in the file: it takes effect at the
scheduler's next tick in every worker, survives reloads and restarts, and is forgotten
when a reload removes the source. Resume lifts a pause or a `gone` (410) halt and makes
the source due at once.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from syndicator.operate.errors import UnknownCategory, UnknownSource
from syndicator.operate.health import SourceHealth, source_health
from syndicator.publish import publish_category, request_publish
from syndicator.runtime import Runtime
from syndicator.store.sources import pause_source, resume_source

log = logging.getLogger("syndicator.operate")


def _known(runtime: Runtime, source_id: str) -> None:
    if source_id not in runtime.config.sources:
        raise UnknownSource(source_id, list(runtime.config.sources))


async def pause(
    runtime: Runtime, source_id: str, *, reason: str = "", now: datetime | None = None
) -> SourceHealth:
    """Stop polling `source_id` until resumed; its health afterwards."""
    _known(runtime, source_id)
    now = now or datetime.now(UTC)
    await pause_source(runtime.redis, runtime.keys, source_id, now=now, reason=reason)
    log.info("%s: paused", source_id, extra={"event": "source_paused", "source_id": source_id})
    return await source_health(runtime, source_id, now=now)


async def resume(runtime: Runtime, source_id: str, *, now: datetime | None = None) -> SourceHealth:
    """Poll `source_id` again (it was paused or gone), due at once; its health afterwards."""
    _known(runtime, source_id)
    now = now or datetime.now(UTC)
    lifted = await resume_source(runtime.redis, runtime.keys, source_id, now=now)
    log.info(
        "%s: resumed%s",
        source_id,
        f" (was {lifted.state})" if lifted else " (was not halted)",
        extra={"event": "source_resumed", "source_id": source_id},
    )
    return await source_health(runtime, source_id, now=now)


@dataclass(frozen=True)
class RerenderResult:
    """`queued`: a publish job will render it; else rendered here (`version` when it changed)."""

    slug: str
    queued: bool
    version: int | None = None

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


async def rerender(runtime: Runtime, slug: str) -> RerenderResult:
    """Render category `slug` again: through the queue when the runtime has one, else inline."""
    if slug not in runtime.config.categories:
        raise UnknownCategory(slug)
    if runtime.queue is not None:
        await request_publish(runtime, [slug])
        return RerenderResult(slug, queued=True)
    await runtime.redis.incr(runtime.keys.dirty(slug))
    return RerenderResult(slug, queued=False, version=await publish_category(runtime, slug))

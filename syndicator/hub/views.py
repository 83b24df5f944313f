"""What the hub needs from outside it: the web layer's view of topics, and the job queue.

What a topic shows needs the web layer (feed URLs, filtered and combined rendering,
cutting items out of a document); the hub reaches it only through `TopicViews`, which
the worker passes in (syndicator/web/push.py implements it), so the web package may
import the hub and not the other way round.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

from syndicator.runtime import Runtime
from syndicator.store.manifests import ManifestItem

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TopicDocument:
    """What a topic shows now: its document in its format, and that document's items."""

    topic: str
    fmt: str
    media_type: str
    body: bytes  # the full document, uncompressed
    items: tuple[ManifestItem, ...]
    # What the topic showed before this publish, for a topic the hub has no version of yet
    # (the published category's previous version, the others' current ones): its first
    # subscribers get only what changed.
    baseline: tuple[ManifestItem, ...] | None = None


class TopicViews(Protocol):
    """The web layer's answers about topics."""

    def slugs_of(self, runtime: Runtime, topic: str) -> tuple[str, ...] | None:
        """The categories a topic URL shows (None: not one of our feed URLs any more)."""
        ...

    async def document(self, runtime: Runtime, topic: str, changed: str) -> TopicDocument | None:
        """What the topic shows now (None: not published yet, or not ours any more), after a
        publish of category `changed` (its baseline: `changed`'s previous version)."""
        ...

    def cut(self, fmt: str, body: bytes, keep: set[str]) -> bytes:
        """`body` with only the items whose id is in `keep`."""
        ...


async def enqueue(runtime: Runtime, name: str, *args: object, job_id: str, defer: float = 0.0) -> None:
    """One hub job on the worker queue; a job id already queued is not queued twice."""
    if runtime.queue is None:
        log.debug("hub: no queue in this process; %s %s not queued", name, job_id)
        return
    await runtime.queue.enqueue_job(
        name,
        *args,
        _job_id=runtime.keys.job_id("hub", job_id),
        _defer_by=defer or None,
        _queue_name=runtime.config.settings.queue_name,
    )

"""On publish: which topics changed, a new hub version for each, and delivery jobs in chunks.

A publish of category `c` changes every topic that names `c`: its plain feeds, and the
filtered and combined topics that include it. Parents and `all` publish themselves (an
ingest marks them dirty too), so their topics fan out from their own publish. For each
such topic the fan-out reads what the topic shows now (`TopicViews.document`) and stores
it as the topic's next hub version (store/hub_deliveries.py); a topic whose items did
not change (a filter that matches none of the new items) makes no version and no POST.

The subscribers of a changed topic are not delivered to here: one delivery job per
subscription is queued, the first CHUNK by this job and each further CHUNK by a job of its
own (`hub_fanout_chunk`), so
10,000 subscribers of one topic are spread over every worker instead of waiting on one
job. Every job id names (topic, version, chunk) or (subscription, version): a fan-out run
twice (a worker killed and its job run again) queues nothing twice while the first jobs
are still queued, and a delivery run twice sends nothing twice (see hub/deliver.py).

What a topic shows needs the web layer (feed URLs, filtered and combined rendering,
cutting items out of a document); the hub reaches it only through `TopicViews`, which
the worker passes in, so the web package may import the hub and not the other way round.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Protocol

from syndicator.runtime import Runtime
from syndicator.store.hub import topics
from syndicator.store.hub_deliveries import record_topic_version
from syndicator.store.keys import hub_topic_key
from syndicator.store.manifests import ManifestItem

log = logging.getLogger(__name__)

CHUNK = 100  # subscriptions per fan-out chunk job


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
    """The web layer's answers about topics (syndicator/web/push.py implements it)."""

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


@dataclass(frozen=True)
class FannedOut:
    topic: str
    version: int
    subscribers: int
    chunks: int


async def fan_out(runtime: Runtime, views: TopicViews, slug: str) -> list[FannedOut]:
    """A new version of every subscribed topic that `slug`'s publish changed, and its chunk jobs."""
    results: list[FannedOut] = []
    for topic in await topics(runtime.redis, runtime.keys):
        slugs = views.slugs_of(runtime, topic)
        if slugs is None or slug not in slugs:
            continue
        document = await views.document(runtime, topic, slug)
        if document is None:
            continue
        version = await record_topic_version(
            runtime.redis,
            runtime.keys,
            topic,
            fmt=document.fmt,
            media_type=document.media_type,
            body=document.body,
            items=document.items,
            baseline=document.baseline,
        )
        if version is None:
            continue
        subscribers = await runtime.redis.scard(runtime.keys.hub_topic(topic))
        chunks = (subscribers + CHUNK - 1) // CHUNK
        # The first chunk is queued from here (one job hop less for a topic's first
        # CHUNK subscribers, which is every subscriber of most topics); the rest in jobs.
        await fan_out_chunk(runtime, topic, version, 0)
        for index in range(1, chunks):
            await enqueue(
                runtime,
                "hub_fanout_chunk",
                topic,
                version,
                index * CHUNK,
                job_id=f"hubfan:{hub_topic_key(topic)}:{version}:{index}",
            )
        log.info("hub: %s version %d for %d subscribers", topic, version, subscribers)
        results.append(FannedOut(topic, version, subscribers, chunks))
    return results


async def fan_out_chunk(runtime: Runtime, topic: str, version: int, start: int) -> int:
    """Queue the delivery of `version` to the subscriptions [start, start + CHUNK) of `topic`
    (by id, so every run of this chunk names the same ones); returns how many."""
    members = await runtime.redis.smembers(runtime.keys.hub_topic(topic))
    ids = sorted(m.decode() if isinstance(m, bytes) else m for m in members)[start : start + CHUNK]
    now = time.time()
    for subscription_id in ids:
        await enqueue(
            runtime,
            "hub_deliver",
            subscription_id,
            version,
            now,
            0,
            job_id=f"hubdel:{subscription_id}:{version}",
        )
    return len(ids)


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

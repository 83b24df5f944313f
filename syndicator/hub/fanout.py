"""On publish: which topics changed, a new hub version for each, and their deliveries in chunks.

A publish of category `c` changes every topic that names `c`: its plain feeds, and the
filtered and combined topics that include it. Parents and `all` publish themselves (an
ingest marks them dirty too), so their topics fan out from their own publish. For each
such topic the fan-out reads what the topic shows now (`TopicViews.document`) and stores
it as the topic's next hub version (store/hub_deliveries.py); a topic whose items did
not change (a filter that matches none of the new items) makes no version and no POST.

Subscribers are delivered to in chunks of CHUNK, each chunk's POSTs at once: the first
chunk of every changed topic by the fan-out job itself (no queue hop before the first
POST), every further chunk by a job of its own (`hub_fanout_chunk`), so 10,000
subscribers of one topic are spread over 100 jobs on every worker instead of waiting on
one. A chunk names its subscriptions by position in the sorted ids, so a chunk run again
(its worker killed) names the same ones, and delivering is idempotent per (subscription,
version) (hub/deliver.py): what was delivered before the kill is not sent again. A
delivery that fails is retried as a job of its own.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

from syndicator.hub.deliver import Outcome, Pusher, deliver
from syndicator.hub.views import TopicViews, enqueue
from syndicator.runtime import Runtime
from syndicator.store.hub import topics
from syndicator.store.hub_deliveries import record_topic_version
from syndicator.store.keys import hub_topic_key

log = logging.getLogger(__name__)

CHUNK = 100  # subscriptions per chunk: delivered at once, by one job


@dataclass(frozen=True)
class FannedOut:
    topic: str
    version: int
    subscribers: int
    chunks: int


async def fan_out(
    runtime: Runtime, views: TopicViews, pusher: Pusher, slug: str, published: int = 0
) -> list[FannedOut]:
    """A new version of every subscribed topic that the publish of `slug` version
    `published` changed; its first chunk delivered here, the other chunks queued as jobs."""
    results = await new_versions(runtime, views, slug, published)
    await asyncio.gather(*(deliver_chunk(runtime, views, pusher, r.topic, r.version, 0) for r in results))
    return results


async def new_versions(runtime: Runtime, views: TopicViews, slug: str, published: int = 0) -> list[FannedOut]:
    """A new version of every subscribed topic that `slug`'s publish changed, and the jobs
    for their chunks after the first (which the caller delivers). Run again for the same
    publish (`published`, its version: a killed fan-out job run again), a topic whose
    latest version that publish made is delivered again instead of left out."""
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
            cause=f"{slug}:{published}" if published else "",
        )
        if version is None:
            continue
        subscribers = await runtime.redis.scard(runtime.keys.hub_topic(topic))
        chunks = (subscribers + CHUNK - 1) // CHUNK
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


async def deliver_chunk(
    runtime: Runtime, views: TopicViews, pusher: Pusher, topic: str, version: int, start: int
) -> list[Outcome]:
    """Deliver `version` to the subscriptions [start, start + CHUNK) of `topic` (by id),
    all at once; what each delivery did."""
    members = await runtime.redis.smembers(runtime.keys.hub_topic(topic))
    ids = sorted(m.decode() if isinstance(m, bytes) else m for m in members)[start : start + CHUNK]
    now = time.time()
    return list(await asyncio.gather(*(deliver(runtime, views, pusher, sid, version, now, 0) for sid in ids)))

"""Ingest one push an upstream hub sent (the worker's `websub_push` job, or inline).

The normal pipeline of a poll — parse and normalise in the parse pool within the parse
limits, the processing chain, store, publish (`ingest.feed.read_feed`, `store_feed`) — but
merged: a push carries the new and changed items, never the upstream's complete list, so
nothing stored is removed for its absence, and nothing of the source's poll state
(validators, schedule, errors) is touched. The outcome goes to the subscription's delivery
counters (syndicator/subscriber/push.py `record_push`).
"""

from __future__ import annotations

from datetime import UTC, datetime

from syndicator.ingest.bounded import OverParseLimit
from syndicator.ingest.feed import read_feed, store_feed
from syndicator.ingest.report import summarise_counts
from syndicator.ingest.storing import CutShort
from syndicator.models import FetchResult, Validators
from syndicator.parse import ParseError
from syndicator.runtime import Runtime
from syndicator.store import subscriber as store
from syndicator.store.sources import halted_sources
from syndicator.subscriber.push import record_push


async def ingest_push(runtime: Runtime, source_id: str, push_id: str, *, now: datetime | None = None) -> str:
    """Parse, process, store and publish one accepted push (merged); its one-line outcome."""
    now = now or datetime.now(UTC)
    redis, keys = runtime.redis, runtime.keys
    raw = await redis.hgetall(keys.upstream_push(push_id))
    source = runtime.config.sources.get(source_id)
    if not raw or source is None:
        return f"{source_id}: push {push_id} gone (expired, done, or source removed)"
    halt = (await halted_sources(redis, keys)).get(source_id)
    if halt is not None or not source.enabled:  # an operator's pause holds pushes back too
        await redis.delete(keys.upstream_push(push_id))
        why = f"source {halt.state}" if halt else "source disabled"
        await record_push(runtime, source_id, "refused", "pushes_refused", f"refused: {why}", now)
        return f"{source_id}: push dropped: {why}"
    sub = await store.load_subscription(redis, keys, source_id)
    topic = sub.topic if sub else source.url
    body = raw[b"body"]
    fetched = FetchResult(
        url=source.url,
        final_url=topic,
        status=200,
        body=body,
        headers={"content-type": raw.get(b"content_type", b"").decode(), "content-length": str(len(body))},
        validators=Validators(),
        fetched_at=now,
    )

    async def refused(line: str) -> str:
        await record_push(runtime, source_id, "refused", "pushes_refused", line[:300], now)
        await redis.delete(keys.upstream_push(push_id))
        return f"{source_id}: {line}"

    try:
        feed = await read_feed(runtime, source, fetched, now=now)
    except (ParseError, OverParseLimit) as exc:
        return await refused(f"refused: unusable push: {exc}")
    try:
        stored = await store_feed(runtime, source, feed, now=now, run_key=f"push:{source_id}:{push_id}")
    except CutShort as exc:  # what came before the failed chunk is stored and published
        return await refused(f"refused: {exc.reason} (before it: {summarise_counts(dict(exc.counts))})")
    shown = ", ".join(f"{n} {what}" for what, n in sorted(stored.counts.items()) if n) or "nothing new"
    await record_push(runtime, source_id, "ingested", "pushes", f"ingested: {shown}", now)
    await redis.delete(keys.upstream_push(push_id))
    return f"{source_id}: push ingested: {shown}"

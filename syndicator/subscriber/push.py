"""Content distribution from an upstream hub (WebSub §7–8): judge a push, then ingest it.

`accept_push` runs in the web process, for the hub's POST to our callback. It only
judges: the body within `fetch.max_bytes` (the fetch size limit), signed with the
subscription's secret (`X-Hub-Signature`, syndicator/hub/signature.py). An unsigned or
wrongly signed push is dropped and counted (source health, `syndicator_websub_pushes_total`)
but still answered 202, as §8 allows: the sender learns nothing about the secret by trying.
A good push is kept in Redis for an hour and handed to a worker job (`websub_push`), since
the web process only serves: parsing untrusted bytes and storing is the workers' work.

`ingest_push` is that job: the normal pipeline of a poll — parse and normalise in the parse
pool within the parse limits, the processing chain, store, publish — but merged: a push
carries the new and changed items only, never the upstream's complete list, so nothing is
removed for its absence, and nothing of the source's poll state (validators, schedule,
errors) is touched; the outcome is recorded on the subscription's delivery counters.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime

from syndicator import metrics
from syndicator.hub.signature import verify
from syndicator.ingest.bounded import OverParseLimit
from syndicator.ingest.feed import read_feed, store_feed
from syndicator.models import FetchResult, Validators
from syndicator.parse import ParseError
from syndicator.runtime import Runtime
from syndicator.store import subscriber as store

log = logging.getLogger(__name__)

JOB_NAME = "websub_push"
KEEP_PUSH_SECONDS = 3600  # a push waits this long for its job, then is dropped
GONE_STATES = ("denied", "failed", "unsubscribing")  # a hub pushing here is told 410


async def _judged(
    runtime: Runtime, source_id: str, outcome: str, counter: str, line: str, now: datetime
) -> None:
    metrics.WEBSUB_PUSHES.labels(source_id, outcome).inc()
    await store.count_push(runtime.redis, runtime.keys, source_id, counter, now=now, line=line)


async def accept_push(
    runtime: Runtime,
    path: str,
    body: bytes | None,
    headers: Mapping[str, str],
    *,
    now: datetime | None = None,
) -> tuple[int, str]:
    """The answer to a hub's POST on callback `path`; `body` None: it was over the size limit."""
    now = now or datetime.now(UTC)
    redis, keys = runtime.redis, runtime.keys
    source_id = await store.source_for_callback(redis, keys, path)
    sub = await store.load_subscription(redis, keys, source_id) if source_id else None
    if sub is None or source_id not in runtime.config.sources:
        return 404, "no such subscription\n"
    if sub.state in GONE_STATES:
        return 410, "this subscription is not active\n"
    if body is None:
        limit = runtime.config.fetch.max_bytes
        await _judged(
            runtime, sub.source_id, "refused", "pushes_refused", f"refused: larger than {limit} bytes", now
        )
        return 413, f"larger than {limit} bytes\n"
    signature = headers.get("X-Hub-Signature")
    if sub.secret and not signature:
        await _judged(runtime, sub.source_id, "unsigned", "pushes_unsigned", "dropped: unsigned", now)
        log.warning("%s: unsigned push dropped", sub.source_id)
        return 202, "accepted\n"
    if sub.secret and not verify(sub.secret.encode(), body, signature):
        await _judged(
            runtime, sub.source_id, "bad_signature", "pushes_bad_signature", "dropped: bad signature", now
        )
        log.warning("%s: push with a wrong signature dropped", sub.source_id)
        return 202, "accepted\n"
    push_id = secrets.token_hex(12)
    key = keys.upstream_push(push_id)
    content_type = headers.get("Content-Type", "application/xml")
    async with redis.pipeline(transaction=True) as pipe:
        pipe.hset(key, mapping={"body": body, "content_type": content_type, "source_id": sub.source_id})
        pipe.expire(key, KEEP_PUSH_SECONDS)
        await pipe.execute()
    if runtime.queue is None:  # no worker queue (tests, a CLI process): ingest inline
        await ingest_push(runtime, sub.source_id, push_id, now=now)
    else:
        await runtime.queue.enqueue_job(
            JOB_NAME, sub.source_id, push_id, _queue_name=runtime.config.settings.queue_name
        )
    return 202, "accepted\n"


async def ingest_push(runtime: Runtime, source_id: str, push_id: str, *, now: datetime | None = None) -> str:
    """Parse, process, store and publish one accepted push (merged); its one-line outcome."""
    now = now or datetime.now(UTC)
    redis, keys = runtime.redis, runtime.keys
    raw = await redis.hgetall(keys.upstream_push(push_id))
    source = runtime.config.sources.get(source_id)
    if not raw or source is None:
        return f"{source_id}: push {push_id} gone (expired, done, or source removed)"
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
    try:
        feed = await read_feed(runtime, source, fetched, now=now)
    except (ParseError, OverParseLimit) as exc:
        line = f"refused: unusable push: {exc}"
        await _judged(runtime, source_id, "refused", "pushes_refused", line[:300], now)
        await redis.delete(keys.upstream_push(push_id))
        return f"{source_id}: {line}"
    stored = await store_feed(runtime, source, feed, now=now, run_key=f"push:{source_id}:{push_id}")
    shown = ", ".join(f"{n} {what}" for what, n in sorted(stored.counts.items()) if n) or "nothing new"
    await _judged(runtime, source_id, "ingested", "pushes", f"ingested: {shown}", now)
    await redis.delete(keys.upstream_push(push_id))
    return f"{source_id}: push ingested: {shown}"

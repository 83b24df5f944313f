"""Content distribution from an upstream hub (WebSub §7–8): judge a push, then ingest it.

`accept_push` runs in the web process, for the hub's POST to our callback. It only
judges: the body within `fetch.max_bytes` (the fetch size limit), signed with the
subscription's secret (`X-Hub-Signature`, syndicator/hub/signature.py). An unsigned or
wrongly signed push is dropped and counted (source health, `syndicator_websub_pushes_total`)
but still answered 202, as §8 allows: the sender learns nothing about the secret by trying.
A good push is kept in Redis for an hour and handed to a worker job (`websub_push`), since
the web process only serves: parsing untrusted bytes and storing is the workers' work.

`syndicator.ingest.push.ingest_push` is that job: the normal pipeline of a poll, merged
(a push is never the upstream's complete list), recorded with `record_push`.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from syndicator import metrics
from syndicator.hub.signature import verify
from syndicator.runtime import Runtime
from syndicator.store import subscriber as store
from syndicator.store.atomic import atomic

log = logging.getLogger(__name__)

JOB_NAME = "websub_push"
KEEP_PUSH_SECONDS = 3600  # a push waits this long for its job, then is dropped
GONE_STATES = ("denied", "failed", "unsubscribing")  # a hub pushing here is told 410


@dataclass(frozen=True)
class Accepted:
    """A verified push kept under `Keys.upstream_push(push_id)`, to be ingested."""

    source_id: str
    push_id: str


async def record_push(
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
) -> tuple[int, str, Accepted | None]:
    """The answer to a hub's POST on callback `path`, and the push to ingest if it was
    accepted (the caller enqueues it, or ingests it inline: syndicator/ingest/push.py);
    `body` None: it was over the size limit."""
    now = now or datetime.now(UTC)
    redis, keys = runtime.redis, runtime.keys
    source_id = await store.source_for_callback(redis, keys, path)
    sub = await store.load_subscription(redis, keys, source_id) if source_id else None
    if sub is None:
        return 404, "no such subscription\n", None
    if sub.state in GONE_STATES or source_id not in runtime.config.sources:  # 410: the hub drops it
        return 410, "this subscription is not active\n", None
    if body is None:
        limit = runtime.config.fetch.max_bytes
        await record_push(
            runtime, sub.source_id, "refused", "pushes_refused", f"refused: larger than {limit} bytes", now
        )
        return 413, f"larger than {limit} bytes\n", None
    signature = headers.get("X-Hub-Signature")
    if sub.secret and not signature:
        await record_push(runtime, sub.source_id, "unsigned", "pushes_unsigned", "dropped: unsigned", now)
        log.warning("%s: unsigned push dropped", sub.source_id)
        return 202, "accepted\n", None
    if sub.secret and not verify(sub.secret.encode(), body, signature):
        await record_push(
            runtime, sub.source_id, "bad_signature", "pushes_bad_signature", "dropped: bad signature", now
        )
        log.warning("%s: push with a wrong signature dropped", sub.source_id)
        return 202, "accepted\n", None
    push_id = secrets.token_hex(12)
    key = keys.upstream_push(push_id)
    content_type = headers.get("Content-Type", "application/xml")
    async with atomic(redis) as pipe:
        pipe.hset(key, mapping={"body": body, "content_type": content_type, "source_id": sub.source_id})
        pipe.expire(key, KEEP_PUSH_SECONDS)
        await pipe.execute()
    return 202, "accepted\n", Accepted(sub.source_id, push_id)

"""Runs: what became of each ingest a scheduler tick or an operator queued (and of each
reprocess job, operate/reprocess.py: kind `reprocess`, one run per job of at most 200 articles).

arq keeps no result of our per-source jobs (`keep_result=0`, so a finished ingest never
blocks the next enqueue of its job id) and cannot say what a job did. So every enqueue
gets a run id and a record of our own: queued → running (tries counted, worker named) →
done (with the report's line) or failed (with the reason). A retry puts the run back to
`queued` with the reason it is retried; arq's re-run of a job a dead worker held
marks it running again.

Records live `RUN_TTL` (7 days) and each source keeps the ids of its last `KEEP_PER_SOURCE`
(50) runs, newest first. Runs queued or running are also in one sorted set, so "what is
in progress" is one read, not a scan; entries whose record expired are dropped on read.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from redis.asyncio import Redis

from syndicator.store.atomic import atomic
from syndicator.store.keys import Keys

RUN_TTL = timedelta(days=7)
KEEP_PER_SOURCE = 50

RunState = Literal["queued", "running", "done", "failed"]
RunKind = Literal["schedule", "reingest", "reprocess"]
PENDING_STATES = ("queued", "running")


@dataclass(frozen=True)
class Run:
    """One ingest of one source, from enqueue to its end (times are ISO 8601, UTC)."""

    run_id: str
    source_id: str
    kind: str  # "schedule" (the scheduler's tick), "reingest" (an operator asked), "reprocess" (one job)
    state: str  # queued | running | done | failed
    queued_at: str
    started_at: str | None = None
    finished_at: str | None = None
    tries: int = 0
    summary: str | None = None  # done: what the ingest did (`3 new, 1 changed`, `not modified`)
    reason: str | None = None  # failed (or queued again for a retry): why
    force: bool = False
    worker: str | None = None  # the worker id that ran (or last tried) it

    @property
    def pending(self) -> bool:
        return self.state in PENDING_STATES

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def new_run_id() -> str:
    """16 hex characters: unique enough for 7 days of runs, short enough to type."""
    return secrets.token_hex(8)


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="seconds")


def _ttl() -> int:
    return int(RUN_TTL.total_seconds())


def _from_hash(run_id: str, raw: dict[bytes, bytes]) -> Run | None:
    if not raw:
        return None
    f = {k.decode(): v.decode() for k, v in raw.items()}
    return Run(
        run_id=run_id,
        source_id=f.get("source_id", ""),
        kind=f.get("kind", "schedule"),
        state=f.get("state", "queued"),
        queued_at=f.get("queued_at", ""),
        started_at=f.get("started_at") or None,
        finished_at=f.get("finished_at") or None,
        tries=int(f.get("tries", 0)),
        summary=f.get("summary") or None,
        reason=f.get("reason") or None,
        force=f.get("force") == "1",
        worker=f.get("worker") or None,
    )


async def create_run(
    redis: Redis,
    keys: Keys,
    source_id: str,
    *,
    kind: RunKind,
    force: bool = False,
    now: datetime | None = None,
    run_id: str | None = None,
) -> Run:
    """Record a run as queued (before its job is enqueued, so the worker always finds it)."""
    run = Run(
        run_id=run_id or new_run_id(),
        source_id=source_id,
        kind=kind,
        state="queued",
        queued_at=_iso(now or datetime.now(UTC)),
        force=force,
    )
    key, listing = keys.run(run.run_id), keys.source_runs(source_id)
    async with atomic(redis) as pipe:
        pipe.hset(
            key,
            mapping={
                "source_id": source_id,
                "kind": kind,
                "state": "queued",
                "queued_at": run.queued_at,
                "tries": 0,
                "force": "1" if force else "0",
            },
        )
        pipe.expire(key, _ttl())
        pipe.lpush(listing, run.run_id)
        pipe.ltrim(listing, 0, KEEP_PER_SOURCE - 1)
        pipe.expire(listing, _ttl())
        pipe.zadd(keys.active_runs, {run.run_id: (now or datetime.now(UTC)).timestamp()})
        await pipe.execute()
    return run


async def discard_run(redis: Redis, keys: Keys, run: Run) -> None:
    """Forget a run whose job was never enqueued (one was already pending): no record stays."""
    async with atomic(redis) as pipe:
        pipe.delete(keys.run(run.run_id))
        pipe.lrem(keys.source_runs(run.source_id), 0, run.run_id)
        pipe.zrem(keys.active_runs, run.run_id)
        await pipe.execute()


async def mark_running(
    redis: Redis, keys: Keys, run_id: str, *, worker: str, try_number: int, now: datetime | None = None
) -> None:
    """The job started (try `try_number`, as arq counts them) on `worker`."""
    key, now = keys.run(run_id), now or datetime.now(UTC)
    async with atomic(redis) as pipe:
        pipe.hset(
            key,
            mapping={
                "state": "running",
                "started_at": _iso(now),
                "tries": try_number,
                "worker": worker,
            },
        )
        pipe.hdel(key, "finished_at")
        pipe.expire(key, _ttl())
        pipe.zadd(keys.active_runs, {run_id: now.timestamp()}, nx=True)  # a re-run after a failure
        await pipe.execute()


async def mark_retrying(redis: Redis, keys: Keys, run_id: str, *, reason: str) -> None:
    """The try failed in a way another try may mend: queued again, with the reason."""
    key = keys.run(run_id)
    async with atomic(redis) as pipe:
        pipe.hset(key, mapping={"state": "queued", "reason": reason})
        pipe.expire(key, _ttl())
        await pipe.execute()


async def finish_run(
    redis: Redis,
    keys: Keys,
    run_id: str,
    *,
    ok: bool,
    summary: str | None = None,
    reason: str | None = None,
    now: datetime | None = None,
) -> None:
    """The run ended: `done` with its summary, or `failed` with its reason."""
    key = keys.run(run_id)
    fields = {"state": "done" if ok else "failed", "finished_at": _iso(now or datetime.now(UTC))}
    if summary is not None:
        fields["summary"] = summary
    if reason is not None:
        fields["reason"] = reason
    async with atomic(redis) as pipe:
        pipe.hset(key, mapping=fields)
        if ok:
            pipe.hdel(key, "reason")  # a retry's reason is history once a try succeeded
        pipe.expire(key, _ttl())
        pipe.zrem(keys.active_runs, run_id)
        await pipe.execute()


async def load_run(redis: Redis, keys: Keys, run_id: str) -> Run | None:
    return _from_hash(run_id, await redis.hgetall(keys.run(run_id)))


async def load_runs(redis: Redis, keys: Keys, run_ids: Iterable[str]) -> list[Run]:
    """The runs still recorded among `run_ids`, in the given order."""
    ids = list(run_ids)
    if not ids:
        return []
    async with redis.pipeline(transaction=False) as pipe:
        for run_id in ids:
            pipe.hgetall(keys.run(run_id))
        raws = await pipe.execute()
    return [run for run_id, raw in zip(ids, raws, strict=True) if (run := _from_hash(run_id, raw))]


async def recent_runs(redis: Redis, keys: Keys, source_id: str, limit: int = KEEP_PER_SOURCE) -> list[Run]:
    """A source's last runs (at most 50), newest first."""
    ids = [i.decode() for i in await redis.lrange(keys.source_runs(source_id), 0, max(0, limit - 1))]
    return await load_runs(redis, keys, ids)


async def pending_run(redis: Redis, keys: Keys, source_id: str) -> Run | None:
    """The newest run of `source_id` still queued or running, if any."""
    for run in await recent_runs(redis, keys, source_id, limit=5):
        if run.pending:
            return run
    return None


async def active_runs(redis: Redis, keys: Keys) -> list[Run]:
    """Runs queued or running, oldest first; ids whose record expired are dropped."""
    ids = [i.decode() for i in await redis.zrange(keys.active_runs, 0, -1)]
    runs = await load_runs(redis, keys, ids)
    found = {r.run_id for r in runs}
    stale = [i for i in ids if i not in found] + [r.run_id for r in runs if not r.pending]
    if stale:
        await redis.zrem(keys.active_runs, *stale)
    return [r for r in runs if r.pending]

"""Worker heartbeats: one key per worker, so an operator sees every worker alive.

arq has one health-check key per queue, which every worker overwrites: it cannot say how
many workers there are, nor which one stopped. Each of ours writes its own key every
beat interval, with a TTL of three intervals: a worker that dies (killed, host lost)
disappears from `live_workers` within three intervals, one that stops cleanly removes
its key at once, and a restarted one comes back under a new id.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from redis.asyncio import Redis

from syndicator.store.keys import Keys

BEAT_INTERVAL = 10.0  # seconds between beats; a key lives three of them
TTL_BEATS = 3


@dataclass(frozen=True)
class Heartbeat:
    """What one worker last said about itself (times ISO 8601, UTC)."""

    worker_id: str
    host: str
    pid: int
    started: str
    last_beat: str
    jobs_running: int
    beat_interval: float

    def age(self, now: datetime | None = None) -> float:
        """Seconds since the last beat."""
        return max(0.0, ((now or datetime.now(UTC)) - datetime.fromisoformat(self.last_beat)).total_seconds())

    def stale(self, now: datetime | None = None) -> bool:
        """Older than two intervals: a beat was missed (the key lives until three)."""
        return self.age(now) > 2 * self.beat_interval

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def new_worker_id() -> str:
    """`host:pid:random`: readable, and a restarted worker (same pid in a container) is new."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="milliseconds")


async def write_heartbeat(
    redis: Redis,
    keys: Keys,
    worker_id: str,
    *,
    started: datetime,
    jobs_running: int,
    beat_interval: float = BEAT_INTERVAL,
    now: datetime | None = None,
) -> Heartbeat:
    """Write (or refresh) this worker's heartbeat; it expires after 3 × `beat_interval`."""
    host, _, rest = worker_id.partition(":")
    beat = Heartbeat(
        worker_id=worker_id,
        host=host or socket.gethostname(),
        pid=int(rest.partition(":")[0]) if rest.partition(":")[0].isdigit() else os.getpid(),
        started=_iso(started),
        last_beat=_iso(now or datetime.now(UTC)),
        jobs_running=jobs_running,
        beat_interval=beat_interval,
    )
    ttl_ms = max(1, int(TTL_BEATS * beat_interval * 1000))
    await redis.set(keys.heartbeat(worker_id), json.dumps(asdict(beat)), px=ttl_ms)
    return beat


async def remove_heartbeat(redis: Redis, keys: Keys, worker_id: str) -> None:
    """A worker stopping cleanly says so at once instead of waiting for its key to expire."""
    await redis.delete(keys.heartbeat(worker_id))


async def live_workers(redis: Redis, keys: Keys) -> list[Heartbeat]:
    """Every worker whose heartbeat has not expired, by host and start time."""
    found = [k async for k in redis.scan_iter(match=keys.match("worker:*"), count=500)]
    if not found:
        return []
    beats = []
    for raw in await redis.mget(found):
        if raw is None:  # expired between the scan and the read
            continue
        try:
            beats.append(Heartbeat(**json.loads(raw)))
        except (TypeError, ValueError):
            continue  # not ours to interpret (a foreign writer); never fatal to a listing
    return sorted(beats, key=lambda b: (b.host, b.started, b.worker_id))

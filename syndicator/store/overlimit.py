"""Documents whose parse went over a limit, remembered by the sha256 of their bytes.

A feed that takes the parser past `fetch.parse_timeout` (or `fetch.parse_memory`) would do
so again on every poll, costing a child process and the full timeout each time. Its digest
is kept here, with the limits it went over, so the next poll of the same bytes answers at
once with "unchanged document over the parse limit"; changed bytes (a new digest) are
parsed again, and so are the same bytes once the limits are raised above those recorded.
Entries expire after `REMEMBER`, so the record cannot grow without bound.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from redis.asyncio import Redis

from syndicator.store.keys import Keys

REMEMBER = 30 * 24 * 3600  # seconds


@dataclass(frozen=True)
class OverLimitRecord:
    reason: str  # what happened the time it was parsed, e.g. "parse took longer than 10 s …"
    timeout: float  # the limits it went over
    memory: int

    def still_applies(self, timeout: float, memory: int) -> bool:
        """True unless a limit has been raised since: then the document deserves a new try."""
        return timeout <= self.timeout and memory <= self.memory


def document_digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


async def remember_over_limit(redis: Redis, keys: Keys, digest: str, record: OverLimitRecord) -> None:
    value = json.dumps({"reason": record.reason, "timeout": record.timeout, "memory": record.memory})
    await redis.set(keys.over_limit(digest), value, ex=REMEMBER)


async def over_limit(redis: Redis, keys: Keys, digest: str) -> OverLimitRecord | None:
    raw = await redis.get(keys.over_limit(digest))
    if raw is None:
        return None
    data = json.loads(raw)
    return OverLimitRecord(str(data["reason"]), float(data["timeout"]), int(data["memory"]))

"""The audit log: the last operators' actions, newest first, in one capped Redis list.

Each entry is one JSON object `{"at", "who", "action", "target", "outcome", "detail"}`
pushed at the head of `{prefix}audit`, and the list trimmed to `KEEP` in the same
transaction, so it never holds more than the last 1,000 actions however many processes
write to it. An entry that cannot be read (written by hand) is skipped by readers, never
an error.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from redis.asyncio import Redis

from syndicator.store.atomic import atomic
from syndicator.store.keys import Keys

KEEP = 1000  # entries kept; the oldest beyond this are dropped as new ones arrive
FIELD_CHARS = 500  # longest target or detail kept, in characters


@dataclass(frozen=True)
class AuditEntry:
    """One action: when (ISO 8601, UTC), who (a client address, or `cli:user@host`), what
    (`action` on `target`), and how it ended (`outcome`: ok, refused or failed; `detail`)."""

    at: str
    who: str
    action: str
    target: str
    outcome: str
    detail: str = ""

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def _cut(text: str) -> str:
    return text if len(text) <= FIELD_CHARS else text[: FIELD_CHARS - 1] + "…"


async def append_entry(redis: Redis, keys: Keys, entry: AuditEntry) -> None:
    """Put `entry` at the head of the log and drop what is beyond `KEEP`, atomically."""
    record = {k: _cut(v) for k, v in entry.as_dict().items()}
    raw = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
    async with atomic(redis) as pipe:
        pipe.lpush(keys.audit, raw)
        pipe.ltrim(keys.audit, 0, KEEP - 1)
        await pipe.execute()


def _entry(raw: bytes | str) -> AuditEntry | None:
    try:
        data = json.loads(raw)
        return AuditEntry(
            at=str(data["at"]),
            who=str(data["who"]),
            action=str(data["action"]),
            target=str(data["target"]),
            outcome=str(data["outcome"]),
            detail=str(data.get("detail", "")),
        )
    except (ValueError, KeyError, TypeError):
        return None


async def read_entries(redis: Redis, keys: Keys, limit: int = KEEP) -> list[AuditEntry]:
    """The newest `limit` entries (at most `KEEP`), newest first."""
    raws = await redis.lrange(keys.audit, 0, max(1, min(limit, KEEP)) - 1)
    return [entry for raw in raws if (entry := _entry(raw)) is not None]

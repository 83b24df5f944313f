"""Near-duplicate clusters in Redis: fingerprints, LSH bands, copies (process/cluster.py).

- `{prefix}fp:{id}`: a representative's fingerprint (`Fingerprint` JSON: signature, its
  canonical URL, its band values).
- `{prefix}lsh:{band}:{value}`: set of the representatives with that value in that band.
- `{prefix}cluster-of`: hash of a copy's article id → its representative's id.

A copy has no record of its own: it is an entry of its representative's `related`
(models.Related). Takedown (store/takedown.py) removes either side: a representative's
fingerprint, bands and copies' entries (`forget`); a copy's entry in its representative's
`related` (`drop_copy`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace

from redis.asyncio import Redis
from redis.exceptions import WatchError

from syndicator.models import Related
from syndicator.store.codec import article_from_json, article_to_json
from syndicator.store.keys import Keys


@dataclass(frozen=True)
class StoredPrint:
    """A representative's fingerprint as stored: its signature, canonical URL, bands, and
    its source and folded title (a copy from the same source must have the same title)."""

    signature: tuple[int, ...]
    url: str
    bands: tuple[str, ...]
    source_id: str = ""
    title: str = ""

    def to_json(self) -> str:
        return json.dumps(
            {
                "sig": [str(v) for v in self.signature],
                "url": self.url,
                "bands": self.bands,
                "source": self.source_id,
                "title": self.title,
            },
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, raw: str | bytes) -> StoredPrint:
        data = json.loads(raw)
        return cls(
            tuple(int(v) for v in data["sig"]),
            str(data["url"]),
            tuple(data["bands"]),
            str(data.get("source", "")),
            str(data.get("title", "")),
        )


async def forget(redis: Redis, keys: Keys, article_id: str, *, copies: bool = True) -> None:
    """Remove `article_id` from the clusters: as a representative (its fingerprint and
    bands and, with `copies`, the entries of the copies pointing at it: a read of the
    whole `cluster-of` hash, for takedown only), and as a copy (its `cluster-of` entry)."""
    raw = await redis.get(keys.fingerprint(article_id))
    members: list[str] = []
    if copies:
        entries = await redis.hgetall(keys.cluster_of)
        members = [k.decode() for k, v in entries.items() if v.decode() == article_id]
    async with redis.pipeline(transaction=True) as pipe:
        if raw is not None:
            stored = StoredPrint.from_json(raw)
            for band, value in enumerate(stored.bands):
                pipe.srem(keys.lsh_band(band, value), article_id)
            pipe.delete(keys.fingerprint(article_id))
        pipe.hdel(keys.cluster_of, article_id)
        if members:
            pipe.hdel(keys.cluster_of, *members)
        await pipe.execute()


@dataclass(frozen=True)
class DroppedCopy:
    """What `drop_copy` did: the copy's entry removed and its representative's indexes."""

    related: Related
    representative: str
    indexes: tuple[str, ...]


async def drop_copy(redis: Redis, keys: Keys, copy_id: str) -> DroppedCopy | None:
    """Take the copy `copy_id` out of its representative's `related` (and its source out
    of `sources` when no other copy of that source remains); None when it is no copy.
    The representative's content hash and `updated` do not change."""
    rep = await redis.hget(keys.cluster_of, copy_id)
    if rep is None:
        return None
    rep_id = rep.decode()
    record_key = keys.article(rep_id)
    while True:
        async with redis.pipeline(transaction=True) as pipe:
            try:
                await pipe.watch(record_key)
                raw = await pipe.get(record_key)
                found = [r for r in article_from_json(raw)[0].related if r.id == copy_id] if raw else []
                pipe.multi()
                pipe.hdel(keys.cluster_of, copy_id)
                indexes: tuple[str, ...] = ()
                if raw and found:
                    article, indexes = article_from_json(raw)
                    kept = tuple(r for r in article.related if r.id != copy_id)
                    still = {article.source_id, *(r.source_id for r in kept)}
                    sources = tuple(s for s in article.sources if s in still or s != found[0].source_id)
                    pipe.set(
                        record_key,
                        article_to_json(replace(article, related=kept, sources=sources), indexes=indexes),
                    )
                await pipe.execute()
            except WatchError:
                continue
        if not found:
            return None
        return DroppedCopy(found[0], rep_id, indexes)

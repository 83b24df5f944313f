"""Near-duplicate clusters in Redis: fingerprints, LSH bands, copies (process/cluster.py).

- `{prefix}fp:{id}`: a representative's fingerprint (`Fingerprint` JSON: signature, its
  canonical URL, its band values).
- `{prefix}lsh:{band}:{value}`: set of the representatives with that value in that band.
- `{prefix}cluster-of`: hash of a copy's article id → its representative's id.

A copy has no record of its own: it is an entry of its representative's `related`
(models.Related, which also says where the copy is and what it brought). Takedown
(store/takedown.py) removes either side: a representative's fingerprint, bands and
copies' entries (`forget`); a copy's entry in its representative's `related`, and the
categories only that copy brought (`drop_copy`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace

from redis.asyncio import Redis
from redis.exceptions import WatchError

from syndicator.models import Article, Related
from syndicator.store.codec import article_from_json, article_to_json
from syndicator.store.keys import Keys
from syndicator.words import fold

BUCKET_CAP = 16
"""The most representatives one LSH band bucket takes. A bucket this full holds a band
that very common text produces (boilerplate, frequent phrases), not a story's: it takes
no new members, so a lookup reads at most this many ids per band however large the
store grows (a true copy shares many other bands with its representative)."""


@dataclass(frozen=True)
class StoredPrint:
    """A representative's fingerprint as stored: its signature, canonical URL, bands, and
    its source and folded title (a copy from the same source must have the same title)."""

    signature: tuple[int, ...]
    url: str
    bands: tuple[str, ...]
    source_id: str = ""
    title: str = ""

    @classmethod
    def of(cls, article: Article, signature: tuple[int, ...], bands: tuple[str, ...]) -> StoredPrint:
        """What a representative stores: its fingerprint beside its URL, source and folded title."""
        return cls(signature, article.url, bands, article.source_id, fold(article.title).strip())

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
    """What `drop_copy` did: the copy's entry removed, its representative, the indexes the
    representative was in (to publish again) and the categories it left with the copy."""

    related: Related
    representative: str
    indexes: tuple[str, ...]
    left: tuple[str, ...] = ()


def without_copy(article: Article, copy: Related) -> tuple[Article, tuple[str, ...]]:
    """`article` (a representative) once its listed copy `copy` is taken down, and the
    categories it leaves: those the copy brought (`Related.added`) that no remaining listed
    copy has. Its own categories, and those of copies beyond the list (whose entries are
    gone, so their categories count as its own), stay. A category the copy brought that a
    remaining copy has passes to that copy's `added`, so taking that one down later takes
    it away."""
    kept = [r for r in article.related if r.id != copy.id]
    left: list[str] = []
    for slug in copy.added:
        heir = next((i for i, r in enumerate(kept) if slug in r.categories), None)
        if heir is None:
            left.append(slug)
        else:
            kept[heir] = replace(kept[heir], added=(*kept[heir].added, slug))
    still = {article.source_id, *(r.source_id for r in kept)}
    sources = tuple(s for s in article.sources if s in still or s != copy.source_id)
    categories = tuple(c for c in article.categories if c not in left)
    return replace(article, related=tuple(kept), sources=sources, categories=categories), tuple(left)


async def drop_copy(redis: Redis, keys: Keys, copy_id: str) -> DroppedCopy | None:
    """Take the copy `copy_id` out of its representative's `related` (and its source out
    of `sources` when no other copy of that source remains, and the representative out of
    the categories only the copy brought: `without_copy`); None when it is no listed copy
    (a copy beyond `RELATED_SHOWN` is only counted: it stays in `related_more`). The
    representative's content hash and `updated` do not change."""
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
                pipe.multi()
                pipe.hdel(keys.cluster_of, copy_id)
                if raw is None:
                    await pipe.execute()
                    return None
                article, indexes = article_from_json(raw)
                found = next((r for r in article.related if r.id == copy_id), None)
                if found is None:  # not listed (its own source's repost, or beyond the list)
                    await pipe.execute()
                    return None
                changed, left = without_copy(article, found)
                gone = tuple(slug for slug in indexes if slug in left)
                for slug in gone:
                    pipe.zrem(keys.category_index(slug), rep_id)
                    pipe.zrem(keys.sequence(slug), rep_id)
                    pipe.zrem(keys.evicted(slug), rep_id)
                    for source_id in {article.source_id, *article.sources}:
                        pipe.zrem(keys.source_index(slug, source_id), rep_id)
                kept = tuple(slug for slug in indexes if slug not in gone)
                pipe.set(record_key, article_to_json(changed, indexes=kept))
                await pipe.execute()
            except WatchError:
                continue
        return DroppedCopy(found, rep_id, indexes, left)

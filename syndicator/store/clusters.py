"""Near-duplicate clusters in Redis: fingerprints, LSH bands, copies (process/cluster.py).

- `{prefix}fp:{id}`: a representative's fingerprint (`Fingerprint` JSON: signature, its
  canonical URL, its band values).
- `{prefix}bands:{band}:{bucket}`: hash of that band's values whose first `BUCKET_DIGITS`
  hex digits are `bucket` (the field is the rest of the value) → the ids of the
  representatives with that value, space-separated (`band_members`, `add_band_members`).
- `{prefix}cluster-of`: hash of a copy's article id → its representative's id.

A copy has no record of its own: it is an entry of its representative's `related`
(models.Related, which also says where the copy is and what it brought). Takedown
(store/takedown.py) removes either side: a representative's fingerprint, bands and
copies' entries (`forget`); a copy's entry in its representative's `related`, and the
categories only that copy brought (`drop_copy`).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
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

BUCKET_DIGITS = 2
"""How many leading hex digits of a band value name its bucket hash: 256 hashes a band,
16,384 in all. A set a value (layout 3) cost about 300 bytes of Redis memory for its one
member; a hash field of a small hash costs about 50, as long as the hash stays in Redis's
compact listpack encoding (at most `hash-max-listpack-entries` fields, 128 by default in
Redis 7, and values of at most 64 bytes: one id). At 256 buckets a band that holds up to
about 25,000 representatives; a larger store's hashes turn into hash tables, which still
cost a third of the sets (README, Benchmarks)."""

_ADD = """
local cap = tonumber(ARGV[1])
for i = 2, #ARGV, 2 do
  local field, id = ARGV[i], ARGV[i + 1]
  local members = redis.call('HGET', KEYS[1], field)
  if not members then
    redis.call('HSET', KEYS[1], field, id)
  else
    local count, present = 0, false
    for member in string.gmatch(members, '%S+') do
      count = count + 1
      if member == id then present = true end
    end
    if not present and count < cap then
      redis.call('HSET', KEYS[1], field, members .. ' ' .. id)
    end
  end
end
"""
"""KEYS[1] a bucket hash; ARGV: the cap, then (field, id) pairs: each id joins its field's
members unless already there or the field holds `cap`. A script, since appending is a read
and a write; one key, so it runs on a Redis Cluster too, and a re-run changes nothing."""

_REMOVE = """
for i = 2, #ARGV do
  local members = redis.call('HGET', KEYS[1], ARGV[i])
  if members then
    local kept = {}
    for member in string.gmatch(members, '%S+') do
      if member ~= ARGV[1] then kept[#kept + 1] = member end
    end
    if #kept == 0 then
      redis.call('HDEL', KEYS[1], ARGV[i])
    else
      redis.call('HSET', KEYS[1], ARGV[i], table.concat(kept, ' '))
    end
  end
end
"""
"""KEYS[1] a bucket hash; ARGV: an id, then fields: the id leaves each field's members."""


def band_entry(keys: Keys, band: int, value: str) -> tuple[str, str]:
    """The bucket hash and field of `value` in `band`."""
    return keys.lsh_bucket(band, value[:BUCKET_DIGITS]), value[BUCKET_DIGITS:]


async def band_members(
    redis: Redis, keys: Keys, wanted: Iterable[tuple[int, str]]
) -> dict[tuple[int, str], list[str]]:
    """The representatives' ids of each (band, value) of `wanted` (an empty list: none),
    in one round trip: one HMGET a bucket hash, for all its values asked for."""
    fields: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for band, value in set(wanted):
        fields[keys.lsh_bucket(band, value[:BUCKET_DIGITS])].append((band, value))
    if not fields:
        return {}
    async with redis.pipeline(transaction=False) as pipe:
        for key, entries in fields.items():
            pipe.hmget(key, [value[BUCKET_DIGITS:] for _band, value in entries])
        replies = await pipe.execute()
    found: dict[tuple[int, str], list[str]] = {}
    for entries, values in zip(fields.values(), replies, strict=True):
        for entry, members in zip(entries, values, strict=True):
            found[entry] = members.decode().split() if members else []
    return found


async def add_band_members(
    redis: Redis, pipe: Pipeline, keys: Keys, entries: Iterable[tuple[int, str, str]]
) -> None:
    """Queue on `pipe` the (band, value, id) entries' writes: one script call a bucket
    hash (`_ADD`), a bucket taking at most `BUCKET_CAP` ids a value."""
    pairs: dict[str, list[str]] = defaultdict(list)
    for band, value, article_id in entries:
        key, field = band_entry(keys, band, value)
        pairs[key] += (field, article_id)
    script = redis.register_script(_ADD)
    for key, args in pairs.items():
        await script(keys=[key], args=[BUCKET_CAP, *args], client=pipe)


async def remove_band_members(
    redis: Redis, pipe: Pipeline, keys: Keys, article_id: str, bands: Sequence[str]
) -> None:
    """Queue on `pipe` the removal of `article_id` from its bands' buckets (`_REMOVE`)."""
    fields: dict[str, list[str]] = defaultdict(list)
    for band, value in enumerate(bands):
        key, field = band_entry(keys, band, value)
        fields[key].append(field)
    script = redis.register_script(_REMOVE)
    for key, names in fields.items():
        await script(keys=[key], args=[article_id, *names], client=pipe)


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
            await remove_band_members(redis, pipe, keys, article_id, stored.bands)
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

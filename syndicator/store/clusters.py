"""Near-duplicate clusters in Redis: fingerprints, LSH bands, copies (process/cluster.py).

- `{prefix}fp:{id}`: a representative's fingerprint (`Fingerprint` JSON: signature, its
  canonical URL, its band values).
- `{prefix}bands:{b:BUCKET}:{band}`: hash of that band's values whose first
  `BUCKET_DIGITS` hex digits are BUCKET (the field is the rest of the value) → the ids of
  the representatives with that value, space-separated (`band_members`, `add_band_members`).
- `{prefix}cluster-of`: hash of a copy's article id → its representative's id.

A copy has no record of its own: it is an entry of its representative's `related`
(models.Related, which also says where the copy is and what it brought). Takedown
(store/takedown.py) removes either side: a representative's fingerprint, bands and
copies' entries (`forget`); a copy's entry in its representative's `related`, and the
categories only that copy brought (`drop_copy`).
"""

from __future__ import annotations

import itertools
import json
import operator
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from redis.asyncio import Redis
from redis.exceptions import WatchError

from syndicator.models import Article, Related
from syndicator.store.atomic import atomic, is_cluster, run_scripts
from syndicator.store.codec import article_from_json, article_to_json
from syndicator.store.keys import Keys
from syndicator.words import fold

BUCKET_CAP = 16
"""The most representatives one LSH band bucket takes. A bucket this full holds a band
that very common text produces (boilerplate, frequent phrases), not a story's: it takes
no new members, so a lookup reads at most this many ids per band however large the
store grows (a true copy shares many other bands with its representative)."""

BUCKET_DIGITS = 2
"""How many leading hex digits of a band value name its bucket: a band's values are spread
over 256 hashes, 16,384 in all. A set a value (layout 3) cost about 270 bytes of Redis
memory for its usual one member; a field of a small hash about 50, as long as the hash
keeps Redis's compact listpack encoding (at most `hash-max-listpack-entries` fields, 128
by default in Redis 7, and values of at most 64 bytes: one id). A band's 256 hashes stay
that small up to about 20,000 representatives (a hash then holds about 80 fields; the
fullest of the 16,384 some 40 more); a larger store's turn into hash tables one by one,
which still cost about a third of the sets."""

_READ = """
local found, n = {}, 0
for k, field in string.gmatch(ARGV[1], '(%d+) (%S+)') do
  n = n + 1
  found[n] = redis.call('HGET', KEYS[tonumber(k)], field) or ''
end
return table.concat(found, ',')
"""
"""KEYS: bucket hashes (`_calls`); ARGV[1]: `key-number field` pairs, space-separated. Returns the
fields' ids, a field's space-separated, the fields' comma-separated ('' for none)."""

_JOIN = """
local function join(key, field, id, cap)
  if redis.call('HSETNX', key, field, id) == 0 then
    local members = redis.call('HGET', key, field)
    local count, present = 0, false
    for member in string.gmatch(members, '%S+') do
      count = count + 1
      if member == id then present = true end
    end
    if not present and count < cap then
      redis.call('HSET', key, field, members .. ' ' .. id)
    end
  end
end
"""
"""Lua: `id` joins the space-separated ids of `field` in the bucket hash `key`, unless it
is there already or the field holds `cap` (both add scripts)."""

_ADD = (
    _JOIN
    + """
local cap = tonumber(ARGV[1])
for k, field, id in string.gmatch(ARGV[2], '(%d+) (%S+) (%S+)') do
  join(KEYS[tonumber(k)], field, id, cap)
end
"""
)
"""KEYS: bucket hashes; ARGV[1] the cap, ARGV[2] `key-number field id` triples: each id
joins its field's ids unless already there or the field holds `cap`. A script, since
appending is a read and a write; and a re-run changes nothing."""

_REMOVE = """
for k, field in string.gmatch(ARGV[2], '(%d+) (%S+)') do
  local key = KEYS[tonumber(k)]
  local members = redis.call('HGET', key, field)
  if members then
    local kept = {}
    for member in string.gmatch(members, '%S+') do
      if member ~= ARGV[1] then kept[#kept + 1] = member end
    end
    if #kept == 0 then
      redis.call('HDEL', key, field)
    else
      redis.call('HSET', key, field, table.concat(kept, ' '))
    end
  end
end
"""
"""KEYS: bucket hashes; ARGV[1] an id, ARGV[2] `key-number field` pairs: the id leaves them."""

# A script call takes the hashes it reads or writes, and their fields packed in one
# argument. The client's cost is mostly a cost an argument and a command: a command a
# band value (SADD, layout 3) was 32,000 commands and 96,000 arguments for a 500-entry
# feed. On one Redis, all of a lookup's or a write's fields go in one call naming only
# the hashes they use; on a Redis Cluster, one call a bucket (`Keys.lsh_bucket` puts the
# bucket in a hash tag, so a bucket's hashes share a slot), 256 at most. (A call a bucket
# naming all 64 hashes each was 33,000 arguments a 100-article chunk, which feed ingest
# now stores one after the other: `ingest.pipeline`.)


def _calls(
    redis: Redis, keys: Keys, items: Iterable[tuple[int, str, str]]
) -> tuple[list[tuple[list[str], str]], list[list[tuple[int, str, str]]]]:
    """The script calls for (band, value, extra) `items`: each call's KEYS and its fields
    packed (`key-number field[ extra]`, space-separated), and the items of each call in
    the order packed (a call's replies come in that order)."""
    groups: dict[str, list[tuple[int, str, str]]] = defaultdict(list)
    if is_cluster(redis):
        for item in items:
            groups[item[1][:BUCKET_DIGITS]].append(item)
    elif listed := list(items):
        groups[""] = listed
    calls: list[tuple[list[str], str]] = []
    for grouped in groups.values():
        number: dict[tuple[int, str], int] = {}
        fields: list[str] = []
        for band, value, extra in grouped:
            hashed = (band, value[:BUCKET_DIGITS])
            n = number.setdefault(hashed, len(number) + 1)
            fields.append(f"{n} {value[BUCKET_DIGITS:]} {extra}" if extra else f"{n} {value[BUCKET_DIGITS:]}")
        calls.append(([keys.lsh_bucket(band, bucket) for band, bucket in number], " ".join(fields)))
    return calls, list(groups.values())


async def band_members(
    redis: Redis, keys: Keys, wanted: Iterable[tuple[int, str]]
) -> dict[tuple[int, str], list[str]]:
    """The representatives' ids of each (band, value) of `wanted` (an empty list: none),
    in one round trip (`_READ`: see `_calls`)."""
    calls, groups = _calls(redis, keys, ((band, value, "") for band, value in wanted))
    if not calls:
        return {}
    replies = await run_scripts(redis, _READ, [(hashes, [packed]) for hashes, packed in calls])
    found: dict[tuple[int, str], list[str]] = {}
    for items, reply in zip(groups, replies, strict=True):
        for (band, value, _extra), ids in zip(items, reply.decode().split(","), strict=True):
            found[band, value] = ids.split() if ids else []
    return found


async def add_band_members(redis: Redis, keys: Keys, entries: Iterable[tuple[int, str, str]]) -> None:
    """Write the (band, value, id) entries in one round trip (`_ADD`: see `_calls`), a
    value taking at most `BUCKET_CAP` ids."""
    calls, _items = _calls(redis, keys, entries)
    if calls:
        await run_scripts(redis, _ADD, [(hashes, [BUCKET_CAP, packed]) for hashes, packed in calls])


async def remove_band_members(redis: Redis, keys: Keys, article_id: str, bands: Sequence[str]) -> None:
    """Remove `article_id` from its bands' values (`_REMOVE`: see `_calls`)."""
    calls, _items = _calls(redis, keys, ((band, value, "") for band, value in enumerate(bands)))
    if calls:
        await run_scripts(redis, _REMOVE, [(hashes, [article_id, packed]) for hashes, packed in calls])


# The clustering step's lookups and writes, one 100-article chunk at a time: 6,400 band
# values each way. `_calls` packs them one by one (the key number, the field), which was
# most of the step's CPU in the event loop's process (~100 ms of the ~290 ms the step
# took for the bench's 500 new entries). For fingerprints whose band values all have one
# width (`fingerprint.bands`: 16 hex digits), `print_members` and `add_print_members`
# send each fingerprint's values as one string and the script cuts them and names each
# value's hash itself: the same commands, in the same order, as `band_members` and
# `add_band_members` for the same values. The hashes a call uses are still its KEYS.
# On a Redis Cluster (a call a bucket) and for other values, those two do it.
_READ_PRINTS = """
local head, middle, width, digits = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local found, n = {}, 0
for a = 5, #ARGV do
  local values = ARGV[a]
  for band = 0, #values / width - 1 do
    local at = band * width
    local key = head .. string.sub(values, at + 1, at + digits) .. middle .. band
    n = n + 1
    found[n] = redis.call('HGET', key, string.sub(values, at + digits + 1, at + width)) or ''
  end
end
return table.concat(found, ',')
"""
"""ARGV: the hash name's parts before and after the bucket (the band follows), the values'
width and `BUCKET_DIGITS`, then each fingerprint's band values concatenated (band 0
first). Returns each value's ids (space-separated; '' for none), comma-separated, in order."""

_ADD_PRINTS = (
    _JOIN
    + """
local head, middle, width, digits = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local cap = tonumber(ARGV[5])
for a = 6, #ARGV, 2 do
  local id, values = ARGV[a], ARGV[a + 1]
  for band = 0, #values / width - 1 do
    local at = band * width
    local key = head .. string.sub(values, at + 1, at + digits) .. middle .. band
    join(key, string.sub(values, at + digits + 1, at + width), id, cap)
  end
end
"""
)
"""ARGV: as `_READ_PRINTS`'s four, the cap, then (id, its band values concatenated) pairs:
`_ADD`'s writes, value by value in the same order."""


_BUCKET = operator.itemgetter(slice(BUCKET_DIGITS))


def _bucket_name(keys: Keys) -> tuple[str, str]:
    """`keys.lsh_bucket(band, bucket)` as `head + bucket + middle + str(band)` (checked)."""
    head, _, tail = keys.lsh_bucket(7, "\x00").partition("\x00")
    middle = tail.removesuffix("7")
    assert keys.lsh_bucket(63, "ab") == f"{head}ab{middle}63", "lsh_bucket's form changed"
    return head, middle


def _packed(redis: Redis, prints: Sequence[Sequence[str]]) -> int | None:
    """The width of every band value of `prints`, when the packed scripts can take them
    (one Redis; one width, longer than the bucket; no separator in a value); else None."""
    if is_cluster(redis) or not prints or not prints[0]:
        return None
    width = len(prints[0][0])
    if width <= BUCKET_DIGITS:
        return None
    for values in prints:
        joined = "".join(values)
        if len(joined) != width * len(values) or not (joined.isascii() and joined.isalnum()):
            return None
    return width


def _print_keys(keys: Keys, prints: Iterable[Sequence[str]]) -> list[str]:
    """The bucket hashes the band values of `prints` fall in (each once), in no order."""
    head, middle = _bucket_name(keys)
    names: list[str] = []
    # Band by band, the values' buckets as a set: no Python code a value (6,400 a chunk).
    for band, column in enumerate(itertools.zip_longest(*prints)):
        names.extend(f"{head}{bucket}{middle}{band}" for bucket in set(map(_BUCKET, filter(None, column))))
    return names


async def print_members(redis: Redis, keys: Keys, prints: Sequence[Sequence[str]]) -> list[list[str]]:
    """For each fingerprint's band values (band i at index i), each value's
    representatives as `band_members` reads them: a space-separated string of ids, ''
    for none, in band order. One script call in all on one Redis (see `_READ_PRINTS`)."""
    width = _packed(redis, prints)
    if width is None:
        found = await band_members(redis, keys, ((b, v) for values in prints for b, v in enumerate(values)))
        return [[" ".join(found[b, v]) for b, v in enumerate(values)] for values in prints]
    head, middle = _bucket_name(keys)
    args = [head, middle, width, BUCKET_DIGITS, *("".join(values) for values in prints)]
    [reply] = await run_scripts(redis, _READ_PRINTS, [(_print_keys(keys, prints), args)])
    flat = reply.decode().split(",")
    out, at = [], 0
    for values in prints:
        out.append(flat[at : at + len(values)])
        at += len(values)
    return out


async def add_print_members(redis: Redis, keys: Keys, prints: Sequence[tuple[str, Sequence[str]]]) -> None:
    """`add_band_members` of each (id, band values) of `prints`, value by value in order,
    in one script call on one Redis (see `_ADD_PRINTS`)."""
    width = _packed(redis, [values for _id, values in prints])
    if width is None:
        await add_band_members(
            redis, keys, [(b, v, article_id) for article_id, values in prints for b, v in enumerate(values)]
        )
        return
    head, middle = _bucket_name(keys)
    args: list[object] = [head, middle, width, BUCKET_DIGITS, BUCKET_CAP]
    for article_id, values in prints:
        args += [article_id, "".join(values)]
    await run_scripts(redis, _ADD_PRINTS, [(_print_keys(keys, (v for _i, v in prints)), args)])


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
                "sig": list(map(str, self.signature)),
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
    if raw is not None:  # each write idempotent, in any slots
        await remove_band_members(redis, keys, article_id, StoredPrint.from_json(raw).bands)
    async with redis.pipeline(transaction=False) as pipe:
        if raw is not None:
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
        async with atomic(redis) as pipe:
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

"""The store's layout version, and the migrations that bring an older store up to it.

What Syndicator keeps in Redis changes from release to release. `{prefix}schema_version`
says which layout the keys under the prefix are in; `MIGRATIONS` lists, in order, the
change that turns layout N-1 into layout N. The current version is the length of that list,
so adding a migration is appending one function to it (with a docstring saying what it
changes); nothing else needs to know.

Rules every migration follows:

- idempotent: a record already in the new layout is left alone, so running a migration
  twice (two processes at once, or a retry) changes nothing the second time;
- resumable: it walks keys with SCAN in batches (`MigrationRun.batches`), and progress is
  saved in `{prefix}schema_progress` after each batch, so an interrupted run (crash,
  Ctrl-C) carries on where it stopped;
- the version is stamped only after the migration finished, and never lowered.

Who checks: every command of the CLI calls `check_schema` before it starts (see cli.py):
`serve` migrates an old store itself, `web`, `worker` and `ingest` refuse one, and every
command refuses a store newer than the code. A store with no keys at all under the prefix
is stamped with the current version at that check: there is nothing to migrate. Code that
opens a store directly (tests, embedding programs) is not checked; it writes the current
layout, and an article record from before versioning is still upgraded when its upstream
item is stored again (store/articles.py).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace

from redis.asyncio import Redis
from redis.exceptions import WatchError

from syndicator.errors import SyndicatorError
from syndicator.fingerprint import bands, fingerprint
from syndicator.models import HASH_VERSION
from syndicator.store.atomic import atomic, get_many, is_cluster
from syndicator.store.clusters import BUCKET_CAP, StoredPrint, add_band_members
from syndicator.store.codec import article_from_json, article_to_json
from syndicator.store.keys import Keys

BATCH_SIZE = 500


class SchemaError(SyndicatorError):
    """The store's layout is not the one this code reads (older or newer); one line."""


@dataclass
class MigrationRun:
    """What a migration works with: the store, its keys, and its saved progress."""

    redis: Redis
    keys: Keys
    version: int  # the version this migration produces
    batch_size: int = BATCH_SIZE
    on_batch: Callable[[MigrationRun], Awaitable[None]] | None = None
    changed: int = 0  # records rewritten so far, counting earlier interrupted runs
    unit: str = "records"  # what `changed` counts, for the report ("articles")
    _saved: dict[str, str] = field(default_factory=dict)

    async def batches(self, rest: str) -> AsyncIterator[list[str]]:
        """Our keys matching `prefix + rest`, a SCAN batch at a time, resuming saved progress.

        Progress (the SCAN cursor and `changed`) is saved after the caller has handled a batch,
        so a batch interrupted half-way is done again on resume (migrations are idempotent).
        On a Redis Cluster each master is scanned in turn, with a cursor of its own.
        """
        if not is_cluster(self.redis):
            async for batch in self._node_batches(rest, f"cursor:{rest}", None):
                yield batch
            return
        for node in sorted(self.redis.get_primaries(), key=lambda n: n.name):  # type: ignore[attr-defined]
            async for batch in self._node_batches(rest, f"cursor:{rest}@{node.name}", node):
                yield batch

    async def _node_batches(self, rest: str, field_name: str, node: object) -> AsyncIterator[list[str]]:
        saved = self._saved.get(field_name, "0")
        if saved == "done":
            return
        cursor = int(saved)
        while True:
            if node is None:
                cursor, found = await self.redis.scan(
                    cursor, match=self.keys.match(rest), count=self.batch_size
                )
            else:
                cursors, found = await self.redis.scan(  # type: ignore[call-arg]
                    cursor, match=self.keys.match(rest), count=self.batch_size, target_nodes=node
                )
                cursor = next(iter(cursors.values()))
            yield [k.decode() if isinstance(k, bytes) else k for k in found]
            self._saved[field_name] = str(cursor) if cursor else "done"
            await self.redis.hset(
                self.keys.schema_progress,
                mapping={"version": str(self.version), "changed": str(self.changed), **self._saved},
            )
            if self.on_batch is not None:
                await self.on_batch(self)
            if not cursor:
                return

    async def load_progress(self) -> None:
        """Pick up what an interrupted run of this same migration saved."""
        raw = await self.redis.hgetall(self.keys.schema_progress)
        saved = {k.decode(): v.decode() for k, v in raw.items()}
        if saved.get("version") == str(self.version):
            self.changed = int(saved.get("changed", "0"))
            self._saved = {k: v for k, v in saved.items() if k.startswith("cursor:")}


# ---------------------------------------------------------------- the migrations, in order


async def add_hash_version(run: MigrationRun) -> None:
    """Article records gain `hash_version`, with `content_hash` recomputed under it.

    Layout 0 (before versioning) stored `content_hash` alone, computed by two different
    definitions (feed entries and pages). Layout 1 stores the definition beside it
    (`hash_version`, models.HASH_VERSION) and the hash of the record's own fields under
    that definition. `updated` and everything else in the record stay as they were.
    """
    run.unit = "articles"
    async for batch in run.batches("article:*"):
        run.changed += await _rehash_articles(run.redis, batch)


async def add_source_indexes(run: MigrationRun) -> None:
    """Every category gains per-source indexes, so retention can be fair between sources.

    Layout 2 keeps, beside each category index `cat:{slug}`, a sorted set
    `srcidx:{slug}:{source}` of the members that count against each source (the record's
    `source_id`, its first source), scored like the index, and the set `srcidxs:{slug}` of
    those sources. This fills them from the article records (their `indexes`, each checked
    against the index: retention may have evicted the id since). Re-adding a member changes
    nothing, so a second run, or a resumed one, is harmless.
    """
    run.unit = "articles"
    async for batch in run.batches("article:*"):
        run.changed += await _index_sources(run.redis, run.keys, batch)


async def index_fingerprints(run: MigrationRun) -> None:
    """Every stored article gains a near-duplicate fingerprint and its LSH band entries.

    Articles stored before clustering existed have no fingerprint (`fp:{id}`), so a new
    copy of one of them never found it; and the bands of layout 2 took neighbouring bins
    (syndicator/fingerprint.py says why they now take bins 64 apart), so the band sets
    written then no longer match what a lookup asks for. First every `lsh:*` set of the old
    layout is deleted; then each article record gets its fingerprint (the stored signature
    when it has one, else computed from the record, as the clustering step would) and its
    bands are added, a bucket taking at most `BUCKET_CAP` members as at ingest. Records
    with too little text get none, as at ingest. Every article record is indexed, whatever
    its categories' `near_duplicates` says (the store does not know the config): an old
    article of a category that does not cluster can be a representative, never a copy.
    Rewriting a fingerprint with the same bands and re-adding a member change nothing, so
    a second or resumed run is harmless.
    """
    run.unit = "articles"
    async for batch in run.batches("lsh:*"):
        if batch:
            await run.redis.delete(*batch)
    async for batch in run.batches("article:*"):
        run.changed += await _index_fingerprints(run.redis, run.keys, batch)


async def bucket_band_sets(run: MigrationRun) -> None:
    """The LSH band sets become fields of bucket hashes, a sixth of their memory.

    Layout 3 kept one set `lsh:{band}:{value}` for each band value of each representative,
    64 an article, about 300 bytes each for usually one member. Layout 4 keeps a value's
    ids in a field of the hash `bands:{band}:{bucket}`, its bucket the value's first hex
    digits (store/clusters.py says how many and why). Each set's members are added to its
    field, then the set is deleted, a SCAN batch at a time; adding an id already there
    changes nothing, so a batch done again on resume is harmless. Counts band sets.
    """
    run.unit = "band sets"
    async for batch in run.batches("lsh:*"):
        run.changed += await _bucket_band_sets(run.redis, run.keys, batch)


_TAGGED_KINDS = {
    **dict.fromkeys(("article", "raw", "fp"), "a"),  # named by an article id
    **dict.fromkeys(
        ("cat", "srcidx", "srcidxs", "evicted", "feed", "feedver", "feedtimes", "manifests",
         "published-mark", "dirty", "seq", "seqn"),
        "c",
    ),  # named by a category slug (`srcidx` and `feed` add `:source` or `:format`)
    # named by a hub subscription id
    **dict.fromkeys(("hub:sub", "hub:dstate", "hub:dlog", "hub:dlock", "hub:pending"), "h"),
}  # fmt: skip
"""Key kinds whose name gains a hash tag in layout 5 → the tag's letter. (A host's
politeness keys gain one too; they expire within seconds, so none is moved.)"""


async def tag_keys(run: MigrationRun) -> None:
    """An article's keys and a category's keys gain a hash tag, for a Redis Cluster.

    Layout 5 names the keys of one article `article:{a:ID}`, `raw:{a:ID}`, `fp:{a:ID}`,
    and those of one category `cat:{c:SLUG}`, `srcidx:{c:SLUG}:SOURCE`, `feed:{c:SLUG}:FMT`
    and so on (store/keys.py): on a cluster the keys of a tag share a slot, so the step
    that writes them together is one script (store/atomic.py). Each key of layout 4 is
    moved with DUMP, RESTORE (REPLACE, keeping its time to live) and DEL, which work
    across slots where RENAME does not; a key interrupted between RESTORE and DEL is
    moved again on resume, to the same value. Counts keys.
    """
    run.unit = "keys"
    for kind in _TAGGED_KINDS:
        async for batch in run.batches(f"{kind}:*"):
            moves = []
            for key in batch:
                rest = key.removeprefix(f"{run.keys.prefix}{kind}:")
                if rest.startswith("{"):
                    continue  # already layout 5
                moves.append((key, _tagged(run.keys.prefix, kind, rest)))
            run.changed += await _move_keys(run.redis, moves)


def _tagged(prefix: str, kind: str, rest: str) -> str:
    """The layout-5 name of the layout-4 key `{prefix}{kind}:{rest}`."""
    name, colon, tail = rest.partition(":") if kind in ("srcidx", "feed") else (rest, "", "")
    return f"{prefix}{kind}:{{{_TAGGED_KINDS[kind]}:{name}}}{colon}{tail}"  # a slug has no colon


async def _move_keys(redis: Redis, moves: list[tuple[str, str]]) -> int:
    """Move each (old, new) key: DUMP and PTTL, then RESTORE REPLACE and DEL; returns how many."""
    if not moves:
        return 0
    async with redis.pipeline(transaction=False) as pipe:
        for old_key, _new_key in moves:
            pipe.dump(old_key)
            pipe.pttl(old_key)
        read = await pipe.execute()
    moved = 0
    async with redis.pipeline(transaction=False) as pipe:
        for (old_key, new_key), dumped, ttl in zip(moves, read[::2], read[1::2], strict=True):
            if dumped is None:
                continue  # gone since the scan
            pipe.restore(new_key, max(int(ttl), 0), dumped, replace=True)
            pipe.delete(old_key)
            moved += 1
        await pipe.execute()
    return moved


MIGRATIONS: tuple[Callable[[MigrationRun], Awaitable[None]], ...] = (
    add_hash_version,
    add_source_indexes,
    index_fingerprints,
    bucket_band_sets,
    tag_keys,
)
"""MIGRATIONS[n] turns layout n into layout n + 1. Append; never reorder or remove."""

SCHEMA_VERSION = len(MIGRATIONS)
"""The layout this code reads and writes."""

TAGGED_SINCE = 5
"""The layout whose keys carry hash tags (`tag_keys`)."""


async def _rehash_articles(redis: Redis, keys: list[str]) -> int:
    """Upgrade the layout-0 records among `keys` in one transaction; returns how many."""
    if not keys:  # SCAN may hand back an empty batch
        return 0
    while True:
        async with atomic(redis) as pipe:
            try:
                await pipe.watch(*keys)
                raws = await get_many(redis, keys)
                upgraded: dict[str, str] = {}
                for key, raw in zip(keys, raws, strict=True):
                    if raw is None or "hash_version" in json.loads(raw):
                        continue  # gone since the scan, or already in layout 1
                    article, indexes = article_from_json(raw)
                    article = replace(article, content_hash=article.reader_hash(), hash_version=HASH_VERSION)
                    upgraded[key] = article_to_json(article, indexes=indexes)
                pipe.multi()
                for key, value in upgraded.items():  # a command a key: any slots on a cluster
                    pipe.set(key, value)
                await pipe.execute()
                return len(upgraded)
            except WatchError:
                continue  # a worker rewrote one of them meanwhile: read the batch again


async def _index_sources(redis: Redis, keys: Keys, batch: list[str]) -> int:
    """Add the records among `batch` to their categories' source indexes; returns how many
    records were not in all of them yet."""
    if not batch:
        return 0
    records = [article_from_json(raw) for raw in await get_many(redis, batch) if raw is not None]
    async with redis.pipeline(transaction=False) as pipe:
        for article, indexes in records:
            for slug in indexes:
                pipe.zscore(keys.category_index(slug), article.id)
        scores = iter(await pipe.execute())
    owners: list[str] = []  # the record id of each ZADD queued, to count records, not sets
    async with atomic(redis) as pipe:
        for article, indexes in records:
            for slug in indexes:
                score = next(scores)
                if score is None:  # evicted from this category since it was stored
                    continue
                pipe.zadd(keys.source_index(slug, article.source_id), {article.id: score})
                pipe.sadd(keys.index_sources(slug), article.source_id)
                owners.append(article.id)
        replies = await pipe.execute()
    # Replies alternate ZADD (members new to the set) and SADD.
    return len({owner for owner, n in zip(owners, replies[::2], strict=True) if n})


async def _index_fingerprints(redis: Redis, keys: Keys, batch: list[str]) -> int:
    """Write the fingerprint and band entries of the records among `batch`; returns how
    many got them (backfilled or re-banded; not those with too little text)."""
    if not batch:
        return 0
    articles = [article_from_json(raw)[0] for raw in await get_many(redis, batch) if raw is not None]
    articles = [a for a in articles if a.url]
    if not articles:
        return 0
    old = await get_many(redis, [keys.fingerprint(a.id) for a in articles])
    prints: list[tuple[str, StoredPrint]] = []
    for article, raw in zip(articles, old, strict=True):
        if raw is not None:
            stored = StoredPrint.from_json(raw)
            prints.append((article.id, replace(stored, bands=tuple(bands(stored.signature)))))
            continue
        found = fingerprint(article)
        if found is not None:
            prints.append((article.id, StoredPrint.of(article, found.signature, found.bands)))
    async with redis.pipeline(transaction=False) as pipe:
        for _id, stored in prints:
            for band, value in enumerate(stored.bands):
                pipe.scard(keys.lsh_band(band, value))
        sizes = iter(await pipe.execute())
    counts: dict[str, int] = {}
    async with redis.pipeline(transaction=False) as pipe:
        for article_id, stored in prints:
            pipe.set(keys.fingerprint(article_id), stored.to_json())
            for band, value in enumerate(stored.bands):
                key, size = keys.lsh_band(band, value), next(sizes)
                counts.setdefault(key, size)
                if counts[key] < BUCKET_CAP:
                    counts[key] += 1
                    pipe.sadd(key, article_id)
        await pipe.execute()
    return len(prints)


async def _bucket_band_sets(redis: Redis, keys: Keys, batch: list[str]) -> int:
    """Move the layout-3 band sets among `batch` into their bucket hashes; returns how many."""
    if not batch:
        return 0
    async with redis.pipeline(transaction=False) as pipe:
        for key in batch:
            pipe.smembers(key)
        members = await pipe.execute()
    entries: list[tuple[int, str, str]] = []
    for key, ids in zip(batch, members, strict=True):
        band, value = key.removeprefix(keys.prefix).removeprefix("lsh:").split(":")
        entries.extend((int(band), value, m.decode()) for m in sorted(ids))
    await add_band_members(redis, keys, entries)  # in order: the writes, then the sets go
    async with redis.pipeline(transaction=False) as pipe:
        for key in batch:  # one key a command: on a cluster the sets are in many slots
            pipe.delete(key)
        await pipe.execute()
    return len(batch)


# ---------------------------------------------------------------- version, check, migrate


async def _is_empty(redis: Redis, keys: Keys) -> bool:
    async for _ in redis.scan_iter(match=keys.match(), count=1000):
        return False
    return True


async def store_version(redis: Redis, keys: Keys) -> int:
    """The store's layout version; an empty store is stamped current first, and says so.

    No version key with keys under the prefix means a store written before versioning:
    version 0.
    """
    raw = await redis.get(keys.schema_version)
    if raw is not None:
        return int(raw)
    if await _is_empty(redis, keys):
        await redis.set(keys.schema_version, SCHEMA_VERSION, nx=True)
        return int(await redis.get(keys.schema_version) or SCHEMA_VERSION)
    return 0


async def check_schema(redis: Redis, keys: Keys, *, migrate_command: str = "syndicator migrate") -> int:
    """The store's version; raises SchemaError unless it is the version this code reads.

    `migrate_command` is what the message for an old store tells the operator to run.
    """
    version = await store_version(redis, keys)
    if version > SCHEMA_VERSION:
        raise SchemaError(
            f"store schema {version} is newer than this syndicator's {SCHEMA_VERSION}: upgrade syndicator"
        )
    if version < SCHEMA_VERSION:
        raise SchemaError(f"store schema {version} is older than {SCHEMA_VERSION}: run `{migrate_command}`")
    return version


@dataclass(frozen=True)
class MigrationReport:
    """What `migrate` did: the version it found, and records rewritten per version reached."""

    found: int
    steps: tuple[tuple[int, int, str], ...]  # (version reached, records rewritten, their unit)

    def line(self) -> str:
        """`store at schema 0; migrated to 1: 123 articles` or `store at schema 1: up to date`."""
        if not self.steps:
            return f"store at schema {self.found}: up to date"
        done = ", ".join(
            f"{v}: {n} {unit if n != 1 else unit.removesuffix('s')}" for v, n, unit in self.steps
        )
        return f"store at schema {self.found}; migrated to {done}"


async def _stamp(redis: Redis, keys: Keys, version: int) -> None:
    """Set the version to `version` unless it is already as high, and forget the progress."""
    while True:
        async with atomic(redis) as pipe:
            try:
                await pipe.watch(keys.schema_version)
                current = await pipe.get(keys.schema_version)
                pipe.multi()
                if current is None or int(current) < version:
                    pipe.set(keys.schema_version, version)
                pipe.delete(keys.schema_progress)
                await pipe.execute()
                return
            except WatchError:
                continue


async def migrate(
    redis: Redis,
    keys: Keys,
    *,
    batch_size: int = BATCH_SIZE,
    on_batch: Callable[[MigrationRun], Awaitable[None]] | None = None,
) -> MigrationReport:
    """Run every migration the store has not had yet, in order; a no-op on a current store.

    `on_batch` is awaited after each saved batch (the CLI prints progress with it). Raises
    SchemaError for a store newer than this code.
    """
    found = await store_version(redis, keys)
    if found > SCHEMA_VERSION:
        await check_schema(redis, keys)  # raises, with the one-line message
    steps: list[tuple[int, int, str]] = []
    for version in range(found + 1, SCHEMA_VERSION + 1):
        # Layouts before 5 name keys untagged: their migrations read and write those names.
        named = keys if version >= TAGGED_SINCE else replace(keys, tagged=False)
        run = MigrationRun(redis, named, version, batch_size=batch_size, on_batch=on_batch)
        await run.load_progress()
        await MIGRATIONS[version - 1](run)
        await _stamp(redis, keys, version)
        steps.append((version, run.changed, run.unit))
    return MigrationReport(found, tuple(steps))

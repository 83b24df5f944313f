"""Content-hash versions and the store's schema version, against a real Redis.

"The previous layout" is written here exactly as the code before versioning wrote it: an
article record without `hash_version`, its `content_hash` under definition 1 (pages hashed
enclosure URLs only), and no `schema_version` key.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import signal
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from syndicator.models import HASH_VERSION, Article, ExtractedArticle, PageImage, Source
from syndicator.normalise.page import normalise_page
from syndicator.store.articles import Outcome, newest_articles, upsert_article
from syndicator.store.codec import article_from_json, article_to_json
from syndicator.store.keys import Keys
from syndicator.store.schema import (
    SCHEMA_VERSION,
    MigrationRun,
    SchemaError,
    check_schema,
    migrate,
    store_version,
)
from tests.conftest import REPO
from tests.processes import clean_environment, free_port, run_cli, store_environment

SOURCE = Source(id="zhbf", url="http://www.zhbf.example/", kind="page")
FETCHED = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)
INDEXES = ("qinggan", "all")


def page(n: int = 1, body: str = "第一段。") -> ExtractedArticle:
    return ExtractedArticle(
        url=f"http://www.zhbf.example/qinggan/{n}.html",
        title=f"标题 {n}",
        category_path=("情感",),
        source="智汇八方",
        author=None,
        published=None,  # undated: `updated` is the first-seen time, easy to see move
        published_precision=None,
        language="zh",
        paragraphs=(body,),
        images=(PageImage("http://www.zhbf.example/a.png"),),
        content_html=f"<p>{body}</p>",
        text=body,
        summary=body,
    )


def article(n: int = 1, body: str = "第一段。", fetched_at: datetime = FETCHED) -> Article:
    return normalise_page(page(n, body), SOURCE, fetched_at=fetched_at, categories=("qinggan",))


def version_1_hash(a: Article) -> str:
    """How normalise/page.py hashed a page before HASH_VERSION 2 (enclosure URLs only)."""
    fields = [
        a.title,
        a.url,
        a.author,
        a.content_html,
        a.summary,
        list(a.tags),
        [e.url for e in a.enclosures],
    ]
    encoded = json.dumps([*fields, a.published_raw], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()


async def untag_store(redis, prefix: str) -> int:
    """Rename the hash-tagged keys under `prefix` as layouts before 5 named them (a store
    written by the current code, made an older layout's); returns how many."""
    renamed = 0
    async for key in redis.scan_iter(match=f"{prefix}*"):
        old = re.sub(r"\{[ac]:([^}]*)\}", r"\1", key.decode(), count=1)
        if old != key.decode():
            await redis.rename(key, old)
            renamed += 1
    return renamed


async def write_previous_layout(redis, keys: Keys, a: Article) -> None:
    """Store `a` as the code before versioning did: no hash_version, a version-1 hash (under
    `keys`: `untagged(keys)` for the key names of layouts before 5)."""
    record = json.loads(article_to_json(replace(a, content_hash=version_1_hash(a)), indexes=INDEXES))
    del record["hash_version"]
    await redis.set(keys.article(a.id), json.dumps(record, ensure_ascii=False, separators=(",", ":")))
    for slug in INDEXES:
        await redis.zadd(keys.category_index(slug), {a.id: a.published.timestamp()})


def untagged(keys: Keys) -> Keys:
    """The key names of layouts before 5 (no hash tags)."""
    return replace(keys, tagged=False)


async def stored(redis, keys: Keys, article_id: str) -> Article:
    return article_from_json(await redis.get(keys.article(article_id)))[0]


# ---------------------------------------------------------------- content hash versions


def test_feed_entries_and_pages_share_one_hash_definition():
    a = article()
    assert a.hash_version == HASH_VERSION == 2
    assert a.content_hash == a.reader_hash() != version_1_hash(a)
    # What a reader sees of an enclosure is its url, type and length, whichever path made it.
    resized = replace(a, enclosures=(replace(a.enclosures[0], length=1234),))
    assert resized.reader_hash() != a.reader_hash()
    assert (
        replace(a, first_seen=FETCHED + timedelta(days=1), categories=("x",)).reader_hash() == a.content_hash
    )


async def test_new_hash_definition_does_not_move_updated(redis, prefix):
    keys = Keys(prefix)
    old = article()
    await write_previous_layout(redis, keys, old)
    assert (await stored(redis, keys, old.id)).hash_version == 1

    later = FETCHED + timedelta(hours=5)
    result = await upsert_article(redis, keys, article(fetched_at=later), INDEXES, now=later)
    record = await stored(redis, keys, old.id)
    assert result.outcome is Outcome.UNCHANGED and result.indexes == ()  # nothing to re-publish
    assert record.updated == old.updated == FETCHED
    assert (record.hash_version, record.content_hash) == (HASH_VERSION, old.content_hash)

    edited_at = later + timedelta(hours=1)
    edited = await upsert_article(
        redis, keys, article(body="改过了。", fetched_at=edited_at), INDEXES, now=edited_at
    )
    assert edited.outcome is Outcome.CHANGED and set(edited.indexes) == set(INDEXES)
    assert (await stored(redis, keys, old.id)).updated == edited_at


async def test_real_change_on_a_previous_layout_record_moves_updated(redis, prefix):
    keys = Keys(prefix)
    await write_previous_layout(redis, keys, article())
    later = FETCHED + timedelta(hours=5)
    result = await upsert_article(redis, keys, article(body="改过了。", fetched_at=later), INDEXES, now=later)
    record = await stored(redis, keys, result.article_id)
    assert result.outcome is Outcome.CHANGED
    assert record.updated == later and record.summary == "改过了。" and record.hash_version == HASH_VERSION


# ---------------------------------------------------------------- schema version and migrations


async def test_empty_store_is_stamped_current_at_once(redis, prefix):
    keys = Keys(prefix)
    assert await check_schema(redis, keys) == SCHEMA_VERSION
    assert await redis.get(keys.schema_version) == str(SCHEMA_VERSION).encode()
    assert (await migrate(redis, keys)).line() == f"store at schema {SCHEMA_VERSION}: up to date"


async def test_migrate_upgrades_a_previous_layout_store_once(redis, prefix):
    keys = Keys(prefix)
    olds = [article(n) for n in range(3)]
    for old in olds:
        await write_previous_layout(redis, untagged(keys), old)
    assert await store_version(redis, keys) == 0
    with pytest.raises(SchemaError, match=r"^store schema 0 is older than 5: run `syndicator migrate`$"):
        await check_schema(redis, keys)

    report = await migrate(redis, keys)
    assert report.line() == (
        "store at schema 0; migrated to 1: 3 articles, 2: 3 articles, 3: 0 articles, 4: 0 band sets, "
        "5: 9 keys"
    )
    assert await check_schema(redis, keys) == 5
    for old in olds:
        record = await stored(redis, keys, old.id)
        assert record == old  # same fields, same `updated`; hash and its version upgraded
    raws = await redis.mget([keys.article(a.id) for a in olds])

    again = await migrate(redis, keys)
    assert again.line() == "store at schema 5: up to date"
    assert await redis.mget([keys.article(a.id) for a in olds]) == raws
    assert not await redis.exists(keys.schema_progress)


class Crash(Exception):
    pass


async def test_interrupted_migration_resumes_where_it_stopped(redis, prefix):
    keys = Keys(prefix)
    a = article()
    total = 1200
    legacy = replace(keys, tagged=False)  # the keys as layout 0 named them
    async with redis.pipeline(transaction=False) as pipe:  # the same record under many ids
        record = json.loads(article_to_json(replace(a, content_hash=version_1_hash(a)), indexes=INDEXES))
        del record["hash_version"]
        for n in range(total):
            pipe.set(legacy.article(f"{n:032x}"), json.dumps({**record, "id": f"{n:032x}"}))
        await pipe.execute()

    async def crash_after_first_batch(run: MigrationRun) -> None:
        raise Crash

    with pytest.raises(Crash):
        await migrate(redis, keys, batch_size=100, on_batch=crash_after_first_batch)
    progress = {k.decode(): v.decode() for k, v in (await redis.hgetall(keys.schema_progress)).items()}
    assert await store_version(redis, keys) == 0  # not stamped: the migration did not finish
    assert progress["version"] == "1" and 0 < int(progress["changed"]) < total

    seen: list[int] = []

    async def count(run: MigrationRun) -> None:
        seen.append(run.changed)

    report = await migrate(redis, keys, batch_size=100, on_batch=count)
    assert (
        report.line() == f"store at schema 0; migrated to 1: {total} articles, 2: 0 articles, 3: 0 articles, "
        f"4: 0 band sets, 5: {total} keys"
    )
    assert seen[0] > int(progress["changed"])  # carried on from the saved count, not from 0
    raws = await redis.mget([keys.article(f"{n:032x}") for n in range(total)])
    assert all(json.loads(raw)["hash_version"] == HASH_VERSION for raw in raws)
    assert await store_version(redis, keys) == 5 and not await redis.exists(keys.schema_progress)


async def test_store_newer_than_the_code_is_refused(redis, prefix):
    keys = Keys(prefix)
    await redis.set(keys.schema_version, SCHEMA_VERSION + 1)
    message = f"store schema {SCHEMA_VERSION + 1} is newer than this syndicator's {SCHEMA_VERSION}"
    for attempt in (check_schema(redis, keys), migrate(redis, keys)):
        with pytest.raises(SchemaError, match=message):
            await attempt


# ---------------------------------------------------------------- the CLI


def run_in_store(*args: str, redis_url: str, prefix: str) -> subprocess.CompletedProcess[str]:
    """`syndicator ARGS` against the test's Redis, prefix and queue."""
    return run_cli(*args, env=store_environment(redis_url, prefix), timeout=60)


@pytest.mark.slow  # real processes for 25-60 s: out of the fast lane, in CI
async def test_processes_refuse_an_old_store_until_migrated(redis, redis_url, prefix):
    keys = Keys(prefix)
    for n in range(2):
        await write_previous_layout(redis, untagged(keys), article(n))
    for command in ("web", "worker", "ingest"):
        result = run_in_store(command, redis_url=redis_url, prefix=prefix)
        assert result.returncode == 2, (command, result.stderr)
        config_line, refusal = result.stderr.strip().splitlines()
        assert config_line.startswith("config: ")  # the file it loaded, named first
        assert refusal == f"{command}: store schema 0 is older than 5: run `syndicator migrate`"
    assert await store_version(redis, keys) == 0  # refusing touched nothing

    migrated = run_in_store("migrate", redis_url=redis_url, prefix=prefix)
    assert migrated.returncode == 0, migrated.stderr
    assert (
        migrated.stdout.strip()
        == "store at schema 0; migrated to 1: 2 articles, 2: 2 articles, 3: 0 articles, 4: 0 band sets, "
        "5: 8 keys"
    )
    again = run_in_store("migrate", redis_url=redis_url, prefix=prefix)
    assert (again.returncode, again.stdout.strip()) == (0, "store at schema 5: up to date")

    await redis.set(keys.schema_version, 7)
    for command in ("web", "migrate"):
        result = run_in_store(command, redis_url=redis_url, prefix=prefix)
        assert result.returncode == 2
        assert (
            result.stderr.strip().splitlines()[-1]
            == f"{command}: store schema 7 is newer than this syndicator's {SCHEMA_VERSION}: "
            "upgrade syndicator"
        )


async def test_serve_migrates_an_old_store_itself(redis, redis_url, prefix):
    keys = Keys(prefix)
    await write_previous_layout(redis, untagged(keys), article())
    server = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "syndicator.cli", "serve", "--port", str(free_port())),
        cwd=REPO,
        env=clean_environment(store_environment(redis_url, prefix)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    lines: list[str] = []
    try:
        assert server.stderr is not None
        async with asyncio.timeout(60):
            while not lines or not lines[-1].startswith("serving feeds at"):
                line = (await server.stderr.readline()).decode()
                if not line:
                    break  # it exited
                lines.append(line)
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(30):
                await server.wait()
        except TimeoutError:
            server.kill()
            await server.wait()
    migrated = (
        "store at schema 0; migrated to 1: 1 article, 2: 1 article, 3: 0 articles, 4: 0 band sets, "
        "5: 7 keys\n"
    )
    assert migrated in lines, lines
    assert lines[-1].startswith("serving feeds at"), lines
    assert await store_version(redis, keys) == 5


async def test_migration_2_builds_the_source_indexes_of_a_layout_1_store(redis, prefix):
    """Layout 1 is what the code before source indexes wrote: records and category indexes
    exactly as now, without `srcidx:`/`srcidxs:` keys."""
    keys = Keys(prefix)
    olds = [article(n) for n in range(4)]
    other = replace(article(9), id="f" * 32, source_id="other", url="http://other.example/9").hashed()
    for a in (*olds, other):
        await upsert_article(redis, keys, a, INDEXES, now=FETCHED)
    await redis.zrem(keys.category_index("qinggan"), olds[3].id)  # evicted from one category since
    for slug in INDEXES:  # back to layout 1
        await redis.delete(keys.index_sources(slug), *(keys.source_index(slug, s) for s in ("zhbf", "other")))
    moved = await untag_store(redis, prefix)  # back to the key names before layout 5
    # Migration 5 moves those and the 4 source indexes and 2 sets of sources migration 2 writes.
    await redis.set(keys.schema_version, 1)
    with pytest.raises(SchemaError, match=r"^store schema 1 is older than 5"):
        await check_schema(redis, keys)

    report = await migrate(redis, keys, batch_size=2)
    assert report.line() == (
        f"store at schema 1; migrated to 2: 5 articles, 3: 0 articles, 4: 0 band sets, 5: {moved + 6} keys"
    )
    assert await check_schema(redis, keys) == 5
    for slug in INDEXES:
        assert await redis.smembers(keys.index_sources(slug)) == {b"zhbf", b"other"}
        index = await redis.zrange(keys.category_index(slug), 0, -1, withscores=True)
        by_source = [
            *await redis.zrange(keys.source_index(slug, "zhbf"), 0, -1, withscores=True),
            *await redis.zrange(keys.source_index(slug, "other"), 0, -1, withscores=True),
        ]
        assert sorted(by_source) == sorted(index)  # every member once, same score, evictions out
    assert await redis.zscore(keys.source_index("qinggan", "zhbf"), olds[3].id) is None
    assert await redis.zscore(keys.source_index("all", "zhbf"), olds[3].id) is not None
    assert (await migrate(redis, keys)).line() == "store at schema 5: up to date"


async def test_migration_5_tags_the_keys_and_resumes_after_a_crash(redis, prefix):
    """Layout 4 named an article's and a category's keys without hash tags; layout 5 moves
    each (DUMP, RESTORE, DEL: any slots of a cluster), value and time to live unchanged."""
    keys = Keys(prefix)
    olds = [article(n) for n in range(30)]
    for old in olds:
        await upsert_article(redis, keys, old, INDEXES, now=FETCHED)
    await redis.expire(keys.article(olds[0].id), 3600)
    before = {key: await redis.dump(key) async for key in redis.scan_iter(match=f"{prefix}*")}
    moved = await untag_store(redis, prefix)
    await redis.set(keys.schema_version, 4)
    assert moved == 30 + 2 + 2 + 2  # records; per category its index, source index, sources

    async def crash_after_first_batch(run: MigrationRun) -> None:
        raise Crash

    with pytest.raises(Crash):
        await migrate(redis, keys, batch_size=10, on_batch=crash_after_first_batch)
    assert await store_version(redis, keys) == 4  # not stamped: it did not finish
    report = await migrate(redis, keys, batch_size=10)
    assert report.line() == f"store at schema 4; migrated to 5: {moved} keys"
    after = {key: await redis.dump(key) async for key in redis.scan_iter(match=f"{prefix}*")}
    for snapshot in (before, after):
        snapshot.pop(keys.schema_version.encode(), None)
    assert after == before  # every key back under its tagged name, byte for byte
    assert 3500 < await redis.ttl(keys.article(olds[0].id)) <= 3600
    assert len(await newest_articles(redis, keys, "qinggan", 50)) == 30

"""The store's migrations 1-5 run on a Redis Cluster (issue 16): a layout-0 store written on
three real masters as the code before versioning wrote it, upgraded in-process until a
crash after its first batch, then resumed by a real `syndicator migrate` process.

Each migration walks every master with a SCAN cursor of its own (store/schema.py
`MigrationRun.batches`) and writes key by key, or through `atomic`'s per-slot scripts, so
none needs a multi-key command across slots. tests/test_schema.py and
tests/test_cluster_store.py hold the migrations' rules on one Redis.
"""

from __future__ import annotations

import json
import random
from dataclasses import replace

import pytest

from syndicator.fingerprint import fingerprint
from syndicator.models import HASH_VERSION
from syndicator.store.articles import newest_articles
from syndicator.store.clusters import band_members
from syndicator.store.codec import article_from_json, article_to_json
from syndicator.store.keys import Keys
from syndicator.store.schema import MigrationRun, SchemaError, check_schema, migrate, store_version
from tests.processes import run_cli, store_environment
from tests.redis_cluster import RedisCluster
from tests.test_cluster_store import zipf_article
from tests.test_schema import Crash, version_1_hash
from tests.test_store_cluster import keys_per_master

ARTICLES = 24
INDEXES = ("news", "all")


async def test_a_layout_0_store_on_the_cluster_is_migrated_to_5_resuming_after_a_crash(
    cluster: RedisCluster, cluster_store, redis_url, prefix
):
    store, keys, legacy = cluster_store, Keys(prefix), Keys(prefix, tagged=False)
    rng = random.Random(5)
    articles = [zipf_article(n, rng) for n in range(ARTICLES)]
    for a in articles:  # layout 0: no hash_version, a version-1 hash, untagged names
        record = json.loads(article_to_json(replace(a, content_hash=version_1_hash(a)), indexes=INDEXES))
        del record["hash_version"]
        await store.set(legacy.article(a.id), json.dumps(record, separators=(",", ":")))
        for slug in INDEXES:
            await store.zadd(legacy.category_index(slug), {a.id: a.published.timestamp()})
    await store.sadd(legacy.lsh_band(0, "00ff00ff00ff00ff"), articles[0].id)  # a set of old bands
    assert all(keys_per_master(cluster, f"{prefix}article:*").values())  # on every master
    assert await store_version(store, keys) == 0
    with pytest.raises(SchemaError, match=r"^store schema 0 is older than 5"):
        await check_schema(store, keys)

    async def crash_after_first_batch(run: MigrationRun) -> None:
        raise Crash

    with pytest.raises(Crash):
        await migrate(store, keys, batch_size=5, on_batch=crash_after_first_batch)
    progress = {k.decode(): v.decode() for k, v in (await store.hgetall(keys.schema_progress)).items()}
    assert progress["version"] == "1" and [f for f in progress if f.startswith("cursor:")]
    assert await store_version(store, keys) == 0  # not stamped: it did not finish

    env = {**store_environment(redis_url, prefix), "SYNDICATOR_STORE_URL": cluster.url}
    migrated = run_cli("migrate", env=env, timeout=60)
    assert migrated.returncode == 0, migrated.stderr
    band_sets = len({(band, value) for a in articles for band, value in enumerate(fingerprint(a).bands)})
    tagged = [k async for k in store.scan_iter(match=f"{prefix}*") if b"{a:" in k or b"{c:" in k]
    assert migrated.stdout.strip() == (
        f"store at schema 0; migrated to 1: {ARTICLES} articles, 2: {ARTICLES} articles, "
        f"3: {ARTICLES} articles, 4: {band_sets} band sets, 5: {len(tagged)} keys"
    )
    assert await check_schema(store, keys) == 5 and not await store.exists(keys.schema_progress)

    # Layout 1: hashes under the current definition; layout 2: source indexes; 3 and 4:
    # fingerprints and their bands in bucket hashes; 5: every key under its hash tag.
    for a in articles:
        record, indexes = article_from_json(await store.get(keys.article(a.id)))
        assert (record.hash_version, record.content_hash, indexes) == (HASH_VERSION, a.reader_hash(), INDEXES)
        found = fingerprint(a)
        members = await band_members(store, keys, enumerate(found.bands))
        assert all(a.id in ids for ids in members.values())
        assert await store.exists(keys.fingerprint(a.id))
    for slug in INDEXES:
        index = await store.zrange(keys.category_index(slug), 0, -1, withscores=True)
        assert len(index) == ARTICLES
        assert await store.zrange(keys.source_index(slug, "s1"), 0, -1, withscores=True) == index
        assert await store.smembers(keys.index_sources(slug)) == {b"s1"}
    assert not [k async for k in store.scan_iter(match=keys.match("lsh:*"))]
    untagged = [k async for k in store.scan_iter(match=keys.match("article:*")) if b"{" not in k]
    assert untagged == []
    assert len(await newest_articles(store, keys, "news", 100)) == ARTICLES
    assert (await migrate(store, keys)).line() == "store at schema 5: up to date"

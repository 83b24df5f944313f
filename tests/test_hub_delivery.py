"""The hub pushing to subscribers: real Redis, a real upstream, a real arq worker, and a
loopback callback server that records what it is sent.

End to end: the upstream changes, an ingest runs, the worker publishes, fans out and
POSTs — the test only watches the callback. The rules of one delivery (catch-up in one
POST, idempotency, the address guard, 410) are also driven directly through
`hub.deliver.deliver`, still over real HTTP to the callback.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import feedparser
import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer
from arq import create_pool
from arq.worker import create_worker

from syndicator.hub.deliver import RETRY_CAP, RETRY_FIRST, RETRY_FOR, Pusher, deliver, retry_delay
from syndicator.hub.fanout import CHUNK, new_versions
from syndicator.hub.intent import keep_subscription
from syndicator.hub.signature import verify
from syndicator.ingest import ingest_source
from syndicator.models import Config
from syndicator.runtime import Runtime
from syndicator.store.connection import RedisUrls, arq_settings
from syndicator.store.hub import (
    HubSubscription,
    load_subscription,
    remove_subscription,
    save_within_limit,
    subscription_id,
)
from syndicator.store.hub_deliveries import delivered_by, delivery_state, latest_topic_version, mark_inflight
from syndicator.web.app import create_app
from syndicator.web.push import WebTopicViews
from syndicator.worker import worker_settings
from tests.builders import BASE_TIME, Item, items, rss, write_config
from tests.harness import stop_worker
from tests.hubcallback import Callback
from tests.upstream import Upstream

LOOPBACK = '\n[fetch]\nallowed_networks = ["127.0.0.0/8"]'
VIEWS = WebTopicViews()


def config_for(
    tmp_path, upstream: Upstream, redis_url: str, prefix: str, *, allow: bool = True, store_url: str = ""
) -> Config:
    """Two feed sources; the store on `store_url` when given (a cluster), else on `redis_url`."""
    extra = (f'store_url = "{store_url}"' if store_url else "") + (LOOPBACK if allow else "")
    return write_config(
        tmp_path,
        redis_url=redis_url,
        prefix=prefix,
        categories=[{"slug": "tech", "title": "Technology"}, {"slug": "science", "title": "Science"}],
        sources=[
            {
                "id": "feed",
                "url": upstream.url("/feed.rss"),
                "categories": ["tech"],
                "allow_private_network": True,
            },
            {
                "id": "sci",
                "url": upstream.url("/sci.rss"),
                "categories": ["science"],
                "allow_private_network": True,
            },
        ],
        extra_server=extra,
    )


def newer(n: int) -> Item:
    return Item(
        guid=f"new-{n}",
        title=f"new title {n}",
        link=f"https://web.example/new/{n}",
        published=BASE_TIME + timedelta(hours=n),
        body=f"<p>new body {n} about python</p>",
    )


def titles(body: bytes) -> list[str]:
    if body.startswith(b"{"):
        return [item["title"] for item in json.loads(body)["items"]]
    return [entry.title for entry in feedparser.parse(body).entries]


async def subscribe(
    runtime: Runtime, topic: str, callback: str, secret: str = "", *, days: int = 1
) -> HubSubscription:
    now = datetime.now(UTC)
    sub = HubSubscription(
        id=subscription_id(topic, callback),
        topic=topic,
        callback=callback,
        secret=secret,
        lease_seconds=86400 * days,
        expires_at=now + timedelta(days=days),
        created_at=now,
        verified_at=now,
    )
    assert await keep_subscription(runtime, sub, per_host=0)
    return sub


@dataclass
class World:
    config: Config
    runtime: Runtime  # inline publishing (no queue): what tests drive directly
    upstream: Upstream
    callback: Callback
    shown: list[Item]

    def topic(self, name: str = "tech.rss") -> str:
        return f"{self.runtime.site_url}feeds/{name}"

    async def change(self, *new: Item, runtime: Runtime | None = None) -> None:
        """Serve `new` on top of what the upstream shows, and ingest it."""
        self.shown = [*new, *self.shown]
        self.upstream.put("/feed.rss", rss(self.shown), "application/rss+xml")
        await ingest_source(runtime or self.runtime, "feed")


def redis_urls(redis_url: str, store_url: str = "") -> str | RedisUrls:
    """One Redis, or the queue on `redis_url` and the store on `store_url` (a cluster)."""
    return RedisUrls(queue=redis_url, store=store_url) if store_url else redis_url


@contextlib.asynccontextmanager
async def world(
    tmp_path, upstream: Upstream, redis_url: str, prefix: str, *, allow: bool = True, store_url: str = ""
):
    config = config_for(tmp_path, upstream, redis_url, prefix, allow=allow, store_url=store_url)
    shown = items("a", 3)
    upstream.put("/feed.rss", rss(shown), "application/rss+xml")
    upstream.put("/sci.rss", rss(items("s", 2)), "application/rss+xml")
    runtime = Runtime.open(config, redis_urls(redis_url, store_url))
    callback = await Callback().start()
    try:
        await ingest_source(runtime, "feed")
        await ingest_source(runtime, "sci")
        yield World(config, runtime, upstream, callback, shown)
    finally:
        await callback.stop()
        await runtime.close()


@contextlib.asynccontextmanager
async def running_worker(config: Config, redis_url: str, store_url: str = "") -> AsyncIterator[Runtime]:
    """A real arq worker in this process, and a runtime that queues jobs for it (the queue
    on `redis_url`; the store on `store_url` when given)."""
    urls = redis_urls(redis_url, store_url)
    queue = await create_pool(arq_settings(redis_url))
    worker = create_worker(worker_settings(config, urls), handle_signals=False, poll_delay=0.02)
    task = asyncio.create_task(worker.main())
    queued = Runtime.open(config, urls, queue=queue)
    try:
        yield queued
    finally:
        await stop_worker(worker, task)
        await queued.close()
        await queue.aclose()


async def test_a_new_item_reaches_a_subscriber_signed_within_10_seconds(
    tmp_path, upstream, redis_url, prefix
):
    async with world(tmp_path, upstream, redis_url, prefix) as w:
        sub = await subscribe(w.runtime, w.topic(), w.callback.url(), secret="s3cret")
        async with running_worker(w.config, redis_url) as queued:
            started = time.monotonic()
            await w.change(newer(1), runtime=queued)
            [push] = await w.callback.wait_for(1, within=10)
        assert push.at - started < 10
        assert verify(b"s3cret", push.body, push.headers["X-Hub-Signature"])
        assert not verify(b"other", push.body, push.headers["X-Hub-Signature"])
        assert push.headers["X-Hub-Signature"].startswith("sha256=")
        assert push.headers["Content-Type"].startswith("application/rss+xml")
        assert push.headers["Link"] == f'<{w.runtime.site_url}hub>; rel="hub", <{w.topic()}>; rel="self"'
        assert titles(push.body) == ["new title 1"]  # only what is new, not the three before
        state = await delivery_state(w.runtime.redis, w.runtime.keys, sub.id)
        assert state.acked == 1 and state.failing_since is None
        stored = await load_subscription(w.runtime.redis, w.runtime.keys, sub.id)
        assert stored is not None and stored.acked_version == 1


async def test_500_then_200_is_retried_and_one_delivery_covers_both_versions(
    tmp_path, upstream, redis_url, prefix
):
    async with world(tmp_path, upstream, redis_url, prefix) as w:
        sub = await subscribe(w.runtime, w.topic("tech.json"), w.callback.url())
        w.callback.status = 500
        async with running_worker(w.config, redis_url) as queued:
            await w.change(newer(1), runtime=queued)
            await w.callback.wait_for(1, accepted=False)
            await w.change(newer(2), runtime=queued)
            deadline = time.monotonic() + 10
            while (
                latest := await latest_topic_version(w.runtime.redis, w.runtime.keys, sub.topic)
            ) is None or (latest.version < 2):
                assert time.monotonic() < deadline
                await asyncio.sleep(0.05)
            w.callback.status = 200
            [push] = await w.callback.wait_for(1, within=15)
            await asyncio.sleep(3)  # the other version's retries run, and send nothing
        failed = [p for p in w.callback.pushes if p.status == 500]
        assert failed and all(p.at < push.at for p in failed)
        assert w.callback.ok() == [push]
        assert push.headers["X-Hub-Delivery"] == "0-2"
        assert titles(push.body) == ["new title 2", "new title 1"]
        assert "X-Hub-Signature" not in push.headers  # no secret, no signature
        assert await delivered_by(w.runtime.redis, w.runtime.keys, sub.id) == {1: "0-2", 2: "0-2"}


async def make_versions(w: World, numbers: range) -> list[int]:
    """A new item `newer(n)` and a topic version for each n, fanned out without a queue."""
    versions = []
    for n in numbers:
        await w.change(newer(n))
        done = await new_versions(w.runtime, VIEWS, "tech")
        versions.append(done[0].version)
    return versions


async def test_a_subscriber_that_is_behind_gets_one_catch_up_delivery(tmp_path, upstream, redis_url, prefix):
    async with world(tmp_path, upstream, redis_url, prefix) as w:
        sub = await subscribe(w.runtime, w.topic("tech.atom"), w.callback.url(), secret="k")
        pusher = Pusher(w.config.fetch)
        try:
            assert await make_versions(w, range(1, 2)) == [1]
            first = await deliver(w.runtime, VIEWS, pusher, sub.id, 1, time.time(), 0)
            assert (first.kind, first.after, first.upto) == ("delivered", 0, 1)
            assert await make_versions(w, range(2, 6)) == [2, 3, 4, 5]
            outcome = await deliver(w.runtime, VIEWS, pusher, sub.id, 2, time.time(), 0)
            assert (outcome.kind, outcome.after, outcome.upto) == ("delivered", 1, 5)
            for version in (3, 4, 5, 2):  # their jobs, run after the catch-up: nothing more
                assert (
                    await deliver(w.runtime, VIEWS, pusher, sub.id, version, time.time(), 0)
                ).kind == "nothing"
        finally:
            await pusher.close()
        first_push, catch_up = w.callback.pushes
        assert titles(first_push.body) == ["new title 1"]
        assert titles(catch_up.body) == ["new title 5", "new title 4", "new title 3", "new title 2"]
        assert catch_up.headers["X-Hub-Delivery"] == "1-5"
        assert verify(b"k", catch_up.body, catch_up.headers["X-Hub-Signature"])
        assert await delivered_by(w.runtime.redis, w.runtime.keys, sub.id) == {
            1: "0-1",
            2: "1-5",
            3: "1-5",
            4: "1-5",
            5: "1-5",
        }


async def test_a_version_whose_fan_out_was_cut_off_reaches_the_subscriber_with_the_next(
    tmp_path, upstream, redis_url, prefix
):
    """Subscribed before version 1; version 1's fan-out job died before this subscriber's
    delivery started (a kill -9), and its re-run found version 2 already made by the next
    publish. Version 2's delivery carries both: the subscriber counts from the version the
    topic had when it subscribed, not from the version before its first job."""
    async with world(tmp_path, upstream, redis_url, prefix) as w:
        sub = await subscribe(w.runtime, w.topic(), w.callback.url())
        pusher = Pusher(w.config.fetch)
        try:
            assert await make_versions(w, range(1, 3)) == [1, 2]  # no delivery of version 1 ran
            outcome = await deliver(w.runtime, VIEWS, pusher, sub.id, 2, time.time(), 0)
        finally:
            await pusher.close()
        assert (outcome.kind, outcome.after, outcome.upto) == ("delivered", 0, 2)
        [push] = w.callback.pushes
        assert push.headers["X-Hub-Delivery"] == "0-2"
        assert titles(push.body) == ["new title 2", "new title 1"]


async def test_a_subscription_counts_from_the_topic_version_it_was_verified_at_and_a_renewal_keeps_its_place(
    tmp_path, upstream, redis_url, prefix
):
    async with world(tmp_path, upstream, redis_url, prefix) as w:
        await subscribe(w.runtime, w.topic(), w.callback.url("/early"))  # keeps the topic going
        await make_versions(w, range(1, 3))
        late = await subscribe(w.runtime, w.topic(), w.callback.url("/late"))
        assert (await delivery_state(w.runtime.redis, w.runtime.keys, late.id)).acked == 2
        pusher = Pusher(w.config.fetch)
        try:
            await make_versions(w, range(3, 4))
            first = await deliver(w.runtime, VIEWS, pusher, late.id, 3, time.time(), 0)
            assert (first.after, first.upto) == (2, 3)
            assert await keep_subscription(w.runtime, late, per_host=0)  # renewed at version 3
            await make_versions(w, range(4, 5))
            assert await keep_subscription(w.runtime, late, per_host=0)  # renewed at version 4, not delivered
            second = await deliver(w.runtime, VIEWS, pusher, late.id, 4, time.time(), 0)
        finally:
            await pusher.close()
        assert (second.kind, second.after, second.upto) == ("delivered", 3, 4)
        assert [titles(p.body) for p in w.callback.pushes] == [["new title 3"], ["new title 4"]]


async def test_a_subscription_with_no_delivery_state_counts_from_before_its_first_job(
    tmp_path, upstream, redis_url, prefix
):
    """One stored before subscriptions recorded where they start (or whose state expired)."""
    async with world(tmp_path, upstream, redis_url, prefix) as w:
        now = datetime.now(UTC)
        callback = w.callback.url()
        sub = HubSubscription(
            id=subscription_id(w.topic(), callback),
            topic=w.topic(),
            callback=callback,
            secret="",
            lease_seconds=86400,
            expires_at=now + timedelta(days=1),
            created_at=now,
            verified_at=now,
        )
        assert await save_within_limit(w.runtime.redis, w.runtime.keys, sub, per_host=0)
        assert (await delivery_state(w.runtime.redis, w.runtime.keys, sub.id)).acked is None
        await make_versions(w, range(1, 3))
        pusher = Pusher(w.config.fetch)
        try:
            outcome = await deliver(w.runtime, VIEWS, pusher, sub.id, 2, time.time(), 0)
        finally:
            await pusher.close()
        assert (outcome.kind, outcome.after, outcome.upto) == ("delivered", 1, 2)
        assert titles(w.callback.pushes[0].body) == ["new title 2"]


async def test_a_delivery_run_twice_is_sent_once(tmp_path, upstream, redis_url, prefix):
    async with world(tmp_path, upstream, redis_url, prefix) as w:
        sub = await subscribe(w.runtime, w.topic(), w.callback.url())
        pusher = Pusher(w.config.fetch)
        try:
            await make_versions(w, range(1, 2))
            results = await asyncio.gather(
                *(deliver(w.runtime, VIEWS, pusher, sub.id, 1, time.time(), 0) for _ in range(5))
            )
            again = await deliver(w.runtime, VIEWS, pusher, sub.id, 1, time.time(), 0)
        finally:
            await pusher.close()
        # One holds the lock and delivers; the others find it held (queued again: no queue
        # here) or find the version acknowledged.
        kinds = sorted(r.kind for r in results)
        assert kinds.count("delivered") == 1 and set(kinds) <= {"delivered", "busy", "nothing"}
        assert again.kind == "nothing"
        assert len(w.callback.pushes) == 1


async def test_410_removes_the_subscription(tmp_path, upstream, redis_url, prefix):
    async with world(tmp_path, upstream, redis_url, prefix) as w:
        sub = await subscribe(w.runtime, w.topic(), w.callback.url())
        w.callback.status = 410
        pusher = Pusher(w.config.fetch)
        try:
            await make_versions(w, range(1, 2))
            outcome = await deliver(w.runtime, VIEWS, pusher, sub.id, 1, time.time(), 0)
            await w.change(newer(2))
            assert await new_versions(w.runtime, VIEWS, "tech") == []  # the topic has no subscriber left
            after = await deliver(w.runtime, VIEWS, pusher, sub.id, 2, time.time(), 0)
        finally:
            await pusher.close()
        assert (outcome.kind, outcome.status) == ("removed", 410)
        assert after.kind == "removed"
        assert len(w.callback.pushes) == 1
        assert await load_subscription(w.runtime.redis, w.runtime.keys, sub.id) is None
        assert not await w.runtime.redis.sismember(w.runtime.keys.hub_topic(sub.topic), sub.id)
        assert (await delivery_state(w.runtime.redis, w.runtime.keys, sub.id)).acked is None


async def test_failures_are_retried_with_backoff_then_dropped_after_7_days(
    tmp_path, upstream, redis_url, prefix
):
    async with world(tmp_path, upstream, redis_url, prefix) as w:
        sub = await subscribe(w.runtime, w.topic(), w.callback.url(), days=30)
        w.callback.status = 503
        pusher = Pusher(w.config.fetch)
        now = datetime.now(UTC)
        try:
            await make_versions(w, range(1, 2))
            first = await deliver(w.runtime, VIEWS, pusher, sub.id, 1, now.timestamp(), 0, now=now)
            # A day later the version is given up (its retries are over) …
            later = now + timedelta(hours=25)
            gave_up = await deliver(w.runtime, VIEWS, pusher, sub.id, 1, now.timestamp(), 12, now=later)
            # … and after seven days of failures the subscription goes.
            week = now + timedelta(days=7, minutes=1)
            dropped = await deliver(w.runtime, VIEWS, pusher, sub.id, 1, week.timestamp(), 0, now=week)
        finally:
            await pusher.close()
        assert (first.kind, first.status) == ("retry", 503)
        assert gave_up.kind == "gave_up"
        assert dropped.kind == "removed" and "failing since" in dropped.detail
        assert len(w.callback.pushes) == 3
        assert await load_subscription(w.runtime.redis, w.runtime.keys, sub.id) is None


async def test_a_loopback_callback_is_refused_without_allowed_networks(tmp_path, upstream, redis_url, prefix):
    async with world(tmp_path, upstream, redis_url, prefix, allow=False) as w:
        sub = await subscribe(w.runtime, w.topic(), w.callback.url())
        pusher = Pusher(w.config.fetch)
        try:
            await make_versions(w, range(1, 2))
            outcome = await deliver(w.runtime, VIEWS, pusher, sub.id, 1, time.time(), 0)
        finally:
            await pusher.close()
        assert outcome.kind == "refused" and "fetch.allowed_networks" in outcome.detail
        assert w.callback.pushes == []
        assert (await delivery_state(w.runtime.redis, w.runtime.keys, sub.id)).failing_since is not None


async def test_filtered_and_combined_topics_get_only_their_items(tmp_path, upstream, redis_url, prefix):
    async with world(tmp_path, upstream, redis_url, prefix) as w:
        filtered = await subscribe(w.runtime, w.topic("tech.json?q=python"), w.callback.url("/filtered"))
        combined = await subscribe(w.runtime, w.topic("science+tech.rss"), w.callback.url("/combined"))
        other = await subscribe(w.runtime, w.topic("science.rss"), w.callback.url("/science"))
        await w.change(newer(1))
        done = {d.topic: d.version for d in await new_versions(w.runtime, VIEWS, "tech")}
        assert done == {filtered.topic: 1, combined.topic: 1}  # science.rss does not show tech
        # A tech item without the word: the combined feed changes, the filtered one does not.
        plain = Item(
            "plain-1", "plain title", "https://web.example/plain", BASE_TIME + timedelta(hours=9), "<p>x</p>"
        )
        await w.change(plain)
        done = {d.topic: d.version for d in await new_versions(w.runtime, VIEWS, "tech")}
        assert done == {combined.topic: 2}
        pusher = Pusher(w.config.fetch)
        try:
            for sub in (filtered, combined, other):
                await deliver(w.runtime, VIEWS, pusher, sub.id, 1, time.time(), 0)
        finally:
            await pusher.close()
        by_path = {p.path: p for p in w.callback.pushes}
        assert set(by_path) == {"/filtered", "/combined"}
        assert titles(by_path["/filtered"].body) == ["new title 1"]
        assert by_path["/filtered"].headers["Content-Type"].startswith("application/feed+json")
        assert titles(by_path["/combined"].body) == ["plain title", "new title 1"]
        assert by_path["/combined"].headers["X-Hub-Delivery"] == "0-2"


@pytest.mark.parametrize("fmt", ["rss", "atom", "json"])
async def test_a_delivery_is_the_topic_document_cut_to_the_new_items(
    tmp_path, upstream, redis_url, prefix, fmt
):
    async with world(tmp_path, upstream, redis_url, prefix) as w:
        sub = await subscribe(w.runtime, w.topic(f"tech.{fmt}"), w.callback.url())
        pusher = Pusher(w.config.fetch)
        try:
            await make_versions(w, range(1, 3))
            await deliver(w.runtime, VIEWS, pusher, sub.id, 1, time.time(), 0)
        finally:
            await pusher.close()
        [push] = w.callback.pushes
        assert titles(push.body) == ["new title 2", "new title 1"]
        latest = await latest_topic_version(w.runtime.redis, w.runtime.keys, sub.topic)
        assert latest is not None
        # The document is the stored feed's, with the old items left out: its head is the same.
        assert push.body.split(b"new title", 1)[0][:200] == latest.body[:200]


async def test_subscribers_beyond_one_chunk_are_delivered_by_chunk_jobs(
    tmp_path, upstream, redis_url, prefix
):
    count = 2 * CHUNK + 50  # the fan-out job's own chunk and two chunk jobs
    async with world(tmp_path, upstream, redis_url, prefix) as w:
        subs = [await subscribe(w.runtime, w.topic(), w.callback.url(f"/s/{i}")) for i in range(count)]
        async with running_worker(w.config, redis_url) as queued:
            started = time.monotonic()
            await w.change(newer(1), runtime=queued)
            pushes = await w.callback.wait_for(count, within=20)
            took = time.monotonic() - started
            await asyncio.sleep(1)  # anything doubled would arrive now
        assert sorted(p.path for p in w.callback.pushes) == sorted(f"/s/{i}" for i in range(count))
        assert {p.headers["X-Hub-Delivery"] for p in pushes} == {"0-1"}
        assert all(titles(p.body) == ["new title 1"] for p in pushes)
        states = [await delivery_state(w.runtime.redis, w.runtime.keys, s.id) for s in subs]
        assert {s.acked for s in states} == {1}
        assert took < 20


async def test_a_delivery_cut_off_is_sent_again_whole_before_anything_newer(
    tmp_path, upstream, redis_url, prefix
):
    """A worker died after POSTing versions (0, 1] and before recording the answer; version 2
    came since. The subscriber may have taken (0, 1]: it gets exactly that POST again, then
    (1, 2] — never (0, 2], which would carry version 1 a second time in another delivery."""
    async with world(tmp_path, upstream, redis_url, prefix) as w:
        sub = await subscribe(w.runtime, w.topic(), w.callback.url(), secret="k")
        pusher = Pusher(w.config.fetch)
        try:
            await make_versions(w, range(1, 2))
            w.callback.status = 503  # the first POST "gets no answer we recorded": simulated below
            await deliver(w.runtime, VIEWS, pusher, sub.id, 1, time.time(), 0)
            cut_off = w.callback.pushes[0]
            await mark_inflight(
                w.runtime.redis, w.runtime.keys, sub.id, "0-1"
            )  # as a killed worker leaves it
            w.callback.status = 200
            await make_versions(w, range(2, 3))
            outcome = await deliver(w.runtime, VIEWS, pusher, sub.id, 2, time.time(), 0)
        finally:
            await pusher.close()
        _, repeat, newer_push = w.callback.pushes
        assert repeat.body == cut_off.body and repeat.headers["X-Hub-Delivery"] == "0-1"
        assert repeat.headers["X-Hub-Signature"] == cut_off.headers["X-Hub-Signature"]
        assert newer_push.headers["X-Hub-Delivery"] == "1-2" and titles(newer_push.body) == ["new title 2"]
        assert (outcome.kind, outcome.after, outcome.upto) == ("delivered", 1, 2)


def test_retries_back_off_exponentially_up_to_an_hour():
    waits = [retry_delay(attempt) for attempt in range(20)]
    assert 0.8 <= waits[0] <= 1.2 and 1.6 <= waits[1] <= 2.4 and 6.4 <= waits[3] <= 9.6
    assert all(w <= RETRY_CAP * 1.2 for w in waits) and waits[-1] >= RETRY_CAP * 0.8
    # Tries within the 24 hours a version is retried: a few dozen, not thousands.
    total, tries = 0.0, 0
    while total < RETRY_FOR.total_seconds():
        total += min(RETRY_CAP, RETRY_FIRST * 2.0**tries)
        tries += 1
    assert 25 <= tries <= 40


async def test_no_delivery_after_the_lease_ends(tmp_path, upstream, redis_url, prefix):
    async with world(tmp_path, upstream, redis_url, prefix) as w:
        sub = await subscribe(w.runtime, w.topic(), w.callback.url())
        pusher = Pusher(w.config.fetch)
        try:
            await make_versions(w, range(1, 2))
            outcome = await deliver(
                w.runtime, VIEWS, pusher, sub.id, 1, time.time(), 0, now=datetime.now(UTC) + timedelta(days=2)
            )
        finally:
            await pusher.close()
        assert outcome.kind == "removed" and w.callback.pushes == []


async def test_a_new_subscription_of_a_removed_pair_starts_afresh(tmp_path, upstream, redis_url, prefix):
    async with world(tmp_path, upstream, redis_url, prefix) as w:
        first = await subscribe(w.runtime, w.topic(), w.callback.url())
        await subscribe(w.runtime, w.topic(), w.callback.url("/other"))  # keeps the topic going
        pusher = Pusher(w.config.fetch)
        try:
            await make_versions(w, range(1, 2))
            await deliver(w.runtime, VIEWS, pusher, first.id, 1, time.time(), 0)
            await remove_subscription(w.runtime.redis, w.runtime.keys, first.id)  # unsubscribed
            await asyncio.sleep(0.01)  # another created_at
            await make_versions(w, range(2, 4))  # versions 2 and 3, while it is not subscribed
            again = await subscribe(w.runtime, w.topic(), w.callback.url())
            assert again.id == first.id and again.created_at != first.created_at
            await make_versions(w, range(4, 5))
            outcome = await deliver(w.runtime, VIEWS, pusher, again.id, 4, time.time(), 0)
        finally:
            await pusher.close()
        assert (outcome.kind, outcome.after, outcome.upto) == ("delivered", 3, 4)
        assert titles(w.callback.pushes[-1].body) == ["new title 4"]


async def test_subscribe_over_http_then_a_new_item_is_pushed_signed(tmp_path, upstream, redis_url, prefix):
    """The whole path: POST /hub, intent verified by the worker, an upstream change
    ingested, published, fanned out and POSTed to the callback, signed with the secret the
    subscriber gave — within 10 s of the ingest."""
    async with (
        world(tmp_path, upstream, redis_url, prefix) as w,
        running_worker(w.config, redis_url) as queued,
    ):
        server = TestServer(create_app(queued), host="127.0.0.1")
        await server.start_server()
        try:
            async with ClientSession() as http:
                form = {
                    "hub.mode": "subscribe",
                    "hub.topic": w.topic(),
                    "hub.callback": w.callback.url(),
                    "hub.secret": "from the form",
                }
                async with http.post(server.make_url("/hub"), data=form) as resp:
                    assert resp.status == 202, await resp.text()
            sid = subscription_id(w.topic(), w.callback.url())
            deadline = time.monotonic() + 10
            while await load_subscription(w.runtime.redis, w.runtime.keys, sid) is None:
                assert time.monotonic() < deadline, "not verified"
                await asyncio.sleep(0.05)
            assert w.callback.verifications[0]["hub.mode"] == "subscribe"
            started = time.monotonic()
            await w.change(newer(1), runtime=queued)
            [push] = await w.callback.wait_for(1, within=10)
        finally:
            await server.close()
        assert push.at - started < 10
        assert verify(b"from the form", push.body, push.headers["X-Hub-Signature"])
        assert titles(push.body) == ["new title 1"]


async def test_an_inline_publish_is_pushed_by_the_next_worker(tmp_path, upstream, redis_url, prefix):
    """`syndicator ingest` publishes in its own process (no queue of its own): the push is
    queued anyway, and a worker started afterwards delivers it."""
    async with world(tmp_path, upstream, redis_url, prefix) as w:
        await subscribe(w.runtime, w.topic(), w.callback.url())
        await w.change(newer(1))  # inline, as the CLI does
        assert w.callback.pushes == []
        async with running_worker(w.config, redis_url):
            [push] = await w.callback.wait_for(1, within=10)
        assert titles(push.body) == ["new title 1"]

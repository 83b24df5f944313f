"""Kill -9 in the middle of hub deliveries: no (subscription, version) lost or sent out of order.

SUBSCRIBERS loopback subscribers (two chunks: the fan-out job's own and one chunk job)
follow one topic. Each round the upstream gets a new item, an ingest here queues the
publish, a real `syndicator worker` starts and is SIGKILLed at a random moment after its
first POST of the round arrived — in the middle of the round's POSTs, the fan-out, the
chunk job or the recording of what was delivered. The callback answers after a short
random delay, so a kill often falls while POSTs are open. Then the killed worker's jobs
and delivery locks are released as time would release them (arq's in-progress keys and
our locks expire) and the next round begins. A last worker runs until every subscriber
has acknowledged the topic's latest version.

What each subscriber acknowledged (the POSTs its callback answered 2xx on a connection
that was still open) must cover every topic version, in order: nothing lost, and no
version in two different deliveries. The one repeat no hub can rule out — a worker killed
after the subscriber's 2xx left the callback and before the hub recorded it (HTTP gives
at-least-once, not exactly-once) — is a whole repeat of the same delivery with the same
`X-Hub-Delivery` range, which a subscriber drops by that header; the test counts and
prints them. With a chunk's 100 POSTs open at once, one kill can fall in that window for
several of them.

`SYNDICATOR_KILLS` sets the rounds (default 5; 50 in the full chaos run, `SYNDICATOR_CHAOS=full`),
`SYNDICATOR_KILL_SEED` replays the delays.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp import web
from arq import create_pool

from syndicator.config import load_config
from syndicator.ingest import ingest_source
from syndicator.runtime import Runtime
from syndicator.store.connection import arq_settings
from syndicator.store.hub_deliveries import delivery_state, latest_topic_version
from syndicator.store.schema import store_version
from tests.builders import BASE_TIME, Item, rss, toml_value
from tests.chaos.helpers import KILLS
from tests.chaos.test_kill_campaign import expire_locks, reap
from tests.processes import REPO, clean_environment, store_environment
from tests.test_hub_delivery import subscribe

SEED = int(os.environ.get("SYNDICATOR_KILL_SEED", str(random.randrange(2**32))))
SUBSCRIBERS = 150
JOB_TIMEOUT = 3.0


class Callbacks:
    """Every subscriber's callback; what each acknowledged, by X-Hub-Delivery range."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.acked: dict[str, list[str]] = {}
        self.unanswered = 0
        self.port = 0

    async def handle(self, request: web.Request) -> web.Response:
        await request.read()
        await asyncio.sleep(self.rng.uniform(0.0, 0.05))
        transport = request.transport
        if transport is None or transport.is_closing():
            self.unanswered += 1  # the hub went away: it cannot see a 2xx, so none is counted
        else:
            self.acked.setdefault(request.path, []).append(request.headers["X-Hub-Delivery"])
        return web.Response(text="ok")

    async def start(self) -> web.AppRunner:
        app = web.Application()
        app.router.add_post("/{path:.*}", self.handle)
        runner = web.AppRunner(app, access_log=None, handler_cancellation=False)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return runner


def config_file(tmp_path: Path, upstream, redis_url: str, prefix: str) -> Path:
    lines = [
        "[server]",
        f'redis_url = "{redis_url}"',
        f'redis_prefix = "{prefix}"',
        f'queue_name = "{prefix}queue"',
        'public_url = "http://feeds.test/"',
        f'job_timeout = "{JOB_TIMEOUT:g}s"',
        "[fetch]",
        'allowed_networks = ["127.0.0.0/8"]',
        "[[categories]]",
        'slug = "tech"',
        "[[sources]]",
        'id = "feed"',
        f"url = {toml_value(upstream.url('/feed.rss'))}",
        'categories = ["tech"]',
        "allow_private_network = true",
        'poll_interval = "1d"',
    ]
    path = tmp_path / "syndicator.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


async def start_worker(
    config_path: Path, redis_url: str, prefix: str, log: Path
) -> asyncio.subprocess.Process:
    with log.open("ab") as out:
        return await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "syndicator.cli", "worker", "--config", str(config_path)),
            cwd=REPO,
            env=clean_environment(store_environment(redis_url, prefix)),
            stdout=out,
            stderr=out,
            start_new_session=True,
        )


def item(n: int) -> Item:
    return Item(
        f"k-{n}", f"kill title {n}", f"https://kill.example/{n}", BASE_TIME + timedelta(hours=n), "<p>x</p>"
    )


def covered(ranges: list[str]) -> list[int]:
    """Every version the acknowledged ranges cover, with repeats."""
    versions: list[int] = []
    for text in ranges:
        after, upto = (int(x) for x in text.split("-"))
        versions.extend(range(after + 1, upto + 1))
    return versions


@pytest.mark.slow  # ~30 s of real workers
async def test_kill_minus_nine_during_deliveries_loses_nothing_and_sends_versions_in_order(
    tmp_path, upstream, redis_url, prefix, capsys
):
    rng = random.Random(SEED)
    print(f"SYNDICATOR_KILL_SEED={SEED} SYNDICATOR_KILLS={KILLS}")
    callbacks = Callbacks(rng)
    runner = await callbacks.start()
    shown = [item(0)]
    upstream.put("/feed.rss", rss(shown), "application/rss+xml")
    path = config_file(tmp_path, upstream, redis_url, prefix)
    config = load_config(path, environ={})
    queue = await create_pool(arq_settings(redis_url))
    runtime = Runtime.open(config, redis_url, queue=queue)
    log = tmp_path / "worker.log"
    topic = f"{runtime.site_url}feeds/tech.rss"
    try:
        await store_version(runtime.redis, runtime.keys)
        inline = Runtime.open(config, redis_url)
        await ingest_source(inline, "feed")  # version 1 of the category, before anyone subscribes
        await inline.close()
        subs = [
            await subscribe(runtime, topic, f"http://127.0.0.1:{callbacks.port}/s/{i}")
            for i in range(SUBSCRIBERS)
        ]
        tally: list[str] = []
        for round_ in range(1, KILLS + 1):
            shown = [item(round_), *shown][:20]
            upstream.put("/feed.rss", rss(shown), "application/rss+xml")
            before = sum(len(v) for v in callbacks.acked.values()) + callbacks.unanswered
            await ingest_source(runtime, "feed")  # queues the publish job
            worker = await start_worker(path, redis_url, prefix, log)
            deadline = time.monotonic() + 20
            while sum(len(v) for v in callbacks.acked.values()) + callbacks.unanswered == before:
                assert time.monotonic() < deadline, (
                    f"round {round_}: no POST arrived\n{log.read_text()[-3000:]}"
                )
                await asyncio.sleep(0.005)
            await asyncio.sleep(rng.uniform(0.0, 0.4))
            sent = sum(len(v) for v in callbacks.acked.values()) + callbacks.unanswered - before
            await reap(worker, signal.SIGKILL)
            tally.append(f"round {round_}: killed after {sent} POSTs")
            await expire_locks(runtime.redis, prefix)
            locks = [k async for k in runtime.redis.scan_iter(match=f"{prefix}hub:dlock:*")]
            if locks:
                await runtime.redis.delete(*locks)
        worker = await start_worker(path, redis_url, prefix, log)
        try:
            deadline = time.monotonic() + 60
            while True:
                latest = await latest_topic_version(runtime.redis, runtime.keys, topic, with_body=False)
                states = [await delivery_state(runtime.redis, runtime.keys, s.id) for s in subs]
                # Caught up, and nothing queued that could make a newer version (a killed
                # round's publish runs again on this worker): else `expected` is stale.
                idle = await runtime.redis.zcard(config.settings.queue_name) == 0
                if latest is not None and idle and all(s.acked == latest.version for s in states):
                    break
                assert time.monotonic() < deadline, (
                    f"not caught up: {sum(s.acked != (latest and latest.version) for s in states)} behind"
                    f"\n{log.read_text()[-3000:]}"
                )
                await asyncio.sleep(0.1)
        finally:
            await reap(worker, signal.SIGTERM)
        final = await latest_topic_version(runtime.redis, runtime.keys, topic, with_body=False)
        assert final is not None and final.version == latest.version, "a version came after the catch-up"
        expected = list(range(1, latest.version + 1))
        repeats = 0
        for i in range(SUBSCRIBERS):
            ranges = callbacks.acked.get(f"/s/{i}", [])
            assert sorted(set(covered(ranges))) == expected, f"/s/{i} lost versions: got {ranges}"
            # In arrival order every delivery follows on from the one before, or repeats it
            # whole (same X-Hub-Delivery): never a version twice in two different deliveries.
            upto, previous = 0, ""
            for text in ranges:
                after, end = (int(x) for x in text.split("-"))
                if end == upto and text == previous:
                    repeats += 1
                    continue
                assert after == upto, f"/s/{i}: {text} after a delivery up to {upto}: {ranges}"
                upto, previous = end, text
        with capsys.disabled():
            print("\n".join(tally))
            print(
                f"topic versions {latest.version}, {SUBSCRIBERS} subscribers: every version acknowledged, "
                f"in order, none lost; {callbacks.unanswered} POSTs cut off by a kill (sent again); "
                f"{repeats} whole repeats of a delivery the subscriber answered 2xx just before the kill "
                "and the hub had not recorded (same X-Hub-Delivery)"
            )
    finally:
        await runtime.close()
        await queue.aclose()
        await runner.cleanup()

"""WebSub push: publish→delivery latency, and the delivery rate to many subscribers.

    .venv/bin/python bench/websub.py [--publishes 100] [--subscribers 1000] [--workers 1]

In a private Redis (EmbeddedRedis, in a temporary directory removed afterwards), with a
loopback upstream feed and a loopback callback server in this process, and `--workers`
real `syndicator worker` processes:

- latency: one subscriber of `/feeds/tech.rss` (signed: it has a secret); `--publishes`
  times a new item is served upstream and ingested here (the ingest queues the publish
  job, as a scheduled poll does). Measured from the moment publish stores the version
  (its announcement on the `published` channel) to the callback receiving the POST, and
  from the start of the ingest; p50/p99/max. The goal is 1 s.
- rate: `--subscribers` more subscriptions of the same topic (one callback path each);
  one publish; the time from the version being stored to the last of them receiving its
  POST, three rounds: deliveries per second.

Subscriptions are written to the store directly (the subscribe request and its intent
verification are not what is measured). Every POST is checked: signature when signed, and
the versions it covers (`X-Hub-Delivery`) follow on from the last one that path got.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from aiohttp import web
from arq.connections import create_pool
from machine import describe

from syndicator.config import load_config
from syndicator.embedded import EmbeddedRedis
from syndicator.hub.signature import verify
from syndicator.ingest import ingest_source
from syndicator.publish import publish_missing
from syndicator.runtime import Runtime
from syndicator.store.connection import arq_settings
from syndicator.store.hub import HubSubscription, save_subscription, subscription_id
from syndicator.store.schema import store_version

SECRET = b"bench-secret"


class Site:
    """The upstream feed and every subscriber's callback, on one loopback server."""

    def __init__(self) -> None:
        self.items: list[bytes] = []
        self.arrivals: dict[str, list[tuple[float, str]]] = {}
        self.waiters: dict[str, asyncio.Event] = {}
        self.problems: list[str] = []
        self.port = 0

    def add_item(self, n: int) -> None:
        when = datetime(2026, 11, 30, tzinfo=UTC) + timedelta(minutes=n)
        self.items.insert(
            0,
            (
                f"<item><guid>item-{n}</guid><title>Story {n}</title><link>https://example.org/{n}</link>"
                f"<pubDate>{format_datetime(when)}</pubDate><description>story {n}</description></item>"
            ).encode(),
        )
        del self.items[20:]

    async def feed(self, request: web.Request) -> web.Response:
        body = (
            b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
            b"<link>https://example.org/</link><description>d</description>"
            + b"".join(self.items)
            + b"</channel></rss>"
        )
        return web.Response(body=body, content_type="application/rss+xml")

    async def callback(self, request: web.Request) -> web.Response:
        body = await request.read()
        path = request.path
        signature = request.headers.get("X-Hub-Signature")
        if path == "/latency" and not verify(SECRET, body, signature):
            self.problems.append(f"{path}: bad signature")
        covers = request.headers.get("X-Hub-Delivery", "")
        seen = self.arrivals.setdefault(path, [])
        if seen and seen[-1][1].split("-")[1] != covers.split("-")[0]:
            self.problems.append(f"{path}: {covers} after {seen[-1][1]}")
        seen.append((time.perf_counter(), covers))
        event = self.waiters.get(path)
        if event is not None:
            event.set()
        return web.Response(text="ok")

    async def start(self) -> web.AppRunner:
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_get("/feed.rss", self.feed)
        app.router.add_post("/{path:.*}", self.callback)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, backlog=2048)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return runner


def write_config(folder: Path, redis_url: str, port: int) -> Path:
    path = folder / "syndicator.toml"
    path.write_text(
        "\n".join(
            [
                "[server]",
                f'redis_url = "{redis_url}"',
                'redis_prefix = "bench:"',
                'queue_name = "bench:queue"',
                'public_url = "http://feeds.test/"',
                "[fetch]",
                'allowed_networks = ["127.0.0.0/8"]',
                '[[categories]]\nslug = "tech"\ntitle = "Tech"',
                f'[[sources]]\nid = "feed"\nurl = "http://127.0.0.1:{port}/feed.rss"\n'
                'categories = ["tech"]\nallow_private_network = true\npoll_interval = "1d"',
            ]
        )
        + "\n"
    )
    return path


async def subscribe(runtime: Runtime, topic: str, callback: str, secret: str = "") -> None:
    now = datetime.now(UTC)
    await save_subscription(
        runtime.redis,
        runtime.keys,
        HubSubscription(
            id=subscription_id(topic, callback),
            topic=topic,
            callback=callback,
            secret=secret,
            lease_seconds=86400,
            expires_at=now + timedelta(days=1),
            created_at=now,
            verified_at=now,
        ),
    )


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def main(publishes: int, subscribers: int, workers: int) -> None:
    print(describe())
    site = Site()
    runner = await site.start()
    with tempfile.TemporaryDirectory() as tmp, EmbeddedRedis(Path(tmp) / "redis", appendonly=False) as server:
        config = load_config(write_config(Path(tmp), server.url, site.port), environ={})
        inline = Runtime.open(config, server.url)
        await store_version(inline.redis, inline.keys)  # an empty store: stamped current
        site.add_item(0)
        await ingest_source(inline, "feed")
        await publish_missing(inline)
        topic = f"{inline.site_url}feeds/tech.rss"
        callback = f"http://127.0.0.1:{site.port}"
        await subscribe(inline, topic, f"{callback}/latency", SECRET.decode())

        published: dict[int, float] = {}
        pubsub = inline.redis.pubsub()
        await pubsub.subscribe(inline.keys.published_channel)

        async def listen() -> None:
            async for message in pubsub.listen():
                if message["type"] == "message":
                    slug, version = message["data"].decode().split()
                    if slug == "tech":
                        published[int(version)] = time.perf_counter()

        listener = asyncio.create_task(listen())
        env = {k: v for k, v in os.environ.items() if not k.startswith("SYNDICATOR_")}
        procs = [
            subprocess.Popen(  # noqa: ASYNC220 - started once, before anything is measured
                [sys.executable, "-m", "syndicator.cli", "worker", "--config", str(config.path)],
                env=env | {"SYNDICATOR_LOG_FORMAT": "human"},
                stdout=subprocess.DEVNULL,
                stderr=(Path(tmp) / f"worker-{i}.log").open("w"),
            )
            for i in range(workers)
        ]
        queue = await create_pool(arq_settings(server.url), default_queue_name=config.settings.queue_name)
        queued = Runtime.open(config, server.url, queue=queue)
        try:

            async def one_publish(n: int, paths: list[str]) -> tuple[float, int]:
                """Ingest item n; wait for every path's POST; (ingest start, the version)."""
                before = {p: len(site.arrivals.get(p, [])) for p in paths}
                site.add_item(n)
                started = time.perf_counter()
                await ingest_source(queued, "feed")
                deadline = time.perf_counter() + 120
                while any(len(site.arrivals.get(p, [])) <= before[p] for p in paths):
                    if time.perf_counter() > deadline:
                        missing = sum(len(site.arrivals.get(p, [])) <= before[p] for p in paths)
                        print((Path(tmp) / "worker-0.log").read_text()[-3000:], file=sys.stderr)
                        raise TimeoutError(f"publish {n}: {missing} of {len(paths)} deliveries missing")
                    await asyncio.sleep(0.005)
                version = int(await inline.redis.get(inline.keys.feed_version("tech")))
                return started, version

            await one_publish(1, ["/latency"])  # warm-up: workers started, connections open
            from_publish, from_ingest = [], []
            for n in range(2, publishes + 2):
                started, version = await one_publish(n, ["/latency"])
                arrived = site.arrivals["/latency"][-1][0]
                from_publish.append(arrived - published[version])
                from_ingest.append(arrived - started)
            print(
                f"latency over {publishes} publishes, 1 subscriber, {workers} worker(s): "
                f"publish→delivery p50 {percentile(from_publish, 50) * 1000:.0f} ms, "
                f"p99 {percentile(from_publish, 99) * 1000:.0f} ms, max {max(from_publish) * 1000:.0f} ms; "
                f"ingest→delivery p50 {percentile(from_ingest, 50) * 1000:.0f} ms, "
                f"p99 {percentile(from_ingest, 99) * 1000:.0f} ms (goal: 1 s)"
            )

            paths = [f"/s/{i}" for i in range(subscribers)]
            for path in paths:
                await subscribe(inline, topic, f"{callback}{path}")
            rates = []
            for round_ in range(3):
                n = publishes + 2 + round_
                await one_publish(n, paths)
                version = int(await inline.redis.get(inline.keys.feed_version("tech")))
                last = max(site.arrivals[p][-1][0] for p in paths)
                first = min(site.arrivals[p][-1][0] for p in paths)
                took = last - published[version]
                rates.append(subscribers / took)
                print(
                    f"  round {round_ + 1}: {subscribers} deliveries, the first "
                    f"{1000 * (first - published[version]):.0f} ms and the last {took:.2f} s after the "
                    f"publish: {subscribers / took:.0f}/s"
                )
            print(
                f"rate to {subscribers} loopback subscribers of one topic, {workers} worker(s): "
                f"median {statistics.median(rates):.0f} deliveries/s"
            )
            doubled = sum(len(v) for v in site.arrivals.values()) - (publishes + 1 + 3) - 3 * subscribers
            print(
                f"checks: {len(site.problems)} problems, "
                f"{doubled} deliveries beyond one per (subscriber, version)"
            )
            for problem in site.problems[:10]:
                print("  ", problem)
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                proc.wait(timeout=30)
            listener.cancel()
            await pubsub.aclose()
            await queued.close()
            await queue.aclose()
            await inline.close()
            await runner.cleanup()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--publishes", type=int, default=100)
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    asyncio.run(main(args.publishes, args.subscribers, args.workers))

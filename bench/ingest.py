"""Ingest, publish and store memory, each beside its reference measured in the same run.

    .venv/bin/python bench/ingest.py [--quick] [--rounds 7] [--memory 10000[,100000]]
                                     [--only ingest,publish,memory]

Everything runs in this process against a private Redis (EmbeddedRedis, in a temporary
directory) and a loopback upstream; one table is printed with the date, machine and
command. The machine may be shared: the compared cases run in alternating pairs and the
table gives medians, with CPU seconds (this process plus the parse pool's children, from
/proc) beside wall seconds, since CPU time is what a busy neighbour disturbs least.

- **ingest**: `bench_feed()` (500 entries, 1.4 MB, HTML with links and images) polled by
  `ingest_source` as a worker does it (fetch over loopback, parse and normalise in the
  parse pool's child, the transfer back, processing with near-duplicate clustering, the
  store, the publish request on the queue), into an emptied store so all 500 are new.
  Reference: `feedparser.parse(data)` with its defaults on the same bytes. The parse
  child runs at `isolate.NICENESS` (10), the reference in this process at the bench's
  priority: on a loaded machine the child waits for a CPU, so read the CPU column too.
- **publish**: `publish_category` (render RSS, Atom and JSON Feed, compress each three
  ways, store, announce) of a category holding 1,000 stored items, after one item was
  edited (so there is a new version to store), at the default `items_per_feed` (50) and
  at 1,000 items a page. Beside it: what each compression level costs on that page.
- **memory**: Redis `used_memory` added per stored article (its record, indexes, raw
  input kept for reprocess, fingerprint and LSH bands), after ingesting N articles from
  N/500 sources; `--memory 100000` is the large run (minutes; not for CI).

`--quick` (under 3 minutes): 3 pairs of each, memory at 10,000 articles.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from functools import partial
from html import escape
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import feedparser
from aiohttp import web
from arq.connections import create_pool
from machine import describe

from syndicator.config import load_config
from syndicator.embedded import EmbeddedRedis
from syndicator.ingest import ingest_source
from syndicator.publish import publish_category
from syndicator.runtime import Runtime
from syndicator.store.articles import newest_articles, upsert_article
from syndicator.store.connection import arq_settings

COMMON = """the of and a to in is you that it he was for on are as with his they at be this have from
or one had by word but not what all were we when your can said there use an each which she do how
their if will up other about out many then them these so some her would make like him into time has
look two more write go see number no way could people my than first water been call who oil its now
find long down day did get come made may part"""
WORDS = tuple(COMMON.split())


def bench_feed(entries: int = 500, seed: int = 16, site: str = "news.example") -> bytes:
    """A deterministic RSS 2.0 feed: ~2.8 KB of HTML an entry (five paragraphs, a relative
    or absolute link in each, an image and a lazy-loaded one), a pubDate, a category and an
    author. `site` names the host of its links, so several sources' feeds are distinct stories."""
    pick = random.Random(seed)
    start = datetime(2026, 11, 30, 12, tzinfo=UTC)
    items = []
    for i in range(entries):
        paragraphs = []
        for p in range(5):
            words = [pick.choice(WORDS) for _ in range(80)]
            if p % 2:
                words[7] = f'<a href="/story/{i}/{p}">{words[7]}</a>'
            else:
                words[30] = f'<a href="https://other.example/{pick.randrange(10**6)}">{words[30]}</a>'
            paragraphs.append(f"<p>{' '.join(words)}</p>")
        paragraphs.insert(
            2,
            f'<figure><img src="/img/{i}.jpg" alt="photo {i}" width="640" height="360">'
            f"<figcaption>Photo {i}</figcaption></figure>",
        )
        paragraphs.insert(
            5, f'<p><img src="/img/blank.gif" data-src="https://cdn.example/{i}/b.jpg" alt=""></p>'
        )
        html = "".join(paragraphs)
        items.append(
            f"<item><title>Story {i}: {' '.join(pick.choice(WORDS) for _ in range(8))}</title>"
            f'<link>https://{site}/story/{i}</link><guid isPermaLink="false">story-{i}</guid>'
            f"<pubDate>{format_datetime(start - timedelta(minutes=7 * i))}</pubDate>"
            f"<author>desk@news.example (Desk {i % 7})</author><category>topic{i % 5}</category>"
            f"<description>{escape(html)}</description></item>\n"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel><title>Bench news</title>'
        f"<link>https://{site}/</link><description>Generated for bench/ingest.py</description>\n"
        f"{''.join(items)}</channel></rss>\n"
    ).encode()


def write_config(
    folder: Path,
    redis_url: str,
    port: int,
    *,
    sources: int = 1,
    items_per_feed: int = 50,
    max_entries: int = 500,
    retention: int = 1000,
) -> Path:
    lines = [
        "[server]",
        f'redis_url = "{redis_url}"',
        'redis_prefix = "bench:"',
        'queue_name = "bench:queue"',
        'public_url = "http://feeds.test/"',
        "[fetch]",
        f"max_entries = {max_entries}",
        "[[categories]]",
        'slug = "news"',
        'title = "News"',
        f"items_per_feed = {items_per_feed}",
        f"retention_count = {retention}",
    ]
    for n in range(sources):
        lines += [
            "[[sources]]",
            f'id = "s{n}"',
            f'url = "http://127.0.0.1:{port}/{n}.rss"',
            'categories = ["news"]',
            "allow_private_network = true",
        ]
    path = folder / f"bench-{items_per_feed}-{sources}.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def child_cpu(pids: list[int]) -> float:
    """CPU seconds (user + system) the processes `pids` have used so far (/proc/PID/stat)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


class Upstream:
    """A loopback HTTP server answering `/{n}.rss` with source n's feed (made on first ask)."""

    def __init__(self) -> None:
        self.feeds: dict[int, bytes] = {0: bench_feed()}
        self.runner: web.AppRunner | None = None
        self.port = 0

    async def _serve(self, request: web.Request) -> web.Response:
        n = int(request.match_info["n"])
        if n not in self.feeds:
            self.feeds[n] = bench_feed(seed=16 + n, site=f"site{n}.example")
        return web.Response(body=self.feeds[n], content_type="application/rss+xml")

    async def __aenter__(self) -> Upstream:
        app = web.Application()
        app.router.add_get("/{n}.rss", self._serve)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def __aexit__(self, *_exc: object) -> None:
        assert self.runner is not None
        await self.runner.cleanup()


class Clock:
    """Wall and CPU seconds of one measured call: this process's CPU plus the children's
    of `pids` (the parse pool's, which live on between jobs: getrusage(RUSAGE_CHILDREN)
    counts only children that have ended, so /proc is read)."""

    def __init__(self, pids: list[int]) -> None:
        self.pids = pids

    async def time(self, work: Callable[[], Awaitable[object]]) -> tuple[float, float, object]:
        gc.collect()
        cpu, children, wall = time.process_time(), child_cpu(self.pids), time.perf_counter()
        result = await work()
        wall = time.perf_counter() - wall
        used = time.process_time() - cpu + child_cpu(self.pids) - children
        return wall, used, result


def parse_defaults(data: bytes) -> Callable[[], Awaitable[object]]:
    async def run() -> object:
        return feedparser.parse(data)

    return run


def median_pair(samples: list[tuple[float, float]]) -> str:
    walls, cpus = [w for w, _c in samples], [c for _w, c in samples]
    return f"{statistics.median(walls) * 1000:7.0f} ms wall, {statistics.median(cpus) * 1000:5.0f} ms CPU"


async def bench_ingest(
    folder: Path, redis_url: str, redis_pid: int, rounds: int, rows: list[tuple[str, str, str]]
) -> None:
    """The ingest row: `redis_pid`'s CPU is reported apart (the reference uses no Redis)."""
    async with Upstream() as upstream:
        config = load_config(write_config(folder, redis_url, upstream.port), environ={})
        queue = await create_pool(arq_settings(redis_url), default_queue_name=config.settings.queue_name)
        runtime = Runtime.open(config, redis_url, queue=queue)
        data = upstream.feeds[0]
        try:
            await ingest_source(runtime, "s0", force=True)  # the pool's children start once
            ours: list[tuple[float, float]] = []
            reference: list[tuple[float, float]] = []
            redis_cpu: list[float] = []
            for n in range(rounds):
                await runtime.redis.flushdb()  # every entry new again, as on a first poll
                clock = Clock([child.pid for child in runtime.pool._idle])
                pair = [
                    ("ours", lambda: ingest_source(runtime, "s0", force=True)),
                    ("ref", parse_defaults(data)),
                ]
                for name, work in pair if n % 2 == 0 else pair[::-1]:
                    redis_before = child_cpu([redis_pid])
                    wall, cpu, result = await clock.time(work)
                    if name == "ours":
                        redis_cpu.append(child_cpu([redis_pid]) - redis_before)
                        assert result.counts == {"new": 500}, result.line()  # type: ignore[attr-defined]
                        ours.append((wall, cpu))
                    else:
                        reference.append((wall, cpu))
        finally:
            await runtime.close()
            await queue.aclose()
    rows.append(
        (
            f"ingest 500 entries, {len(data) / 1e6:.2f} MB (parse in the pool, store, publish queued)",
            median_pair(ours),
            "feedparser.parse(data), defaults: " + median_pair(reference),
        )
    )
    walls = sorted(o[0] / r[0] for o, r in zip(ours, reference, strict=True))
    ratios = " ".join(f"{w:.2f}" for w in walls)
    rows.append(("  ingest / feedparser, each pair (wall)", ratios, "target ≤ 1.00"))
    redis_ms = statistics.median(redis_cpu) * 1000
    rows.append(("  Redis server CPU during an ingest", f"{redis_ms:5.0f} ms CPU (not in the CPU above)", ""))


async def edit_one(runtime: Runtime, slug: str, n: int) -> None:
    """Change the newest stored item's title, so the next publish stores a new version."""
    [article] = await newest_articles(runtime.redis, runtime.keys, slug, 1)
    edited = replace(article, title=f"{article.title.split(' #')[0]} #{n}").hashed()
    await upsert_article(runtime.redis, runtime.keys, edited, (slug, "all"), now=datetime.now(UTC))


async def bench_publish(folder: Path, redis_url: str, rounds: int, rows: list[tuple[str, str, str]]) -> None:
    async with Upstream() as upstream:
        for per_page in (50, 1000):
            path = write_config(
                folder, redis_url, upstream.port, sources=2, items_per_feed=per_page, retention=1000
            )
            config = load_config(path, environ={})
            queue = await create_pool(arq_settings(redis_url), default_queue_name=config.settings.queue_name)
            runtime = Runtime.open(config, redis_url, queue=queue)
            try:
                await runtime.redis.flushdb()
                for source in ("s0", "s1"):
                    report = await ingest_source(runtime, source)
                    assert report.counts == {"new": 500}, report.line()
                await publish_category(runtime, "news")
                clock = Clock([])
                samples: list[tuple[float, float]] = []
                for n in range(rounds):
                    await edit_one(runtime, "news", n)
                    wall, cpu, version = await clock.time(partial(publish_category, runtime, "news"))
                    assert version is not None
                    samples.append((wall, cpu))
                rendered = await runtime.redis.hget(runtime.keys.feed("news", "rss"), "body:identity")
            finally:
                await runtime.close()
                await queue.aclose()
            target = "target ≤ 50 ms median" if per_page == 50 else "no target"
            rows.append((f"publish, 1,000 stored, {per_page} items a page", median_pair(samples), target))
            if per_page == 1000 and rendered:
                rows.extend(compression_rows(rendered))


def compression_rows(body: bytes) -> list[tuple[str, str, str]]:
    """What each gzip and brotli level costs on one rendered page (median of 3)."""
    import gzip

    import brotli

    out = []
    for name, fn in (
        *(
            (f"gzip {level}", lambda b, lv=level: gzip.compress(b, compresslevel=lv, mtime=0))
            for level in (6, 9)
        ),
        *((f"brotli {q}", lambda b, q=q: brotli.compress(b, quality=q)) for q in (6, 8, 9)),
    ):
        times = []
        for _ in range(3):
            started = time.process_time()
            packed = fn(body)
            times.append(time.process_time() - started)
        cost = statistics.median(times)
        out.append(
            (
                f"  {name} of the RSS page ({len(body) / 1e6:.2f} MB)",
                f"{cost * 1000:7.1f} ms CPU, {cost / (len(body) / 1e6):.3f} s/MB",
                f"{len(packed) / len(body):.3f} of identity",
            )
        )
    return out


async def redis_used(runtime: Runtime) -> int:
    info = await runtime.redis.info("memory")
    return int(info["used_memory"])


async def bench_memory(folder: Path, redis_url: str, articles: int, rows: list[tuple[str, str, str]]) -> None:
    sources = articles // 500
    async with Upstream() as upstream:
        path = write_config(
            folder, redis_url, upstream.port, sources=sources, items_per_feed=50, retention=articles
        )
        config = load_config(path, environ={})
        runtime = Runtime.open(config, redis_url)  # publish inline: rendered feeds count too
        try:
            await runtime.redis.flushdb()
            await runtime.redis.config_set("save", "")
            before = await redis_used(runtime)
            for n in range(sources):
                report = await ingest_source(runtime, f"s{n}")
                assert report.counts.get("new") == 500, report.line()
            after = await redis_used(runtime)
            stored = await runtime.redis.zcard(runtime.keys.category_index("news"))
            kinds = await key_kinds(runtime)
        finally:
            await runtime.close()
    rows.append(
        (
            f"Redis memory, {stored:,} articles stored from {sources} sources",
            f"{(after - before) / stored:7.0f} bytes an article",
            "INFO used_memory after less before, over the articles stored",
        )
    )
    for kind, (count, mean) in sorted(kinds.items(), key=lambda kv: -kv[1][0] * kv[1][1])[:6]:
        rows.append(
            (
                f"  keys {kind}…: {count:,}",
                f"{count * mean / stored:7.0f} bytes an article",
                f"MEMORY USAGE {mean:.0f} B a key (mean of up to {SAMPLED})",
            )
        )


SAMPLED = 200


async def key_kinds(runtime: Runtime) -> dict[str, tuple[int, float]]:
    """Keys by kind (the name up to its first variable part) → (count, mean MEMORY USAGE of
    up to `SAMPLED` of them): where the bytes an article costs go."""
    prefix = runtime.keys.prefix
    found: dict[str, list[bytes]] = {}
    counts: dict[str, int] = {}
    async for key in runtime.redis.scan_iter(match=f"{prefix}*", count=5000):
        name = key.decode()[len(prefix) :]
        kind = name.split(":", 1)[0] + (":" if ":" in name else "")
        counts[kind] = counts.get(kind, 0) + 1
        sample = found.setdefault(kind, [])
        if len(sample) < SAMPLED:
            sample.append(key)
    out = {}
    for kind, sample in found.items():
        sizes = [await runtime.redis.memory_usage(key) or 0 for key in sample]
        out[kind] = (counts[kind], statistics.mean(sizes))
    return out


def table(rows: list[tuple[str, str, str]], command: str) -> str:
    width = max(len(r[0]) for r in rows)
    lines = [
        f"date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"machine: {describe()}; load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}",
        f"command: {command}",
        "",
        f"{'case':<{width}} | {'ours (median)':<36} | reference, same run",
    ]
    lines.append("-" * len(lines[-1]))
    lines += [f"{a:<{width}} | {b:<36} | {c}" for a, b, c in rows]
    return "\n".join(lines)


async def main(args: argparse.Namespace) -> None:
    rows: list[tuple[str, str, str]] = []
    with tempfile.TemporaryDirectory() as tmp, EmbeddedRedis(Path(tmp) / "redis", appendonly=False) as server:
        folder = Path(tmp)
        if "ingest" in args.only:
            assert server._process is not None  # the redis-server this run started
            await bench_ingest(folder, server.url, server._process.pid, args.rounds, rows)
        if "publish" in args.only:
            await bench_publish(folder, server.url, args.rounds, rows)
        if "memory" in args.only:
            for count in args.memory:
                await bench_memory(folder, server.url, count, rows)
    print(table(rows, " ".join(["bench/ingest.py", *sys.argv[1:]])))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 pairs of each, memory at 10,000 (< 3 min)")
    parser.add_argument("--rounds", type=int, default=7, help="pairs of ingest runs, publishes (default 7)")
    parser.add_argument(
        "--memory", default="10000", help="article counts for the memory run (comma-separated)"
    )
    parser.add_argument("--only", default="ingest,publish,memory", help="which parts (comma-separated)")
    args = parser.parse_args()
    args.only = set(args.only.split(","))
    args.memory = [int(n) for n in args.memory.split(",") if n]
    if args.quick:
        args.rounds, args.memory = 3, [10_000]
    asyncio.run(main(args))

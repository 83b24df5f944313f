"""Many sources, one and two workers: how long until every source is polled once.

    .venv/bin/python bench/scale.py [--quick] [--sources 2000] [--workers 1,2]

N sources (default 2,000; `--quick`: 200, under 3 minutes) on a simulated upstream: one
aiohttp server on loopback answers every source's path with a small RSS feed of five
entries, two of which change every minute (a new guid and title), as busy sites do. The
sources lie in 20 categories, are each polled by a fresh store (a private Redis,
EmbeddedRedis, emptied between passes) and ingested by real `syndicator worker`
processes: first 1, then 2 (`--workers`). Each pass reports:

- wall: from starting the workers until every source has been polled once (its state
  records a fetch), start-up included; `polling`: from the first upstream request on.
- entries/s: articles stored by then (the sources' `articles_stored`) over `polling`.
- scheduler lag: `syndicator_scheduler_lag_seconds` as a web process computes it for
  /metrics (`operate.health.scheduler_lag`: how long the most overdue source has been
  due and not yet polled), sampled every 2 seconds; its peak.
- poll start − due: how late each source's poll started after it became due. A new
  source is due at the scheduler tick that queues it, so this is its run's started −
  queued (store/runs.py; whole seconds): median, 95th percentile and maximum. All N are
  due at once at start, so the maximum is about the time the backlog took to drain.

Every source sets `crawl_delay = 0.001` and `host_concurrency = 64`: the simulated upstream is
one host, where a real deployment's sources are on many, each with its own politeness
budget (per host: two requests in flight, one second apart, by default). Workers run
with the project's defaults otherwise (16 jobs each, the parse pool's children).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
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
from ingest import WORDS
from machine import describe

from syndicator.config import load_config
from syndicator.embedded import EmbeddedRedis
from syndicator.operate.health import list_health, scheduler_lag
from syndicator.runtime import Runtime
from syndicator.store.runs import recent_runs

CATEGORIES = 20
ENTRIES = 5
CHANGING = 2  # entries whose guid changes every minute
RETAINED = 1_000_000  # per category: nothing retired, so articles_stored counts every entry
SAMPLE_EVERY = 2.0  # seconds between two readings of the sources' health (a Redis read each)
TIMEOUT = 1800.0  # seconds a pass may take before it is reported unfinished


class Upstream:
    """One loopback server for every source: `/N.rss` is source N's feed."""

    def __init__(self) -> None:
        self.requests = 0
        self.first_request: float | None = None

    async def feed(self, request: web.Request) -> web.Response:
        self.requests += 1
        if self.first_request is None:
            self.first_request = time.monotonic()
        n = request.match_info["n"]
        minute = int(time.time() // 60)
        now = datetime.now(UTC).replace(second=0, microsecond=0)
        items = []
        for i in range(ENTRIES):
            guid = f"{n}-{minute}-{i}" if i < CHANGING else f"{n}-{i}"
            # Words of its own for every story: alike ones would be merged as near-duplicates.
            pick = random.Random(guid)
            title = " ".join(pick.choice(WORDS) for _ in range(8))
            text = " ".join(pick.choice(WORDS) for _ in range(60))
            items.append(
                f"<item><title>{title}</title>"
                f"<link>https://site{n}.example/{guid}</link><guid>{guid}</guid>"
                f"<pubDate>{format_datetime(now - timedelta(hours=i))}</pubDate>"
                f"<description>&lt;p&gt;{text}&lt;/p&gt;</description></item>"
            )
        body = (
            f'<?xml version="1.0"?><rss version="2.0"><channel><title>Source {n}</title>'
            f"<link>https://site{n}.example/</link><description>bench</description>"
            f"{''.join(items)}</channel></rss>"
        )
        return web.Response(body=body.encode(), content_type="application/rss+xml")


def write_config(folder: Path, redis_url: str, port: int, sources: int) -> Path:
    lines = [
        "[server]",
        f'redis_url = "{redis_url}"',
        'redis_prefix = "scale:"',
        'queue_name = "scale:queue"',
        'public_url = "http://feeds.test/"',
        'schedule_every = "1s"',
    ]
    lines += ["[all]", f"retention_count = {RETAINED}"]
    for c in range(CATEGORIES):
        lines += ["[[categories]]", f'slug = "c{c}"', f"retention_count = {RETAINED}"]
    for n in range(sources):
        lines += [
            "[[sources]]",
            f'id = "s{n}"',
            f'url = "http://127.0.0.1:{port}/{n}.rss"',
            f'categories = ["c{n % CATEGORIES}"]',
            "allow_private_network = true",
            "obey_robots = false",
            "crawl_delay = 0.001",
            "host_concurrency = 64",
        ]
    path = folder / "scale.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def start_workers(count: int, config: Path, folder: Path) -> list[subprocess.Popen[bytes]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNDICATOR_")}
    env["SYNDICATOR_LOG_FORMAT"] = "human"
    return [
        subprocess.Popen(
            [sys.executable, "-m", "syndicator.cli", "worker", "--config", str(config)],
            cwd=folder,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=(folder / f"worker-{count}-{i}.log").open("wb"),
        )
        for i in range(count)
    ]


def stop(workers: list[subprocess.Popen[bytes]]) -> None:
    for process in workers:
        process.send_signal(signal.SIGTERM)
    for process in workers:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def one_pass(config_path: Path, folder: Path, upstream: Upstream, workers: int) -> dict[str, float]:
    config = load_config(config_path, environ={})
    runtime = Runtime.open(config, config.settings.redis_url or "")
    await runtime.redis.flushall()
    upstream.requests, upstream.first_request = 0, None
    started = time.monotonic()
    processes = start_workers(workers, config_path, folder)
    peak_lag, polled, stored = 0.0, 0, 0
    try:
        while time.monotonic() - started < TIMEOUT:
            await asyncio.sleep(SAMPLE_EVERY)
            now = datetime.now(UTC)
            healths = await list_health(runtime, now=now)
            peak_lag = max(peak_lag, scheduler_lag(healths, now))
            polled = sum(h.last_fetch_at is not None for h in healths)
            stored = sum(h.articles_stored for h in healths)
            if polled == len(config.sources):
                break
        done = time.monotonic()
        failing = [h for h in healths if h.state != "ok"]
        if failing:
            print(f"{len(failing)} sources not ok, e.g. {failing[0].last_error}", file=sys.stderr)
        delays = []
        for source_id in config.sources:
            for run in await recent_runs(runtime.redis, runtime.keys, source_id):
                if run.started_at:
                    queued = datetime.fromisoformat(run.queued_at)
                    delays.append((datetime.fromisoformat(run.started_at) - queued).total_seconds())
    finally:
        stop(processes)
        await runtime.close()
    polling = done - (upstream.first_request or started)
    return {
        "wall": done - started,
        "polling": polling,
        "polled": polled,
        "stored": stored,
        "entries_per_s": stored / polling if polling > 0 else 0.0,
        "peak_lag": peak_lag,
        "delay_p50": statistics.median(delays) if delays else 0.0,
        "delay_p95": statistics.quantiles(delays, n=20)[-1] if len(delays) > 1 else 0.0,
        "delay_max": max(delays, default=0.0),
    }


def table(sources: int, results: dict[int, dict[str, float]], command: str) -> str:
    lines = [
        f"date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"machine: {describe()}; load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}",
        f"command: {command}",
        f"{sources} sources × {ENTRIES} entries on one loopback upstream, {CATEGORIES} categories",
        "",
        "workers | polled      | wall s | polling s | entries/s | sched. lag peak s | poll start − due "
        "p50/p95/max s",
    ]
    lines.append("-" * len(lines[-1]))
    for count, r in results.items():
        lines.append(
            f"{count:>7} | {int(r['polled']):>5}/{sources:<5} | {r['wall']:>6.1f} | {r['polling']:>9.1f} | "
            f"{r['entries_per_s']:>9.0f} | {r['peak_lag']:>17.1f} | "
            f"{r['delay_p50']:.0f} / {r['delay_p95']:.0f} / {r['delay_max']:.0f}"
        )
    return "\n".join(lines)


async def main(args: argparse.Namespace) -> None:
    upstream = Upstream()
    app = web.Application()
    app.router.add_get("/{n}.rss", upstream.feed)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    results: dict[int, dict[str, float]] = {}
    try:
        with (
            tempfile.TemporaryDirectory() as tmp,
            EmbeddedRedis(Path(tmp) / "redis", appendonly=False) as server,
        ):
            folder = Path(tmp)
            config_path = write_config(folder, server.url, port, args.sources)
            for count in args.workers:
                results[count] = await one_pass(config_path, folder, upstream, count)
                print(f"{count} worker(s): {results[count]}", file=sys.stderr, flush=True)
    finally:
        await runner.cleanup()
    print(table(args.sources, results, " ".join(["bench/scale.py", *sys.argv[1:]])))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 sources (under 3 minutes)")
    parser.add_argument("--sources", type=int, default=2000, help="how many sources (default 2,000)")
    parser.add_argument("--workers", default="1,2", help="worker processes per pass (default 1,2)")
    args = parser.parse_args()
    args.workers = [int(n) for n in args.workers.split(",") if n]
    if args.quick:
        args.sources = 200
    asyncio.run(main(args))

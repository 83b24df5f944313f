"""Plain-feed throughput while clients flood the server with uncached feed variants.

    .venv/bin/python bench/variants.py [--seconds 8] [--connections 50] [--runs 3]

A unique query per request (here `?limit=50&since=<a new second each time>`) makes every
request a render of a 50-item variant. `server.variant_renders_per_minute` (default 60)
limits those renders per client address, `server.variant_renders_per_second` (default
10) those of all clients together; this measures what each buys the readers of the plain
feed, in the same run, with a web process per setting (both on; the global one off; both
off), under three loads:

  plain alone       wrk, --connections keep-alive connections, GET /feeds/all.rss (gzip)
  + flood, 1 addr   the same, while a second wrk sends --connections connections of
                    unique variants from the same (loopback) address
  + flood, N addrs  the same, while --connections clients, each bound to its own source
                    address (127.0.0.2, 127.0.0.3, …: all of 127/8 is loopback on Linux),
                    each send unique variants one after another (aiohttp, in a child
                    process of this script): each address has a budget of its own

Each cell is the median of --runs alternating runs (the machine is shared and noisy).
Before the load runs it times one render of a 50-item variant, in process: the whole
`render_variant` (Redis reads, feedgen, compression) and feedgen + compression alone.

Setup, all in a private temporary directory removed afterwards: a private Redis
(EmbeddedRedis), a generated upstream feed of 300 items (file://) ingested and published,
then `python -m syndicator.cli web` as a SEPARATE process per setting. Needs `wrk` on
PATH (Debian/Ubuntu: `sudo apt-get install wrk`); this script installs nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

from machine import describe  # bench/ is on sys.path when run as a script
from serve import (
    WRK_REPORT,
    BenchError,
    Result,
    Scenario,
    child,
    free_port,
    run_wrk,
    tool,
    wait_until_serving,
)

from syndicator.config import load_config
from syndicator.embedded import EmbeddedRedis
from syndicator.render import FORMATS
from syndicator.runtime import Runtime
from syndicator.store.feeds import compress

FEED_PATH = "/feeds/all.rss"
MANY_FLAG = "--flood-from-many-addresses"  # argv of the child process that floods
ITEMS = 300
SINCE_BASE = 946684800  # 2000-01-01: every item is newer, so each variant holds 50 items

# wrk: a new `since` second on every request (unique cache key); args: the run's offset.
FLOOD_SCRIPT = f"""
local counter = 0
local offset = 0
init = function(args) offset = tonumber(args[1]) end
request = function()
  counter = counter + 1
  return wrk.format("GET", "/feeds/all.rss?limit=50&since=" .. ({SINCE_BASE} + offset + counter))
end
"""

CONFIG = """
[server]
redis_prefix = "bench:"
variant_renders_per_minute = {per_minute}
variant_renders_per_second = {per_second}

[all]
title = "Everything"
retention_count = 1000

[[sources]]
id = "bench"
url = "{feed}"
poll_interval = "1h"
"""


def upstream_feed(path: Path) -> None:
    """An RSS file of ITEMS items with bodies of a realistic size (about 2 KB)."""
    now = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    paragraph = "<p>" + "Syndication benchmark paragraph with some ordinary words in it. " * 6 + "</p>"
    items = "".join(
        f'<item><guid isPermaLink="false">bench-{n}</guid><title>Bench item {n}</title>'
        f"<link>https://bench.example/posts/{n}</link>"
        f"<pubDate>{format_datetime(now - timedelta(minutes=n))}</pubDate>"
        f"<description>{escape(paragraph * 5)}</description><category>bench</category></item>"
        for n in range(ITEMS)
    )
    path.write_text(
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Bench</title>'
        f"<link>https://bench.example/</link><description>bench</description>{items}</channel></rss>",
        encoding="utf-8",
    )


async def prepare(config_path: Path, env: dict[str, str]) -> dict[str, float]:
    """Ingest and publish, then time one 50-item variant render (ms, median of 15)."""
    from syndicator.ingest import ingest_source
    from syndicator.publish import republish_moved
    from syndicator.store.schema import migrate
    from syndicator.web.query import parse_query
    from syndicator.web.target import parse_target
    from syndicator.web.variants import read_states, render_variant

    config = load_config(config_path, environ=env)
    runtime = Runtime.open(config, env["SYNDICATOR_REDIS_URL"])
    try:
        await migrate(runtime.redis, runtime.keys)  # stamps the empty store current, as the CLI does
        report = await ingest_source(runtime, "bench")
        if report.status == "error":
            raise BenchError(f"ingesting the generated feed failed: {report.line()}")
        await republish_moved(runtime)  # this setting's web process has a port of its own
        target = parse_target(runtime, "all.rss")
        states = await read_states(runtime.redis, runtime.keys, target)
        if states is None:
            raise BenchError("the category was not published")
        whole: list[float] = []
        for n in range(15):
            query = parse_query([("limit", "50"), ("since", str(SINCE_BASE + n))])
            started = time.perf_counter()
            await render_variant(runtime, target, query, states)
            whole.append((time.perf_counter() - started) * 1000)
        # feedgen + compression alone, on the same 50 articles.
        from syndicator.render import FeedDocument
        from syndicator.store.articles import newest_articles

        articles = await newest_articles(runtime.redis, runtime.keys, "all", 50)
        document = FeedDocument(
            category=config.categories["all"],
            articles=tuple(articles),
            site_url=runtime.site_url,
            updated=max(a.updated for a in articles),
            ttl_minutes=60,
        )
        pure: list[float] = []
        for _ in range(15):
            started = time.perf_counter()
            compress(FORMATS["rss"].render(document))
            pure.append((time.perf_counter() - started) * 1000)
        return {"render_variant": statistics.median(whole), "feedgen+compress": statistics.median(pure)}
    finally:
        await runtime.close()


@dataclass(frozen=True)
class Cell:
    plain: Result
    flood: Result | None  # the flood's own result, when there was one


LOADS = ("plain alone", "+ flood, 1 addr", "+ flood, N addrs")
SETTINGS = (  # (per client and minute, all clients per second, label); 0: off
    (60, 10, "60/min + 10/s"),
    (60, 0, "60/min, global off"),
    (0, 0, "limits off"),
)


def flood_addresses(count: int) -> list[str]:
    """127.0.0.2 onwards: one loopback source address per flooding client."""
    if count > 250:
        raise BenchError("at most 250 flooding clients (127.0.0.2 … 127.0.0.251)")
    return [f"127.0.0.{n}" for n in range(2, count + 2)]


async def flood_from(addresses: list[str], url: str, seconds: float, offset: int) -> dict[str, float]:
    """One client per address, each sending unique variants one after another; by status.

    Runs in a child process (MANY_FLAG) so that its own CPU is not this process's wrk
    bookkeeping, as the one-address flood is a wrk process of its own.
    """
    from aiohttp import ClientError, ClientSession, ClientTimeout, TCPConnector

    statuses: dict[str, float] = {}
    counter = iter(range(offset, offset + 10**9))
    deadline = time.monotonic() + seconds

    async def one(address: str) -> None:
        connector = TCPConnector(local_addr=(address, 0))
        async with ClientSession(connector=connector, timeout=ClientTimeout(total=5)) as http:
            while time.monotonic() < deadline:
                try:
                    async with http.get(f"{url}?limit=50&since={SINCE_BASE + next(counter)}") as resp:
                        await resp.read()
                        outcome = str(resp.status)
                except (ClientError, TimeoutError):
                    outcome = "error"
                statuses[outcome] = statuses.get(outcome, 0) + 1

    started = time.monotonic()
    await asyncio.gather(*(one(a) for a in addresses))
    statuses["seconds"] = time.monotonic() - started
    return statuses


def run_many_flood(url: str, args: argparse.Namespace, offset: int) -> Result:
    argv = [
        sys.executable,
        __file__,
        MANY_FLAG,
        url,
        f"{args.seconds + 2:g}",
        str(offset),
        str(args.connections),
    ]
    done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=args.seconds + 60)
    line = next((x for x in done.stdout.splitlines() if x.startswith("RESULT ")), None)
    if done.returncode != 0 or line is None:
        raise BenchError(f"the many-address flood failed ({done.returncode}): {done.stdout}{done.stderr}")
    counts = json.loads(line.removeprefix("RESULT "))
    elapsed = counts.pop("seconds")
    errors = int(counts.pop("error", 0))
    total = sum(counts.values()) + errors
    bad = int(sum(n for status, n in counts.items() if not status.startswith("2")))
    return Result(total / elapsed, 0.0, 0.0, errors, bad, 0.0)


def run_one_address_flood(wrk: str, url: str, args: argparse.Namespace, tmp: Path, offset: int) -> Result:
    script = tmp / "flood.lua"
    script.write_text(FLOOD_SCRIPT + WRK_REPORT)
    argv = [wrk, "-t1", "-c", str(args.connections), "-d", f"{args.seconds + 2:g}s", "--timeout", "5s"]
    argv += ["-s", str(script), url, "--", str(offset)]
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    line = next((x for x in done.stdout.splitlines() if x.startswith("RESULT ")), None)
    if line is None:
        raise BenchError(f"the flooding wrk failed ({done.returncode}): {done.stdout}{done.stderr}")
    requests, duration_us, errors, bad, p50, p99, nbytes, _ = (int(x) for x in line.split()[1:])
    elapsed = duration_us / 1e6
    return Result(requests / elapsed, p50 / 1000, p99 / 1000, errors, bad, nbytes / elapsed / 2**20)


def measure(wrk: str, base: str, args: argparse.Namespace, tmp: Path, load: str, offset: int) -> Cell:
    """The plain feed under `load`; a flood starts a second before the plain feed's wrk."""
    plain = Scenario("plain", {"Accept-Encoding": "gzip"}, 200)
    flood_result: list[Result] = []
    thread: threading.Thread | None = None
    url = f"{base}{FEED_PATH}"
    if load != LOADS[0]:

        def run_flood() -> None:
            if load == LOADS[1]:
                flood_result.append(run_one_address_flood(wrk, url, args, tmp, offset))
            else:
                flood_result.append(run_many_flood(url, args, offset))

        thread = threading.Thread(target=run_flood)
        thread.start()
        time.sleep(1.0)  # the flood is under way before the plain feed is measured
    result = run_wrk(wrk, url, plain, tmp / "report.lua", args, args.seconds)
    if thread is not None:
        thread.join()
    return Cell(result, flood_result[0] if flood_result else None)


def bench(args: argparse.Namespace, tmp: Path, stack: contextlib.ExitStack) -> None:
    wrk = tool("wrk")
    redis = stack.enter_context(EmbeddedRedis(tmp / "redis", appendonly=False))
    feed = tmp / "upstream.rss"
    upstream_feed(feed)
    (tmp / "report.lua").write_text(WRK_REPORT)
    flood_addresses(args.connections)  # refuse a count we cannot bind before anything runs
    rows: dict[tuple[str, str], list[Cell]] = {}
    render_ms: dict[str, float] = {}
    offset = 0
    for per_minute, per_second, label in SETTINGS:
        config_path = tmp / f"limits-{per_minute}-{per_second}.toml"
        config_path.write_text(
            CONFIG.format(per_minute=per_minute, per_second=per_second, feed=feed.as_uri())
        )
        port = free_port()
        env = dict(
            os.environ,
            SYNDICATOR_REDIS_URL=redis.url,
            SYNDICATOR_HOST="127.0.0.1",
            SYNDICATOR_PORT=str(port),
            SYNDICATOR_PUBLIC_URL=f"http://127.0.0.1:{port}/",
            SYNDICATOR_DATA_DIR=str(tmp / "data"),
        )
        env.pop("SYNDICATOR_CONFIG", None)
        render_ms = asyncio.run(prepare(config_path, env))  # publishes for this base URL
        base = f"http://127.0.0.1:{port}"
        argv = [sys.executable, "-m", "syndicator.cli", "web", "--config", str(config_path)]
        log = tmp / f"web-{per_minute}-{per_second}.log"
        with child(argv, log, env=env) as web:
            wait_until_serving(f"{base}{FEED_PATH}", web, log)
            warm = Scenario("warm", {"Accept-Encoding": "gzip"}, 200)
            run_wrk(wrk, f"{base}{FEED_PATH}", warm, tmp / "report.lua", args, 2)  # not reported
            for _ in range(args.runs):
                for load in LOADS:
                    offset += 1_000_000
                    rows.setdefault((label, load), []).append(measure(wrk, base, args, tmp, load, offset))

    print(f"machine: {describe()}")
    print(
        f"one render of a 50-item RSS variant (median of 15): render_variant "
        f"{render_ms['render_variant']:.1f} ms, of which feedgen + compression "
        f"{render_ms['feedgen+compress']:.1f} ms (in a thread, off the event loop)"
    )
    print(
        f"wrk -t1 -c{args.connections} -d{args.seconds:g}s per cell, median of {args.runs} runs; "
        f"floods of unique `?limit=50&since=…`: 1 addr = wrk -t1 -c{args.connections} from 127.0.0.1, "
        f"N addrs = {args.connections} clients from 127.0.0.2–127.0.0.{args.connections + 1}"
    )
    print("limits: per client and minute (variant_renders_per_minute) + all clients per second")
    print()
    head = f"{'limits':<22}{'load':<20}{'plain req/s':>12}{'p50 ms':>8}{'p99 ms':>8}{'vs alone':>10}"
    head += f"{'flood req/s':>13}{'flood non-2xx':>15}"
    print(head)
    print("-" * len(head))
    alone: dict[str, float] = {}
    for (label, load), cells in rows.items():
        rps = statistics.median(c.plain.rps for c in cells)
        p50 = statistics.median(c.plain.p50_ms for c in cells)
        p99 = statistics.median(c.plain.p99_ms for c in cells)
        if load == LOADS[0]:
            alone[label] = rps
        floods = [c.flood for c in cells if c.flood is not None]
        flood_rps = f"{statistics.median(f.rps for f in floods):,.0f}" if floods else "-"
        flood_bad = f"{statistics.median(f.bad_status for f in floods):,.0f}" if floods else "-"
        print(
            f"{label:<22}{load:<20}{rps:>12,.0f}{p50:>8.2f}{p99:>8.2f}{rps / alone[label]:>10.0%}"
            f"{flood_rps:>13}{flood_bad:>15}"
        )
    print("vs alone = plain-feed req/s under the flood ÷ without it, same setting, same run")


def main() -> int:
    if sys.argv[1:2] == [MANY_FLAG]:  # the child process of run_many_flood
        url, seconds, offset, count = sys.argv[2:6]
        counts = asyncio.run(flood_from(flood_addresses(int(count)), url, float(seconds), int(offset)))
        print("RESULT " + json.dumps(counts))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="duration of each wrk cell (default 8)")
    parser.add_argument("--connections", type=int, default=50, help="connections per wrk (default 50)")
    parser.add_argument("--runs", type=int, default=3, help="runs per cell; the median is shown (default 3)")
    args = parser.parse_args()
    args.threads = 1
    if args.seconds <= 0 or args.connections < 1 or args.runs < 1:
        parser.error("--seconds must be positive, --connections and --runs at least 1")
    with tempfile.TemporaryDirectory(prefix="synvar-") as name, contextlib.ExitStack() as stack:
        try:
            bench(args, Path(name), stack)
        except BenchError as exc:
            print(f"bench/variants.py: {exc}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

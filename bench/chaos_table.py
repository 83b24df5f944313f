"""Every hostile case of tests/chaos once, measured: the table of the README's Reliability section.

    .venv/bin/python bench/chaos_table.py [--only NAME ...]

One run in a private temporary directory (removed afterwards) with a private Redis
(EmbeddedRedis). Each case goes through the code path its test uses: a loopback upstream
(tests/upstream.py, or tests/chaos/attacks.py's HostileUpstream on 127.0.0.2 for the
fetch-level attacks) serves the document, and `ingest_source` polls the source for real —
the fetcher, the parse pool's child, the normaliser and the store. Cases whose test first
stores a good poll do so here too; only the hostile poll is measured. The documents are
the tests' own (tests/chaos/attacks.py, tests/chaos/helpers.py).

Columns:

  outcome    what the source's recorded state says (last_error, or last_status and its
             warnings), as an operator sees it in `syndicator health`
  seconds    wall time of the hostile poll (`ingest_source`), from a fresh runtime:
             the start of its parse child (a fork of the already running fork server) included
  child MB   peak RSS (VmHWM, /proc/PID/status) of the parse child that ran the poll's
             parse, read every 5 ms while the poll runs (tests/chaos/helpers.ChildPeak); a
             child killed over a limit: its last reading before the kill. Every child
             starts as a fork of the fork server, so this includes the idle child's peak
             printed above the table. "-": no parse ran (the fetch refused the document)
  main MB    growth of the main process's peak RSS during the poll (VmHWM after the poll
             less RSS before it, VmHWM reset through /proc/self/clear_refs), i.e. what
             fetching, decompressing, storing and publishing cost the worker process

RUSAGE_CHILDREN is not used: the parse children are children of the fork server, not of
this process, so it never sees them.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.sax.saxutils import escape

from machine import describe  # bench/ is on sys.path when run as a script

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout, for tests.chaos
from syndicator.embedded import EmbeddedRedis
from syndicator.ingest import ingest_source
from syndicator.models import Config
from syndicator.runtime import Runtime
from syndicator.store.sources import load_state
from tests.builders import items, json_feed, rss, write_config
from tests.chaos.attacks import (
    FETCH,
    GOOD,
    HOSTILE_FETCHES,
    KEPT,
    REFUSED,
    VECTORS,
    HostileUpstream,
    bad_utf8_feed,
    billion_laughs,
    gbk_inside_utf8_feed,
    xxe,
)
from tests.chaos.helpers import (
    ChildPeak,
    idle_child_peak,
    long_author_feed,
    many_entries_feed,
    peak_rss,
    reset_peak_rss,
)
from tests.upstream import Upstream

MB = 1024 * 1024
HOUR = timedelta(hours=1)
RSS = "application/rss+xml"


@dataclass
class Case:
    """One hostile poll: `setup` puts the good document (when `good_first`) and returns a
    function that turns the upstream hostile; `fetch` is the source's [fetch] table."""

    name: str
    serve: Callable[[HostileUpstream, Upstream], None]
    fetch: dict[str, object] = field(default_factory=dict)
    good: bytes | None = None  # a good poll first, of this document
    content_type: str = "application/rss+xml"
    guarded: bool = False  # the SSRF cases: only 127.0.0.2 allowed, no allow_private_network
    again: bool = False  # poll twice more: the second hostile poll is the one measured


@dataclass
class Row:
    name: str
    outcome: str
    seconds: float
    child: int | None
    main: int


def _put(path: str, body: bytes, content_type: str) -> Callable[[HostileUpstream, Upstream], None]:
    return lambda hostile, _decoy: hostile.put(path, body, content_type)


def _ssrf(target: Callable[[Upstream], str]) -> Callable[[HostileUpstream, Upstream], None]:
    def serve(hostile: HostileUpstream, decoy: Upstream) -> None:
        decoy.put("/secret", rss(items("secret", 1)), "application/rss+xml")
        hostile.put("/feed", b"", "text/plain", status=302, headers={"Location": target(decoy)})

    return serve


def _sanitiser() -> bytes:
    content = "<p>kept text</p>" + "".join(VECTORS.values())
    item = (
        "<item><guid>xss</guid><title>xss</title><link>https://good.example/xss</link>"
        f"<description>{escape(content)}</description></item>"
    )
    return rss(GOOD, extra=item)


def cases() -> list[Case]:
    attack_fetch: dict[str, object] = dict(FETCH)
    out = [
        Case(name, lambda h, _d, turn=turn: turn(h), attack_fetch, good=rss(GOOD))
        for name, (turn, _reason) in HOSTILE_FETCHES.items()
    ]
    out += [
        Case("billion-laughs", _put("/feed", billion_laughs(), RSS), attack_fetch, rss(GOOD)),
        Case("xxe", _put("/feed", xxe(), "application/rss+xml"), attack_fetch, rss(GOOD)),
        Case(
            "ssrf-redirect-loopback",
            _ssrf(lambda d: f"http://127.0.0.1:{d.port}/secret"),
            attack_fetch,
            rss(GOOD),
            guarded=True,
        ),
        Case(
            "ssrf-redirect-decimal",
            _ssrf(lambda d: f"http://2130706433:{d.port}/secret"),
            attack_fetch,
            rss(GOOD),
            guarded=True,
        ),
        Case(
            "ssrf-redirect-metadata",
            _ssrf(lambda _d: "http://169.254.169.254/latest/meta-data/"),
            attack_fetch,
            rss(GOOD),
            guarded=True,
        ),
        Case("sanitiser", _put("/feed", _sanitiser(), "application/rss+xml"), attack_fetch, rss(GOOD)),
    ]
    out += [Case(name, _put("/feed", body, ctype)) for name, (body, ctype) in KEPT.items()]
    out += [
        Case(name, _put("/feed", body, "application/feed+json"), good=json_feed(GOOD))
        for name, (body, _reason) in REFUSED.items()
    ]
    out += [
        Case("author-100kb", _put("/feed", long_author_feed(), "application/rss+xml")),
        Case("entries-100000", _put("/feed", many_entries_feed(100_000), "application/rss+xml")),
        Case(
            "parse-timeout",
            _put("/feed", many_entries_feed(20_000), "application/rss+xml"),
            {"parse_timeout": '"1s"', "max_entries": 100_000},
        ),
        Case(
            "parse-timeout-same-bytes",
            _put("/feed", many_entries_feed(20_000), "application/rss+xml"),
            {"parse_timeout": '"1s"', "max_entries": 100_000},
            again=True,
        ),
        Case(
            "parse-memory",
            _put("/feed", many_entries_feed(100_000), "application/rss+xml"),
            {"parse_memory": '"128MB"', "parse_timeout": '"60s"', "max_entries": 100_000},
        ),
        Case("bad-utf8", _put("/feed", bad_utf8_feed(), "application/rss+xml")),
        Case("gbk-inside-utf8", _put("/feed", gbk_inside_utf8_feed(), "application/rss+xml")),
    ]
    return out


def _config(tmp: Path, case: Case, hostile: HostileUpstream, redis_url: str, prefix: str) -> Config:
    fetch = dict(case.fetch)
    if case.guarded:
        fetch["allowed_networks"] = '["127.0.0.2/32"]'
    table = "".join(f"{k} = {v}\n" for k, v in fetch.items())
    source: dict[str, object] = {
        "id": "feed",
        "url": hostile.url("/feed"),
        "categories": ["tech"],
        "poll_interval": "1h",
    }
    if not case.guarded:
        source["allow_private_network"] = True
    folder = tmp / prefix.rstrip(":")
    folder.mkdir()
    return write_config(
        folder,
        redis_url=redis_url,
        prefix=prefix,
        categories=[{"slug": "tech", "title": "Technology"}],
        sources=[source],
        extra_server=f"\n[fetch]\n{table}" if table else "",
    )


async def _poll(config: Config, redis_url: str, now: datetime) -> None:
    runtime = Runtime.open(config, redis_url)
    try:
        await ingest_source(runtime, "feed", now=now)
    finally:
        await runtime.close()


def _outcome(url: str, last_status: str | None, last_error: str | None, warnings: tuple[str, ...]) -> str:
    """The recorded reason, without the `feed: URL: ` prefix (the URL's port changes each run)."""
    if last_error:
        return last_error.removeprefix("feed: ").removeprefix(f"{url}: ")
    return "; ".join([last_status or "", *warnings])


async def measure(case: Case, tmp: Path, redis_url: str, n: int) -> Row:
    hostile, decoy = HostileUpstream("127.0.0.2"), Upstream()
    await hostile.start()
    await decoy.start()
    try:
        config = _config(tmp, case, hostile, redis_url, f"chaos{n}:")
        now = datetime.now(UTC).replace(microsecond=0)
        if case.good is not None:
            hostile.put("/feed", case.good, case.content_type)
            await _poll(config, redis_url, now)
            now += HOUR
        case.serve(hostile, decoy)
        if case.again:
            await _poll(config, redis_url, now)
            now += HOUR
        runtime = Runtime.open(config, redis_url)
        try:
            before = reset_peak_rss()
            with ChildPeak(runtime.pool) as child:
                started = time.monotonic()
                await ingest_source(runtime, "feed", now=now)
                seconds = time.monotonic() - started
            main = max(0, (peak_rss() or 0) - before)  # RSS may shrink during the poll
            state = await load_state(runtime.redis, runtime.keys, "feed")
        finally:
            await runtime.close()
        if decoy.seen("/secret"):
            raise SystemExit(f"{case.name}: the decoy was reached")
        outcome = _outcome(hostile.url("/feed"), state.last_status, state.last_error, state.warnings)
        return Row(case.name, outcome, seconds, child.peak, main)
    finally:
        await hostile.stop()
        await decoy.stop()


def _mb(value: int | None) -> str:
    return "-" if value is None else f"{value / MB:.0f}"


async def run(only: list[str]) -> None:
    chosen = [c for c in cases() if not only or c.name in only]
    print(describe())
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    with (
        tempfile.TemporaryDirectory(prefix="chaos-table-") as folder,
        EmbeddedRedis(Path(folder), appendonly=False) as redis,
    ):
        idle = await idle_child_peak()  # also starts the fork server, outside every case's time
        print(f"idle parse child: peak RSS {_mb(idle)} MB; main process now {_mb(peak_rss())} MB peak")
        print()
        print("| case | outcome | seconds | child MB | main MB |")
        print("| --- | --- | --- | --- | --- |")
        for n, case in enumerate(chosen):
            row = await measure(case, Path(folder), redis.url, n)
            outcome = row.outcome if len(row.outcome) <= 160 else row.outcome[:157] + "..."
            cells = [row.name, outcome, f"{row.seconds:.3f}", _mb(row.child), f"+{_mb(row.main)}"]
            print("| " + " | ".join(cells) + " |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--only", nargs="*", default=[], metavar="NAME", help="run only these cases")
    args = parser.parse_args()
    asyncio.run(run(args.only))


if __name__ == "__main__":
    main()

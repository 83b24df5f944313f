"""/healthz latency of `syndicator serve` while it ingests hostile feeds, against an idle server.

    .venv/bin/python bench/hostile.py [--seconds 20] [--max-seconds 300] [--parse-timeout 60]

One run, all in a private temporary directory removed afterwards: a private Redis
(EmbeddedRedis), then `python -m syndicator.cli serve` as a SEPARATE process twice, each
with its own key prefix and queue:

  idle     the same configuration with both sources disabled: nothing to ingest
  hostile  two `file:` sources from tests/chaos: an RSS whose author (and managingEditor,
           webMaster, dc:creator) is 100 KB, and an RSS of 100,000 entries with
           `fetch.max_entries` raised to 100,000 (and `fetch.parse_timeout` to
           --parse-timeout, so the parse is allowed to finish and its entries are stored)

Each phase probes GET /healthz every 100 ms (a probe that runs late starts the next at
once) from the moment the server listens: the idle phase for --seconds, the hostile phase
until both sources have recorded an outcome (at least --seconds, at most --max-seconds),
so the probes cover the whole ingest — fetch, parse in the pool's child, normalising and
storing the entries — and it prints p50/p99/max probe latency. The goal is p99 < 500 ms
while the hostile feeds are ingested. The sources' recorded outcome (last_status /
last_error) is printed beside the table, so a run in which the hostile ingest did not
happen is visible as such.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from machine import describe  # bench/ is on sys.path when run as a script
from redis import Redis
from serve import BenchError, child, free_port, tail

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout, for tests.chaos
from syndicator.embedded import EmbeddedRedis
from tests.chaos.helpers import long_author_feed, many_entries_feed

PROBE_EVERY = 0.1
MANY_ENTRIES = 100_000
GOAL_P99_MS = 500.0

CONFIG = """
[server]
redis_prefix = "{prefix}"
queue_name = "{prefix}queue"
schedule_every = "1s"
max_tries = 1
job_timeout = "{job_timeout}s"

[fetch]
parse_timeout = "{parse_timeout}s"
max_entries = {many}

[[categories]]
slug = "tech"

[[sources]]
id = "author"
url = "{author}"
categories = ["tech"]
enabled = {enabled}

[[sources]]
id = "many"
url = "{many_url}"
categories = ["tech"]
enabled = {enabled}
"""


@dataclass(frozen=True)
class Phase:
    name: str
    waits_ms: list[float]
    failures: int
    outcomes: dict[str, str]
    done_after: float | None  # seconds from listening until both sources recorded an outcome

    def percentile(self, q: float) -> float:
        ordered = sorted(self.waits_ms)
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


SOURCES = ("author", "many")


def recorded(store: Redis, prefix: str) -> dict[str, str]:
    """The outcome each hostile source has recorded so far (last_error, else last_status)."""
    out = {}
    for source in SOURCES:
        raw = store.hgetall(f"{prefix}source:{source}")
        state = {k.decode(): v.decode("utf-8", "replace") for k, v in raw.items()}
        outcome = state.get("last_error") or state.get("last_status")
        if outcome:
            out[source] = outcome
    return out


def probe(url: str) -> float | None:
    started = time.monotonic()
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            response.read()
    except OSError:
        return None
    return (time.monotonic() - started) * 1000


def run_phase(name: str, tmp: Path, redis: EmbeddedRedis, files: dict[str, Path], args) -> Phase:
    prefix = f"bench{name}:"
    folder = tmp / name
    folder.mkdir()
    config = folder / "syndicator.toml"
    config.write_text(
        CONFIG.format(
            prefix=prefix,
            job_timeout=args.parse_timeout * 2 + 60,
            parse_timeout=args.parse_timeout,
            many=MANY_ENTRIES,
            author=files["author"].as_uri(),
            many_url=files["many"].as_uri(),
            enabled="true" if name == "hostile" else "false",
        ),
        encoding="utf-8",
    )
    port = free_port()
    env = dict(os.environ, SYNDICATOR_REDIS_URL=redis.url, SYNDICATOR_DATA_DIR=str(folder / "data"))
    env.pop("SYNDICATOR_CONFIG", None)
    log = folder / "serve.log"
    argv = [sys.executable, "-m", "syndicator.cli", "serve", "--config", str(config), "--port", str(port)]
    with child(argv, log, env=env) as process:
        deadline = time.monotonic() + 60
        while "serving feeds at" not in (log.read_text("utf-8", "replace") if log.exists() else ""):
            if process.poll() is not None or time.monotonic() > deadline:
                raise BenchError(f"{name}: serve did not start; log:\n{tail(log)}")
            time.sleep(0.05)
        url = f"http://127.0.0.1:{port}/healthz"
        store = Redis.from_url(redis.url)
        waits: list[float] = []
        failures = 0
        started = next_at = time.monotonic()
        done_after: float | None = None
        try:
            while True:
                elapsed = time.monotonic() - started
                if name == "hostile" and done_after is None and len(recorded(store, prefix)) == len(SOURCES):
                    done_after = elapsed
                if elapsed >= args.seconds and (done_after is not None or name == "idle"):
                    break
                if elapsed >= args.max_seconds:
                    break
                wait = probe(url)
                if wait is None:
                    failures += 1
                else:
                    waits.append(wait)
                next_at += PROBE_EVERY
                time.sleep(max(0.0, next_at - time.monotonic()))
            outcomes = recorded(store, prefix)
        finally:
            store.close()
    if not waits:
        raise BenchError(f"{name}: no probe answered; log:\n{tail(log)}")
    return Phase(name, waits, failures, outcomes, done_after)


def bench(args: argparse.Namespace, tmp: Path, stack: contextlib.ExitStack) -> None:
    redis = stack.enter_context(EmbeddedRedis(tmp / "redis", appendonly=False))
    files = {"author": tmp / "author.xml", "many": tmp / "many.xml"}
    files["author"].write_bytes(long_author_feed())
    files["many"].write_bytes(many_entries_feed(MANY_ENTRIES))
    phases = [run_phase(name, tmp, redis, files, args) for name in ("idle", "hostile")]

    print(f"machine: {describe()}")
    print(
        f"/healthz every {PROBE_EVERY * 1000:.0f} ms for {args.seconds:g} s from the moment `serve` "
        f"listens; hostile: 100 KB author RSS ({files['author'].stat().st_size:,} bytes) + "
        f"{MANY_ENTRIES:,}-entry RSS ({files['many'].stat().st_size:,} bytes), file: sources, "
        f"max_entries {MANY_ENTRIES:,}, parse_timeout {args.parse_timeout:g} s"
    )
    print()
    head = f"{'server':<10}{'probes':>8}{'failed':>8}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'mean ms':>9}"
    print(head)
    print("-" * len(head))
    for phase in phases:
        print(
            f"{phase.name:<10}{len(phase.waits_ms):>8}{phase.failures:>8}{phase.percentile(0.5):>9.1f}"
            f"{phase.percentile(0.99):>9.1f}{max(phase.waits_ms):>9.1f}{statistics.fmean(phase.waits_ms):>9.1f}"
        )
    hostile = phases[-1]
    verdict = "met" if hostile.percentile(0.99) < GOAL_P99_MS and not hostile.failures else "NOT met"
    print(f"goal p99 < {GOAL_P99_MS:.0f} ms while ingesting: {verdict}")
    if hostile.done_after is None:
        print(f"hostile sources had not both finished after {args.max_seconds:g} s")
    else:
        print(f"hostile sources both recorded an outcome {hostile.done_after:.1f} s after serve listened")
    for source in SOURCES:
        print(f"hostile source {source}: {hostile.outcomes.get(source, 'not finished')}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="probing time per server (default 20)")
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=300.0,
        help="the hostile phase probes until both sources finished, at most this long (default 300)",
    )
    parser.add_argument(
        "--parse-timeout", type=float, default=60.0, help="fetch.parse_timeout, seconds (default 60)"
    )
    args = parser.parse_args()
    if args.seconds <= 0 or args.parse_timeout <= 0:
        parser.error("--seconds and --parse-timeout must be positive")
    # A short prefix: the Redis unix socket path must stay under ~100 bytes.
    with tempfile.TemporaryDirectory(prefix="synhost-") as name, contextlib.ExitStack() as stack:
        try:
            bench(args, Path(name), stack)
        except BenchError as exc:
            print(f"bench/hostile.py: {exc}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

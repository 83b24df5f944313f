"""Memory of the web process under a long realistic load: does its RSS stay flat (issue 16)?

    .venv/bin/python bench/soak.py [--minutes 10] [--quick] [--connections 64] [--keep DIR]

One run, in a private temporary directory removed afterwards, on loopback only: the set-up
of bench/serve.py (a private Redis holding the bundled samples, ingested and published;
`python -m syndicator.cli web` as a separate process with `web`'s defaults — the access log
on, JSON lines to stderr, here a file; metrics in the process' registry) and then, for
--minutes (default 10; --quick: 1):

- wrk (-t1, keep-alive) cycling through a mix of requests (MIX): revalidations that send
  back the ETag the server last gave (304s, a 200 after each republish), gzip and identity
  200s of the three formats, query strings (?limit, ?tag, ?q, ?since, ?own), combined
  feeds, RFC 5005 archive pages and category pages, some query strings never seen before
  (a crawler: a counter in `?q=`), unknown categories and formats (404), bad query strings
  (400), /healthz, /readyz, /metrics, /opml.xml and the admin API (with and without the
  token). 64 connections by default: a client over its render budget has each 429 held
  back a second (`variants.REFUSAL_DELAY`), and with few connections those would set the
  pace;
- a publisher thread in this process that edits the newest article of a category every
  --publish-every seconds (default 5) and publishes it, its parent and `all`: every
  republish is announced, so the web process' memory cache, its prepared answers and the
  variant renders turn over the way they do in production.

Every 10 s it samples the web process' resident set size (/proc/PID/stat), the requests
answered so far (lines of its access log, so the log is seen to keep up too), what its
bounded last-good store holds (/readyz) and its thread count. The table shows one row a
minute (every sample for a run under 5 minutes); the verdict compares the RSS at minute 2
(a quarter of a shorter run: caches fill first) with the end: flat when it grew by less
than FLAT_PERCENT % and less than FLAT_MB MB.

SOAK_TRACEMALLOC=1 starts the web process with tracemalloc (10 frames, from after the
imports) and prints the allocation sites that grew most between the baseline and the end.
It slows the web process many times over and its tables take memory, so such a run's RSS
is not the product's: it is for finding a leak of Python objects. It cannot see memory
that malloc keeps after Python freed it (the per-thread arenas that were issue 16's
growth): for that, compare /proc/PID/smaps and the threads column.

Needs `wrk` (Debian/Ubuntu: sudo apt-get install -y wrk); this script installs nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # its siblings, also when imported by a test

from ingest import edit_one
from machine import describe
from serve import (
    FEED_PATH,
    BenchError,
    _stat_fields,
    child,
    get,
    private_store,
    process_tree,
    start_web,
    tail,
    tool,
    tool_version,
)

from syndicator.models import Config
from syndicator.publish import publish_category
from syndicator.runtime import Runtime
from syndicator.web.lastgood import MAX_BYTES, MAX_ENTRIES

SAMPLE_SECONDS = 10
BASELINE_SECONDS = 120  # caches (prepared answers, renders, memos) fill in the first minutes
FLAT_PERCENT = 5.0
FLAT_MB = 10.0
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
ADMIN_TOKEN = "soak-admin-token-0123456789abcdef"
TRACEMALLOC_ENV = "SOAK_TRACEMALLOC"
# The web process with tracemalloc on: SIGUSR1 writes a snapshot to $SOAK_SNAPSHOT.N.
TRACED_LAUNCHER = """
import os, signal, sys, tracemalloc
from syndicator.cli import main  # imported before tracing starts: imports are no leak
taken = [0]
def snapshot(signum, frame):
    taken[0] += 1
    tracemalloc.take_snapshot().dump(f"{os.environ['SOAK_SNAPSHOT']}.{taken[0]}")
signal.signal(signal.SIGUSR1, snapshot)
tracemalloc.start(10)
sys.exit(main(sys.argv[1:]))
"""

# (weight, path, headers); `{n}` in a path is a counter: a query string never seen before.
# About 87 % plain feeds (half of them revalidations), 10 % query strings, 5 % the rest.
# "ETAG" as a header value: the ETag the server last sent for that URL and coding (a reader
# revalidating); 304 until the next republish, then one 200.
GZ = {"Accept-Encoding": "gzip"}
MIX: tuple[tuple[int, str, dict[str, str]], ...] = (
    (60, "/feeds/all.rss", {"If-None-Match": "ETAG", **GZ}),
    (30, "/feeds/all.atom", {"If-None-Match": "ETAG", **GZ}),
    (20, "/feeds/news.json", {"If-None-Match": "ETAG"}),
    (20, "/feeds/tech.rss", {"If-None-Match": "ETAG", **GZ}),
    (20, "/feeds/all.rss", GZ),
    (12, "/feeds/all.atom", GZ),
    (12, "/feeds/all.json", GZ),
    (12, "/feeds/news.rss", {}),
    (8, "/feeds/tech/python.atom", {}),
    (8, "/feeds/all.json", {}),
    (8, "/feeds/qinggan.rss", {"Accept-Encoding": "br, gzip;q=0.8"}),
    (2, "/feeds/all.rss?limit=5", GZ),
    (1, "/feeds/all.atom?limit=20", {}),
    (2, "/feeds/all.rss?tag=python", GZ),
    (1, "/feeds/tech.json?tag=python&tag=rust", {}),
    (2, "/feeds/all.rss?q=the", GZ),
    (1, "/feeds/all.atom?q=redis%20python&limit=10", {}),
    (1, "/feeds/news.rss?since=2020-01-01", GZ),
    (1, "/feeds/tech.rss?own=1", {}),
    (1, "/feeds/tech+news.rss", GZ),
    (1, "/feeds/all.rss?q=w{n}", GZ),  # a crawler: every one new
    (1, "/feeds/all.rss?limit={n}", {}),  # 1..500 valid, then 400s
    (1, "/archive/all/1.rss", {}),
    (1, "/archive/all/2.atom", GZ),
    (1, "/categories/tech/", {}),
    (1, "/feeds/nope.rss", {}),  # 404
    (1, "/feeds/gone{n}.atom", {}),  # 404, a new path every time
    (1, "/feeds/all.xml", {}),  # 404: unknown format
    (1, "/feeds/all.rss?limt=5", {}),  # 400
    (1, "/feeds/all.rss?limit=abc&x{n}=1", {}),  # 400, a new one every time
    (1, "/feeds/all.rss?since=yesterday", {}),  # 400
    (1, "/healthz", {}),
    (1, "/readyz", {}),
    (1, "/metrics", {}),
    (1, "/opml.xml", {}),
    (1, "/admin/api/sources", {"Authorization": f"Bearer {ADMIN_TOKEN}"}),
    (1, "/admin/api/queue", {"Authorization": f"Bearer {ADMIN_TOKEN}"}),
    (1, "/admin/api/sources", {}),  # 401
)

WRK_SCRIPT = """
local reqs = {REQUESTS}
local etags = {}
local order = {}
local i, n = 0, 0
init = function(args)
  for index, r in ipairs(reqs) do
    if not r.counter and not r.etag then r.raw = wrk.format("GET", r.path, r.headers) end
    for _ = 1, r.weight do table.insert(order, index) end
  end
  -- interleave: a fixed shuffle, the same every run
  local seed = 7
  for k = #order, 2, -1 do
    seed = (seed * 1103515245 + 12345) % 2147483648
    local j = seed % k + 1
    order[k], order[j] = order[j], order[k]
  end
end
request = function()
  i = i % #order + 1
  local r = reqs[order[i]]
  if r.raw then return r.raw end
  local path = r.path
  if r.counter then n = n + 1; path = string.gsub(path, "{n}", tostring(n)) end
  local headers = {}
  for k, v in pairs(r.headers) do headers[k] = v end
  if r.etag then
    local known = etags[r.etag]
    if known then headers["If-None-Match"] = known else headers["If-None-Match"] = nil end
  end
  return wrk.format("GET", path, headers)
end
response = function(status, headers, body)
  if status == 200 then
    local link = headers["Link"] or headers["link"]
    local etag = headers["ETag"] or headers["etag"]
    if link and etag then
      etags[link .. " " .. (headers["Content-Encoding"] or headers["content-encoding"] or "identity")] = etag
    end
  end
end
"""


@dataclass(frozen=True)
class Sample:
    seconds: float  # since the load started
    rss_bytes: int  # the web process (and its children, if any)
    requests: int  # answered so far (access log lines)
    kept: int = 0  # responses in its last-good store (lastgood.py, bounded)
    kept_bytes: int = 0
    threads: int = 0  # of the web process: each one that allocates may keep a malloc arena


@dataclass(frozen=True)
class Verdict:
    baseline: Sample
    end: Sample

    @property
    def growth_mb(self) -> float:
        return (self.end.rss_bytes - self.baseline.rss_bytes) / 2**20

    @property
    def growth_percent(self) -> float:
        return 100.0 * (self.end.rss_bytes - self.baseline.rss_bytes) / self.baseline.rss_bytes

    @property
    def flat(self) -> bool:
        return self.growth_percent < FLAT_PERCENT and self.growth_mb < FLAT_MB

    def line(self) -> str:
        word = "FLAT" if self.flat else "GROWING"
        return (
            f"verdict: {word}: RSS {self.baseline.rss_bytes / 2**20:.1f} MB at "
            f"{self.baseline.seconds / 60:.1f} min → {self.end.rss_bytes / 2**20:.1f} MB at "
            f"{self.end.seconds / 60:.1f} min: {self.growth_mb:+.1f} MB ({self.growth_percent:+.1f} %); "
            f"flat means < {FLAT_PERCENT:g} % and < {FLAT_MB:g} MB"
        )


def baseline_seconds(run_seconds: float) -> float:
    """Where growth is measured from: minute 2, or a quarter of a shorter run."""
    return min(BASELINE_SECONDS, run_seconds / 4)


def verdict(samples: list[Sample], run_seconds: float) -> Verdict:
    """The first sample at or after the baseline time against the last one."""
    if len(samples) < 2:
        raise BenchError("fewer than two memory samples: the run was too short")
    start = baseline_seconds(run_seconds)
    baseline = next((s for s in samples if s.seconds >= start), samples[-1])
    if baseline is samples[-1]:
        baseline = samples[-2]
    return Verdict(baseline, samples[-1])


def sample_times(run_seconds: float) -> list[float]:
    """When to sample, in seconds from the start: every SAMPLE_SECONDS, and at the end."""
    times = [float(t) for t in range(SAMPLE_SECONDS, int(run_seconds), SAMPLE_SECONDS)]
    return [*times, float(run_seconds)]


def table_rows(samples: list[Sample], step: float = 60.0) -> list[Sample]:
    """The table's rows: the first sample at or after each whole `step` seconds (minute),
    and the last one."""
    rows: dict[int, Sample] = {}
    for sample in samples:
        rows.setdefault(int(sample.seconds // step), sample)
    rows[-1] = samples[-1]
    return list(dict.fromkeys(rows.values()))


def rss_bytes(pid: int) -> int:
    """Resident set size of `pid` and its live descendants (field 24 of /proc/PID/stat)."""
    total = 0
    for member in process_tree([pid]):
        with contextlib.suppress(OSError, IndexError, ValueError):
            total += int(_stat_fields(member)[21]) * PAGE_SIZE
    return total


class AccessLogCounter:
    """Counts the access-log lines (and their statuses) written to the web process' log so
    far, reading only what was appended since the last call."""

    STATUS = re.compile(rb'"event": "http_request".*?"status": (\d{3})')

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.requests = 0
        self.statuses: Counter[int] = Counter()

    def update(self) -> int:
        with self.path.open("rb") as file:
            file.seek(self.offset)
            chunk = file.read()
        complete = chunk[: chunk.rfind(b"\n") + 1]
        self.offset += len(complete)
        found = [int(code) for code in self.STATUS.findall(complete)]
        self.requests += len(found)
        self.statuses.update(found)
        return self.requests


def lua_table(value: object) -> str:
    if isinstance(value, dict):
        items = ", ".join(f"[{lua_table(k)}] = {lua_table(v)}" for k, v in value.items())
        return "{" + items + "}"
    if isinstance(value, list):
        return "{" + ", ".join(lua_table(v) for v in value) + "}"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def wrk_script(base: str) -> str:
    """wrk's Lua for MIX; each revalidating entry keyed as its responses' Link + coding."""
    requests = []
    for weight, path, headers in MIX:
        entry: dict[str, object] = {"weight": weight, "path": path, "counter": "{n}" in path}
        sent = {k: v for k, v in headers.items() if v != "ETAG"}
        if "ETAG" in headers.values():
            status, answer, _ = get(base + path, sent)
            if status != 200 or "Link" not in answer:
                raise BenchError(f"{path}: expected a 200 with a Link header, got {status}")
            entry["etag"] = f"{answer['Link']} {answer.get('Content-Encoding', 'identity')}"
        entry["headers"] = sent
        requests.append(entry)
    return WRK_SCRIPT.replace("{REQUESTS}", lua_table(requests))


class Publisher(threading.Thread):
    """Edits and republishes a category every `every` seconds until stopped, in a thread of
    its own: a render blocks its event loop for a while, and the sampling must not wait."""

    def __init__(self, config: Config, redis_url: str, every: float) -> None:
        super().__init__(name="soak-publisher", daemon=True)
        self.config, self.redis_url, self.every = config, redis_url, every
        self.stopping = threading.Event()
        self.rounds = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            asyncio.run(self._publish())
        except BaseException as exc:  # reported by the sampler, which stops the run
            self.error = exc

    async def _publish(self) -> None:
        runtime = Runtime.open(self.config, self.redis_url)  # no queue: publish runs inline
        try:
            while not self.stopping.wait(self.every):
                slug = ("tech/python", "news", "qinggan/gushi")[self.rounds % 3]
                await edit_one(runtime, slug, self.rounds)
                for name in dict.fromkeys((slug, slug.partition("/")[0], "all")):
                    await publish_category(runtime, name)  # announced: web's caches drop it
                self.rounds += 1
        finally:
            await runtime.close()


def soak(args: argparse.Namespace, tmp: Path, stack: contextlib.ExitStack) -> None:
    """Set up (bench/serve.py's store and web process), load, sample, report."""
    wrk = tool("wrk", packages="wrk")
    config, env, redis = private_store(tmp, stack)
    env = dict(env, SYNDICATOR_ADMIN_TOKEN=ADMIN_TOKEN)
    traced = os.environ.get(TRACEMALLOC_ENV) == "1"
    launcher = None
    if traced:
        env["SOAK_SNAPSHOT"] = str(tmp / "snapshot")
        launcher = [sys.executable, "-c", TRACED_LAUNCHER]
    # Imports under tracemalloc take a while longer.
    web, url = start_web(config, env, tmp, stack, launcher=launcher, ready_timeout=180 if traced else 30)
    base = url.removesuffix(FEED_PATH)
    script = tmp / "mix.lua"
    script.write_text(wrk_script(base))
    run_seconds = args.minutes * 60
    log = AccessLogCounter(tmp / "web.log")
    argv = [wrk, "-t1", "-c", str(args.connections), "-d", f"{run_seconds:.0f}s", "--timeout", "10s"]
    load = stack.enter_context(child([*argv, "-s", str(script), base + "/"], tmp / "wrk.out"))
    publisher = Publisher(config, redis.url, args.publish_every)
    publisher.start()
    try:
        samples = sample(run_seconds, web, log, base, publisher, traced, tmp)
    finally:
        publisher.stopping.set()
        publisher.join(timeout=60)
    load.wait(timeout=60)
    time.sleep(0.5)  # the access log's last batch
    log.update()
    report(args, samples, log, publisher.rounds, tmp / "wrk.out")
    if traced:
        print_growth(tmp / "snapshot")
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        for name in ("web.log", "wrk.out", "mix.lua"):
            shutil.copy(tmp / name, args.keep / name)


def sample(
    run_seconds: float,
    web: subprocess.Popen[bytes],
    log: AccessLogCounter,
    base: str,
    publisher: Publisher,
    traced: bool,
    tmp: Path,
) -> list[Sample]:
    """Every SAMPLE_SECONDS for the run: the web process' RSS, the requests so far and what
    its last-good store holds (/readyz)."""
    started = time.monotonic()
    samples = [Sample(0.0, rss_bytes(web.pid), log.update(), *kept_responses(base), threads(web.pid))]
    for due in sample_times(run_seconds):
        time.sleep(max(0.0, started + due - time.monotonic()))
        if web.poll() is not None:
            raise BenchError(f"the web process exited ({web.returncode}); log:\n{tail(tmp / 'web.log')}")
        if publisher.error is not None:
            raise BenchError(f"the publisher failed: {publisher.error!r}")
        seconds = time.monotonic() - started
        now = Sample(seconds, rss_bytes(web.pid), log.update(), *kept_responses(base), threads(web.pid))
        samples.append(now)
        mb = now.rss_bytes / 2**20
        print(
            f"  {now.seconds:6.0f} s {mb:8.1f} MB {now.requests:>10,} requests {now.kept:>5} kept", flush=True
        )
        at_baseline = samples[-2].seconds < baseline_seconds(run_seconds) <= now.seconds
        if traced and (at_baseline or due == run_seconds):
            web.send_signal(signal.SIGUSR1)  # snapshot 1 at the baseline, 2 at the end
    return samples


def threads(pid: int) -> int:
    """How many threads `pid` runs (/proc/PID/task)."""
    with contextlib.suppress(OSError):
        return len(os.listdir(f"/proc/{pid}/task"))
    return 0


def kept_responses(base: str) -> tuple[int, int]:
    """How many responses the web process' last-good store holds, and their bytes (/readyz):
    a bounded store that fills over the first many minutes of a crawl of unique URLs."""
    with contextlib.suppress(OSError, ValueError, KeyError):
        kept = json.loads(get(base + "/readyz")[2])["feeds"]["responses"]
        return int(kept["held"]), int(kept["bytes"])
    return -1, -1


def print_growth(prefix: Path, top: int = 15) -> None:
    """The allocation sites that grew most between the baseline and the end snapshot."""
    deadline = time.monotonic() + 60
    paths = [Path(f"{prefix}.1"), Path(f"{prefix}.2")]
    while not all(p.exists() for p in paths) and time.monotonic() < deadline:
        time.sleep(0.5)
    time.sleep(2)  # the last one may still be being written
    first, last = (tracemalloc.Snapshot.load(str(p)) for p in paths)
    print(f"\ntracemalloc: top {top} growth between the baseline and the end (by line)")
    for stat in last.compare_to(first, "lineno")[:top]:
        print(f"  {stat.size_diff / 1024:+9.1f} KiB {stat.count_diff:+8d} blocks  {stat.traceback[0]}")


def report(
    args: argparse.Namespace, samples: list[Sample], log: AccessLogCounter, rounds: int, wrk_out: Path
) -> None:
    print()
    print(f"date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; load average at the end: {_loadavg()}")
    print(f"machine: {describe()}")
    print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}")
    print(f"tools: {tool_version([tool('wrk', packages='wrk'), '--version'])}")
    print(
        f"load: wrk -t1 -c{args.connections} for {args.minutes:g} min over {len(MIX)} kinds of request "
        f"(bench/soak.py MIX), loopback, keep-alive; a republish every {args.publish_every:g} s "
        f"({rounds} in all); `syndicator web` defaults: access log on (JSON lines to a file), metrics on"
    )
    print(
        "minute 0.0: before the load; RSS: the web process' resident set (/proc/PID/stat); last-good "
        f"kept: responses its last-good store holds (/readyz; bounded: {MAX_ENTRIES:,} or "
        f"{MAX_BYTES // 2**20} MiB of bodies); threads: the web process' (/proc/PID/task)"
    )
    if os.environ.get(TRACEMALLOC_ENV) == "1":
        print("tracemalloc ON in the web process: its RSS includes tracemalloc's own tables")
    print()
    head = (
        f"{'minute':>6} {'RSS MB':>8} {'requests so far':>16} {'req/s since last row':>21} "
        f"{'last-good kept':>15} {'kept MB':>8} {'threads':>8}"
    )
    print(head)
    print("-" * len(head))
    previous: Sample | None = None
    step = 60.0 if args.minutes >= 5 else SAMPLE_SECONDS  # a short run: every sample
    for row in table_rows(samples, step):
        rate = "-"
        # -1: /readyz did not answer within 5 s (a web process slowed by tracemalloc)
        kept, kept_mb = (f"{row.kept:,}", f"{row.kept_bytes / 2**20:.1f}") if row.kept >= 0 else ("-", "-")
        if previous is not None:
            rate = f"{(row.requests - previous.requests) / (row.seconds - previous.seconds):,.0f}"
        print(
            f"{row.seconds / 60:>6.1f} {row.rss_bytes / 2**20:>8.1f} {row.requests:>16,} {rate:>21} "
            f"{kept:>15} {kept_mb:>8} {row.threads:>8}"
        )
        previous = row
    print()
    statuses = ", ".join(f"{code}: {count:,}" for code, count in sorted(log.statuses.items()))
    print(f"responses by status (access log): {statuses}")
    wrk_text = wrk_out.read_text(errors="replace")
    errors = re.search(r"Socket errors:.*", wrk_text)
    if errors:
        print(f"wrk: {errors.group(0)}")
    print(verdict(samples, args.minutes * 60).line())


def _loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="how long to load (default 10)")
    parser.add_argument("--quick", action="store_true", help="one minute")
    parser.add_argument("--connections", type=int, default=64, help="wrk keep-alive connections (default 64)")
    parser.add_argument(
        "--publish-every", type=float, default=5.0, help="seconds between republishes (default 5)"
    )
    parser.add_argument("--keep", type=Path, help="copy the web log and wrk's output to this folder")
    args = parser.parse_args()
    if args.quick:
        args.minutes = 1.0
    if args.minutes <= 0 or args.connections < 1 or args.publish_every <= 0:
        parser.error("--minutes and --publish-every must be positive, --connections at least 1")
    with tempfile.TemporaryDirectory(prefix="synsoak-") as name, contextlib.ExitStack() as stack:
        try:
            soak(args, Path(name), stack)
        except BenchError as exc:
            print(f"bench/soak.py: {exc}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

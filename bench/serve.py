"""Feed serving throughput and CPU cost of the real web process, against a bare aiohttp
handler and nginx serving the same bytes, in the same run.

    .venv/bin/python bench/serve.py [--quick] [--processes 1 2] [--seconds 10] [--rounds 3]

One run does everything in a private temporary directory and removes it afterwards:
a private Redis (EmbeddedRedis), the bundled samples ingested and published, then
`python -m syndicator.cli web [--processes N]` as a SEPARATE process (the load generator
never shares its event loop), with `web`'s defaults: the access log on (one JSON line per
request to stderr, here a file), metrics recorded per request in the process' registry (a
prometheus multiprocess directory with --processes 2). The published /feeds/all.rss,
identity and gzip exactly as syndicator serves them, with its headers, is then served by

- a bare aiohttp handler (bench/bare_aiohttp.py): the same bytes and headers from memory,
  no access log, no metrics, no middleware — what the framework itself costs;
- nginx from disk: one worker per process asked for, access log off, `etag on`,
  `gzip_static on` (all.rss.gz: the very bytes syndicator sends), keep-alive unbounded.

Scenarios, each loaded by wrk (-t1) for --seconds with --connections keep-alive connections:
  (a) GET, no Accept-Encoding                      → 200 identity body
  (b) GET, Accept-Encoding: gzip                   → 200 gzip body (pre-compressed)
  (c) GET, If-None-Match: the server's own ETag    → 304 (no body)

With one process each server is pinned to core 0 (`taskset -c 0`) and wrk to core 1; with
two, the servers may use both cores and wrk shares them. Besides req/s, each cell reports
the server's CPU time per 10,000 requests (utime + stime of the server's processes, from
/proc/PID/stat, before and after the run): on a shared machine other load changes req/s
much more than it changes what a request costs. The servers are run in alternating order
for --rounds rounds and the median of each is shown. Needs `nginx`, `wrk` and `taskset`
(Debian/Ubuntu: `sudo apt-get install -y nginx wrk util-linux`); this script installs
nothing. `--quick` (about a minute per process count): 3 s per cell, one round.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from machine import describe  # bench/ is on sys.path when run as a script

from syndicator.config import load_config
from syndicator.embedded import EmbeddedRedis
from syndicator.models import Config
from syndicator.runtime import Runtime

FEED_PATH = "/feeds/all.rss"
WARMUP_SECONDS = 2
BARE_APP = Path(__file__).with_name("bare_aiohttp.py")
SERVERS = ("syndicator", "bare aiohttp", "nginx")
# Headers aiohttp (or nginx) sets on every response; the others are the representation's.
TRANSPORT_HEADERS = frozenset({"date", "server", "content-length", "connection", "keep-alive"})

# wrk's Lua hook: one machine-readable line after the run (latency in microseconds).
WRK_REPORT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %d %d %d %d %d %d %d\\n",
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(99), summary.bytes, latency.max))
end
"""

NGINX_CONF = """
daemon off;
worker_processes {workers};
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {dir}/tmp;
    proxy_temp_path {dir}/tmp;
    fastcgi_temp_path {dir}/tmp;
    uwsgi_temp_path {dir}/tmp;
    scgi_temp_path {dir}/tmp;
    types {{ application/rss+xml rss; }}
    sendfile on;
    tcp_nopush on;
    keepalive_requests 100000000;
    keepalive_timeout 75s;
    server {{
        listen 127.0.0.1:{port};
        root {root};
        etag on;
        gzip_static on;
        gzip_vary on;
    }}
}}
"""


class BenchError(RuntimeError):
    """Something the benchmark needs is missing or misbehaves; the message says what."""


@dataclass(frozen=True)
class Scenario:
    name: str
    headers: dict[str, str]
    status: int


@dataclass(frozen=True)
class Result:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int  # socket errors + timeouts
    bad_status: int  # responses that were not 2xx/3xx
    mib_per_s: float
    requests: int = 0
    cpu_seconds: float = 0.0  # the server's processes, during the run

    @property
    def cpu_per_10k(self) -> float:
        return self.cpu_seconds / self.requests * 10_000 if self.requests else float("nan")


@dataclass
class Server:
    """A server under load: its URL, the processes whose CPU time counts, its scenarios."""

    name: str
    url: str
    pids: list[int]
    scenarios: list[Scenario]


def tool(name: str, packages: str = "nginx wrk util-linux") -> str:
    """The path of the program `name`; BenchError naming the apt-get line of `packages` when missing."""
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/local/sbin")
    if not found:
        raise BenchError(
            f"`{name}` is not installed; on Debian/Ubuntu: sudo apt-get install -y {packages} "
            "(this benchmark does not install anything itself)"
        )
    return found


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str]:
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rindex(")") + 2 :].split()  # after `pid (comm) `: state is field 0


def process_tree(pids: list[int]) -> list[int]:
    """`pids` and all their live descendants (nginx's worker, `web --processes`' children)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                parents.setdefault(int(_stat_fields(int(entry.name))[1]), []).append(int(entry.name))
    found, todo = [], list(pids)
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(parents.get(pid, []))
    return found


def cpu_seconds(pids: list[int]) -> float:
    """utime + stime, in seconds, of `pids` and their live descendants (/proc/PID/stat)."""
    total = 0
    for pid in process_tree(pids):
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = _stat_fields(pid)
            total += int(fields[11]) + int(fields[12])
    return total / CLOCK_TICKS


def tool_version(argv: list[str]) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    return (done.stdout + done.stderr).strip().splitlines()[0]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:  # 304 arrives as an HTTPError
        return exc.code, dict(exc.headers), exc.read()


def wait_until_serving(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchError(f"{url}: server exited ({process.returncode}); log:\n{tail(log)}")
        with contextlib.suppress(OSError):
            if get(url)[0] == 200:
                return
        time.sleep(0.1)
    raise BenchError(f"{url} did not answer 200 within {timeout:.0f} s; log:\n{tail(log)}")


def tail(log: Path) -> str:
    return log.read_text(errors="replace")[-2000:] if log.exists() else "(no log)"


@contextlib.contextmanager
def child(
    argv: list[str], log: Path, *, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """A child process that is always stopped (TERM, then KILL) when the block ends."""
    with log.open("wb") as out:
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out, env=env)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


async def ingest_samples(config: Config, redis_url: str) -> None:
    from syndicator.ingest import ingest_source
    from syndicator.publish import publish_missing
    from syndicator.store.schema import migrate

    runtime = Runtime.open(config, redis_url)  # no queue: publish runs inline
    try:
        await migrate(runtime.redis, runtime.keys)  # stamps the empty store, or `web` refuses it
        for source in config.sources.values():
            if source.enabled:
                report = await ingest_source(runtime, source.id)
                if report.status == "error":
                    raise BenchError(f"ingesting sample source {source.id!r} failed: {report.line()}")
        await publish_missing(runtime)
    finally:
        await runtime.close()


def run_wrk(
    wrk: list[str], url: str, scenario: Scenario, script: Path, args: argparse.Namespace, seconds: float
) -> Result:
    argv = [*wrk, "-t", str(args.threads), "-c", str(args.connections), "-d", f"{seconds:g}s"]
    argv += ["--timeout", "5s", "-s", str(script)]
    for name, value in scenario.headers.items():
        argv += ["-H", f"{name}: {value}"]
    done = subprocess.run([*argv, url], capture_output=True, text=True, check=False, timeout=seconds + 60)
    line = next((x for x in done.stdout.splitlines() if x.startswith("RESULT ")), None)
    if done.returncode != 0 or line is None:
        raise BenchError(f"wrk failed ({done.returncode}): {done.stdout}{done.stderr}")
    requests, duration_us, errors, bad_status, p50, p99, nbytes, _ = (int(x) for x in line.split()[1:])
    elapsed = duration_us / 1e6
    return Result(
        requests / elapsed, p50 / 1000, p99 / 1000, errors, bad_status, nbytes / elapsed / 2**20, requests
    )


def measured(
    wrk: list[str], server: Server, scenario: Scenario, script: Path, args: argparse.Namespace
) -> Result:
    """One wrk run against `server`, with the CPU time its processes spent meanwhile."""
    before = cpu_seconds(server.pids)
    result = run_wrk(wrk, server.url, scenario, script, args, args.seconds)
    spent = cpu_seconds(server.pids) - before
    return Result(**{**result.__dict__, "cpu_seconds": spent})


def check_same(label: str, ours: tuple[int, dict[str, str], bytes], ref: Server, status: int) -> None:
    """A reference answers a scenario with the expected status and syndicator's body bytes."""
    scenario = next(s for s in ref.scenarios if s.name == label)
    theirs = get(ref.url, scenario.headers)
    if ours[0] != status or theirs[0] != status:
        raise BenchError(
            f"{label}: expected {status}, syndicator said {ours[0]}, {ref.name} said {theirs[0]}"
        )
    if ours[2] != theirs[2]:
        raise BenchError(
            f"{label}: {ref.name} sends {len(theirs[2])} bytes, syndicator {len(ours[2])}: not the same body"
        )


def scenarios_for(identity_etag: str) -> list[Scenario]:
    return [
        Scenario("(a) GET identity 200", {}, 200),
        Scenario("(b) GET gzip 200", {"Accept-Encoding": "gzip"}, 200),
        Scenario("(c) If-None-Match 304", {"If-None-Match": identity_etag}, 304),
    ]


def representation_headers(headers: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k.lower() not in TRANSPORT_HEADERS}


def pinned(argv: list[str], cores: str | None) -> list[str]:
    return [tool("taskset"), "-c", cores, *argv] if cores else argv


def start_references(
    args: argparse.Namespace, processes: int, tmp: Path, stack: contextlib.ExitStack, syn_url: str
) -> list[Server]:
    """The bare aiohttp handler and nginx, serving what `syn_url` serves, started and checked."""
    bare = start_bare(processes, tmp, stack, syn_url)
    return [bare, start_nginx(processes, tmp, stack, tmp / "bare")]


def start_bare(
    processes: int,
    tmp: Path,
    stack: contextlib.ExitStack,
    syn_url: str,
    *,
    launcher: list[str] | None = None,
    ready_timeout: float = 30.0,
) -> Server:
    """The bare aiohttp handler serving, from memory, the bytes and headers `syn_url`
    serves (written to tmp/bare), started and checked. `launcher` replaces `python`
    (bench/calls.py runs it under a profiler)."""
    cores = "0" if processes == 1 else None
    _, headers, identity = get(syn_url)
    _, gz_headers, gzipped = get(syn_url, {"Accept-Encoding": "gzip"})
    if gz_headers.get("Content-Encoding") != "gzip":
        raise BenchError(f"syndicator did not send gzip for Accept-Encoding: gzip: {gz_headers}")
    not_modified = {
        coding: get(syn_url, {**extra, "If-None-Match": sent["ETag"]})[1]
        for coding, extra, sent in (
            ("identity", {}, headers),
            ("gzip", {"Accept-Encoding": "gzip"}, gz_headers),
        )
    }
    # The bare handler: syndicator's bytes and headers, from memory.
    bare_dir = tmp / "bare"
    bare_dir.mkdir()
    (bare_dir / "identity").write_bytes(identity)
    (bare_dir / "gzip").write_bytes(gzipped)
    (bare_dir / "headers.json").write_text(
        json.dumps(
            {
                coding: {
                    "200": representation_headers(sent),
                    "304": representation_headers(not_modified[coding]),
                }
                for coding, sent in (("identity", headers), ("gzip", gz_headers))
            }
        )
    )
    bare_port = free_port()
    bare_argv = [*(launcher or [sys.executable]), str(BARE_APP), str(bare_port), str(bare_dir)]
    bare_argv += ["--reuse-port"] if processes > 1 else []
    bare_procs = [
        stack.enter_context(child(pinned(bare_argv, cores), tmp / f"bare{n}.log")) for n in range(processes)
    ]
    bare_url = f"http://127.0.0.1:{bare_port}{FEED_PATH}"
    for n, process in enumerate(bare_procs):
        wait_until_serving(bare_url, process, tmp / f"bare{n}.log", ready_timeout)
    return Server("bare aiohttp", bare_url, [p.pid for p in bare_procs], scenarios_for(headers["ETag"]))


def start_nginx(processes: int, tmp: Path, stack: contextlib.ExitStack, bare_dir: Path) -> Server:
    """nginx serving from disk the bodies `start_bare` wrote to `bare_dir`, started and checked."""
    nginx = tool("nginx")
    cores = "0" if processes == 1 else None
    root = tmp / "www"
    (root / "feeds").mkdir(parents=True)
    (root / "feeds" / "all.rss").write_bytes((bare_dir / "identity").read_bytes())
    (root / "feeds" / "all.rss.gz").write_bytes((bare_dir / "gzip").read_bytes())
    nginx_dir = tmp / "nginx"
    (nginx_dir / "tmp").mkdir(parents=True)
    nginx_port = free_port()
    conf = nginx_dir / "nginx.conf"
    conf.write_text(NGINX_CONF.format(dir=nginx_dir, port=nginx_port, root=root, workers=processes))
    # nginx started as root runs its worker as `nobody`, which must be able to read the files.
    for path in (tmp.parent, tmp, root, root / "feeds", nginx_dir):
        path.chmod(0o755)
    for path in (root / "feeds").iterdir():
        path.chmod(0o644)
    nginx_argv = [nginx, "-p", str(nginx_dir), "-c", str(conf), "-e", str(nginx_dir / "error.log")]
    ref = stack.enter_context(child(pinned(nginx_argv, cores), nginx_dir / "stderr.log"))
    ref_url = f"http://127.0.0.1:{nginx_port}{FEED_PATH}"
    wait_until_serving(ref_url, ref, nginx_dir / "error.log")
    return Server("nginx", ref_url, [ref.pid], scenarios_for(get(ref_url)[1]["ETag"]))


def bench_processes(
    args: argparse.Namespace, processes: int, config: Config, env: dict[str, str], tmp: Path
) -> list[tuple[str, dict[str, Result]]]:
    """Every scenario against the three servers, `processes` processes each; the median of
    the rounds per (scenario, server)."""
    wrk = pinned([tool("wrk")], "1" if processes == 1 else None)
    cores = "0" if processes == 1 else None
    run_dir = tmp / f"p{processes}"
    run_dir.mkdir()
    with contextlib.ExitStack() as stack:
        web, syn_url = start_web(config, env, run_dir, stack, processes=processes, cores=cores)
        identity_etag = get(syn_url)[1]["ETag"]
        servers = [Server("syndicator", syn_url, [web.pid], scenarios_for(identity_etag))]
        servers += start_references(args, processes, run_dir, stack, syn_url)
        script = run_dir / "report.lua"
        script.write_text(WRK_REPORT)
        for scenario in servers[0].scenarios:
            ours = get(syn_url, scenario.headers)
            for ref in servers[1:]:
                check_same(scenario.name, ours, ref, scenario.status)
        for server in servers:  # warm-up, not reported
            run_wrk(wrk, server.url, server.scenarios[0], script, args, WARMUP_SECONDS)
        runs: dict[tuple[str, str], list[Result]] = {}
        for round_number in range(args.rounds):
            # Alternating order: a disturbance that lasts a while hits every server alike.
            ordered = servers if round_number % 2 == 0 else servers[::-1]
            for index in range(len(servers[0].scenarios)):
                for server in ordered:
                    scenario = server.scenarios[index]
                    runs.setdefault((scenario.name, server.name), []).append(
                        measured(wrk, server, scenario, script, args)
                    )
    rows = []
    for scenario in servers[0].scenarios:
        medians = {}
        for name in SERVERS:
            results = runs[(scenario.name, name)]
            medians[name] = median_result(results)
        rows.append((scenario.name, medians))
    return rows


def median_result(results: list[Result]) -> Result:
    """The run with the median req/s, its CPU per request replaced by the median one."""
    by_rps = sorted(results, key=lambda r: r.rps)[len(results) // 2]
    cpu = statistics.median(r.cpu_per_10k for r in results)
    return Result(**{**by_rps.__dict__, "cpu_seconds": cpu * by_rps.requests / 10_000})


def start_web(
    config: Config,
    env: dict[str, str],
    run_dir: Path,
    stack: contextlib.ExitStack,
    *,
    processes: int = 1,
    cores: str | None = None,
    launcher: list[str] | None = None,
    ready_timeout: float = 30.0,
) -> tuple[subprocess.Popen[bytes], str]:
    """`syndicator web` with its defaults (its log in run_dir/web.log), serving FEED_PATH;
    the process and that URL. `launcher` replaces `python -m syndicator.cli` (same arguments)."""
    port = free_port()
    web_env = dict(env, SYNDICATOR_PORT=str(port))
    web_argv = [*(launcher or [sys.executable, "-m", "syndicator.cli"]), "web", "--config", config.path]
    web_argv += ["--port", str(port)] + (["--processes", str(processes)] if processes > 1 else [])
    web = stack.enter_context(child(pinned(web_argv, cores), run_dir / "web.log", env=web_env))
    url = f"http://127.0.0.1:{port}{FEED_PATH}"
    wait_until_serving(url, web, run_dir / "web.log", ready_timeout)
    return web, url


def private_store(tmp: Path, stack: contextlib.ExitStack) -> tuple[Config, dict[str, str], EmbeddedRedis]:
    """A private Redis in `tmp` holding the bundled samples, ingested and published; the
    configuration and the environment `syndicator web` is started with to serve them."""
    redis = stack.enter_context(EmbeddedRedis(tmp / "redis", appendonly=False))
    site_port = free_port()
    env = dict(
        os.environ,
        SYNDICATOR_REDIS_URL=redis.url,
        SYNDICATOR_HOST="127.0.0.1",
        SYNDICATOR_PUBLIC_URL=f"http://127.0.0.1:{site_port}/",
        SYNDICATOR_DATA_DIR=str(tmp / "data"),
    )
    env.pop("SYNDICATOR_CONFIG", None)  # the default (checkout or bundled) configuration
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)  # `web`'s default: this process' registry
    config = load_config(environ=env)
    asyncio.run(ingest_samples(config, redis.url))
    return config, env, redis


def bench(args: argparse.Namespace, tmp: Path, stack: contextlib.ExitStack) -> None:
    for name in ("nginx", "wrk", "taskset"):
        tool(name)  # all three named at once, before anything starts
    config, env, _ = private_store(tmp, stack)
    results = {processes: bench_processes(args, processes, config, env, tmp) for processes in args.processes}
    print_table(args, results)


def print_table(args: argparse.Namespace, results: dict[int, list[tuple[str, dict[str, Result]]]]) -> None:
    print(f"date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(f"machine: {describe()}")
    print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}")
    print(f"tools: {tool_version([tool('nginx'), '-v'])}; {tool_version([tool('wrk'), '--version'])}")
    print(
        f"load: {FEED_PATH} of the bundled samples; wrk -t{args.threads} -c{args.connections} "
        f"-d{args.seconds:g}s per cell, loopback, keep-alive; median of {args.rounds} alternating round(s)"
    )
    print(
        "syndicator: `syndicator web` defaults — access log on (JSON lines to stderr), "
        "feed request counter per request (in-process registry; multiprocess directory for 2 processes)"
    )
    print("1 process: every server pinned to core 0 (taskset -c 0), wrk to core 1; 2: no pinning")
    print()
    head = (
        f"{'procs':>5} {'scenario':<24}{'syndicator':>11}{'CPU-s/10k':>10}"
        f"{'bare aiohttp':>13}{'CPU-s/10k':>10}"
        f"{'nginx':>9}{'CPU-s/10k':>10}{'syn/bare':>9}{'CPU bare/syn':>13}"
    )
    print(head)
    print("-" * len(head))
    for processes, rows in results.items():
        for name, cell in rows:
            syn, bare, ngx = (cell[s] for s in SERVERS)
            print(
                f"{processes:>5} {name:<24}{syn.rps:>11,.0f}{syn.cpu_per_10k:>10.3f}{bare.rps:>13,.0f}"
                f"{bare.cpu_per_10k:>10.3f}{ngx.rps:>9,.0f}{ngx.cpu_per_10k:>10.3f}"
                f"{syn.rps / bare.rps:>9.0%}{bare.cpu_per_10k / syn.cpu_per_10k:>13.0%}"
            )
    print(
        "req/s: the median round; CPU-s/10k: server CPU seconds (user + system, all its processes) "
        "per 10,000 requests; syn/bare: syndicator req/s ÷ bare aiohttp req/s (goal ≥ 75 %); "
        "CPU bare/syn: the same ratio from CPU per request, which other load on the machine disturbs less"
    )
    for processes, rows in results.items():
        for name, cell in rows:
            for who, result in cell.items():
                if result.errors or result.bad_status:
                    print(
                        f"warning: {processes} process(es), {name}, {who}: {result.errors} socket errors, "
                        f"{result.bad_status} non-2xx/3xx"
                    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 s per cell, one round (about a minute)")
    parser.add_argument("--seconds", type=float, help="duration of each wrk run (default 10; --quick: 3)")
    parser.add_argument("--rounds", type=int, help="alternating rounds, median shown (default 3; --quick: 1)")
    parser.add_argument(
        "--processes", type=int, nargs="+", default=[1], choices=(1, 2), help="web processes: 1, 2 or 1 2"
    )
    parser.add_argument("--connections", type=int, default=50, help="wrk keep-alive connections (default 50)")
    parser.add_argument("--threads", type=int, default=1, choices=(1, 2), help="wrk threads (default 1)")
    args = parser.parse_args()
    args.seconds = args.seconds or (3.0 if args.quick else 10.0)
    args.rounds = args.rounds or (1 if args.quick else 3)
    if args.seconds <= 0 or args.connections < 1 or args.rounds < 1:
        parser.error("--seconds must be positive, --connections and --rounds at least 1")
    # A short prefix: the Redis unix socket path must stay under ~100 bytes.
    with tempfile.TemporaryDirectory(prefix="synbench-") as name, contextlib.ExitStack() as stack:
        try:
            bench(args, Path(name), stack)
        except BenchError as exc:
            print(f"bench/serve.py: {exc}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

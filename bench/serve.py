"""Feed serving throughput of the real web process, against nginx serving the same bytes.

    .venv/bin/python bench/serve.py [--seconds 10] [--connections 50] [--threads 1]

One run does everything in a private temporary directory and removes it afterwards:
a private Redis (EmbeddedRedis), the bundled samples ingested and published, then
`python -m syndicator.cli web` as a SEPARATE process (the load generator never shares
its event loop). The published /feeds/all.rss, identity and gzip exactly as syndicator
serves them, is written to disk and served by nginx on loopback as the reference.

Scenarios, each loaded by wrk for --seconds with --connections keep-alive connections:
  (a) GET, no Accept-Encoding                      → 200 identity body
  (b) GET, Accept-Encoding: gzip                   → 200 gzip body (pre-compressed)
  (c) GET, If-None-Match: the server's own ETag    → 304 (no body)

nginx is configured to be comparable, not tuned: one worker, access log off, `etag on`,
`gzip_static on` (it sends all.rss.gz — the very bytes syndicator sends — when the client
accepts gzip; it never compresses per request, like syndicator) and `keepalive_requests`
raised so that neither server closes wrk's connections during a run. nginx reads files
(page cache, sendfile); syndicator reads validators and body from Redis on every request,
so the ratio includes that round trip. Needs `nginx` and `wrk` on PATH (Debian/Ubuntu:
`sudo apt-get install nginx wrk`); this script installs nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from machine import describe  # bench/ is on sys.path when run as a script

from syndicator.config import load_config
from syndicator.embedded import EmbeddedRedis
from syndicator.models import Config
from syndicator.runtime import Runtime

FEED_PATH = "/feeds/all.rss"
WARMUP_SECONDS = 2

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
worker_processes 1;
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


def tool(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/local/sbin")
    if not found:
        raise BenchError(
            f"`{name}` is not installed; on Debian/Ubuntu: sudo apt-get install nginx wrk "
            "(this benchmark does not install anything itself)"
        )
    return found


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
    wrk: str, url: str, scenario: Scenario, script: Path, args: argparse.Namespace, seconds: float
) -> Result:
    argv = [wrk, "-t", str(args.threads), "-c", str(args.connections), "-d", f"{seconds:g}s"]
    argv += ["--timeout", "5s", "-s", str(script)]
    for name, value in scenario.headers.items():
        argv += ["-H", f"{name}: {value}"]
    done = subprocess.run([*argv, url], capture_output=True, text=True, check=False, timeout=seconds + 60)
    line = next((x for x in done.stdout.splitlines() if x.startswith("RESULT ")), None)
    if done.returncode != 0 or line is None:
        raise BenchError(f"wrk failed ({done.returncode}): {done.stdout}{done.stderr}")
    requests, duration_us, errors, bad_status, p50, p99, nbytes, _ = (int(x) for x in line.split()[1:])
    elapsed = duration_us / 1e6
    return Result(requests / elapsed, p50 / 1000, p99 / 1000, errors, bad_status, nbytes / elapsed / 2**20)


def check_same(
    label: str, ours: tuple[int, dict[str, str], bytes], ref: tuple[int, dict[str, str], bytes], status: int
) -> None:
    """Both servers answer a scenario with the expected status and the same body bytes."""
    if ours[0] != status or ref[0] != status:
        raise BenchError(f"{label}: expected {status}, syndicator said {ours[0]}, nginx said {ref[0]}")
    if ours[2] != ref[2]:
        raise BenchError(
            f"{label}: nginx sends {len(ref[2])} bytes, syndicator {len(ours[2])}: not the same body"
        )


def scenarios_for(identity_etag: str) -> list[Scenario]:
    return [
        Scenario("(a) GET identity 200", {}, 200),
        Scenario("(b) GET gzip 200", {"Accept-Encoding": "gzip"}, 200),
        Scenario("(c) If-None-Match 304", {"If-None-Match": identity_etag}, 304),
    ]


def bench(args: argparse.Namespace, tmp: Path, stack: contextlib.ExitStack) -> None:
    nginx, wrk = tool("nginx"), tool("wrk")
    redis = stack.enter_context(EmbeddedRedis(tmp / "redis", appendonly=False))
    port = free_port()
    env = dict(
        os.environ,
        SYNDICATOR_REDIS_URL=redis.url,
        SYNDICATOR_HOST="127.0.0.1",
        SYNDICATOR_PORT=str(port),
        SYNDICATOR_PUBLIC_URL=f"http://127.0.0.1:{port}/",
        SYNDICATOR_DATA_DIR=str(tmp / "data"),
    )
    env.pop("SYNDICATOR_CONFIG", None)  # the default (checkout or bundled) configuration
    config = load_config(environ=env)
    asyncio.run(ingest_samples(config, redis.url))

    syn_url = f"http://127.0.0.1:{port}{FEED_PATH}"
    web_argv = [sys.executable, "-m", "syndicator.cli", "web", "--config", config.path]
    web = stack.enter_context(child(web_argv, tmp / "web.log", env=env))
    wait_until_serving(syn_url, web, tmp / "web.log")

    # The exact bytes syndicator serves become nginx's files.
    _, headers, identity = get(syn_url)
    _, gz_headers, gzipped = get(syn_url, {"Accept-Encoding": "gzip"})
    if gz_headers.get("Content-Encoding") != "gzip":
        raise BenchError(f"syndicator did not send gzip for Accept-Encoding: gzip: {gz_headers}")
    root = tmp / "www"
    (root / "feeds").mkdir(parents=True)
    (root / "feeds" / "all.rss").write_bytes(identity)
    (root / "feeds" / "all.rss.gz").write_bytes(gzipped)
    nginx_dir = tmp / "nginx"
    (nginx_dir / "tmp").mkdir(parents=True)
    nginx_port = free_port()
    conf = nginx_dir / "nginx.conf"
    conf.write_text(NGINX_CONF.format(dir=nginx_dir, port=nginx_port, root=root))
    # nginx started as root runs its worker as `nobody`, which must be able to read the files.
    for path in (tmp, root, root / "feeds", nginx_dir):
        path.chmod(0o755)
    for path in (root / "feeds").iterdir():
        path.chmod(0o644)
    nginx_argv = [nginx, "-p", str(nginx_dir), "-c", str(conf), "-e", str(nginx_dir / "error.log")]
    ref = stack.enter_context(child(nginx_argv, nginx_dir / "stderr.log"))
    ref_url = f"http://127.0.0.1:{nginx_port}{FEED_PATH}"
    wait_until_serving(ref_url, ref, nginx_dir / "error.log")
    ref_etag = get(ref_url)[1]["ETag"]

    script = tmp / "report.lua"
    script.write_text(WRK_REPORT)
    rows: list[tuple[str, Result, Result]] = []
    ours_all = scenarios_for(headers["ETag"])
    theirs_all = scenarios_for(ref_etag)
    for ours, theirs in zip(ours_all, theirs_all, strict=True):
        check_same(ours.name, get(syn_url, ours.headers), get(ref_url, theirs.headers), ours.status)
    for server_url, chosen in ((syn_url, ours_all[0]), (ref_url, theirs_all[0])):
        run_wrk(wrk, server_url, chosen, script, args, WARMUP_SECONDS)  # warm-up, not reported
    for ours, theirs in zip(ours_all, theirs_all, strict=True):
        mine = run_wrk(wrk, syn_url, ours, script, args, args.seconds)
        reference = run_wrk(wrk, ref_url, theirs, script, args, args.seconds)
        rows.append((ours.name, mine, reference))

    print(f"machine: {describe()}")
    print(f"tools: {tool_version([nginx, '-v'])}; {tool_version([wrk, '--version'])}")
    print(
        f"body: {FEED_PATH}, {len(identity):,} bytes identity, {len(gzipped):,} bytes gzip; "
        f"wrk -t{args.threads} -c{args.connections} -d{args.seconds:g}s per cell, loopback, keep-alive"
    )
    print(
        f"the server, the load generator (and for syndicator its Redis) share the machine's "
        f"{os.cpu_count()} cores (syndicator: one web process; nginx: one worker)"
    )
    print()
    head = f"{'scenario':<24}{'syndicator req/s':>17}{'p50 ms':>8}{'p99 ms':>8}"
    head += f"{'nginx req/s':>13}{'p50 ms':>8}{'p99 ms':>8}{'ratio':>8}"
    print(head)
    print("-" * len(head))
    for name, mine, reference in rows:
        print(
            f"{name:<24}{mine.rps:>17,.0f}{mine.p50_ms:>8.2f}{mine.p99_ms:>8.2f}"
            f"{reference.rps:>13,.0f}{reference.p50_ms:>8.2f}{reference.p99_ms:>8.2f}"
            f"{mine.rps / reference.rps:>8.1%}"
        )
    print("ratio = syndicator req/s ÷ nginx req/s")
    for name, mine, reference in rows:
        for who, result in (("syndicator", mine), ("nginx", reference)):
            if result.errors or result.bad_status:
                print(
                    f"warning: {name} {who}: {result.errors} socket errors, {result.bad_status} non-2xx/3xx"
                )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="duration of each wrk run (default 10)")
    parser.add_argument("--connections", type=int, default=50, help="wrk keep-alive connections (default 50)")
    parser.add_argument("--threads", type=int, default=1, choices=(1, 2), help="wrk threads (default 1)")
    args = parser.parse_args()
    if args.seconds <= 0 or args.connections < 1:
        parser.error("--seconds must be positive and --connections at least 1")
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

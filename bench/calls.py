"""Python calls per request of the feed hot path, ours against a bare aiohttp handler,
counted by cProfile: a figure that other load on the machine does not move.

    .venv/bin/python bench/calls.py [--seconds 2 6] [--top 25]
    .venv/bin/python bench/calls.py --instructions --connections 1 --seconds 3 9

The same set-up as bench/serve.py (a private Redis holding the bundled samples, ingested
and published; `syndicator web` with its defaults: access log on, feed requests counted
in the metrics), but both servers, `syndicator web` and bench/bare_aiohttp.py serving the
same bytes and headers from memory, run under cProfile (`--child`, below). Each of
serve.py's three cases of /feeds/all.rss — identity 200, gzip 200, If-None-Match 304 —
is loaded by wrk (-t1, --connections keep-alive connections) once for each of two
durations, after a one-second warm-up; the server's total call count is read before and
after each run. Calls per request are (calls of the long run − calls of the short
run) ÷ (requests of the long run − requests of the short run), so what a run costs once
(its connections opened and closed, the read-out itself, requests cut off at its end)
cancels out. cProfile counts a call of a Python function and of a builtin alike, in the
serving thread only (the access log's writer thread is not counted; bench/serve.py's CPU
seconds per 10,000 requests include it).

The counts are steady from run to run to within about one call a request (how many
requests one turn of the event loop answers moves a little with timing). `--top N`
also lists, per case, the N functions whose calls a request differ most between our
server and the bare one (+: ours calls it more often). Needs `wrk` (Debian/Ubuntu:
`sudo apt-get install -y wrk`); installs nothing. Takes about a minute and a half.

A Python call is not a fixed cost: calls that a change takes out may be cheap ones.
`--instructions` counts, instead, the machine instructions both servers execute, in every
thread (the access log's writer too), under valgrind's callgrind (`sudo apt-get install -y
valgrind`; its instrumentation is switched on after start-up, so start-up takes a minute
or two, and the servers run 50-100 times slower). With `--connections 1` each request is
its own turn of the event loop and the count is steady to about 1 % between runs and
between two processes of the same code; with 50 connections it moves by about 3 %
(how many requests share a loop turn depends on timing). Neither the machine's other load
nor its clock speed changes it, which is what CPU seconds on a shared machine cannot give.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import json
import os
import runpy
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from serve import (  # bench/ is on sys.path when run as a script
    WRK_REPORT,
    BenchError,
    Scenario,
    Server,
    get,
    private_store,
    run_wrk,
    scenarios_for,
    start_bare,
    start_web,
    tool,
)

COUNTS_ENV = "SYNDICATOR_BENCH_CALLS_FILE"  # where a `--child` writes its counts when signalled
WARMUP_SECONDS = 1.0


# ---------------------------------------------------------------- the profiled server


def profiled_child(argv: list[str]) -> None:
    """Runs `argv` (`-m MODULE ARGS…` or `SCRIPT ARGS…`) as __main__ under cProfile; on
    SIGUSR1 writes its call counts so far, per function, as JSON to $COUNTS_ENV."""
    target = Path(os.environ[COUNTS_ENV])
    profiler = cProfile.Profile()

    def write_counts(_signum: int, _frame: object) -> None:
        profiler.disable()
        counts: Counter[str] = Counter()
        for entry in profiler.getstats():
            code = entry.code
            name = (
                code if isinstance(code, str) else f"{code.co_filename}:{code.co_firstlineno}({code.co_name})"
            )
            counts[name] += entry.callcount
        partial = target.with_suffix(".part")
        partial.write_text(json.dumps(counts))
        partial.rename(target)
        profiler.enable()

    signal.signal(signal.SIGUSR1, write_counts)
    if argv[0] == "-m":
        sys.argv = [argv[1], *argv[2:]]
        profiler.enable()
        runpy.run_module(argv[1], run_name="__main__", alter_sys=True)
    else:
        sys.argv = argv
        profiler.enable()
        runpy.run_path(argv[0], run_name="__main__")


# ---------------------------------------------------------------- the measuring side


@dataclass(frozen=True)
class Run:
    requests: int
    calls: Counter[str]  # function → calls during the run


def read_counts(pid: int, counts_file: Path, timeout: float = 30.0) -> Counter[str]:
    """The call counts of the profiled process `pid`, asked for with SIGUSR1."""
    counts_file.unlink(missing_ok=True)
    os.kill(pid, signal.SIGUSR1)
    deadline = time.monotonic() + timeout
    while not counts_file.exists():
        if time.monotonic() > deadline:
            raise BenchError(f"process {pid} wrote no call counts within {timeout:.0f} s")
        time.sleep(0.02)
    return Counter(json.loads(counts_file.read_text()))


def read_instructions(
    pid: int, out_file: Path, totals: dict[int, int], timeout: float = 60.0
) -> Counter[str]:
    """The instructions `pid` (run by valgrind's callgrind, writing `out_file`.PID.N)
    executed in all its threads since its instrumentation was switched on: each dump
    counts since the previous one, so `totals` adds them up."""
    pattern = f"{out_file.name}.{pid}*"
    before = set(out_file.parent.glob(pattern))
    command = ["callgrind_control", "--dump", str(pid)]
    subprocess.run(command, check=True, capture_output=True, timeout=timeout)
    deadline = time.monotonic() + timeout
    while True:
        for dump in set(out_file.parent.glob(pattern)) - before:
            lines = dump.read_text().splitlines()
            counted = next((x.split()[1] for x in lines if x.startswith(("totals:", "summary:"))), None)
            if counted is not None:  # else still being written
                totals[pid] = totals.get(pid, 0) + int(counted)
                return Counter({"instructions": totals[pid]})
        if time.monotonic() > deadline:
            raise BenchError(f"process {pid} wrote no callgrind dump within {timeout:.0f} s")
        time.sleep(0.05)


def read(pid: int, args: argparse.Namespace) -> Counter[str]:
    if args.instructions:
        return read_instructions(pid, args.callgrind_file, args.instruction_totals)
    return read_counts(pid, args.counts_file)


def one_run(
    wrk: list[str], server: Server, scenario: Scenario, script: Path, args: argparse.Namespace, seconds: float
) -> Run:
    pid = server.pids[0]
    before = read(pid, args)
    result = run_wrk(wrk, server.url, scenario, script, args, seconds)
    after = read(pid, args)
    if result.errors or result.bad_status:
        raise BenchError(
            f"{server.name}, {scenario.name}: {result.errors} errors, {result.bad_status} bad statuses"
        )
    after.subtract(before)
    return Run(result.requests, after)


def per_request(short: Run, long: Run) -> tuple[float, dict[str, float]]:
    """Calls a request, in all and per function: the long run less the short one."""
    requests = long.requests - short.requests
    if requests <= 0:
        raise BenchError("the long run answered no more requests than the short one: lengthen --seconds")
    functions = {name: (long.calls[name] - short.calls[name]) / requests for name in long.calls | short.calls}
    return (sum(long.calls.values()) - sum(short.calls.values())) / requests, functions


def measure(
    wrk: list[str], server: Server, script: Path, args: argparse.Namespace
) -> list[tuple[str, float, dict[str, float]]]:
    rows = []
    for scenario in server.scenarios:
        run_wrk(wrk, server.url, scenario, script, args, WARMUP_SECONDS)
        short, long = (one_run(wrk, server, scenario, script, args, s) for s in args.seconds)
        total, functions = per_request(short, long)
        rows.append((scenario.name, total, functions))
    return rows


def short_name(name: str) -> str:
    """`…/site-packages/aiohttp/web_protocol.py:512(data_received)` → `aiohttp/web_protocol.py:512(…)`."""
    for marker in ("site-packages/", "/lib/python3"):
        if marker in name:
            return name.split(marker, 1)[1]
    root = str(Path(__file__).resolve().parent.parent) + "/"
    return name.replace(root, "")


def bench(args: argparse.Namespace, tmp: Path, stack: contextlib.ExitStack) -> None:
    wrk = [tool("wrk", "wrk")]
    config, env, _ = private_store(tmp, stack)
    args.counts_file = tmp / "counts.json"
    env = dict(env, **{COUNTS_ENV: str(args.counts_file)})
    os.environ[COUNTS_ENV] = str(args.counts_file)  # the bare server's environment
    launcher = [sys.executable, str(Path(__file__).resolve()), "--child"]
    ready = 30.0
    if args.instructions:  # instrumented from the first measured run on (`callgrind_control -i on`)
        args.callgrind_file, args.instruction_totals = tmp / "callgrind.out", {}
        launcher = [tool("valgrind", "valgrind"), "--tool=callgrind", "--instr-atstart=no"]
        launcher += [f"--callgrind-out-file={args.callgrind_file}.%p", sys.executable]
        ready = 600.0
    script = tmp / "report.lua"
    script.write_text(WRK_REPORT)
    results = {}
    with contextlib.ExitStack() as servers:
        launch_web = [*launcher, "-m", "syndicator.cli"]
        web, url = start_web(config, env, tmp, servers, launcher=launch_web, ready_timeout=ready)
        ours = Server("syndicator", url, [web.pid], scenarios_for(get(url)[1]["ETag"]))
        bare = start_bare(1, tmp, servers, url, launcher=launcher, ready_timeout=ready)
        for server in (ours, bare):
            if args.instructions:
                command = ["callgrind_control", "--instr=on", str(server.pids[0])]
                subprocess.run(command, check=True, capture_output=True, timeout=60)
            results[server.name] = measure(wrk, server, script, args)
    print(
        f"wrk -t{args.threads} -c{args.connections}, runs of {args.seconds[0]:g} s and {args.seconds[1]:g} s "
        f"per case; {'instructions (callgrind, every thread)' if args.instructions else 'Python calls'} "
        "a request (long run − short run)"
    )
    print(f"{'case':<24}{'syndicator':>12}{'bare aiohttp':>14}{'extra':>10}{'bare/syn':>10}")
    number = ",.0f" if args.instructions else ".1f"
    for (name, syn, syn_functions), (_, ref, ref_functions) in zip(
        results["syndicator"], results["bare aiohttp"], strict=True
    ):
        print(f"{name:<24}{syn:>12{number}}{ref:>14{number}}{syn - ref:>10{number}}{ref / syn:>10.0%}")
        if args.top and not args.instructions:
            extra = {
                function: syn_functions.get(function, 0.0) - ref_functions.get(function, 0.0)
                for function in syn_functions | ref_functions
            }
            ranked = sorted(extra.items(), key=lambda item: -abs(item[1]))[: args.top]
            for function, calls in ranked:
                print(f"    {calls:+6.2f}  {short_name(function)}")


def main() -> int:
    if sys.argv[1:2] == ["--child"]:
        profiled_child(sys.argv[2:])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--seconds", type=float, nargs=2, default=[2.0, 6.0], help="the short and the long run (default 2 6)"
    )
    parser.add_argument("--connections", type=int, default=50, help="wrk keep-alive connections (default 50)")
    parser.add_argument(
        "--top", type=int, default=0, help="list the N functions whose calls a request differ most"
    )
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="count instructions (valgrind's callgrind, every thread) instead of calls",
    )
    args = parser.parse_args()
    args.threads = 1
    if not 0 < args.seconds[0] < args.seconds[1] or args.connections < 1:
        parser.error("--seconds: two durations, the first shorter; --connections at least 1")
    with tempfile.TemporaryDirectory(prefix="syncalls-") as name, contextlib.ExitStack() as stack:
        try:
            bench(args, Path(name), stack)
        except BenchError as exc:
            print(f"bench/calls.py: {exc}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

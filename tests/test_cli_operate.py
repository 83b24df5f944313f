"""The operators' commands for real: `syndicator sources|reingest|pause|resume|runs` as
processes, against real `syndicator worker` processes and a loopback upstream that fails
on purpose (tests/test_operate.py has the same world, in process)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from syndicator.cli_operate import SOURCE_COLUMNS
from syndicator.store.heartbeats import live_workers
from syndicator.store.keys import Keys
from tests.admin_helpers import TOKEN, admin_serving
from tests.builders import items, rss, write_config
from tests.conftest import REPO
from tests.processes import TerminalRun, clean_environment, free_port, run_cli, run_cli_on_a_terminal
from tests.test_operate import SECRET, failing_world

DEADLINE = 60.0  # how long a wait may last before the test fails (never asserted on)


async def eventually(check, what: str):
    """Poll `check()` (async) until it returns something true; fail naming `what`."""
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        if result := await check():
            return result
        await asyncio.sleep(0.1)
    raise AssertionError(f"never happened: {what}")


@asynccontextmanager
async def worker_process(config_path: str) -> AsyncIterator[asyncio.subprocess.Process]:
    """A real `syndicator worker`, stopped with SIGTERM (as an operator would) at the end."""
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "syndicator.cli", "worker", "--config", config_path),
        cwd=REPO,
        env=clean_environment(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield process
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            await process.wait()


async def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(run_cli, *args)


async def on_a_terminal(*args: str) -> TerminalRun:
    return await asyncio.to_thread(run_cli_on_a_terminal, *args)


def visible_lines(screen: str) -> list[str]:
    """What the terminal shows once the command has ended: a line rewritten in place
    (`\r` and erase-line, as progress lines are) shows only its last text."""
    return [line.split("\r\x1b[K")[-1] for line in screen.split("\n")]


def table_rows(screen: str, columns: tuple[str, ...]) -> list[dict[str, str]]:
    """An aligned table read by the header's column positions: each cell must start where
    its heading does, or the values come out cut in the wrong places."""
    header, *rows = screen.rstrip("\n").split("\n")
    starts, at = [], 0
    for name in columns:
        at = header.index(name, at)
        starts.append(at)
        at += len(name)
    assert header.split() == " ".join(columns).split(), header
    bounds = list(zip(starts, [*starts[1:], None], strict=True))
    return [{name: row[a:b].strip() for name, (a, b) in zip(columns, bounds, strict=True)} for row in rows]


def tsv(stdout: str) -> list[dict[str, str]]:
    header, *rows = [line.split("\t") for line in stdout.splitlines()]
    return [dict(zip(header, row, strict=True)) for row in rows]


async def test_reingest_without_a_worker_exits_3_and_queues_nothing(
    tmp_path, upstream, redis, redis_url, prefix
):
    config = failing_world(tmp_path, upstream, redis_url, prefix)
    result = await cli("reingest", "--all", "--config", config.path)
    assert result.returncode == 3, result.stderr
    (line,) = [li for li in result.stderr.splitlines() if li.startswith("reingest:")]
    assert "no worker is running" in line and "syndicator ingest" in line
    assert result.stdout == ""
    assert await redis.zcard(config.settings.queue_name) == 0
    assert not [k async for k in redis.scan_iter(match=f"{prefix}run*")]


@pytest.mark.slow  # real worker processes driven by every operators' command: ~20 s; CI runs it
async def test_operators_commands_against_a_real_worker(tmp_path, upstream, redis, redis_url, prefix):
    config = failing_world(tmp_path, upstream, redis_url, prefix)
    keys = Keys(prefix)
    async with worker_process(config.path):

        async def all_polled():
            states = [await redis.hget(keys.source_state(s), "last_attempt") for s in config.sources]
            return all(states) and not await redis.zcard(keys.active_runs)

        await eventually(all_polled, "the first tick polled every source")

        listed = await cli("sources", "--config", config.path)
        assert listed.returncode == 0, listed.stderr
        rows = {r["ID"]: r for r in tsv(listed.stdout)}
        assert {s: r["STATE"] for s, r in rows.items()} == {
            "ok": "ok",
            "missing": "failing",
            "broken": "failing",
            "slow": "failing",
            "limited": "failing",
            "gone": "gone",
        }
        assert rows["missing"]["HTTP"] == "404" and rows["missing"]["LAST ERROR"].endswith(
            "HTTP 404 Not Found"
        )
        assert rows["limited"]["HTTP"] == "429" and (rows["ok"]["ARTICLES"], rows["ok"]["24H"]) == ("3", "1")
        assert "timed out" in rows["slow"]["LAST ERROR"]
        assert "the upstream answered HTTP 410 Gone" in rows["gone"]["LAST ERROR"]

        failing = await cli("sources", "--state", "failing", "--json", "--config", config.path)
        data = json.loads(failing.stdout)
        assert [h["source_id"] for h in data] == ["missing", "broken", "slow", "limited"]
        assert SECRET not in failing.stdout and data[0]["url"].endswith("token=***")

        one = await cli("reingest", "--source", "ok", "--wait", "--config", config.path)
        assert one.returncode == 0, one.stderr
        queued, done = one.stdout.splitlines()
        assert queued.startswith("queued ok: run ") and done == "[1/1] ok: done: not modified (304)"

        news = await cli(
            "reingest", "--category", "news", "--wait", "--timeout", "1m", "--config", config.path
        )
        assert news.returncode == 1, news.stderr  # something failed
        outcomes = sorted(li.split("] ", 1)[1] for li in news.stdout.splitlines() if li.startswith("["))
        assert outcomes[0] == "broken: failed: HTTP 500 Internal Server Error"
        # limited's host is cooling down after its 429 (Retry-After: 120): not fetched again.
        cooling = "limited: done: deferred: host localhost cooling down (HTTP 429 to source limited)"
        assert outcomes[1].startswith(cooling), outcomes
        assert outcomes[2].startswith("slow: failed: timed out after 1 s")

        upstream.put("/broken.rss", b"", "text/plain", status=404)
        failing_run = await cli("reingest", "--failing", "--wait", "--config", config.path)
        assert failing_run.returncode == 1
        assert {
            li.split()[1].rstrip(":") for li in failing_run.stdout.splitlines() if li.startswith("queued")
        } == {
            "missing",
            "broken",
            "slow",
            "limited",
        }
        assert "broken: failed: HTTP 404 Not Found" in failing_run.stdout

        runs = await cli("runs", "broken", "--config", config.path)
        rows_ = tsv(runs.stdout)
        assert [(r["KIND"], r["STATE"]) for r in rows_] == [
            ("reingest", "failed"),
            ("reingest", "failed"),
            ("schedule", "failed"),
        ]
        assert rows_[0]["OUTCOME"] == "HTTP 404 Not Found" and rows_[0]["TRIES"] == "1"
        single = await cli("runs", rows_[2]["RUN"], "--json", "--config", config.path)
        ((run),) = json.loads(single.stdout)
        assert (run["source_id"], run["kind"], run["reason"]) == (
            "broken",
            "schedule",
            "HTTP 500 Internal Server Error",
        )

        paused = await cli("pause", "ok", "--reason", "upstream migrating", "--config", config.path)
        assert paused.returncode == 0 and paused.stdout.startswith("ok: paused")
        skipped = await cli("reingest", "--source", "ok", "--config", config.path)
        assert skipped.returncode == 0 and skipped.stdout.startswith("skipped ok: paused since ")
        assert "ok" in [
            r["ID"] for r in tsv((await cli("sources", "--state", "paused", "--config", config.path)).stdout)
        ]
        polls = len(upstream.seen("/ok.rss"))
        inline = await cli("ingest", "--config", config.path)  # every enabled source, inline
        assert "skipped ok: paused; `syndicator resume ok`" in inline.stdout.splitlines()
        assert "skipped gone: gone; `syndicator resume gone`" in inline.stdout.splitlines()
        assert len(upstream.seen("/ok.rss")) == polls and len(upstream.seen("/gone.rss")) == 1
        resumed = await cli("resume", "gone", "--config", config.path)
        assert resumed.returncode == 0 and resumed.stdout.startswith("gone: failing, next due ")

        unknown = await cli("reingest", "--source", "nope", "--config", config.path)
        assert unknown.returncode == 2 and "unknown source 'nope'" in unknown.stderr
        no_run = await cli("runs", "nope", "--config", config.path)
        assert no_run.returncode == 2 and "no source or run 'nope'" in no_run.stderr


async def test_one_line_when_redis_is_unreachable(tmp_path, upstream, redis_url, prefix):
    config = failing_world(tmp_path, upstream, f"redis://127.0.0.1:{free_port()}/0", prefix)
    for args in (("sources",), ("pause", "ok"), ("runs", "ok"), ("reingest", "--all")):
        result = await cli(*args, "--config", config.path)
        assert result.returncode == 1, args
        (line,) = [li for li in result.stderr.splitlines() if not li.startswith("config:")]
        assert line.startswith(f"{args[0]}: ") and "Traceback" not in result.stderr, args


async def test_two_workers_one_restarted_are_both_seen(
    tmp_path, upstream, redis, redis_url, prefix, monkeypatch
):
    config = failing_world(tmp_path, upstream, redis_url, prefix)
    keys = Keys(prefix)

    async def workers(n: int):
        beats = await live_workers(redis, keys)
        return beats if len(beats) == n else None

    async with worker_process(config.path) as first, worker_process(config.path) as second:
        before = await eventually(lambda: workers(2), "two heartbeats")
        assert {b.pid for b in before} == {first.pid, second.pid}
        second.send_signal(signal.SIGTERM)
        await second.wait()
        (alone,) = await eventually(lambda: workers(1), "the stopped worker's heartbeat removed")
        assert alone.pid == first.pid
        async with worker_process(config.path) as restarted:
            after = await eventually(lambda: workers(2), "the restarted worker's heartbeat")
            assert {b.pid for b in after} == {first.pid, restarted.pid}
            assert {b.worker_id for b in after} != {b.worker_id for b in before}
            assert all(b.host == os.uname().nodename for b in after)

            # What an operator sees: the admin API's queue and a web process's readiness.
            monkeypatch.delenv("SYNDICATOR_ADMIN_TOKEN_FILE", raising=False)
            monkeypatch.setenv("SYNDICATOR_ADMIN_TOKEN", TOKEN)
            async with admin_serving(config, redis_url) as (_, client):
                queue = await client.call("GET", "/queue")
                async with client.http.get(client.server.make_url("/readyz")) as response:
                    ready_status, ready = response.status, await response.json()
            listed = {w["worker_id"]: (w["pid"], w["stale"]) for w in queue.body["workers"]}
            assert listed == {b.worker_id: (b.pid, False) for b in after}, queue.text
            assert ready_status == 200 and ready["status"] == "ready"
            assert {w["worker_id"]: (w["pid"], w["stale"]) for w in ready["workers"]} == listed


def quick_and_sluggish(tmp_path, upstream, redis_url, prefix):
    """Source `quick` answers at once; `sluggish` after 2 s, well inside its fetch limit."""
    upstream.put("/quick.rss", rss(items("quick", 2)), "application/rss+xml")
    upstream.put("/sluggish.rss", rss(items("sluggish", 1)), "application/rss+xml", delay=2.0)
    return write_config(
        tmp_path,
        redis_url=redis_url,
        prefix=prefix,
        extra_server='[fetch]\ntotal_timeout = "10s"\nread_timeout = "10s"',
        categories=[{"slug": "news"}],
        sources=[
            {
                "id": sid,
                "url": upstream.url(f"/{sid}.rss"),
                "categories": ["news"],
                "allow_private_network": True,
            }
            for sid in ("quick", "sluggish")
        ],
    )


@pytest.mark.slow  # a real worker and a 2 s upstream on a terminal: ~12 s; CI runs it
async def test_on_a_terminal_a_table_a_progress_line_and_a_timeout_naming_the_pending_run(
    tmp_path, upstream, redis, redis_url, prefix
):
    config = quick_and_sluggish(tmp_path, upstream, redis_url, prefix)
    keys = Keys(prefix)
    async with worker_process(config.path):

        async def all_polled():
            states = [await redis.hget(keys.source_state(s), "last_attempt") for s in config.sources]
            return all(states) and not await redis.zcard(keys.active_runs)

        await eventually(all_polled, "the first tick polled both sources")

        table = await on_a_terminal("sources", "--config", config.path)
        assert table.returncode == 0, table.stderr
        assert "\t" not in table.screen  # tab-separated lines are for pipes
        rows = {r["ID"]: r for r in table_rows(table.screen, SOURCE_COLUMNS)}
        assert {s: (r["STATE"], r["HTTP"], r["ARTICLES"]) for s, r in rows.items()} == {
            "quick": ("ok", "200", "2"),
            "sluggish": ("ok", "200", "1"),
        }
        assert rows["quick"]["LAST ERROR"] == "-" and rows["quick"]["NEXT DUE"] > rows["quick"]["LAST FETCH"]
        assert float(rows["sluggish"]["MEAN"].removesuffix("s")) >= 2.0  # its 2 s delay

        waited = await on_a_terminal(
            "reingest", "--source", "quick", "--source", "sluggish", "--wait", "--config", config.path
        )
        assert waited.returncode == 0, waited.stderr
        # While sluggish is fetched, one status line is rewritten in place every half second.
        assert re.search(r"\r\x1b\[Kwaiting for [12] of 2 runs \([12] running\), \d+ s", waited.screen)
        *queued, first, second, end = visible_lines(waited.screen)  # `end`: after the last newline
        assert [q.split(": run ")[0] for q in queued] == ["queued quick", "queued sluggish"]
        assert (first[:6], second[:6], end) == ("[1/2] ", "[2/2] ", "")
        assert {first[6:], second[6:]} == {
            "quick: done: not modified (304)",
            "sluggish: done: not modified (304)",
        }
        assert waited.stderr.splitlines()[-1] == "2 done, 0 failed"

        late = await on_a_terminal(
            "reingest", "--source", "sluggish", "--wait", "--timeout", "1s", "--config", config.path
        )
        assert late.returncode == 4, late.stderr  # gave up with a run still pending
        (queued_line, cleared) = visible_lines(late.screen)
        run_id = queued_line.removeprefix("queued sluggish: run ")
        assert re.fullmatch("[0-9a-f]{16}", run_id), queued_line
        assert cleared == ""  # the status line is erased before the verdict on stderr
        assert late.stderr.splitlines()[-1] == f"timed out after 1 s; still pending: sluggish (run {run_id})"

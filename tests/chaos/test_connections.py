"""Hostile clients against the real web app on a real loopback TCP site (issue 9, item 3).

Idle sockets, half-sent headers and endless request bodies must each be closed within
`server.keepalive_timeout` (1 s here) plus slack, so they cannot pile up until the
process runs out of file descriptors; many idle sockets must not stop a normal request;
a malformed request is a 400 and one INFO line without a traceback; and a started
`serve` runs with its soft open-file limit raised to the hard limit.
"""

from __future__ import annotations

import asyncio
import logging
import resource
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest
from aiohttp import ClientSession, ClientTimeout, web

from syndicator.config import ConfigError, load_config
from syndicator.runtime import Runtime
from syndicator.web.app import create_runner
from tests.builders import one_feed_config
from tests.processes import REPO, clean_environment, free_port

KEEPALIVE = 1.0
SLACK = 2.5  # a loaded 2-core machine: timers fire late, never early
IDLE_SOCKETS = 200


@pytest.fixture
async def site(tmp_path, upstream, redis, redis_url, prefix) -> AsyncIterator[tuple[str, int]]:
    """(host, port) of the app served by `create_runner` with a 1 s keep-alive timeout."""
    config = one_feed_config(tmp_path, upstream, redis_url=redis_url, prefix=prefix, path="/feed.rss")
    config = replace(config, settings=replace(config.settings, keepalive_timeout=KEEPALIVE))
    runtime = Runtime.open(config, redis_url)
    runner = create_runner(runtime)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield "127.0.0.1", port
    await runner.cleanup()
    await runtime.close()


async def seconds_until_closed(reader: asyncio.StreamReader, limit: float = KEEPALIVE + SLACK + 5) -> float:
    """How long until the server closes the connection (EOF), reading whatever it sends."""
    started = time.monotonic()
    while await asyncio.wait_for(reader.read(65536), limit):
        pass
    return time.monotonic() - started


async def test_a_connection_that_sends_nothing_is_closed_after_the_keepalive_timeout(site) -> None:
    reader, writer = await asyncio.open_connection(*site)
    elapsed = await seconds_until_closed(reader)
    writer.close()
    assert KEEPALIVE * 0.5 <= elapsed <= KEEPALIVE + SLACK


async def test_half_a_header_is_closed_after_the_keepalive_timeout(site) -> None:
    reader, writer = await asyncio.open_connection(*site)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: feeds.test\r\nUser-Agent: slow")
    await writer.drain()
    started = time.monotonic()
    data = b""
    while chunk := await asyncio.wait_for(reader.read(65536), KEEPALIVE + SLACK + 5):
        data += chunk
    writer.close()
    assert data == b""  # no request ever completed: nothing answered, just closed
    assert time.monotonic() - started <= KEEPALIVE + SLACK


async def test_a_slow_header_trickle_does_not_extend_the_timeout(site) -> None:
    """One byte every 0.2 s: data arriving does not restart the timer."""
    reader, writer = await asyncio.open_connection(*site)
    started = time.monotonic()

    async def trickle() -> None:
        for byte in b"GET /healthz HTTP/1.1\r\nX-Slow: " + b"a" * 1000:
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(0.2)

    sender = asyncio.create_task(trickle())
    try:
        await seconds_until_closed(reader)
    finally:
        sender.cancel()
        await asyncio.gather(sender, return_exceptions=True)
        writer.close()
    assert time.monotonic() - started <= KEEPALIVE + SLACK


async def test_an_endless_request_body_does_not_hold_the_connection(site) -> None:
    """A GET announcing a huge body, sent slowly: answered at once (no handler reads a
    body), then the unread body is drained for at most the timeout and the socket closed."""
    reader, writer = await asyncio.open_connection(*site)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: feeds.test\r\nContent-Length: 100000000\r\n\r\n")
    await writer.drain()

    async def trickle() -> None:
        while True:
            writer.write(b"x" * 100)
            await writer.drain()
            await asyncio.sleep(0.1)

    sender = asyncio.create_task(trickle())
    started = time.monotonic()
    try:
        head = await asyncio.wait_for(reader.readline(), 5)
        assert head.startswith(b"HTTP/1.1 200"), head
        await seconds_until_closed(reader)
    finally:
        sender.cancel()
        await asyncio.gather(sender, return_exceptions=True)
        writer.close()
    assert time.monotonic() - started <= KEEPALIVE + SLACK


async def test_many_idle_sockets_do_not_stop_a_normal_request(site) -> None:
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert soft > 2 * IDLE_SOCKETS + 100, "this test needs ~2 descriptors per idle socket"
    idle = [await asyncio.open_connection(*site) for _ in range(IDLE_SOCKETS)]
    try:
        async with (
            ClientSession(timeout=ClientTimeout(total=5)) as http,
            http.get(f"http://{site[0]}:{site[1]}/readyz") as response,
        ):
            assert response.status == 200
            assert (await response.json())["redis"] == "ok"  # a request that reaches Redis
    finally:
        for _reader, writer in idle:
            writer.close()


async def test_a_malformed_request_is_a_400_and_one_info_line(site, caplog) -> None:
    caplog.set_level(logging.INFO)
    reader, writer = await asyncio.open_connection(*site)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: feeds.test\r\nthis is not a header\r\n\r\n")
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(65536), 5)
    writer.close()
    assert answer.split(b"\r\n", 1)[0].split(b" ")[1] == b"400", answer
    server_lines = [r for r in caplog.records if r.name.startswith("aiohttp")]
    assert len(server_lines) == 1, [r.getMessage() for r in server_lines]
    (line,) = server_lines
    assert line.levelno == logging.INFO
    assert line.exc_info is None and line.exc_text is None
    assert line.getMessage() == (
        "malformed request from 127.0.0.1: Invalid header token: b'this is not a header'"
    )
    assert "\n" not in line.getMessage()


def test_serve_raises_its_soft_open_file_limit_to_the_hard_limit(tmp_path: Path, redis_url, prefix) -> None:
    """Started with a low soft limit (as many systems start services, at 1,024 or less)."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    low = min(256, hard)
    config = tmp_path / "syndicator.toml"
    config.write_text(
        f'[server]\nredis_prefix = "{prefix}"\nqueue_name = "{prefix}queue"\n\n'
        '[[categories]]\nslug = "tech"\n',
        encoding="utf-8",
    )
    log = tmp_path / "serve.log"
    command = ["serve", "--config", str(config), "--port", str(free_port())]
    process = subprocess.Popen(
        [sys.executable, "-m", "syndicator.cli", *command],
        cwd=REPO,
        env=clean_environment({"SYNDICATOR_REDIS_URL": redis_url}),
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (low, hard)),
    )
    try:
        deadline = time.monotonic() + 60
        while "serving feeds at" not in log.read_text("utf-8", "replace"):
            assert process.poll() is None, log.read_text("utf-8", "replace")
            assert time.monotonic() < deadline, log.read_text("utf-8", "replace")
            time.sleep(0.1)
        limits = Path(f"/proc/{process.pid}/limits").read_text()
    finally:
        process.terminate()
        process.wait(timeout=30)
    (line,) = [line for line in limits.splitlines() if line.startswith("Max open files")]
    soft_now, hard_now = line.split()[3:5]
    assert soft_now == hard_now == str(hard), line


def test_keepalive_timeout_is_a_server_duration_defaulting_to_15s(tmp_path: Path) -> None:
    path = tmp_path / "syndicator.toml"
    path.write_text('[[categories]]\nslug = "tech"\n', encoding="utf-8")
    assert load_config(path, environ={}).settings.keepalive_timeout == 15.0
    path.write_text('[server]\nkeepalive_timeout = "2s"\n', encoding="utf-8")
    assert load_config(path, environ={}).settings.keepalive_timeout == 2.0
    path.write_text('[server]\nkeepalive_timeout = "0s"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"server\.keepalive_timeout"):
        load_config(path, environ={})

"""Config reload: SIGHUP (or a reload call) in one process, applied by every process.

In-process tests drive two `ConfigReloader`s that share one Redis, as two machines would;
the end-to-end tests start real `syndicator web`, `worker` and `serve` processes, edit
their file, send SIGHUP and read what a feed reader and an operator see: the new source's
articles in the feeds, 410 for a removed category, `/readyz` naming the running file,
and a broken file refused while the old configuration keeps serving.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from syndicator.config import load_config
from syndicator.config.changes import plan_change
from syndicator.config.reload import ConfigReloader
from syndicator.runtime import Runtime
from syndicator.worker.jobs import ingest_job, page_job
from tests.builders import items, rss
from tests.processes import clean_environment, free_port

SETTLE = 5.0  # seconds every process has to pick up an announced reload


# ---------------------------------------------------------------- the config files


def config_text(
    prefix: str, *, sources: dict[str, str], categories: tuple[str, ...], port: int = 8080
) -> str:
    """A config with `[server]` pointing at the test's prefix; `sources` maps id → category."""
    lines = [
        "[server]",
        f'redis_prefix = "{prefix}"',
        f'queue_name = "{prefix}queue"',
        f"port = {port}",
        'schedule_every = "1s"',
        "",
    ]
    for slug in categories:
        lines += ["[[categories]]", f'slug = "{slug}"', ""]
    for source_id, slug in sources.items():
        lines += [
            "[[sources]]",
            f'id = "{source_id}"',
            f'url = "file:{source_id}.xml"',
            f'categories = ["{slug}"]',
            "",
        ]
    return "\n".join(lines)


def write_config(folder: Path, prefix: str, **shape: object) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    sources: dict[str, str] = shape["sources"]  # type: ignore[assignment]
    for source_id in sources:
        feed = folder / f"{source_id}.xml"
        if not feed.exists():
            feed.write_bytes(rss(items(source_id, 2)))
    path = folder / "syndicator.toml"
    path.write_text(config_text(prefix, **shape), encoding="utf-8")  # type: ignore[arg-type]
    return path


BROKEN = '[[sources]]\nid = "x"\nurl = "https://example.com/feed"\npol_interval = "5m"\n'


# ---------------------------------------------------------------- what a reload changes


def test_plan_keeps_restart_only_settings_and_lists_what_changed(tmp_path: Path) -> None:
    old = load_config(
        write_config(tmp_path / "a", "p:", sources={"s1": "tech"}, categories=("tech", "old"), port=8080)
    )
    new = load_config(
        write_config(tmp_path / "b", "q:", sources={"s2": "world"}, categories=("tech", "world"), port=9090)
    )

    change = plan_change(old, new)

    assert change.config.settings.port == 8080 and change.config.settings.redis_prefix == "p:"
    assert change.needs_restart == (
        "server.redis_prefix ('p:' → 'q:')",
        "server.queue_name ('p:queue' → 'q:queue')",
        "server.port (8080 → 9090)",
    )
    assert (change.added_sources, change.removed_sources) == (("s2",), ("s1",))
    assert (change.added_categories, change.removed_categories) == (("world",), ("old",))
    assert change.config.sources.keys() == {"s2"}
    assert change.summary() == (
        "sources added: s2; sources removed: s1; categories added: world; categories removed: old; "
        "needs restart, not applied: server.redis_prefix ('p:' → 'q:'), "
        "server.queue_name ('p:queue' → 'q:queue'), server.port (8080 → 9090)"
    )


def test_digest_is_the_sha256_of_the_file(tmp_path: Path) -> None:
    path = write_config(tmp_path, "p:", sources={"s1": "tech"}, categories=("tech",))
    assert load_config(path).digest == hashlib.sha256(path.read_bytes()).hexdigest()


# ---------------------------------------------------------------- two processes, in one


async def settled(predicate) -> bool:
    """Whether `predicate()` holds within SETTLE seconds (the reload promise)."""
    deadline = asyncio.get_running_loop().time() + SETTLE
    while asyncio.get_running_loop().time() < deadline:
        if predicate():
            return True
        await asyncio.sleep(0.1)
    return predicate()


@pytest.fixture
async def two_processes(tmp_path: Path, redis_url: str, prefix: str, redis: Redis):
    """Two runtimes on one Redis, each with its own copy of the file (two machines)."""
    shape = {"sources": {"s1": "tech"}, "categories": ("tech",)}
    paths = [write_config(tmp_path / name, prefix, **shape) for name in ("one", "two")]
    runtimes = [Runtime.open(load_config(p), redis_url) for p in paths]
    reloaders = [ConfigReloader(r) for r in runtimes]
    for reloader in reloaders:
        await reloader.start(handle_sighup=False)
    try:
        yield paths, runtimes, reloaders
    finally:
        for reloader in reloaders:
            await reloader.stop()
        for runtime in runtimes:
            await runtime.close()


async def test_a_reload_in_one_process_is_applied_by_the_other(two_processes, prefix: str) -> None:
    paths, (one, two), (reloader, _) = two_processes
    for path in paths:
        write_config(path.parent, prefix, sources={"s1": "tech", "s2": "world"}, categories=("tech", "world"))

    outcome = await reloader.reload_and_announce()

    assert outcome.error is None and outcome.change is not None
    assert outcome.change.added_sources == ("s2",) and "s2" in one.config.sources
    assert await settled(lambda: "s2" in two.config.sources), "the other process did not reload"
    assert two.config.categories.keys() == {"all", "tech", "world"}
    assert two.config.digest == load_config(paths[1]).digest


async def test_a_broken_file_is_refused_and_the_old_config_keeps_running(
    two_processes, prefix: str, redis: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    paths, (one, two), (reloader, _) = two_processes
    running = one.config
    paths[0].write_text(BROKEN, encoding="utf-8")

    with caplog.at_level(logging.WARNING, logger="syndicator.config"):
        outcome = await reloader.reload_and_announce()

    expected = f"{paths[0]}: sources[0].pol_interval: unknown key (did you mean poll_interval?)"
    assert outcome.change is None and outcome.error == expected
    assert one.config is running and reloader.last_error == expected
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [f"config reload refused, the running config stays: {expected}"]
    assert await redis.hget(f"{prefix}config_reload", "generation") is None  # nothing announced
    await asyncio.sleep(1.5)  # a poll or more: the other process saw no reload either
    assert two.config.digest == load_config(paths[1]).digest


async def test_a_process_whose_own_file_is_broken_keeps_its_config(
    two_processes, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    paths, (one, two), (reloader, other) = two_processes
    running = two.config
    write_config(paths[0].parent, prefix, sources={"s1": "tech", "s2": "tech"}, categories=("tech",))
    paths[1].write_text(BROKEN, encoding="utf-8")

    with caplog.at_level(logging.WARNING, logger="syndicator.config"):
        await reloader.reload_and_announce()
        assert await settled(lambda: other.last_error is not None)

    assert "s2" in one.config.sources and two.config is running
    assert (
        other.last_error == f"{paths[1]}: sources[0].pol_interval: unknown key (did you mean poll_interval?)"
    )


async def test_restart_only_settings_are_reported_not_applied(two_processes, prefix: str) -> None:
    paths, (one, _), (reloader, _) = two_processes
    write_config(paths[0].parent, prefix, sources={"s1": "tech"}, categories=("tech",), port=9999)

    outcome = await reloader.reload_and_announce()

    assert outcome.change is not None
    assert reloader.needs_restart == ("server.port (8080 → 9999)",)
    assert one.config.settings.port == 8080
    assert one.config.digest == load_config(paths[0]).digest  # the new file runs, but for the port


async def test_a_queued_job_for_a_removed_source_ends_and_records_nothing(
    tmp_path: Path, redis_url: str, prefix: str, redis: Redis
) -> None:
    path = write_config(tmp_path, prefix, sources={"s1": "tech"}, categories=("tech",))
    runtime = Runtime.open(load_config(path), redis_url)
    try:
        ctx = {"runtime": runtime, "job_try": 1}
        assert await ingest_job(ctx, "gone") == "gone: source removed"
        assert await page_job(ctx, "gone", "https://example.com/a.html") == "gone: source removed"
    finally:
        await runtime.close()
    assert [key async for key in redis.scan_iter(match=f"{prefix}*")] == []


# ---------------------------------------------------------------- real processes, SIGHUP


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()
    except OSError:
        return 0, b""


def eventually(check, timeout: float = 30.0) -> bool:
    """Poll `check` (which returns True when what we wait for is there) until `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return check()


class Processes:
    """`syndicator` processes started for one test, with their logs in files; all stopped after."""

    def __init__(self, folder: Path, env: dict[str, str]) -> None:
        self.folder, self.env = folder, env
        self.started: list[tuple[subprocess.Popen[bytes], Path]] = []

    def start(self, *args: str) -> subprocess.Popen[bytes]:
        log = self.folder / f"{args[0]}-{len(self.started)}.log"
        process = subprocess.Popen(
            [sys.executable, "-m", "syndicator.cli", *args],
            cwd=self.folder,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=log.open("wb"),
        )
        self.started.append((process, log))
        return process

    def log(self, process: subprocess.Popen[bytes]) -> str:
        return next(log for p, log in self.started if p is process).read_text("utf-8", "replace")

    def stop(self) -> None:
        for process, _ in self.started:
            process.send_signal(signal.SIGTERM)
        for process, _ in self.started:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
def processes(tmp_path: Path, redis_url: str, redis: Redis) -> Iterator[Processes]:
    running = Processes(tmp_path, clean_environment({"SYNDICATOR_REDIS_URL": redis_url}))
    try:
        yield running
    finally:
        running.stop()


def test_sighup_to_web_reloads_a_separate_web_and_worker(processes: Processes, prefix: str) -> None:
    port = free_port()
    folder = processes.folder
    shape = {"categories": ("tech", "old"), "port": port}
    path = write_config(folder, prefix, sources={"s1": "tech", "s0": "old"}, **shape)
    processes.env["SYNDICATOR_PUBLIC_URL"] = f"http://127.0.0.1:{port}/"  # needed with this Redis
    web = processes.start("web", "--config", str(path))
    worker = processes.start("worker", "--config", str(path))
    site = f"http://127.0.0.1:{port}"
    assert eventually(lambda: b"s1 title 1" in get(f"{site}/feeds/tech.rss")[1]), processes.log(worker)
    assert get(f"{site}/feeds/old.rss")[0] == 200

    # The operator adds a source and a category, removes one, and signals the web process.
    write_config(
        folder, prefix, sources={"s1": "tech", "s2": "world"}, categories=("tech", "world"), port=port
    )
    web.send_signal(signal.SIGHUP)

    # The worker (another process) polls the new source and publishes the new category;
    # the web process serves it, and answers 410 for the removed one.
    assert eventually(lambda: b"s2 title 1" in get(f"{site}/feeds/world.rss")[1]), processes.log(worker)
    status, body = get(f"{site}/feeds/old.rss")
    assert (status, body) == (
        410,
        b"category 'old' was removed from the configuration; its feeds are no longer served\n",
    )
    assert get(f"{site}/feeds/nothing.rss")[0] == 404
    health = json.loads(get(f"{site}/readyz")[1])
    assert health["config"]["digest"] == load_config(path).digest and health["config"]["reload_error"] is None
    assert "config reloaded from" in processes.log(worker)

    # A broken file is refused by the process asked; the old config keeps serving.
    path.write_text(BROKEN, encoding="utf-8")
    web.send_signal(signal.SIGHUP)
    expected = f"{path}: sources[0].pol_interval: unknown key (did you mean poll_interval?)"
    assert eventually(lambda: json.loads(get(f"{site}/readyz")[1])["config"]["reload_error"] == expected)
    assert f"WARNING syndicator.config: config reload refused, the running config stays: {expected}" in (
        processes.log(web)
    )
    assert b"s2 title 1" in get(f"{site}/feeds/world.rss")[1]
    assert web.poll() is None and worker.poll() is None


def test_sighup_to_serve_polls_an_added_source(processes: Processes, prefix: str) -> None:
    port = free_port()
    folder = processes.folder
    path = write_config(folder, prefix, sources={"s1": "tech"}, categories=("tech",), port=port)
    serve = processes.start("serve", "--config", str(path))
    site = f"http://127.0.0.1:{port}"
    assert eventually(lambda: b"s1 title 1" in get(f"{site}/feeds/all.rss")[1]), processes.log(serve)

    write_config(folder, prefix, sources={"s1": "tech", "s2": "tech"}, categories=("tech",), port=port + 1)
    serve.send_signal(signal.SIGHUP)

    assert eventually(lambda: b"s2 title 1" in get(f"{site}/feeds/tech.rss")[1]), processes.log(serve)
    health = json.loads(get(f"{site}/readyz")[1])
    assert health["config"]["needs_restart"] == [f"server.port ({port} → {port + 1})"]
    assert f"config: server.port ({port} → {port + 1}): needs restart, not applied" in processes.log(serve)

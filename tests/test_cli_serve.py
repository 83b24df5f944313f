"""What `serve`, `web` and `worker` say, and which address their feeds name: real processes.

A feed names its own URL (RSS `atom:link rel=self`, Atom `link rel=self`, JSON Feed
`feed_url`); the W3C validator's "self reference doesn't match document location" rule is
the check here: after a restart on another port, on a wildcard host or with another public
URL, every self link is the URL the feed was just fetched from. A `web` process that finds
feeds rendered for another address says so once and in /readyz; a worker republishes them.

The operator's view of `serve`: the first lines name the config, the sources and the feed,
OPML and index URLs; an idle server prints nothing (arq's scheduler ticks only with
--verbose); a failing source is one WARNING naming it once; Ctrl-C ends it cleanly.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from xml.etree import ElementTree

import pytest
from redis.asyncio import Redis

from tests.builders import items, rss
from tests.processes import clean_environment, free_port, run_cli

ATOM = "{http://www.w3.org/2005/Atom}"
START_TIMEOUT = 60.0
ALLOW_HINT = (
    "; to allow it set allow_private_network = true on the source, "
    "or add the network to fetch.allowed_networks"
)


def write_config(folder: Path, prefix: str, *, extra_sources: str = "") -> Path:
    """One category fed by one `file:` feed, on the test's prefix and queue; a 1 s scheduler
    tick (so idle ticks would show within seconds) and no retries (so failures log once)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "local.xml").write_bytes(rss(items("local", 3)))
    path = folder / "syndicator.toml"
    path.write_text(
        "[server]\n"
        f'redis_prefix = "{prefix}"\n'
        f'queue_name = "{prefix}queue"\n'
        'schedule_every = "1s"\n'
        "max_tries = 1\n\n"
        '[[categories]]\nslug = "tech"\n\n'
        '[[sources]]\nid = "local"\nurl = "file:local.xml"\ncategories = ["tech"]\n\n' + extra_sources,
        encoding="utf-8",
    )
    return path


class Running:
    """One `syndicator` process with its stderr in a file, stopped by the test or after it."""

    def __init__(self, args: tuple[str, ...], cwd: Path, env: dict[str, str], log: Path) -> None:
        self.log_path = log
        self.process = subprocess.Popen(
            [sys.executable, "-m", "syndicator.cli", *args],
            cwd=cwd,
            env=clean_environment(env),
            stdout=subprocess.DEVNULL,
            stderr=log.open("wb"),
        )

    @property
    def log(self) -> str:
        return self.log_path.read_text("utf-8", "replace")

    def wait_for(self, text: str, timeout: float = START_TIMEOUT) -> str:
        """The log once it contains `text` (fails, showing the log, if the process exits first)."""
        deadline = time.monotonic() + timeout
        while text not in self.log:
            assert self.process.poll() is None, f"exited {self.process.returncode}:\n{self.log}"
            assert time.monotonic() < deadline, f"no {text!r} within {timeout}s:\n{self.log}"
            time.sleep(0.1)
        return self.log

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()


@pytest.fixture
def start(tmp_path: Path, redis: Redis) -> Iterator:
    """Start `syndicator ARGS` in `tmp_path`; every process still running is stopped after."""
    started: list[Running] = []

    def run(*args: str, env: dict[str, str]) -> Running:
        running = Running(args, tmp_path, env, tmp_path / f"{args[0]}-{len(started)}.log")
        started.append(running)
        return running

    yield run
    for running in started:
        running.stop()


def store_env(redis_url: str, **extra: str) -> dict[str, str]:
    return {"SYNDICATOR_REDIS_URL": redis_url, **extra}


def get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read()


def self_links(site: str, slug: str = "all") -> dict[str, str]:
    """What each format of `slug` served at `site` names as its own URL."""
    channel = ElementTree.fromstring(get(f"{site}feeds/{slug}.rss")).find("channel")
    atom = ElementTree.fromstring(get(f"{site}feeds/{slug}.atom"))
    assert channel is not None
    return {
        "rss": next(e.get("href") for e in channel.iter(f"{ATOM}link") if e.get("rel") == "self"),
        "atom": next(e.get("href") for e in atom.iter(f"{ATOM}link") if e.get("rel") == "self"),
        "json": json.loads(get(f"{site}feeds/{slug}.json"))["feed_url"],
    }


def fetched_from(site: str, slug: str = "all") -> dict[str, str]:
    return {fmt: f"{site}feeds/{slug}.{fmt}" for fmt in ("rss", "atom", "json")}


def readyz(site: str) -> dict[str, object]:
    return json.loads(get(f"{site}readyz"))


def eventually(check, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return check()


# ---------------------------------------------------------------- the base URL


@pytest.mark.slow  # real processes for 25-60 s: out of the fast lane, in CI
def test_a_restart_on_another_address_renders_every_self_link_again(
    tmp_path: Path, redis_url: str, prefix: str, start
) -> None:
    config = str(write_config(tmp_path, prefix))
    env = store_env(redis_url)

    first = free_port()
    serve = start("serve", "--config", config, "--port", str(first), env=env)
    serve.wait_for("serving feeds at")
    site = f"http://127.0.0.1:{first}/"
    assert eventually(lambda: b"local title 1" in get(f"{site}feeds/all.rss")), serve.log
    assert self_links(site) == fetched_from(site)
    assert serve.stop() == 0

    # The same data on another port, listening on every interface: the links name the
    # loopback address on the new port, never 0.0.0.0 and never the old port.
    second = free_port()
    serve = start("serve", "--config", config, "--host", "0.0.0.0", "--port", str(second), env=env)
    serve.wait_for("serving feeds at")  # republished before the port opened
    site = f"http://127.0.0.1:{second}/"
    assert self_links(site) == fetched_from(site)
    assert self_links(site, "tech") == fetched_from(site, "tech")
    assert f'xmlUrl="{site}feeds/tech.rss"' in get(f"{site}opml.xml").decode()
    assert f'href="{site}feeds/tech.atom"' in get(site).decode()
    assert "0.0.0.0" not in get(f"{site}feeds/all.rss").decode()
    assert serve.stop() == 0

    # Behind a proxy: the public URL is the document's location.
    third = free_port()
    public = f"http://localhost:{third}/"
    serve = start(
        "serve", "--config", config, "--port", str(third), env=env | {"SYNDICATOR_PUBLIC_URL": public}
    )
    serve.wait_for("serving feeds at")
    assert self_links(public) == fetched_from(public)
    assert serve.stop() == 0


def test_web_reports_feeds_rendered_for_another_address_until_a_worker_republishes(
    tmp_path: Path, redis_url: str, prefix: str, start
) -> None:
    config = str(write_config(tmp_path, prefix))
    old_port, port = free_port(), free_port()
    old, site = f"http://127.0.0.1:{old_port}/", f"http://127.0.0.1:{port}/"
    serve = start("serve", "--config", config, "--port", str(old_port), env=store_env(redis_url))
    serve.wait_for("serving feeds at")
    assert serve.stop() == 0

    env = store_env(redis_url, SYNDICATOR_PUBLIC_URL=site)
    web = start("web", "--config", config, "--port", str(port), env=env)
    log = web.wait_for("serving feeds at")
    warnings = [line for line in log.splitlines() if " WARNING " in line]
    assert [line.split(" WARNING ", 1)[1] for line in warnings] == [
        f"syndicator: base URL: this process serves {site}, but the stored "
        f"feeds of 2 categories (all, tech) link to {old}; set server.public_url (or "
        "SYNDICATOR_PUBLIC_URL) the same for every process, and a worker will republish them"
    ]
    assert readyz(site)["base_url"] == {"this_process": site, "stored": {"all": old, "tech": old}}
    assert self_links(site)["rss"] == f"{old}feeds/all.rss"  # web renders nothing itself

    worker = start("worker", "--config", config, env=env)  # republishes before any job
    worker.wait_for("base URL is now")
    assert eventually(lambda: readyz(site)["base_url"] == {"this_process": site, "stored": {}})
    assert eventually(lambda: self_links(site) == fetched_from(site))
    assert worker.stop(signal.SIGINT) == 0  # Ctrl-C: an orderly stop, said in one line
    assert " INFO syndicator: shutdown on SIGINT" in worker.log and "Traceback" not in worker.log


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signalled_worker_stops_in_one_line_without_a_traceback(
    tmp_path: Path, redis_url: str, prefix: str, start, sig: signal.Signals
) -> None:
    """SIGTERM is how supervisors (compose, systemd) stop a worker: arq cancels its poll loop,
    which must end as an orderly stop (exit 0, one INFO line), not a CancelledError."""
    config = str(write_config(tmp_path, prefix))
    worker = start(
        "worker", "--config", config, env=store_env(redis_url, SYNDICATOR_PUBLIC_URL="http://x.test/")
    )
    worker.wait_for("published all")
    time.sleep(1.0)  # well inside the poll loop
    assert worker.stop(sig) == 0, worker.log
    assert f" INFO syndicator: shutdown on {sig.name}" in worker.log
    assert "Traceback" not in worker.log and "CancelledError" not in worker.log, worker.log


@pytest.mark.parametrize(
    ("command", "reason"),
    [
        ("web", "workers render the feeds' links and cannot know this server's address"),
        ("worker", "workers render the feeds' links and cannot know the web servers' address"),
        ("ingest", "it renders the feeds' links and cannot know the web servers' address"),
    ],
)
def test_web_worker_and_ingest_on_an_external_redis_need_a_public_url(
    tmp_path: Path, redis_url: str, prefix: str, command: str, reason: str
) -> None:
    config = write_config(tmp_path, prefix)
    result = run_cli(command, "--config", str(config), env=store_env(redis_url))
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"config: {config} (from --config)",
        f"{command}: server.public_url (or SYNDICATOR_PUBLIC_URL) must be set with an external Redis: "
        + reason,
    ]


# ---------------------------------------------------------------- what serve prints


FAILING = """
[[sources]]
id = "down"
url = "http://127.0.0.1:1/feed.xml"
allow_private_network = true

[[sources]]
id = "private"
url = "http://127.0.0.1:1/private.xml"
"""

TICK = re.compile(r"[→←] \S*schedule_due")


@pytest.mark.slow  # serve idle long enough to show it stays quiet: ~12 s; CI runs it
def test_serve_names_what_it_runs_stays_quiet_when_idle_and_stops_cleanly(
    tmp_path: Path, redis_url: str, prefix: str, start
) -> None:
    config = write_config(tmp_path, prefix, extra_sources=FAILING)
    port = free_port()
    site = f"http://127.0.0.1:{port}/"
    serve = start(
        "serve",
        "--config",
        str(config),
        "--port",
        str(port),
        env=store_env(redis_url, SYNDICATOR_PUBLIC_URL=site),
    )
    serve.wait_for("serving feeds at")
    log = serve.wait_for("source private (")  # both failing sources have been polled by now
    serve.wait_for("source down (")
    lines = [line for line in log.splitlines() if " INFO syndicator.publish: " not in line]
    assert lines[:7] == [
        f"config: {config} (from --config)",
        "sources: 3 (3 enabled)",
        f"  local (feed) {(tmp_path / 'local.xml').as_uri()}",
        "  down (feed) http://127.0.0.1:1/feed.xml",
        "  private (feed) http://127.0.0.1:1/private.xml",
        f"feeds: {site}feeds/all.rss (+ .atom, .json); OPML: {site}opml.xml; index: {site}",
        f"serving feeds at {site} (listening on 127.0.0.1:{port})",
    ]

    # A failing source: one WARNING that names it once, with its URL and the reason.
    log = serve.log
    down = [line for line in log.splitlines() if re.search(r"\bdown\b", line)]
    down = [line for line in down if not line.startswith("  down (feed)")]
    assert len(down) == 1, log
    assert " WARNING syndicator.worker: source down (http://127.0.0.1:1/feed.xml): " in down[0]
    assert down[0].count("down") == 1
    # A refused private address says how to allow it.
    assert (
        " WARNING syndicator.worker: source private (http://127.0.0.1:1/private.xml): "
        "refused: 127.0.0.1 (loopback) is not a public address" + ALLOW_HINT
    ) in log

    # Idle for 10 s with a 1 s scheduler tick: arq's job lines stay out of the log.
    quiet_from = len(serve.log)
    time.sleep(10)
    idle = serve.log[quiet_from:]
    assert not TICK.search(idle) and " arq." not in idle, idle

    assert serve.stop(signal.SIGINT) == 0
    tail = serve.log[quiet_from:]
    assert " INFO syndicator: shutdown on SIGINT" in tail
    assert "SIGUSR1" not in serve.log and "Traceback" not in serve.log, serve.log


def test_serve_verbose_logs_the_scheduler_ticks_and_still_no_sigusr1(
    tmp_path: Path, redis_url: str, prefix: str, start
) -> None:
    config = write_config(tmp_path, prefix)
    port = free_port()
    serve = start(
        "serve", "--verbose", "--config", str(config), "--port", str(port), env=store_env(redis_url)
    )
    serve.wait_for("serving feeds at")
    assert eventually(lambda: len(TICK.findall(serve.log)) >= 4, timeout=15), serve.log
    assert serve.stop(signal.SIGINT) == 0
    log = serve.log
    assert "arq.worker: shutdown on SIGINT" in log  # arq's own line, at --verbose
    assert "SIGUSR1" not in log and "Traceback" not in log, log

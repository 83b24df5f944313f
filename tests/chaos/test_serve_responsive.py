"""`syndicator serve` (a real process) keeps answering while it ingests hostile feeds.

Two sources: a 100 KB `<author>` (a minute in feedparser's e-mail regex without the
pre-pass) and 100,000 entries let in by the entry limit (13 s of feedparser on the event
loop before the pool). A probe of `/healthz` every 100 ms never waits 2 s.
"""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from redis import Redis

from tests.chaos.helpers import long_author_feed, many_entries_feed
from tests.processes import clean_environment, free_port

PROBE_FOR = 8.0  # seconds: longer than the parse timeout, so a killed child is included


def write_config(folder: Path, prefix: str) -> Path:
    (folder / "author.xml").write_bytes(long_author_feed())
    (folder / "many.xml").write_bytes(many_entries_feed(100_000))
    path = folder / "syndicator.toml"
    path.write_text(
        "[server]\n"
        f'redis_prefix = "{prefix}"\n'
        f'queue_name = "{prefix}queue"\n'
        'schedule_every = "1s"\n'
        "max_tries = 1\n\n"
        "[fetch]\n"
        'parse_timeout = "3s"\n'
        "max_entries = 100000\n\n"
        '[[categories]]\nslug = "tech"\n\n'
        '[[sources]]\nid = "author"\nurl = "file:author.xml"\ncategories = ["tech"]\n\n'
        '[[sources]]\nid = "many"\nurl = "file:many.xml"\ncategories = ["tech"]\n',
        encoding="utf-8",
    )
    return path


def probe(url: str) -> float:
    started = time.monotonic()
    with urllib.request.urlopen(url, timeout=10) as response:
        response.read()
    return time.monotonic() - started


@pytest.mark.slow  # serve probed while hostile feeds are parsed: ~9 s; CI runs it
def test_healthz_answers_within_2_s_while_hostile_feeds_are_parsed(
    tmp_path: Path, redis_url: str, prefix: str
) -> None:
    config = write_config(tmp_path, prefix)
    port = free_port()
    log = tmp_path / "serve.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "syndicator.cli", "serve", "--config", str(config), "--port", str(port)],
        cwd=tmp_path,
        env=clean_environment({"SYNDICATOR_REDIS_URL": redis_url}),
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
    )
    store = Redis.from_url(redis_url)
    try:
        deadline = time.monotonic() + 60
        while "serving feeds at" not in log.read_text("utf-8", "replace"):
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        url = f"http://127.0.0.1:{port}/healthz"
        waits: list[float] = []
        end = time.monotonic() + PROBE_FOR
        while time.monotonic() < end:
            waits.append(probe(url))
            time.sleep(0.1)
        assert max(waits) < 2.0, f"slowest /healthz: {max(waits):.2f} s"

        def state(source: str) -> dict[bytes, bytes]:
            return store.hgetall(f"{prefix}source:{source}")

        assert b"ok" in state("author").get(b"last_status", b""), (state("author"), log.read_text())
        # The hostile parse is stopped after 3 s of its own time; on a busy machine its niced
        # child waits for the CPU too, which is not counted (up to 3x in wall time).
        stopped_by = time.monotonic() + 3 * 3.0 + 5
        while b"longer than 3 s" not in state("many").get(b"last_error", b""):
            assert time.monotonic() < stopped_by, (state("many"), log.read_text())
            time.sleep(0.2)
        print(f"/healthz: {len(waits)} probes, slowest {max(waits) * 1000:.0f} ms")
    finally:
        process.terminate()
        process.wait(timeout=30)
        for key in store.scan_iter(match=f"{prefix}*"):
            store.delete(key)
        for key in store.scan_iter(match=f"arq:*{prefix}*"):
            store.delete(key)
        store.close()

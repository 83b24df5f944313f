"""Redis connections for the web process, the workers and arq, from one URL.

redis-py 5 retries nothing by default and a bounded plain pool raises under bursts, so
both are set here once (LIBRARY-NOTES, redis-py asyncio).

Besides redis://, rediss:// and unix://, a Sentinel URL names the sentinels and the master
group, so every process follows a failover by itself:

    redis+sentinel://[:password@]host1:26379,host2:26379/mymaster[/db]

The password (if any) is the master's; the sentinels are asked without one.

A Redis Cluster URL names some of the cluster's masters; the client learns the others and
which slots each serves. A cluster can be the store only (`RedisUrls`):

    redis+cluster://[:password@]host1:7000,host2:7000

Every connection packs its commands with hiredis (C), not with redis-py's asyncio packer
(Python): an ingest of 500 entries sends some 78,000 arguments (LSH bucket fields,
article records), and packing them took 83 ms of the event loop's CPU, 23 ms with hiredis
(bench feed, 2026-12-01). The bytes on the wire are the same (tested).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import urlsplit

import hiredis
from arq.connections import RedisSettings
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.connection import Connection, SSLConnection, UnixDomainSocketConnection, parse_url
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel, SentinelManagedConnection
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import DataError, RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from syndicator.values import is_cluster, is_sentinel, mask_url, parse_cluster_url, parse_sentinel_url

_RETRY_ON = [RedisConnectionError, RedisTimeoutError, ConnectionResetError]
WAIT_CAP = 5.0  # longest pause between two attempts while waiting for Redis at start


class _HiredisPacked:
    """Packs a command with `hiredis.pack_command`; mixed into each connection class used.

    redis-py 5's asyncio connections never use hiredis to pack (its sync ones do). Same
    rules as redis-py's packer: a first argument holding spaces ("CONFIG GET") is split,
    str is encoded as UTF-8 (strict: the only encoding `connect` configures), and a value
    that is not bytes, str, int or float raises DataError."""

    def pack_command(self, *args: Any) -> list[bytes]:
        if isinstance(args[0], str):
            args = (*args[0].encode().split(), *args[1:])
        elif b" " in args[0]:
            args = (*args[0].split(), *args[1:])
        try:
            return [hiredis.pack_command(args)]
        except TypeError:
            wrong = next((a for a in args if type(a) not in _PACKABLE), args[0])
            raise DataError(
                f"Invalid input of type: {type(wrong).__name__!r}. "
                "Convert to a bytes, string, int or float first."
            ) from None


class PackedConnection(_HiredisPacked, Connection):
    """A TCP connection (redis://, and each node of a cluster)."""


class PackedSSLConnection(_HiredisPacked, SSLConnection):
    """A TLS connection (rediss://)."""


class PackedUnixConnection(_HiredisPacked, UnixDomainSocketConnection):
    """A Unix-socket connection (unix://, the embedded Redis)."""


class PackedSentinelConnection(_HiredisPacked, SentinelManagedConnection):
    """A connection to the master a Sentinel names."""


_PACKABLE = (bytes, str, int, float, memoryview)
_PACKED_BY_SCHEME = {"redis": PackedConnection, "rediss": PackedSSLConnection, "unix": PackedUnixConnection}


def _retry(retries: int) -> Retry:
    return Retry(ExponentialBackoff(cap=2.0, base=0.05), retries=retries)


def connect(url: str, *, max_connections: int = 32, retries: int = 5) -> Redis:
    """An asyncio client for `url` (redis://, rediss://, unix://, redis+sentinel:// or
    redis+cluster://).

    Through Sentinel every new connection asks the sentinels for the current master, so
    after a failover the retries reach the promoted replica."""
    options = {
        "health_check_interval": 30,
        "retry": _retry(retries),
        "retry_on_error": _RETRY_ON,
    }
    if is_cluster(url):
        cluster = parse_cluster_url(url)
        # Typed as Redis: the store's code uses the commands both share, the cluster's
        # differences being handled in store/atomic.py (scripts, not MULTI; no MGET across
        # slots), and store/connection.RedisUrls keeps pub/sub and arq off the cluster.
        client = RedisCluster(
            startup_nodes=[ClusterNode(host, port) for host, port in cluster.nodes],
            password=cluster.password,
            **options,  # its per-node pools are unbounded: a bounded one raises in a burst
        )
        # redis-py 5's RedisCluster takes no connection class: it keeps its own in the
        # kwargs dict every node it discovers is made from, and in the startup nodes.
        client.connection_kwargs["connection_class"] = PackedConnection
        for node in client.nodes_manager.startup_nodes.values():
            node.connection_class = PackedConnection
        return cast(Redis, client)
    if is_sentinel(url):
        target = parse_sentinel_url(url)
        sentinel = Sentinel(
            target.sentinels,
            sentinel_kwargs={"socket_timeout": 2, "socket_connect_timeout": 2},
            socket_connect_timeout=5,
        )
        return sentinel.master_for(
            target.master,
            db=target.db,
            password=target.password,
            max_connections=max_connections,
            connection_class=PackedSentinelConnection,
            **options,
        )
    # `from_url` would put back redis-py's own class for unix:// and rediss:// (its URL
    # options win over keywords), so the URL is parsed here and the class set after it.
    url_options = {
        **parse_url(url),
        "connection_class": _PACKED_BY_SCHEME.get(urlsplit(url).scheme, PackedConnection),
    }
    pool = BlockingConnectionPool(max_connections=max_connections, timeout=10, **options, **url_options)
    return Redis(connection_pool=pool)


def arq_settings(url: str) -> RedisSettings:
    """The same server for arq, with retries turned on (arq passes them to redis-py)."""
    if is_sentinel(url):
        target = parse_sentinel_url(url)
        settings = RedisSettings(
            host=target.sentinels,  # type: ignore[arg-type]  # arq takes the list with sentinel=True
            sentinel=True,
            sentinel_master=target.master,
            database=target.db,
            password=target.password,
        )
    elif (parts := urlsplit(url)).scheme == "unix":
        settings = RedisSettings(unix_socket_path=parts.path)
        db = parts.query.partition("db=")[2].split("&")[0]
        if db:
            settings.database = int(db)
    else:
        settings = RedisSettings.from_dsn(url)
    settings.retry_on_timeout = True
    settings.retry_on_error = _RETRY_ON
    settings.retry = _retry(5)
    settings.conn_retries = 30
    settings.conn_retry_delay = 1
    return settings


def unreachable(url: str | RedisUrls, exc: BaseException) -> str:
    """The one line that says Redis cannot be reached: where (both, when the queue and the
    store are two), and why."""
    reason = str(exc).strip().splitlines()[0].rstrip(".") if str(exc).strip() else type(exc).__name__
    where = url.describe() if isinstance(url, RedisUrls) else mask_url(url)
    return f"Redis unreachable at {where}: {reason}"


async def ping(url: str) -> None:
    """One PING without retries (raises RedisError or OSError when Redis does not answer)."""
    client = connect(url, max_connections=2, retries=0)
    try:
        await client.ping()
    finally:
        await client.aclose()


async def wait_for_redis(url: str, say: Callable[[str], None], *, cap: float = WAIT_CAP) -> None:
    """Return once Redis answers, trying again with a backoff up to `cap` seconds.

    `web`, `worker` and `serve` call this before anything else touches Redis, so a
    process started before its Redis (or during a failover) waits and resumes by itself
    instead of dying with a traceback; `say` gets one line when waiting starts and one
    when Redis answers."""
    delay, waiting = 0.25, False
    while True:
        try:
            await ping(url)
        except (RedisError, OSError) as exc:
            if not waiting:
                say(f"{unreachable(url, exc)}; waiting for it (retrying every {cap:g} s at most)")
                waiting = True
            await asyncio.sleep(delay)
            delay = min(cap, delay * 2)
            continue
        if waiting:
            say(f"Redis at {mask_url(url)} answers; starting")
        return


@dataclass(frozen=True)
class RedisUrls:
    """The two Redis deployments a process talks to: the job queue's and the store's.

    One `server.redis_url` is both (the default, and the embedded server of `serve`);
    `server.queue_url` and `server.store_url` (or SYNDICATOR_QUEUE_URL / _STORE_URL)
    separate them, each falling back to `redis_url`. What lives where, and why:

    - queue: arq's keys (the queue, `arq:job:…`, the in-progress markers that are its job
      locks, retries, results), the publish announcements (pub/sub `published`), the
      config-reload generation (`config_reload`) and the workers' heartbeats. These
      coordinate processes: they are small and short-lived, need pub/sub (which redis-py's
      cluster client lacks), and are worth nothing once the processes they coordinate are
      gone, so a queue Redis needs no persistence and stays one server.
    - store: everything a reader's answer is made of or depends on — articles, raw input,
      URL and content indexes, category and source indexes, rendered feeds and their
      versions and manifests, source state and fetch logs, runs, hub subscriptions and
      their delivery locks, politeness leases, the schema version. This is the data that
      grows with the sources and is backed up. A lock stays beside the state it guards
      (a failover of one server cannot part them); runs stay beside the source state the
      dashboard shows with them.

    A feed is stored first and announced after (on two servers the announcement follows
    the store's transaction), so a web process that hears `slug version` reads it stored.
    """

    queue: str
    store: str

    @classmethod
    def one(cls, url: str) -> RedisUrls:
        return cls(queue=url, store=url)

    @property
    def split(self) -> bool:
        return self.queue != self.store

    def describe(self) -> str:
        """Both masked, for error lines: `redis://…` or `queue redis://… store redis://…`."""
        if not self.split:
            return mask_url(self.store)
        return f"queue {mask_url(self.queue)}, store {mask_url(self.store)}"

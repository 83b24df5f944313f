"""The job queue and the store on two Redis servers (`server.queue_url`, `server.store_url`).

Real `syndicator ingest`, `web` and `worker` processes run against two private Redis
servers: the feeds a reader gets are the same as on one server, a publish announced on the
queue's Redis reaches the web process's memory cache, a reload announced there reaches
the worker, and each server holds only its own family of keys (`RedisUrls`).
"""

from __future__ import annotations

import json
import signal
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from syndicator.config import ConfigError, load_config
from syndicator.embedded import EmbeddedRedis
from syndicator.runtime import external_redis
from syndicator.store.connection import RedisUrls, connect
from tests.builders import items, rss
from tests.conftest import delete_created
from tests.processes import clean_environment, free_port, run_cli
from tests.test_config_reload import Processes, eventually, get, write_config

# Keys under the prefix that coordinate processes, and so live on the queue's Redis.
QUEUE_FAMILY = ("config_reload", "worker:", "queue")


@pytest.fixture(scope="module")
def queue_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A second private Redis server: the job queue's, apart from the store's (`redis_url`)."""
    with EmbeddedRedis(tmp_path_factory.mktemp("queue-redis"), appendonly=False) as server:
        yield server.url


@pytest.fixture
async def queue_redis(queue_url: str, prefix: str) -> AsyncIterator[Redis]:
    client = connect(queue_url)
    try:
        yield client
    finally:
        await delete_created(client, prefix)
        await client.aclose()


@pytest.fixture
def split(
    tmp_path: Path, redis_url: str, queue_url: str, redis: Redis, queue_redis: Redis
) -> Iterator[Processes]:
    """Processes whose environment names the two servers, and no `SYNDICATOR_REDIS_URL`."""
    env = clean_environment({"SYNDICATOR_QUEUE_URL": queue_url, "SYNDICATOR_STORE_URL": redis_url})
    running = Processes(tmp_path, env)
    try:
        yield running
    finally:
        running.stop()


def queue_family(key: str, prefix: str) -> bool:
    return key.startswith("arq:") or key.removeprefix(prefix).startswith(QUEUE_FAMILY)


async def prefixed_keys(redis: Redis, prefix: str) -> list[str]:
    """Our keys on one server: the prefix's, and arq's whose job ids carry it."""
    found = [key.decode() async for key in redis.scan_iter(match=f"{prefix}*")]
    return sorted(found + [key.decode() async for key in redis.scan_iter(match=f"arq:*{prefix}*")])


@pytest.mark.slow  # real processes for 25-60 s: out of the fast lane, in CI
async def test_ingest_publish_serve_reload_across_a_separate_queue_and_store(
    split: Processes, prefix: str, redis: Redis, queue_redis: Redis
) -> None:
    port = free_port()
    folder = split.folder
    site = f"http://127.0.0.1:{port}"
    split.env["SYNDICATOR_PUBLIC_URL"] = f"{site}/"
    path = write_config(folder, prefix, sources={"s1": "tech"}, categories=("tech",), port=port)

    ingested = run_cli("ingest", "--config", str(path), cwd=folder, env=split.env)
    assert ingested.returncode == 0, ingested.stderr
    web = split.start("web", "--config", str(path))
    assert eventually(lambda: b"s1 title 1" in get(f"{site}/feeds/tech.rss")[1]), split.log(web)

    # The web process now holds the feed in memory; a new version stored by another process
    # reaches readers only through the announcement on the queue's Redis.
    (folder / "s1.xml").write_bytes(rss(items("s1", 2) + items("s1-late", 1)))
    again = run_cli("ingest", "--config", str(path), cwd=folder, env=split.env)
    assert again.returncode == 0, again.stderr
    late = lambda: b"s1-late title 0" in get(f"{site}/feeds/tech.rss")[1]  # noqa: E731
    assert eventually(late, timeout=10), split.log(web)

    # A reload asked of the web process reaches the worker through the queue's Redis: the
    # worker polls the added source and publishes it (a job on the queue), and web serves it.
    worker = split.start("worker", "--config", str(path))
    write_config(folder, prefix, sources={"s1": "tech", "s2": "tech"}, categories=("tech",), port=port)
    # Its heartbeat, read by web from the queue's Redis, says it runs (and follows reloads).
    assert eventually(lambda: json.loads(get(f"{site}/readyz")[1] or b"{}").get("workers")), split.log(worker)
    web.send_signal(signal.SIGHUP)
    assert eventually(lambda: b"s2 title 1" in get(f"{site}/feeds/tech.rss")[1]), split.log(worker)
    assert "config reloaded from" in split.log(worker)

    # Each server holds its own family of keys only.
    on_queue = await prefixed_keys(queue_redis, prefix)
    on_store = await prefixed_keys(redis, prefix)
    assert any(key.startswith(f"{prefix}worker:") for key in on_queue), on_queue
    assert f"{prefix}config_reload" in on_queue
    assert [key for key in on_queue if not queue_family(key, prefix)] == []
    assert any(key.startswith(f"{prefix}article:") for key in on_store)
    assert [key for key in on_store if queue_family(key, prefix)] == []
    assert web.poll() is None and worker.poll() is None


def test_queue_and_store_fall_back_to_redis_url(tmp_path: Path) -> None:
    path = tmp_path / "syndicator.toml"
    path.write_text('[server]\nredis_url = "redis://one:6379/0"\n', encoding="utf-8")
    assert external_redis(load_config(path, environ={}).settings) == RedisUrls.one("redis://one:6379/0")
    environ = {"SYNDICATOR_QUEUE_URL": "redis+sentinel://s1:26379,s2:26379/queue"}
    assert external_redis(load_config(path, environ=environ).settings) == RedisUrls(
        queue="redis+sentinel://s1:26379,s2:26379/queue", store="redis://one:6379/0"
    )
    path.write_text("[server]\n", encoding="utf-8")
    assert external_redis(load_config(path, environ={}).settings) is None  # embedded: one for both


def test_a_queue_url_alone_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "syndicator.toml"
    path.write_text('[server]\nqueue_url = "redis://q:6379/0"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    assert str(caught.value) == (
        f"{path}: server.store_url: needed with server.queue_url (or server.redis_url for both)"
    )

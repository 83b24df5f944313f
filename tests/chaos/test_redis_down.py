"""Redis down must not mean every feed down (issue 9, item 4).

Every test here stops or kills Redis, so each runs its own private server
(`EmbeddedRedis` in the test's folder, append-only file on, so data survives a restart on
the same socket) and never touches the session's shared one.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer

from syndicator.embedded import EmbeddedRedis
from syndicator.ingest import ingest_source
from syndicator.runtime import Runtime
from syndicator.store.connection import connect
from syndicator.store.keys import Keys
from syndicator.web.app import create_app
from syndicator.web.feeds import FEED_CACHE
from tests.builders import BASE_TIME, items, one_feed_config, rss
from tests.builders import write_config as write_test_config
from tests.processes import REPO, clean_environment, free_port, run_cli, store_environment
from tests.test_cli_serve import Running
from tests.test_cli_serve import write_config as write_served_config
from tests.test_metrics import Samples, total
from tests.test_metrics import parse as parse_metrics

SAME_HEADERS = ("Content-Type", "ETag", "Last-Modified", "Cache-Control", "Content-Location", "Vary")


def write_config(folder: Path, prefix: str) -> Path:
    """test_cli_serve's one-source world, polled every second (so a change shows quickly)."""
    path = write_served_config(folder, prefix)
    source = 'categories = ["tech"]'
    # max_poll_interval: the adaptive interval would stretch while the feed does not change.
    text = path.read_text("utf-8").replace(
        source, source + '\npoll_interval = "1s"\nmax_poll_interval = "1s"'
    )
    path.write_text(text, "utf-8")
    return path


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    server = EmbeddedRedis(tmp_path / "redis").start()
    try:
        yield server
    finally:
        server.stop()


async def until(condition, seconds: float = 15.0, what: str = "condition") -> None:
    for _ in range(int(seconds / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"no {what} within {seconds}s")


@contextlib.asynccontextmanager
async def served(config, private_redis: EmbeddedRedis) -> AsyncIterator:
    """Source `c` of `config` ingested, then a web app on loopback serving it with its feed
    cache subscribed: (app, server, http client, runtime)."""
    runtime = Runtime.open(config, private_redis.url)
    await ingest_source(runtime, "c")
    app = create_app(runtime)
    server = TestServer(app)
    await server.start_server()
    try:
        async with ClientSession(auto_decompress=False) as http:
            await until(lambda: app[FEED_CACHE].live, what="subscription")
            yield app, server, http, runtime
    finally:
        await server.close()
        await runtime.close()


@pytest.fixture
async def serving(tmp_path, upstream, private_redis, prefix) -> AsyncIterator:
    upstream.put("/feed.rss", rss(items("down", 4)), "application/rss+xml")
    config = one_feed_config(
        tmp_path, upstream, redis_url=private_redis.url, prefix=prefix, path="/feed.rss", source_id="c"
    )
    async with served(config, private_redis) as world:
        yield world


async def fetch(server, http, path: str, **headers: str):
    async with http.get(server.make_url(path), headers={"Accept-Encoding": "identity", **headers}) as resp:
        return resp.status, await resp.read(), resp.headers


async def metrics(server, http) -> Samples:
    status, body, _ = await fetch(server, http, "/metrics")
    assert status == 200
    return parse_metrics(body.decode())[1]


def stale_requests(samples: Samples) -> float:
    return total(samples, "syndicator_feed_requests_total", cache="stale")


async def test_held_feeds_are_served_unchanged_while_redis_is_down(serving, private_redis, upstream):
    app, server, http, runtime = serving
    cache = app[FEED_CACHE]
    status, body, headers = await fetch(server, http, "/feeds/tech.atom")
    assert status == 200
    before = await metrics(server, http)
    assert before[("syndicator_redis_up", ())] == 1
    assert before[("syndicator_feeds_stale_seconds", ())] == 0

    private_redis.stop()
    await until(lambda: not cache.live, what="lost subscription")

    again, body_again, headers_again = await fetch(server, http, "/feeds/tech.atom")
    assert (again, body_again) == (200, body)
    assert {h: headers_again.get(h) for h in SAME_HEADERS} == {h: headers.get(h) for h in SAME_HEADERS}
    not_modified, _, _ = await fetch(server, http, "/feeds/tech.atom", **{"If-None-Match": headers["ETag"]})
    assert not_modified == 304

    never, _, never_headers = await fetch(server, http, "/feeds/tech.rss")  # never held
    assert never == 503 and never_headers["Retry-After"]

    # Ready (it serves what it holds), and the body says Redis is away and since when the
    # feeds may be stale; alive regardless.
    ready_status, ready, _ = await fetch(server, http, "/readyz")
    assert ready_status == 200
    assert json.loads(ready)["redis"] == "unreachable"
    feeds = json.loads(ready)["feeds"]
    assert feeds["held"] == 1 and not feeds["live"] and feeds["served_stale_since"]
    assert (await fetch(server, http, "/healthz"))[0] == 200
    # The metrics say the same to a monitoring system: Redis away, feeds stale for a while,
    # and the two requests above (200 and 304) served from memory while it was away.
    down = await metrics(server, http)
    assert down[("syndicator_redis_up", ())] == 0
    assert down[("syndicator_feeds_stale_seconds", ())] > 0
    assert stale_requests(down) - stale_requests(before) == 2

    private_redis.start()  # same socket, same data (append-only file)
    await until(lambda: cache.live, what="subscription after the restart")
    assert cache.status()["served_stale_since"] is None
    back = await metrics(server, http)
    assert back[("syndicator_redis_up", ())] == 1
    assert back[("syndicator_feeds_stale_seconds", ())] == 0
    upstream.put("/feed.rss", rss(items("down", 6)), "application/rss+xml")
    await ingest_source(runtime, "c")  # a fresh publish
    fresh, fresh_body, fresh_headers = await fetch(server, http, "/feeds/tech.atom")
    assert fresh == 200 and fresh_headers["ETag"] != headers["ETag"] and fresh_body != body
    rss_status, _, _ = await fetch(server, http, "/feeds/tech.rss")
    assert rss_status == 200


async def test_a_publish_missed_while_down_is_noticed_on_reconnect(serving, private_redis, prefix):
    """The subscription was away, so no announcement came: comparing versions on
    reconnect drops the held feed whose stored version changed meanwhile."""
    app, server, http, _ = serving
    cache = app[FEED_CACHE]
    _, _, headers = await fetch(server, http, "/feeds/tech.atom")
    private_redis.stop()
    await until(lambda: not cache.live, what="lost subscription")
    # Another process publishes while this one is cut off (simulated: Redis restarted
    # without this process's subscription, the stored feed changed, no announcement).
    cache._task.cancel()  # keep the subscription down while the store changes
    with contextlib.suppress(asyncio.CancelledError):
        await cache._task  # cancelled for sure before Redis is back
    private_redis.start()
    other = connect(private_redis.url)
    await other.hset(Keys(prefix).feed("tech", "atom"), mapping={"version": 99, "etag": "v99-atom-missed"})
    await other.aclose()
    _, _, stale = await fetch(server, http, "/feeds/tech.atom")
    assert stale["ETag"] == headers["ETag"]  # still held, not yet re-validated
    await cache.start()  # the subscription comes back
    await until(lambda: cache.live, what="subscription")
    _, _, current = await fetch(server, http, "/feeds/tech.atom")
    assert current["ETag"] == '"v99-atom-missed"'


def newer(prefix: str, n: int) -> list:
    """Items newer than every item of `items(...)`: they change the top of a feed."""
    return items(prefix, n, start=BASE_TIME + timedelta(hours=n + len(prefix)))


@pytest.fixture
async def serving_more(tmp_path, upstream, private_redis, prefix) -> AsyncIterator:
    """Two categories fed by one source, three items a feed (so archive pages fill), and
    two publishes (so a delta exists between them)."""
    upstream.put("/feed.rss", rss(items("more", 7)), "application/rss+xml")
    categories = [{"slug": s, "title": s.title(), "items_per_feed": 3} for s in ("tech", "news")]
    source = {"id": "c", "url": upstream.url("/feed.rss"), "categories": ["tech", "news"]}
    config = write_test_config(
        tmp_path,
        redis_url=private_redis.url,
        prefix=prefix,
        categories=categories,
        sources=[source | {"allow_private_network": True}],
    )
    async with served(config, private_redis) as world:
        yield world


async def test_variants_deltas_and_archives_served_before_are_replayed_while_redis_is_down(
    serving_more, private_redis, upstream
):
    app, server, http, runtime = serving_more
    _, _, first = await fetch(server, http, "/feeds/tech.atom")
    upstream.put("/feed.rss", rss(newer("late", 1) + items("more", 7)), "application/rss+xml")
    await ingest_source(runtime, "c")  # a second version: a delta from the first exists
    delta_request = {"A-IM": "feed", "If-None-Match": first["ETag"]}
    requests = {
        "/feeds/tech.atom?limit=2": {},
        "/feeds/tech+news.rss": {},
        "/feeds/tech+news.json?q=title": {"Accept-Encoding": "gzip"},
        "/feeds/tech.atom": delta_request,
        "/archive/tech/1.atom": {},
        "/archive/news/2.json": {"Accept-Encoding": "br"},
        "/opml.xml": {},
    }
    served = {}
    for path, headers in requests.items():
        served[path] = await fetch(server, http, path, **headers)
        assert served[path][0] == (226 if "A-IM" in headers else 200), (path, served[path])
    cache = app[FEED_CACHE]
    private_redis.stop()
    await until(lambda: not cache.live, what="lost subscription")

    for path, headers in requests.items():
        status, body, replayed = await fetch(server, http, path, **headers)
        assert (status, body) == served[path][:2], path
        for name in (*SAME_HEADERS, "IM", "Delta-Base", "Content-Encoding", "Link"):
            assert replayed.get(name) == served[path][2].get(name), (path, name)
    for path in ("/feeds/tech.atom?limit=2", "/archive/tech/1.atom"):
        etag = served[path][2]["ETag"]
        status, body, headers = await fetch(server, http, path, **{"If-None-Match": etag})
        assert (status, body, headers["ETag"]) == (304, b"", etag), path
    for never in ("/feeds/tech.atom?limit=1", "/feeds/news+tech.rss", "/archive/tech/2.atom"):
        status, _, headers = await fetch(server, http, never)
        assert status == 503 and headers["Retry-After"], never

    _, health, _ = await fetch(server, http, "/readyz")
    feeds = json.loads(health)["feeds"]
    assert feeds["responses"]["held"] == 6  # OPML needs no Redis (config only): not kept
    assert feeds["responses"]["served_stale_since"] and feeds["served_stale_since"]
    down = await metrics(server, http)
    assert down[("syndicator_redis_up", ())] == 0 and down[("syndicator_feeds_stale_seconds", ())] > 0

    private_redis.start()
    await until(lambda: cache.live, what="subscription after the restart")
    # The held feeds are current again, but the kept responses replayed while Redis was
    # away are not known to be until Redis answers them: /readyz and the metrics agree.
    _, health, _ = await fetch(server, http, "/readyz")
    assert json.loads(health)["feeds"]["served_stale_since"] == feeds["responses"]["served_stale_since"]
    back = await metrics(server, http)
    assert back[("syndicator_redis_up", ())] == 1 and back[("syndicator_feeds_stale_seconds", ())] > 0
    third = newer("later", 1) + newer("late", 1) + items("more", 7)
    upstream.put("/feed.rss", rss(third), "application/rss+xml")
    await ingest_source(runtime, "c")
    status, body, fresh = await fetch(server, http, "/feeds/tech.atom?limit=2")
    assert status == 200 and fresh["ETag"] != served["/feeds/tech.atom?limit=2"][2]["ETag"]
    assert b"later title 0" in body
    _, health, _ = await fetch(server, http, "/readyz")
    assert json.loads(health)["feeds"]["responses"]["served_stale_since"] is None
    assert (await metrics(server, http))[("syndicator_feeds_stale_seconds", ())] == 0


def test_ingest_with_redis_down_says_so_in_one_line(tmp_path, prefix):
    config = write_config(tmp_path / "site", prefix)
    absent = f"redis://:secret@127.0.0.1:{free_port()}/0"
    done = run_cli("ingest", "--config", str(config), env=store_environment(absent, prefix), timeout=60)
    lines = [line for line in done.stderr.splitlines() if not line.startswith("config:")]
    assert done.returncode == 1, done.stderr
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("ingest: Redis unreachable at redis://:***@127.0.0.1:")
    assert "secret" not in done.stderr and done.stdout == ""


def test_migrate_with_redis_down_says_so_in_one_line(tmp_path, prefix):
    config = write_config(tmp_path / "site", prefix)
    absent = f"redis://127.0.0.1:{free_port()}/0"
    done = run_cli("migrate", "--config", str(config), env=store_environment(absent, prefix), timeout=60)
    lines = [line for line in done.stderr.splitlines() if not line.startswith("config:")]
    assert done.returncode == 1 and len(lines) == 1, done.stderr
    assert lines[0].startswith("migrate: Redis unreachable at redis://127.0.0.1:")


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_web_started_before_redis_waits_then_serves(tmp_path, prefix):
    config = write_config(tmp_path / "site", prefix)
    redis = EmbeddedRedis(tmp_path / "later")  # not started yet: its socket does not exist
    port = free_port()
    web = Running(
        ("web", "--config", str(config), "--port", str(port)),
        tmp_path,
        store_environment(redis.url, prefix),
        tmp_path / "web.log",
    )
    try:
        web.wait_for("waiting for it")
        redis.start()
        log = web.wait_for("serving feeds at")
        waiting = [line for line in log.splitlines() if "Redis unreachable" in line]
        assert len(waiting) == 1 and waiting[0].startswith(f"web: Redis unreachable at {redis.url}")
        assert "Traceback" not in log
        status, body = get(f"http://127.0.0.1:{port}/readyz")
        assert status == 200 and json.loads(body)["redis"] == "ok"
    finally:
        assert web.stop(signal.SIGTERM) == 0, web.log
        redis.stop()


def test_worker_survives_a_redis_restart_and_ingests_afterwards(tmp_path, prefix, private_redis):
    config = write_config(tmp_path / "site", prefix)
    worker = Running(
        ("worker", "--config", str(config)),
        tmp_path,
        store_environment(private_redis.url, prefix),
        tmp_path / "worker.log",
    )

    def stored_items() -> int:
        with redis.Redis(unix_socket_path=str(private_redis.socket_path)) as client:
            body = client.hget(Keys(prefix).feed("tech", "json"), "body:identity")
        return len(json.loads(body)["items"]) if body else 0

    async def eventually(n: int) -> None:
        await until(lambda: stored_items() == n, seconds=60, what=f"{n} items stored")

    try:
        asyncio.run(eventually(3))
        private_redis.stop()
        worker.wait_for("restarting when it is back", timeout=30)
        private_redis.start()
        (tmp_path / "site" / "local.xml").write_bytes(rss(items("local", 5)))
        asyncio.run(eventually(5))
        assert worker.process.poll() is None
        assert "Traceback" not in worker.log
    finally:
        assert worker.stop(signal.SIGTERM) == 0, worker.log


def test_serve_worker_survives_a_redis_restart_and_ingests_afterwards(tmp_path, prefix, private_redis):
    """`serve`'s in-process worker is restarted like `syndicator worker`'s, while its web
    side keeps serving; the new item is ingested and served once Redis is back."""
    config = write_config(tmp_path / "site", prefix)
    port = free_port()
    serve = Running(
        ("serve", "--config", str(config), "--port", str(port)),
        tmp_path,
        store_environment(private_redis.url, prefix),
        tmp_path / "serve.log",
    )

    def served_items() -> int:
        status, body = get(f"http://127.0.0.1:{port}/feeds/tech.json")
        return len(json.loads(body)["items"]) if status == 200 else 0

    async def eventually(n: int) -> None:
        await until(lambda: served_items() == n, seconds=60, what=f"{n} items served")

    try:
        serve.wait_for("serving feeds at")
        asyncio.run(eventually(3))
        private_redis.stop()
        serve.wait_for("serve: Redis unreachable", timeout=30)
        assert served_items() == 3  # the held feed is still served meanwhile
        private_redis.start()
        serve.wait_for("answers; starting", timeout=30)
        (tmp_path / "site" / "local.xml").write_bytes(rss(items("local", 5)))
        asyncio.run(eventually(5))
        assert serve.process.poll() is None
        lost = [line for line in serve.log.splitlines() if "restarting when it is back" in line]
        assert len(lost) == 1 and "Traceback" not in serve.log, serve.log
    finally:
        assert serve.stop(signal.SIGTERM) == 0, serve.log


def test_arq_command_started_before_redis_waits_then_ingests(tmp_path, prefix):
    """`arq workers.main.WorkerSettings` (arq's own command) started before its Redis says
    where it waits in one line, and ingests once Redis is up."""
    config = write_config(tmp_path / "site", prefix)
    server = EmbeddedRedis(tmp_path / "later")  # not started yet: its socket does not exist
    log_path = tmp_path / "arq.log"
    env = store_environment(server.url, prefix) | {"SYNDICATOR_CONFIG": str(config)}
    arq = subprocess.Popen(
        [str(Path(sys.executable).parent / "arq"), "workers.main.WorkerSettings"],
        cwd=REPO,
        env=clean_environment(env),
        stdout=subprocess.DEVNULL,
        stderr=log_path.open("wb"),
    )

    def log() -> str:
        return log_path.read_text("utf-8", "replace")

    def stored_items() -> int:
        with redis.Redis(unix_socket_path=str(server.socket_path)) as client:
            body = client.hget(Keys(prefix).feed("tech", "json"), "body:identity")
        return len(json.loads(body)["items"]) if body else 0

    try:
        deadline = time.monotonic() + 30
        while "waiting for it" not in log():
            assert arq.poll() is None and time.monotonic() < deadline, log()
            time.sleep(0.1)
        time.sleep(2)  # longer than a few of arq's own retries would last
        assert arq.poll() is None, log()
        server.start()
        asyncio.run(until(lambda: stored_items() == 3, seconds=60, what="3 items stored"))
        waiting = [line for line in log().splitlines() if "Redis unreachable" in line]
        assert len(waiting) == 1 and waiting[0].startswith(f"arq worker: Redis unreachable at {server.url}")
        assert "Traceback" not in log() and "redis connection error" not in log(), log()
    finally:
        arq.send_signal(signal.SIGTERM)
        try:
            arq.wait(timeout=30)
        except subprocess.TimeoutExpired:
            arq.kill()
            arq.wait()
        server.stop()

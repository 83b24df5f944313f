"""`/readyz`: ready while this process can serve feeds, with the worker heartbeats it sees.

A stale heartbeat (a worker that missed its beats) shows in the body and in the metrics,
and never makes a web process unready: readers' feeds do not depend on workers.
(Ready with Redis down while feeds are held: tests/chaos/test_redis_down.py; 503 when
nothing can be served: tests/test_web_pages.py.)
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aiohttp import ClientSession
from prometheus_client.parser import text_string_to_metric_families

from syndicator.store.heartbeats import remove_heartbeat, write_heartbeat
from tests.builders import items, one_feed_config, rss
from tests.harness import serving


async def test_readyz_lists_live_and_stale_workers_and_stays_ready(
    tmp_path, upstream, redis, redis_url, prefix
):
    upstream.put("/feed.rss", rss(items("r", 2)), "application/rss+xml")
    config = one_feed_config(tmp_path, upstream, redis_url=redis_url, prefix=prefix, path="/feed.rss")
    async with serving(config, redis_url, ("feed",)) as (runtime, server), ClientSession() as http:
        now = datetime.now(UTC)
        started = now - timedelta(minutes=5)
        await write_heartbeat(runtime.redis, runtime.keys, "h1:11:aaaaaa", started=started, jobs_running=1)
        # Its last beat 25 s ago: two 10 s beats missed, the key not yet expired (30 s).
        await write_heartbeat(
            runtime.redis,
            runtime.keys,
            "h2:22:bbbbbb",
            started=started,
            jobs_running=0,
            beat_interval=10.0,
            now=now - timedelta(seconds=25),
        )
        async with http.get(server.make_url("/readyz")) as response:
            status, body = response.status, await response.json()
        async with http.get(server.make_url("/metrics")) as response:
            families = {f.name: f for f in text_string_to_metric_families(await response.text())}
        await remove_heartbeat(runtime.redis, runtime.keys, "h1:11:aaaaaa")
        await remove_heartbeat(runtime.redis, runtime.keys, "h2:22:bbbbbb")

    assert status == 200 and body["status"] == "ready" and body["redis"] == "ok"
    workers = {w["worker_id"]: w for w in body["workers"]}
    assert set(workers) == {"h1:11:aaaaaa", "h2:22:bbbbbb"}
    assert workers["h1:11:aaaaaa"]["stale"] is False and workers["h1:11:aaaaaa"]["jobs_running"] == 1
    assert workers["h2:22:bbbbbb"]["stale"] is True and workers["h2:22:bbbbbb"]["age_seconds"] >= 25
    assert body["config"]["digest"] == config.digest and body["config"]["loaded_at"]
    assert body["feeds"]["live"] in (True, False) and body["sources"] == 1

    [alive] = families["syndicator_workers_alive"].samples
    assert alive.value == 2
    ages = {s.labels["worker"]: s.value for s in families["syndicator_worker_heartbeat_age_seconds"].samples}
    assert ages["h2:22:bbbbbb"] >= 25 > ages["h1:11:aaaaaa"]

"""The operators' admin API and dashboard with the store on a Redis Cluster (issue 16): the
app on loopback over a runtime whose store is three real masters and whose queue, worker
heartbeats and announcements are the test's plain Redis; a real arq worker runs the polls
and re-ingests the API queues.

The dashboard's page is static and reads everything through this API (its browser tests,
tests/test_dashboard.py, drive it on one Redis); here each endpoint it calls reads or
writes state spread over the masters: sources' health and fetch logs, runs, articles,
pauses, the upstream WebSub subscription, takedown, the audit log, the queue.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from syndicator.store.connection import RedisUrls
from syndicator.store.heartbeats import write_heartbeat
from syndicator.store.subscriber import UpstreamSubscription, count_push, save_subscription
from tests.admin_helpers import admin_serving, audit_outcomes, store_state
from tests.harness import run_burst_worker
from tests.redis_cluster import RedisCluster
from tests.test_store_cluster import keys_per_master
from tests.test_web_admin_api import SECRET, ids, token_env, two_sources

__all__ = ["token_env"]  # the fixture, used by name


async def test_the_admin_api_reads_and_changes_a_cluster_store(
    tmp_path, upstream, redis_url, cluster: RedisCluster, cluster_store, redis, prefix, token_env
):
    config = two_sources(tmp_path, upstream, redis_url, prefix)
    urls = RedisUrls(queue=redis_url, store=cluster.url)
    await run_burst_worker(config, urls)  # the scheduler's first polls, as jobs
    assert sum(keys_per_master(cluster, f"{prefix}*").values()) > 0
    async with admin_serving(config, urls) as (runtime, client):
        page = await client.http.get(client.server.make_url("/admin/"))
        assert page.status == 200 and "text/html" in page.headers["Content-Type"]

        # Sources' health: state, counts and errors from the cluster; URLs redacted.
        answer = await client.call("GET", "/sources")
        health = {h["source_id"]: h for h in answer.body["sources"]}
        assert {s: h["state"] for s, h in health.items()} == {"a": "ok", "b": "failing", "k": "ok"}
        assert (health["a"]["last_http_status"], health["a"]["articles_stored"]) == (200, 3)
        assert health["b"]["last_error"] == "HTTP 500 Internal Server Error"
        assert SECRET not in answer.text
        assert await ids(client, category="news", state="failing") == ["b"]
        [poll] = (await client.call("GET", "/sources/a/fetches")).body["fetches"]
        assert (poll["outcome"], poll["new"]) == ("updated", 3)
        articles = (await client.call("GET", "/sources/a/articles")).body["articles"]
        assert [a["title"] for a in articles] == ["a title 0", "a title 1", "a title 2"]

        # The upstream WebSub subscription shown with its source (its keys in other slots).
        now = datetime.now(UTC)
        await save_subscription(
            runtime.redis,
            runtime.keys,
            UpstreamSubscription(
                source_id="k",
                hub="https://hub.example/",
                topic="https://k.example/feed",
                callback_path="not-shown",
                secret="not-shown",
                lease_seconds=864000,
                state="active",
                requested_at=now,
                verified_at=now,
                expires_at=now + timedelta(days=10),
            ),
        )
        await count_push(runtime.redis, runtime.keys, "k", "pushes", now=now, line="ingested: 2 new")
        k = await client.call("GET", "/sources/k")
        assert (k.body["websub_state"], k.body["websub_pushes"]) == ("active", 1)
        assert k.body["websub_last_push"] == "ingested: 2 new" and "not-shown" not in k.text

        # Pause, a re-ingest it refuses, resume; a refused call changes nothing stored.
        paused = await client.call("POST", "/sources/a/pause", json_body={"reason": "maintenance"})
        assert (paused.status, paused.body["state"]) == (200, "paused")
        assert await ids(client, state="paused") == ["a"]
        refused = await client.call("POST", "/reingest", json_body={"sources": ["a"]})
        assert refused.body["queued"] == [] and "paused" in refused.body["skipped"][0]["reason"]
        resumed = await client.call("POST", "/sources/a/resume")
        assert (resumed.body["state"], resumed.body["next_due"] is not None) == ("ok", True)
        before = await store_state(cluster_store, prefix, audit=False)
        assert (await client.call("POST", "/sources/zzz/pause")).status == 404
        assert await store_state(cluster_store, prefix, audit=False) == before

        # A re-ingest queued on the queue's Redis, run by a worker, its run read back.
        queued = await client.call("POST", "/reingest", json_body={"sources": ["a"]})
        [one] = queued.body["queued"]
        queue = await client.call("GET", "/queue")
        assert queue.body["depth"] == 1 and one["run_id"] in {
            r["run_id"] for r in queue.body["runs_in_progress"]
        }
        await run_burst_worker(config, urls)
        run = await client.call("GET", f"/runs/{one['run_id']}")
        assert (run.status, run.body["state"], run.body["source_id"]) == (200, "done", "a")
        runs = (await client.call("GET", "/sources/a/runs")).body["runs"]
        assert runs[0]["run_id"] == one["run_id"] and len(runs) == 2
        assert (await client.call("GET", "/queue")).body["runs_in_progress"] == []

        # Workers' heartbeats live on the queue's Redis.
        await write_heartbeat(runtime.bus, runtime.keys, "host1:101:aaaaaa", started=now, jobs_running=1)
        workers = (await client.call("GET", "/queue")).body["workers"]
        assert [(w["host"], w["pid"]) for w in workers] == [("host1", 101)]

        # Takedown: out of the source's articles and its category indexes on every master.
        victim = articles[0]["article_id"]
        hidden = await client.call("DELETE", f"/articles/{victim}", json_body={"reason": "legal"})
        assert hidden.status == 200, hidden.text
        left = (await client.call("GET", "/sources/a/articles")).body["articles"]
        assert [a["title"] for a in left] == ["a title 1", "a title 2"]
        for slug in ("tech/python", "tech", "all"):
            assert await cluster_store.zscore(runtime.keys.category_index(slug), victim) is None
        assert not await cluster_store.exists(runtime.keys.article(victim))

        # A re-render queued; a worker runs it and the publish the takedown queued.
        render = await client.call("POST", "/render", json_body={"category": "news"})
        assert (render.status, render.body["queued"]) == (202, True)
        await run_burst_worker(config, urls)
        keys = runtime.keys
        for slug in ("news", "tech/python", "tech", "all"):
            assert await cluster_store.get(keys.published_mark(slug)) == await cluster_store.get(
                keys.dirty(slug)
            )

        # A reload, announced on the queue's Redis.
        two_sources(tmp_path, upstream, redis_url, prefix, extra=True)  # the file gains source c
        reloaded = await client.call("POST", "/reload")
        assert (reloaded.status, reloaded.body["added_sources"]) == (200, ["c"])
        assert (await redis.hgetall(f"{prefix}config_reload"))[b"generation"] == b"1"

        audit = (await client.call("GET", "/audit")).body["entries"]
        assert [e["action"] for e in audit[:4]] == ["reload", "render", "hide", "reingest"]
        assert await audit_outcomes(cluster_store, prefix) == [e["outcome"] for e in audit]

    # Nothing of the store on the queue's Redis: only arq's keys and the heartbeat.
    on_queue = {k.decode().removeprefix(prefix) async for k in redis.scan_iter(match=f"{prefix}*")}
    assert on_queue <= {"worker:host1:101:aaaaaa", "queue", "config_reload"}, on_queue

"""The admin API end to end on loopback, with a real store, queue and worker: each endpoint,
and the 400s for requests it cannot take (JSON bodies naming the problem)."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest

from syndicator.store.heartbeats import write_heartbeat
from syndicator.store.keys import Keys
from tests.admin_helpers import TOKEN, AdminClient, admin_serving, audit_outcomes, store_state
from tests.builders import items, rss, write_config
from tests.harness import run_burst_worker

SECRET = "s3cr3t-Upstream-Key"


def two_sources(tmp_path, upstream, redis_url, prefix, *, extra: bool = False):
    """Categories tech, tech/python and news; source a feeds tech/python, b (answering 500)
    and k (a secret in its URL) feed news; `extra` adds source c (news).

    One try per job, so a failing poll is recorded at once."""
    upstream.put("/a.rss", rss(items("a", 3)), "application/rss+xml")
    upstream.put("/b.rss", b"oops", "text/plain", status=500)
    upstream.put("/k.rss", rss(items("k", 2)), "application/rss+xml")
    upstream.put("/c.rss", rss(items("c", 2)), "application/rss+xml")
    sources = [("a", "/a.rss", "tech/python"), ("b", "/b.rss", "news"), ("k", f"/k.rss?key={SECRET}", "news")]
    if extra:
        sources.append(("c", "/c.rss", "news"))
    return write_config(
        tmp_path,
        redis_url=redis_url,
        prefix=prefix,
        extra_server="max_tries = 1",
        categories=[{"slug": "tech"}, {"slug": "tech/python"}, {"slug": "news"}],
        sources=[
            {"id": sid, "url": upstream.url(path), "categories": [slug], "allow_private_network": True}
            for sid, path, slug in sources
        ],
    )


def break_config(path: Path) -> None:
    """Append a source with a misspelt key: the file no longer validates."""
    text = path.read_text(encoding="utf-8")
    path.write_text(text + '\n[[sources]]\nid = "x"\nurl = "https://x.test/"\npol_interval = "5m"\n')


@pytest.fixture
def token_env(monkeypatch):
    monkeypatch.delenv("SYNDICATOR_ADMIN_TOKEN_FILE", raising=False)
    monkeypatch.setenv("SYNDICATOR_ADMIN_TOKEN", TOKEN)


@pytest.fixture
def config(tmp_path, upstream, redis_url, prefix):
    return two_sources(tmp_path, upstream, redis_url, prefix)


# ---------------------------------------------------------------- reload


async def test_reload_applies_the_file_and_announces_it(
    tmp_path, upstream, config, redis, redis_url, prefix, token_env
):
    async with admin_serving(config, redis_url) as (runtime, client):
        two_sources(tmp_path, upstream, redis_url, prefix, extra=True)  # the file gains source c
        answer = await client.call("POST", "/reload")
        assert answer.status == 200, answer.text
        assert answer.body["added_sources"] == ["c"]
        assert "sources added: c" in answer.body["summary"]
        assert answer.body["digest"] == runtime.config.digest
        assert "c" in runtime.config.sources
        announced = await redis.hgetall(f"{prefix}config_reload")
        assert announced[b"generation"] == b"1" and announced[b"digest"] == runtime.config.digest.encode()


async def test_a_broken_file_is_refused_with_409_and_the_config_stays(
    config, redis, redis_url, prefix, token_env
):
    async with admin_serving(config, redis_url) as (runtime, client):
        running = runtime.config
        break_config(Path(config.path))
        answer = await client.call("POST", "/reload")
        assert answer.status == 409
        assert answer.body["error"].startswith("config reload refused, the running config stays: ")
        assert "pol_interval" in answer.body["error"] and "\n" not in answer.body["error"]
        assert runtime.config is running
        assert await redis.hget(f"{prefix}config_reload", "generation") is None


async def test_a_source_removed_by_a_reload_and_added_back_is_not_paused(
    tmp_path, upstream, redis, redis_url, prefix, token_env
):
    """No worker runs here, so no scheduler tick can forget the pause: the reload must."""
    config = two_sources(tmp_path, upstream, redis_url, prefix, extra=True)
    async with admin_serving(config, redis_url) as (_, client):
        paused = await client.call("POST", "/sources/c/pause", json_body={"reason": "moving"})
        assert paused.body["state"] == "paused"

        two_sources(tmp_path, upstream, redis_url, prefix)  # the file loses source c
        removed = await client.call("POST", "/reload")
        assert removed.status == 200 and removed.body["removed_sources"] == ["c"]
        assert (await client.call("GET", "/sources/c")).status == 404

        two_sources(tmp_path, upstream, redis_url, prefix, extra=True)  # and has it again
        added = await client.call("POST", "/reload")
        assert added.status == 200 and added.body["added_sources"] == ["c"]
        health = await client.call("GET", "/sources/c")
        assert (health.body["state"], health.body["state_reason"]) == ("ok", None)
        assert await ids(client, state="paused") == []
        reingest = await client.call("POST", "/reingest", json_body={"sources": ["c"]})
        assert [q["source_id"] for q in reingest.body["queued"]] == ["c"], reingest.text
        assert reingest.body["skipped"] == []
    assert await redis.hkeys(f"{prefix}halted") == []


# ---------------------------------------------------------------- re-render


async def test_render_queues_a_publish_that_a_worker_runs(config, redis, redis_url, prefix, token_env):
    async with admin_serving(config, redis_url) as (_, client):
        dirty = int(await redis.get(Keys(prefix).dirty("news")) or 0)
        answer = await client.call("POST", "/render", json_body={"category": "news"})
        assert answer.status == 202
        assert answer.body == {"slug": "news", "queued": True, "version": None}
        assert await redis.zcard(f"{prefix}queue") == 1
        assert int(await redis.get(Keys(prefix).dirty("news"))) == dirty + 1
        await run_burst_worker(config, redis_url)
        assert await redis.zcard(f"{prefix}queue") == 0
        # The publish ran: everything marked dirty is published.
        keys = Keys(prefix)
        assert await redis.get(keys.published_mark("news")) == await redis.get(keys.dirty("news"))


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"category": "nope"}, 404, "unknown category 'nope'"),
        ({}, 400, "body: category: required"),
        ({"category": "news", "x": 1}, 400, "body: unknown field 'x' (known: category)"),
        ({"category": 5}, 400, "body: category: must be a string, not a number"),
        ({"category": "Bad Slug"}, 400, "body: category: 'Bad Slug' is not a category slug"),
        (b"{not json", 400, "body: not JSON: "),
        (b"[1, 2]", 400, "body: must be a JSON object, not an array"),
        (b"[" * 50_000, 400, "body: "),
    ],
)
async def test_render_refuses_what_it_cannot_take(
    config, redis, redis_url, prefix, token_env, body, status, message
):
    async with admin_serving(config, redis_url) as (_, client):
        before = await store_state(redis, prefix, audit=False)
        if isinstance(body, bytes):
            answer = await client.call("POST", "/render", data=body)
        else:
            answer = await client.call("POST", "/render", json_body=body)
        assert answer.status == status, answer.text
        assert answer.body["error"].startswith(message)
        assert await store_state(redis, prefix, audit=False) == before
        assert await audit_outcomes(redis, prefix) == ["refused"]  # recorded, and nothing else


# ---------------------------------------------------------------- sources, runs, queue


@pytest.fixture
async def polled(config, redis, redis_url):
    """The world after one scheduler tick and a worker that ran every job."""
    await run_burst_worker(config, redis_url)
    return config


async def ids(client: AdminClient, **query: str) -> list[str]:
    answer = await client.call("GET", "/sources", params=query)
    assert answer.status == 200, answer.text
    return [h["source_id"] for h in answer.body["sources"]]


async def test_sources_with_health_filters_and_redacted_urls(polled, redis, redis_url, prefix, token_env):
    async with admin_serving(polled, redis_url) as (_, client):
        answer = await client.call("GET", "/sources")
        health = {h["source_id"]: h for h in answer.body["sources"]}
        assert {s: h["state"] for s, h in health.items()} == {"a": "ok", "b": "failing", "k": "ok"}
        a, b = health["a"], health["b"]
        assert (a["last_http_status"], a["articles_stored"], a["consecutive_errors"]) == (200, 3, 0)
        assert a["last_fetch_at"] and a["next_due"] and a["mean_fetch_seconds"] is not None
        assert (b["last_http_status"], b["consecutive_errors"]) == (500, 1)
        assert b["last_error"] == "HTTP 500 Internal Server Error" and b["last_error_at"]
        assert health["k"]["url"].endswith("/k.rss?key=***")
        assert SECRET not in answer.text

        assert await ids(client, state="failing") == ["b"]
        assert await ids(client, state="ok") == ["a", "k"]
        assert await ids(client, category="tech") == ["a"]  # its child's source
        assert await ids(client, category="news") == ["b", "k"]
        assert await ids(client, category="news", state="failing") == ["b"]
        assert await ids(client, state="paused") == []

        one = await client.call("GET", "/sources/k")
        assert one.status == 200 and one.body == health["k"] and SECRET not in one.text

        before = await store_state(redis, prefix)
        for path, query, status, message in (
            ("/sources", {"state": "bogus"}, 400, "state: must be one of ok, failing, paused, gone"),
            ("/sources", {"category": "nope"}, 404, "unknown category 'nope'"),
            ("/sources", {"category": "Not A Slug"}, 400, "category: 'Not A Slug' is not a category slug"),
            ("/sources", {"sort": "x"}, 400, "unknown query parameter 'sort' (known: state, category)"),
            ("/sources/zzz", {}, 404, "unknown source 'zzz'"),
            ("/sources/a/runs", {"limit": "0"}, 400, "limit: must be at least 1"),
            ("/sources/a/runs", {"limit": "many"}, 400, "limit: must be an integer, not 'many'"),
            ("/runs/ffffffffffffffff", {}, 404, "unknown run 'ffffffffffffffff'"),
        ):
            answer = await client.call("GET", path, params=query)
            assert (answer.status, answer.body["error"][: len(message)]) == (status, message), path
        assert await store_state(redis, prefix) == before


async def test_reingest_one_a_category_failing_and_all_then_runs_a_worker_completes(
    polled, upstream, redis, redis_url, prefix, token_env
):
    async with admin_serving(polled, redis_url) as (_, client):
        answer = await client.call("POST", "/reingest", json_body={"sources": ["a"]})
        assert answer.status == 202
        [queued] = answer.body["queued"]
        assert queued["source_id"] == "a" and answer.body["skipped"] == []
        run_a = queued["run_id"]

        again = await client.call("POST", "/reingest", json_body={"sources": ["a"]})
        assert again.status == 202 and again.body["queued"] == []
        [(skipped, why)] = [(s["source_id"], s["reason"]) for s in again.body["skipped"]]
        assert skipped == "a" and run_a in why and "already queued" in why

        failing = await client.call("POST", "/reingest", json_body={"failing": True})
        assert [q["source_id"] for q in failing.body["queued"]] == ["b"]
        run_b = failing.body["queued"][0]["run_id"]

        news = await client.call("POST", "/reingest", json_body={"category": "news"})
        assert [q["source_id"] for q in news.body["queued"]] == ["k"]
        assert [s["source_id"] for s in news.body["skipped"]] == ["b"]

        queue = await client.call("GET", "/queue")
        assert queue.status == 200 and queue.body["depth"] == 3
        in_progress = {r["run_id"]: r for r in queue.body["runs_in_progress"]}
        assert {run_a, run_b} <= set(in_progress)
        assert in_progress[run_a]["state"] == "queued" and in_progress[run_a]["kind"] == "reingest"

        await run_burst_worker(polled, redis_url)

        done = await client.call("GET", f"/runs/{run_a}")
        assert done.status == 200
        assert (done.body["state"], done.body["source_id"], done.body["tries"]) == ("done", "a", 1)
        assert done.body["summary"] and done.body["finished_at"]
        failed = await client.call("GET", f"/runs/{run_b}")
        assert failed.body["state"] == "failed" and "500" in failed.body["reason"]
        recent = await client.call("GET", "/sources/a/runs")
        assert recent.body["runs"][0]["run_id"] == run_a  # newest first
        assert len(recent.body["runs"]) == 2  # the scheduler's run, then ours
        assert len((await client.call("GET", "/sources/a/runs", params={"limit": "1"})).body["runs"]) == 1
        assert (await client.call("GET", "/queue")).body["runs_in_progress"] == []

        # force: stored validators are not sent, so the upstream cannot answer 304.
        forced = await client.call("POST", "/reingest", json_body={"all": True, "force": True})
        assert [q["source_id"] for q in forced.body["queued"]] == ["a", "b", "k"]
        seen_before = len(upstream.seen("/a.rss"))
        await run_burst_worker(polled, redis_url)
        [request] = upstream.seen("/a.rss")[seen_before:]
        assert "If-None-Match" not in request.headers and request.status == 200
        run = await client.call("GET", f"/runs/{forced.body['queued'][0]['run_id']}")
        assert run.body["force"] is True and run.body["state"] == "done"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "body: choose sources with any of sources, category, failing: true, all: true"),
        ({"failing": False, "force": True}, "body: choose sources"),
        ({"sources": "a"}, "body: sources: must be an array, not a string"),
        ({"sources": ["A!"]}, "body: sources[0]: 'A!' is not a source id"),
        ({"all": "yes"}, "body: all: must be true or false, not a string"),
        ({"al": True}, "body: unknown field 'al' (known: sources, category, failing, all, force)"),
    ],
)
async def test_reingest_refuses_what_it_cannot_take(
    config, redis, redis_url, prefix, token_env, body, message
):
    async with admin_serving(config, redis_url) as (_, client):
        before = await store_state(redis, prefix, audit=False)
        answer = await client.call("POST", "/reingest", json_body=body)
        assert answer.status == 400 and answer.body["error"].startswith(message)
        for body, status in (({"sources": ["zzz"]}, 404), ({"category": "nope"}, 404)):
            assert (await client.call("POST", "/reingest", json_body=body)).status == status
        assert await store_state(redis, prefix, audit=False) == before
        assert await audit_outcomes(redis, prefix) == ["refused"] * 3


async def test_pause_and_resume(polled, redis, redis_url, prefix, token_env, caplog):
    caplog.set_level(logging.INFO, logger="syndicator.admin")
    async with admin_serving(polled, redis_url) as (_, client):
        paused = await client.call("POST", "/sources/a/pause", json_body={"reason": "upstream maintenance"})
        assert paused.status == 200
        assert (paused.body["state"], paused.body["state_reason"]) == ("paused", "upstream maintenance")
        assert paused.body["next_due"] is None and paused.body["state_since"]
        assert await ids(client, state="paused") == ["a"]

        refused = await client.call("POST", "/reingest", json_body={"sources": ["a"]})
        assert refused.body["queued"] == []
        assert "paused" in refused.body["skipped"][0]["reason"]
        assert "resume it first" in refused.body["skipped"][0]["reason"]

        resumed = await client.call("POST", "/sources/a/resume")
        assert resumed.status == 200
        assert (resumed.body["state"], resumed.body["state_reason"]) == ("ok", None)
        assert resumed.body["next_due"] is not None
        assert await ids(client, state="paused") == []
        actions = [r.getMessage() for r in caplog.records if getattr(r, "event", None) == "admin_action"]
        assert actions == [
            "admin API: POST /admin/api/sources/a/pause from 127.0.0.1: 200",
            "admin API: POST /admin/api/reingest from 127.0.0.1: 202",
            "admin API: POST /admin/api/sources/a/resume from 127.0.0.1: 200",
        ]

        before = await store_state(redis, prefix, audit=False)
        recorded = len(await audit_outcomes(redis, prefix))
        for path, body, status in (
            ("/sources/zzz/pause", None, 404),
            ("/sources/zzz/resume", None, 404),
            ("/sources/a/pause", {"reason": 5}, 400),
            ("/sources/a/pause", {"why": "x"}, 400),
            ("/sources/a/resume", {"x": 1}, 400),
        ):
            answer = await client.call("POST", path, json_body=body)
            assert answer.status == status, (path, body, answer.text)
        assert await store_state(redis, prefix, audit=False) == before
        outcomes = await audit_outcomes(redis, prefix)
        assert len(outcomes) == recorded + 5 and outcomes[:5] == ["refused"] * 5


async def test_queue_lists_live_workers_with_their_last_beat(config, redis, redis_url, prefix, token_env):
    async with admin_serving(config, redis_url) as (runtime, client):
        empty = await client.call("GET", "/queue")
        assert empty.body == {"depth": 0, "runs_in_progress": [], "workers": []}
        started = datetime.now(UTC)
        for worker_id in ("host1:101:aaaaaa", "host2:202:bbbbbb"):
            await write_heartbeat(runtime.redis, runtime.keys, worker_id, started=started, jobs_running=1)
        answer = await client.call("GET", "/queue")
        workers = {w["worker_id"]: w for w in answer.body["workers"]}
        assert set(workers) == {"host1:101:aaaaaa", "host2:202:bbbbbb"}
        one = workers["host2:202:bbbbbb"]
        assert (one["host"], one["pid"], one["jobs_running"], one["stale"]) == ("host2", 202, 1, False)
        assert datetime.fromisoformat(one["last_beat"]) >= started.replace(microsecond=0)
        assert one["age_seconds"] >= 0
        json.dumps(answer.body)


# ---------------------------------------------------------------- the API's shape


async def test_unknown_paths_methods_and_query_parameters(config, redis, redis_url, token_env):
    async with admin_serving(config, redis_url) as (_, client):
        answer = await client.call("GET", "/nothing/here")
        assert answer.status == 404 and "openapi.json" in answer.body["error"]
        answer = await client.call("DELETE", "/reload")
        assert answer.status == 405 and answer.headers["Allow"] == "POST"
        assert "DELETE is not allowed here" in answer.body["error"]
        answer = await client.call("GET", "/openapi.json", params={"x": "1"})
        assert answer.status == 400 and answer.body["error"] == "unknown query parameter 'x' (known: none)"
        answer = await client.call("GET", "/openapi.json", data=b'{"a": 1}')
        assert answer.status == 400 and answer.body["error"] == "this endpoint takes no request body"


async def test_the_admin_api_adds_no_source_the_config_file_stays_the_only_way(
    config, redis, redis_url, prefix, token_env
):
    """`syndicator add-source` edits the file; over HTTP, with the right token, a new source
    is refused before anything is read or written (not even the audit log: no such action)."""
    table = {"id": "new", "url": "https://new.example/feed.xml", "categories": ["news"]}
    file_bytes = await asyncio.to_thread(Path(config.path).read_bytes)
    async with admin_serving(config, redis_url) as (runtime, client):
        before = await store_state(redis, prefix)
        for method, path in (("POST", "/sources"), ("PUT", "/sources"), ("PUT", "/sources/new")):
            answer = await client.call(method, path, json_body=table)
            assert answer.status == 405, (method, path, answer.text)
            assert answer.headers["Allow"] == "GET"
            assert answer.body["error"] == f"{method} is not allowed here; use GET"
        listed = await client.call("GET", "/sources")
        assert [h["source_id"] for h in listed.body["sources"]] == ["a", "b", "k"]
        assert list(runtime.config.sources) == ["a", "b", "k"]
        assert await store_state(redis, prefix) == before
    assert await asyncio.to_thread(Path(config.path).read_bytes) == file_bytes

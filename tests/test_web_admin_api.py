"""The admin API end to end on loopback, with a real store, queue and worker: each endpoint,
and the 400s for requests it cannot take (JSON bodies naming the problem)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.admin_helpers import TOKEN, admin_serving, store_state
from tests.builders import items, rss, write_config
from tests.harness import run_burst_worker


def two_sources(tmp_path, upstream, redis_url, prefix, *, extra: bool = False):
    """Categories tech and tech/python (+ news), fed by sources a (tech/python) and b (news);
    `extra` adds source c (news)."""
    for name in ("a", "b", "c"):
        upstream.put(f"/{name}.rss", rss(items(name, 3)), "application/rss+xml")
    sources = [
        {
            "id": "a",
            "url": upstream.url("/a.rss"),
            "categories": ["tech/python"],
            "allow_private_network": True,
        },
        {"id": "b", "url": upstream.url("/b.rss"), "categories": ["news"], "allow_private_network": True},
    ]
    if extra:
        sources.append(
            {"id": "c", "url": upstream.url("/c.rss"), "categories": ["news"], "allow_private_network": True}
        )
    return write_config(
        tmp_path,
        redis_url=redis_url,
        prefix=prefix,
        categories=[{"slug": "tech"}, {"slug": "tech/python"}, {"slug": "news"}],
        sources=sources,
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


# ---------------------------------------------------------------- re-render


async def test_render_queues_a_publish_that_a_worker_runs(config, redis, redis_url, prefix, token_env):
    async with admin_serving(config, redis_url) as (_, client):
        dirty = int(await redis.get(f"{prefix}dirty:news") or 0)
        answer = await client.call("POST", "/render", json_body={"category": "news"})
        assert answer.status == 202
        assert answer.body == {"category": "news", "queued": True}
        assert await redis.zcard(f"{prefix}queue") == 1
        assert int(await redis.get(f"{prefix}dirty:news")) == dirty + 1
        await run_burst_worker(config, redis_url)
        assert await redis.zcard(f"{prefix}queue") == 0
        # The publish ran: everything marked dirty is published.
        assert await redis.get(f"{prefix}published-mark:news") == await redis.get(f"{prefix}dirty:news")


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
        before = await store_state(redis, prefix)
        if isinstance(body, bytes):
            answer = await client.call("POST", "/render", data=body)
        else:
            answer = await client.call("POST", "/render", json_body=body)
        assert answer.status == status, answer.text
        assert answer.body["error"].startswith(message)
        assert await store_state(redis, prefix) == before


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

"""The admin API's token: off without one (404 + hint), 401 without or with a wrong one,
429 after ten failures a minute per address, a token from a file, a short one refused at
start. Every refusal leaves the store and the queue exactly as they were."""

from __future__ import annotations

import itertools
import logging

import pytest
from aiohttp import ClientSession, TCPConnector

from syndicator.cli import main
from syndicator.runtime import Runtime
from syndicator.web.admin.auth import MAX_FAILURES
from syndicator.web.admin.token import AdminTokenError, load_admin_token
from syndicator.web.app import create_app
from tests.admin_helpers import TOKEN, WRONG, admin_serving, store_state
from tests.builders import items, one_feed_config, rss, write_config

# Requests that would change something (a publish job, a config announcement) and ones
# that only read, plus a path no operation has: all must be refused alike.
ATTEMPTS = (
    ("POST", "/reingest", {"all": True, "force": True}),
    ("POST", "/render", {"category": "tech"}),
    ("POST", "/sources/feed/pause", {"reason": "x"}),
    ("POST", "/reload", None),
    ("GET", "/sources", None),
    ("GET", "/openapi.json", None),
    ("GET", "/no-such-thing", None),
)


@pytest.fixture
def config(tmp_path, upstream, redis_url, prefix):
    upstream.put("/feed.rss", rss(items("adm", 3)), "application/rss+xml")
    return one_feed_config(tmp_path, upstream, redis_url=redis_url, prefix=prefix, path="/feed.rss")


@pytest.fixture
def no_token_env(monkeypatch):
    monkeypatch.delenv("SYNDICATOR_ADMIN_TOKEN", raising=False)
    monkeypatch.delenv("SYNDICATOR_ADMIN_TOKEN_FILE", raising=False)


async def test_no_token_configured_answers_404_with_a_hint_and_changes_nothing(
    config, redis, redis_url, prefix, no_token_env
):
    async with admin_serving(config, redis_url) as (_, client):
        before = await store_state(redis, prefix)
        for method, path, body in ATTEMPTS:
            for token in (None, TOKEN):
                answer = await client.call(method, path, token=token, json_body=body)
                assert answer.status == 404, (method, path)
                hint = answer.body["error"]
                assert "SYNDICATOR_ADMIN_TOKEN" in hint and "\n" not in hint
        assert await store_state(redis, prefix) == before


async def test_missing_or_wrong_token_is_401_and_changes_nothing(
    config, redis, redis_url, prefix, monkeypatch, no_token_env, caplog
):
    monkeypatch.setenv("SYNDICATOR_ADMIN_TOKEN", TOKEN)
    caplog.set_level(logging.INFO)
    async with admin_serving(config, redis_url) as (_, client):
        before = await store_state(redis, prefix)
        tokens = (None, WRONG, TOKEN[:-1], TOKEN + "x", "Basic " + TOKEN)
        # Nine failures: one fewer than an address may make in a minute, so the right
        # token still works afterwards.
        tried = (tokens * 2)[: MAX_FAILURES - 1]
        for (method, path, body), token in zip(itertools.cycle(ATTEMPTS), tried, strict=False):
            answer = await client.call(method, path, token=token, json_body=body)
            assert answer.status == 401, (method, path, token)
            assert answer.headers["WWW-Authenticate"].startswith("Bearer")
            assert TOKEN not in answer.text and WRONG not in answer.text
        assert await store_state(redis, prefix) == before
        # The right token works (and the state then changes: a publish job is queued).
        assert (await client.call("GET", "/openapi.json")).status == 200
        assert (await client.call("POST", "/render", json_body={"category": "tech"})).status == 202
        assert await store_state(redis, prefix) != before
    logged = "\n".join(r.getMessage() + repr(r.__dict__) for r in caplog.records)
    assert TOKEN not in logged and WRONG not in logged


async def test_ten_failures_a_minute_then_429_even_for_the_right_token(
    config, redis, redis_url, prefix, monkeypatch, no_token_env, caplog
):
    monkeypatch.setenv("SYNDICATOR_ADMIN_TOKEN", TOKEN)
    caplog.set_level(logging.INFO, logger="syndicator.admin")
    async with admin_serving(config, redis_url) as (_, client):
        assert (await client.call("GET", "/openapi.json")).status == 200  # successes never count
        before = await store_state(redis, prefix)
        statuses = [
            (await client.call("POST", "/render", token=WRONG, json_body={"category": "tech"})).status
            for _ in range(MAX_FAILURES)
        ]
        assert statuses == [401] * MAX_FAILURES
        for token in (WRONG, None, TOKEN):  # over the limit: refused without looking
            answer = await client.call("POST", "/render", token=token, json_body={"category": "tech"})
            assert answer.status == 429
            assert 1 <= int(answer.headers["Retry-After"]) <= 60
            assert "try again" in answer.body["error"]
        assert await store_state(redis, prefix) == before
    failures = [r for r in caplog.records if getattr(r, "event", None) == "admin_auth_failed"]
    assert len(failures) == 1  # once a minute per address
    assert "127.0.0.1" in failures[0].getMessage()
    assert failures[0].levelno == logging.WARNING
    assert TOKEN not in caplog.text and WRONG not in caplog.text


async def test_token_from_a_file(config, redis, redis_url, prefix, monkeypatch, no_token_env, tmp_path):
    secret = tmp_path / "admin-token"
    secret.write_text(TOKEN + "\n")
    monkeypatch.setenv("SYNDICATOR_ADMIN_TOKEN_FILE", str(secret))
    async with admin_serving(config, redis_url) as (_, client):
        before = await store_state(redis, prefix)
        refused = await client.call("POST", "/render", token=WRONG, json_body={"category": "tech"})
        assert refused.status == 401
        assert await store_state(redis, prefix) == before
        answer = await client.call("GET", "/openapi.json")
        assert answer.status == 200 and answer.body["openapi"].startswith("3.1")


@pytest.mark.parametrize(
    ("env", "problem"),
    [
        ({"SYNDICATOR_ADMIN_TOKEN": "short-token"}, "has 11 characters, at least 32"),
        ({"SYNDICATOR_ADMIN_TOKEN": "x" * 31}, "has 31 characters, at least 32"),
        ({"SYNDICATOR_ADMIN_TOKEN": "with space " + "x" * 40}, "visible ASCII"),
        ({"SYNDICATOR_ADMIN_TOKEN": TOKEN, "SYNDICATOR_ADMIN_TOKEN_FILE": "/x"}, "not both"),
        ({"SYNDICATOR_ADMIN_TOKEN_FILE": "/nonexistent/admin-token"}, "cannot read the file"),
    ],
)
def test_unusable_tokens_are_refused(env, problem):
    with pytest.raises(AdminTokenError) as caught:
        load_admin_token(env)
    message = str(caught.value)
    assert problem in message and "\n" not in message
    for value in env.values():
        if len(value) > 20 and not value.startswith("/"):
            assert value not in message  # the token itself is never repeated


def test_load_admin_token_reads_the_variable_or_the_file(tmp_path):
    assert load_admin_token({}) is None
    assert load_admin_token({"SYNDICATOR_ADMIN_TOKEN": ""}) is None
    assert load_admin_token({"SYNDICATOR_ADMIN_TOKEN": TOKEN}) == TOKEN
    path = tmp_path / "token"
    path.write_text(f"  {TOKEN}\n")
    assert load_admin_token({"SYNDICATOR_ADMIN_TOKEN_FILE": str(path)}) == TOKEN
    path.write_text("short\n")
    with pytest.raises(AdminTokenError, match="has 5 characters"):
        load_admin_token({"SYNDICATOR_ADMIN_TOKEN_FILE": str(path)})


async def test_a_short_token_stops_the_app_from_being_built(config, redis_url, monkeypatch, no_token_env):
    monkeypatch.setenv("SYNDICATOR_ADMIN_TOKEN", "too-short")
    runtime = Runtime.open(config, redis_url)
    try:
        with pytest.raises(AdminTokenError, match="at least 32"):
            create_app(runtime)
    finally:
        await runtime.close()


@pytest.mark.parametrize("command", ["web", "serve"])
def test_web_and_serve_exit_with_one_line_for_a_short_token(
    config, command, monkeypatch, no_token_env, capsys
):
    short = "s3cret-but-short"
    monkeypatch.setenv("SYNDICATOR_ADMIN_TOKEN", short)
    assert main([command, "--config", config.path]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines[-1].startswith(f"{command}: admin token refused: SYNDICATOR_ADMIN_TOKEN: ")
    assert "at least 32" in lines[-1]
    assert short not in capsys.readouterr().err and all(short not in line for line in lines)


async def test_the_admin_token_opens_metrics_from_another_network(
    tmp_path, upstream, redis, redis_url, prefix, monkeypatch, no_token_env
):
    """/metrics answers to `admin.metrics_networks` (here 127.0.0.1 only) or the admin
    token: from 127.0.0.2 the right token gets the metrics, none or a wrong one 403."""
    monkeypatch.setenv("SYNDICATOR_ADMIN_TOKEN", TOKEN)
    upstream.put("/feed.rss", rss(items("adm", 3)), "application/rss+xml")
    config = write_config(
        tmp_path,
        redis_url=redis_url,
        prefix=prefix,
        categories=[{"slug": "tech"}],
        sources=[{"id": "feed", "url": upstream.url("/feed.rss"), "categories": ["tech"]}],
        extra_server='\n[admin]\nmetrics_networks = ["127.0.0.1/32"]\n',
    )
    async with admin_serving(config, redis_url) as (_, client):
        url = client.server.make_url("/metrics")
        statuses = []
        async with ClientSession(connector=TCPConnector(local_addr=("127.0.0.2", 0))) as other:
            for token in (None, WRONG, TOKEN):
                headers = {"Authorization": f"Bearer {token}"} if token else {}
                async with other.get(url, headers=headers) as response:
                    statuses.append((response.status, "syndicator_" in await response.text()))
    assert statuses == [(403, False), (403, False), (200, True)]

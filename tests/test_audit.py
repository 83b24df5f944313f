"""The audit log: every admin action (API and command line) with who, what, when and how
it ended; refused ones recorded too, failed token checks not; the last 1,000 kept; the API
and `syndicator audit` show the same entries."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest

from syndicator.operate.audit import cli_actor
from syndicator.store.audit import KEEP, AuditEntry, append_entry, read_entries
from syndicator.store.keys import Keys
from tests.admin_helpers import TOKEN, WRONG, admin_serving
from tests.processes import run_cli
from tests.test_web_admin_api import two_sources


@pytest.fixture
def token_env(monkeypatch):
    monkeypatch.delenv("SYNDICATOR_ADMIN_TOKEN_FILE", raising=False)
    monkeypatch.setenv("SYNDICATOR_ADMIN_TOKEN", TOKEN)


@pytest.fixture
def config(tmp_path, upstream, redis_url, prefix):
    return two_sources(tmp_path, upstream, redis_url, prefix)


async def cli(*args: str):
    return await asyncio.to_thread(run_cli, *args)


async def test_store_keeps_the_last_1000_newest_first(redis, prefix):
    keys = Keys(prefix)
    for n in range(KEEP + 5):
        await append_entry(redis, keys, AuditEntry(f"t{n}", "who", "pause", f"s{n}", "ok"))
    assert await redis.llen(keys.audit) == KEEP
    entries = await read_entries(redis, keys, KEEP)
    assert [e.target for e in entries[:2]] == [f"s{KEEP + 4}", f"s{KEEP + 3}"]
    assert entries[-1].target == "s5"  # the five oldest are gone
    assert [e.target for e in await read_entries(redis, keys, 3)] == [f"s{KEEP + 4 - i}" for i in range(3)]
    await redis.lpush(keys.audit, b"not json")  # a hand-written line is skipped, never an error
    assert len(await read_entries(redis, keys, 2)) == 1


async def test_api_actions_are_recorded_with_who_what_and_outcome(
    config, redis, redis_url, prefix, token_env
):
    before = datetime.now(UTC).replace(microsecond=0)
    async with admin_serving(config, redis_url) as (_, client):
        assert (
            await client.call("POST", "/sources/a/pause", json_body={"reason": "maintenance"})
        ).status == 200
        assert (await client.call("POST", "/sources/zzz/pause")).status == 404
        assert (await client.call("POST", "/reingest", json_body={"al": True})).status == 400
        assert (await client.call("POST", "/reingest", json_body={"all": True, "force": True})).status == 202
        assert (await client.call("POST", "/sources/a/resume")).status == 200
        # Not actions: reads, a wrong token, no token, an endpoint that does not exist.
        assert (await client.call("GET", "/sources")).status == 200
        assert (await client.call("POST", "/sources/a/pause", token=WRONG)).status == 401
        assert (await client.call("POST", "/sources/a/pause", token=None)).status == 401
        assert (await client.call("POST", "/nothing/here")).status == 404

        answer = await client.call("GET", "/audit")
        assert answer.status == 200
        entries = answer.body["entries"]
        seen = [(e["who"], e["action"], e["target"], e["outcome"]) for e in entries]
        assert seen == [
            ("127.0.0.1", "resume", "a", "ok"),
            ("127.0.0.1", "reingest", '{"all":true,"force":true}', "ok"),
            ("127.0.0.1", "reingest", "-", "refused"),
            ("127.0.0.1", "pause", "zzz", "refused"),
            ("127.0.0.1", "pause", "a", "ok"),
        ]
        details = [e["detail"] for e in entries]
        assert details[0] == "HTTP 200" and details[1] == "HTTP 202"
        assert details[2].startswith("HTTP 400: body: unknown field 'al'")
        assert details[3].startswith("HTTP 404: unknown source 'zzz'")
        for entry in entries:
            at = datetime.fromisoformat(entry["at"])
            assert before <= at <= datetime.now(UTC) + timedelta(seconds=1)
        # Reading the log is no action either, and ?limit= cuts it.
        limited = await client.call("GET", "/audit", params={"limit": "2"})
        assert [e["action"] for e in limited.body["entries"]] == ["resume", "reingest"]
        assert (await client.call("GET", "/audit", params={"limit": "0"})).status == 400
        assert (await client.call("GET", "/audit", params={"limit": "1001"})).status == 400
    assert await redis.llen(f"{prefix}audit") == 5


@pytest.mark.slow  # real processes for 25-60 s: out of the fast lane, in CI
async def test_cli_actions_are_recorded_and_audit_agrees_with_the_api(
    config, redis, redis_url, prefix, token_env
):
    paused = await cli("pause", "a", "--reason", "upstream moving", "--config", config.path)
    assert paused.returncode == 0, paused.stderr
    unknown = await cli("resume", "zzz", "--config", config.path)
    assert unknown.returncode == 2
    no_worker = await cli("reingest", "--all", "--config", config.path)
    assert no_worker.returncode == 3
    listed = await cli("sources", "--config", config.path)  # reads nothing into the log
    assert listed.returncode == 0

    shown = await cli("audit", "--json", "--config", config.path)
    assert shown.returncode == 0, shown.stderr
    entries = json.loads(shown.stdout)
    me = cli_actor()
    assert [(e["who"], e["action"], e["target"], e["outcome"]) for e in entries] == [
        (me, "reingest", '{"all":true}', "refused"),
        (me, "resume", "zzz", "refused"),
        (me, "pause", "a", "ok"),
    ]
    assert entries[0]["detail"] == "exit 3: no worker is running"
    assert entries[1]["detail"].startswith("exit 2: unknown source 'zzz'")
    assert entries[2]["detail"] == "exit 0: reason: upstream moving"

    async with admin_serving(config, redis_url) as (_, client):
        answer = await client.call("GET", "/audit")
    assert answer.body["entries"] == entries

    table = await cli("audit", "--limit", "2", "--config", config.path)
    assert table.returncode == 0, table.stderr
    header, *rows = [line.split("\t") for line in table.stdout.splitlines()]
    assert header == ["AT", "WHO", "ACTION", "TARGET", "OUTCOME", "DETAIL"]
    assert [r[1:5] for r in rows] == [
        [me, "reingest", '{"all":true}', "refused"],
        [me, "resume", "zzz", "refused"],
    ]
    bad = await cli("audit", "--limit", "0", "--config", config.path)
    assert bad.returncode == 2 and "--limit" in bad.stderr

"""Shared fixtures: a real Redis, a unique key prefix per test, a real upstream HTTP server.

Redis: `SYNDICATOR_TEST_REDIS_URL` when set (CI may point it at a database of the
machine's server); otherwise a private `redis-server` started once per session, exactly
as the embedded mode starts one. Each test writes only under its own prefix and queue
name, and deletes only those keys afterwards — never a flush.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from syndicator.embedded import EmbeddedRedis
from syndicator.store.connection import connect
from tests.upstream import Upstream

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
CORPUS = SHARED / "corpus"


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    configured = os.environ.get("SYNDICATOR_TEST_REDIS_URL")
    if configured:
        yield configured
        return
    with EmbeddedRedis(tmp_path_factory.mktemp("redis"), appendonly=False) as server:
        yield server.url


@pytest.fixture
def prefix() -> str:
    return f"t{uuid.uuid4().hex[:10]}:"


async def delete_created(redis: Redis, prefix: str) -> None:
    """Delete our prefix's keys and the arq keys whose job ids or queue carry the prefix."""
    for pattern in (f"{prefix}*", f"arq:*{prefix}*"):
        batch: list[bytes] = []
        async for key in redis.scan_iter(match=pattern, count=500):
            batch.append(key)
            if len(batch) >= 500:
                await redis.delete(*batch)
                batch.clear()
        if batch:
            await redis.delete(*batch)


@pytest.fixture
async def redis(redis_url: str, prefix: str) -> AsyncIterator[Redis]:
    client = connect(redis_url)
    try:
        yield client
    finally:
        await delete_created(client, prefix)
        await client.aclose()


@pytest.fixture
async def upstream() -> AsyncIterator[Upstream]:
    server = Upstream()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()

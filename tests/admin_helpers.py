"""The admin API served on loopback with a queue, a client that calls it, and the whole
store under a test's prefix (arq's keys for it included) for before/after comparisons."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass

from aiohttp import ClientSession
from aiohttp.test_utils import TestServer
from arq.connections import create_pool
from redis.asyncio import Redis

from syndicator.publish import publish_missing
from syndicator.runtime import Runtime
from syndicator.store.connection import RedisUrls, arq_settings
from syndicator.web.app import create_app

TOKEN = "adm1n-T0ken-for-tests-0123456789abcdefXYZ"  # 41 visible ASCII characters
WRONG = "wrong-T0ken-for-tests-0123456789abcdefXYZ"


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Mapping[str, str]
    body: object  # parsed JSON (None when the body is not JSON)
    text: str


@dataclass
class AdminClient:
    server: TestServer
    http: ClientSession
    token: str | None = TOKEN

    async def call(
        self,
        method: str,
        path: str,
        *,
        token: str | bool | None = True,
        json_body: object = None,
        data: bytes | None = None,
        params: Mapping[str, str] | None = None,
    ) -> Answer:
        """`method` on `/admin/api{path}`; `token=True` sends the client's token, a string
        sends that, None sends no Authorization header."""
        headers = {}
        chosen = self.token if token is True else token
        if chosen:
            headers["Authorization"] = f"Bearer {chosen}"
        kwargs: dict[str, object] = {"headers": headers, "params": params}
        if json_body is not None:
            kwargs["json"] = json_body
        elif data is not None:
            kwargs["data"] = data
        async with self.http.request(method, self.server.make_url(f"/admin/api{path}"), **kwargs) as resp:
            text = await resp.text()
            try:
                body = json.loads(text)
            except ValueError:
                body = None
            return Answer(resp.status, dict(resp.headers), body, text)


@contextlib.asynccontextmanager
async def admin_serving(config, redis_url: str | RedisUrls) -> AsyncIterator[tuple[Runtime, AdminClient]]:
    """The app (admin API included, its token from the environment as in production) on
    loopback, over a runtime with an arq queue like a web process's; every category published.
    `redis_url`: one Redis, or the queue's and the store's (`RedisUrls`: a cluster store)."""
    queue_url = redis_url.queue if isinstance(redis_url, RedisUrls) else redis_url
    queue = await create_pool(arq_settings(queue_url), default_queue_name=config.settings.queue_name)
    runtime = Runtime.open(config, redis_url, queue=queue)
    try:
        await publish_missing(runtime)  # inline: publish_missing never enqueues
        server = TestServer(create_app(runtime), host="127.0.0.1")
        await server.start_server()
        try:
            async with ClientSession() as http:
                yield runtime, AdminClient(server, http)
        finally:
            await server.close()
    finally:
        await runtime.close()
        await queue.aclose()


async def store_state(
    redis: Redis, prefix: str, *, audit: bool = True
) -> dict[bytes, tuple[bytes, bytes | None]]:
    """Every key under `prefix` and every arq key naming it (jobs, results, the queue):
    key → (type, serialized value). `audit=False` leaves the audit log out (a refused
    action changes nothing else, but is recorded there)."""
    state: dict[bytes, tuple[bytes, bytes | None]] = {}
    for pattern in (f"{prefix}*", f"arq:*{prefix}*"):
        async for key in redis.scan_iter(match=pattern, count=500):
            if not audit and key == f"{prefix}audit".encode():
                continue
            state[key] = (await redis.type(key), await redis.dump(key))
    return state


async def audit_outcomes(redis: Redis, prefix: str) -> list[str]:
    """The outcome of every action in the audit log, newest first."""
    return [json.loads(raw)["outcome"] for raw in await redis.lrange(f"{prefix}audit", 0, -1)]

"""`/healthz` and `/readyz` for everyone: alive regardless of Redis; ready while this process
can serve feeds; whether Redis answers, never where Redis is."""

from __future__ import annotations

import json
import logging

from aiohttp import ClientSession
from aiohttp.test_utils import TestServer

from syndicator.runtime import Runtime
from syndicator.web.app import create_app
from tests.builders import one_feed_config
from tests.processes import free_port


async def test_readyz_with_nothing_to_serve_is_503_and_hides_the_redis_address(
    tmp_path, upstream, prefix, caplog
) -> None:
    dead = f"redis://127.0.0.1:{free_port()}/0"  # nobody listens there
    config = one_feed_config(tmp_path, upstream, redis_url=dead, prefix=prefix, path="/feed.rss")
    runtime = Runtime.open(config, dead)
    server = TestServer(create_app(runtime))
    await server.start_server()
    caplog.set_level(logging.INFO)
    try:
        async with ClientSession() as http:
            async with http.get(server.make_url("/readyz")) as response:
                status, text = response.status, await response.text()
            async with http.get(server.make_url("/healthz")) as response:
                alive, alive_body = response.status, await response.json()
    finally:
        await server.close()
        await runtime.close()
    assert (alive, alive_body) == (200, {"status": "alive"})  # liveness never asks Redis
    assert status == 503
    body = json.loads(text)
    assert body["status"] == "unavailable" and body["redis"] == "unreachable"
    assert body["feeds"] == {  # nothing held yet
        "held": 0,
        "live": False,
        "served_stale_since": None,
        "responses": {"held": 0, "bytes": 0, "replayed": 0, "served_stale_since": None},
    }
    assert body["config"]["digest"] == config.digest and body["config"]["loaded_at"]
    assert "127.0.0.1" not in text and str(dead) not in text
    warnings = [r.getMessage() for r in caplog.records if r.name == "syndicator.web.readiness"]
    assert len(warnings) == 1 and warnings[0].startswith("readyz: Redis unreachable: ")
    assert "127.0.0.1" in warnings[0]  # the detail is in the operator's log

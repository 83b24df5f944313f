"""`/healthz` for everyone: it says whether Redis answers, never where Redis is."""

from __future__ import annotations

import json
import logging

from aiohttp import ClientSession
from aiohttp.test_utils import TestServer

from syndicator.runtime import Runtime
from syndicator.web.app import create_app
from tests.builders import one_feed_config
from tests.processes import free_port


async def test_healthz_hides_the_redis_address_and_logs_it(tmp_path, upstream, prefix, caplog) -> None:
    dead = f"redis://127.0.0.1:{free_port()}/0"  # nobody listens there
    config = one_feed_config(tmp_path, upstream, redis_url=dead, prefix=prefix, path="/feed.rss")
    runtime = Runtime.open(config, dead)
    server = TestServer(create_app(runtime))
    await server.start_server()
    caplog.set_level(logging.INFO)
    try:
        async with ClientSession() as http, http.get(server.make_url("/healthz")) as response:
            status, text = response.status, await response.text()
    finally:
        await server.close()
        await runtime.close()
    assert status == 503
    assert json.loads(text) == {
        "status": "unavailable",
        "redis": "unreachable",
        "feeds": {  # nothing held yet
            "held": 0,
            "live": False,
            "served_stale_since": None,
            "responses": {"held": 0, "bytes": 0, "replayed": 0, "served_stale_since": None},
        },
    }
    assert "127.0.0.1" not in text and str(dead) not in text
    warnings = [r.getMessage() for r in caplog.records if r.name == "syndicator.web.pages"]
    assert len(warnings) == 1 and warnings[0].startswith("healthz: Redis unreachable: ")
    assert "127.0.0.1" in warnings[0]  # the detail is in the operator's log

"""`syndicator web --processes 2`: two processes behind one port, each kept current by the
publish announcements, their metrics added up, and all stopped by one SIGTERM."""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import signal
import time

from tests.builders import items, rss
from tests.processes import free_port, store_environment
from tests.test_cli_serve import Running
from tests.test_metrics import config_for, ingest_and_publish, scrape_sync, total

FEED = "/feeds/tech.rss"


def etags_by_process(port: int, requests: list[int], attempts: int = 200) -> dict[int, str]:
    """The feed's ETag as each serving process answers it, keyed by its pid (from /readyz on
    the same keep-alive connection); new connections until two processes have answered."""
    seen: dict[int, str] = {}
    for _ in range(attempts):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            connection.request("GET", "/readyz")
            pid = json.loads(connection.getresponse().read())["pid"]
            connection.request("GET", FEED)
            response = connection.getresponse()
            response.read()
            assert response.status == 200
            requests.append(pid)
            seen[pid] = response.getheader("ETag")
        finally:
            connection.close()
        if len(seen) == 2:
            break
    return seen


def test_two_web_processes_share_a_port_follow_publishes_add_up_metrics_and_stop_together(
    tmp_path, redis, redis_url, prefix
):
    config = config_for(tmp_path, None, redis_url, prefix)

    asyncio.run(ingest_and_publish(config, redis_url, "good"))
    port = free_port()
    web = Running(
        ("web", "--config", config.path, "--port", str(port), "--processes", "2"),
        tmp_path,
        store_environment(redis_url, prefix),
        tmp_path / "web.log",
    )
    requests: list[int] = []
    try:
        deadline = time.monotonic() + 60
        while web.log.count("serving feeds at") < 2:
            assert web.process.poll() is None and time.monotonic() < deadline, web.log
            time.sleep(0.1)
        lines = web.log.splitlines()
        assert sum(line.startswith("config: ") for line in lines) == 1, web.log  # one configuration line
        [group] = [line for line in lines if line.startswith("web: 2 processes on ")]
        members = {int(pid) for pid in group.split("pids ")[1].split(";")[0].split()}

        before = etags_by_process(port, requests)
        assert set(before) == members, (before, members)  # two distinct processes answer
        assert len(set(before.values())) == 1

        (tmp_path / "feed.rss").write_bytes(rss(items("m", 4)))  # one more item: a new version
        asyncio.run(ingest_and_publish(config, redis_url, "good"))
        deadline = time.monotonic() + 30
        while True:
            after = etags_by_process(port, requests)
            if set(after) == members and before[next(iter(members))] not in after.values():
                break
            assert time.monotonic() < deadline, f"not every process serves the new version: {after}"
            time.sleep(0.2)
        assert len(set(after.values())) == 1  # both serve the same new version

        for _scrape in range(4):  # whichever process answers, its /metrics counts both
            samples = scrape_sync(f"http://127.0.0.1:{port}/metrics")
            assert total(samples, "syndicator_feed_requests_total", format="rss", status="200") == len(
                requests
            )
        assert set(requests) == members
    finally:
        assert web.stop(signal.SIGTERM) == 0, web.log
    for pid in members:  # the SIGTERM to the group stopped every member
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            continue
        raise AssertionError(f"process {pid} still runs after the group's SIGTERM")

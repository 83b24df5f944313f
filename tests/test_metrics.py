"""Prometheus metrics: `/metrics` of a web process, of `worker --metrics-port`, and of two web
processes sharing prometheus-client's multiprocess directory; refused from other networks.

Every scrape is parsed with prometheus-client's own parser, and the counters are compared
before and after real work: a real burst worker ingesting from a loopback upstream, real
feed requests to a server on loopback.
"""

from __future__ import annotations

import asyncio
import json
import signal
import urllib.error
import urllib.request
from dataclasses import replace
from pathlib import Path

from aiohttp import ClientSession, TCPConnector
from prometheus_client import Counter
from prometheus_client.parser import text_string_to_metric_families

from syndicator import metrics
from syndicator.ingest import ingest_source
from syndicator.publish import publish_missing
from syndicator.runtime import Runtime
from syndicator.store.schema import migrate
from syndicator.web.feeds import FEED_CACHE
from tests.builders import items, rss, write_config
from tests.harness import run_burst_worker, serving
from tests.processes import free_port, store_environment
from tests.test_cli_serve import Running
from tests.test_operate import HARBOUR_PAGE

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]

HISTOGRAMS = (
    "syndicator_fetch_duration_seconds",
    "syndicator_parse_duration_seconds",
    "syndicator_extract_duration_seconds",
    "syndicator_render_duration_seconds",
)


def parse(text: str) -> tuple[dict[str, object], Samples]:
    """The families by name, and every sample by (name, sorted labels)."""
    families = {f.name: f for f in text_string_to_metric_families(text)}
    samples: Samples = {}
    for family in families.values():
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return families, samples


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum of `name`'s samples whose labels include `labels`."""
    return sum(
        value
        for (sample, sample_labels), value in samples.items()
        if sample == name and set(labels.items()) <= set(sample_labels)
    )


def config_for(tmp_path: Path, upstream, redis_url: str, prefix: str, networks: str | None = None):
    """Two sources: `good` (3 items) and `broken` (404, a secret in its URL), from the
    loopback upstream; with `upstream` None, from files (a test outside the event loop that
    serves the upstream: the processes' tests)."""
    src = {"categories": ["tech"], "allow_private_network": True}
    if upstream is not None:
        upstream.put("/feed.rss", rss(items("m", 3)), "application/rss+xml")
        good, broken = upstream.url("/feed.rss"), upstream.url("/missing.rss?token=s3cret")
    else:
        (tmp_path / "feed.rss").write_bytes(rss(items("m", 3)))
        good, broken = "file:feed.rss", "http://user:s3cret@127.0.0.1:9/missing.rss"
    admin = f"\n[admin]\nmetrics_networks = {networks}\n" if networks else ""
    return write_config(
        tmp_path,
        redis_url=redis_url,
        prefix=prefix,
        categories=[{"slug": "tech", "title": "Technology"}],
        sources=[{"id": "good", "url": good, **src}, {"id": "broken", "url": broken, **src}],
        # One try per job: the broken source's retry (after about 2 s) would otherwise race
        # the scrapes that count its one fetch.
        extra_server="max_tries = 1\n" + admin,
    )


async def ingest_and_publish(config, redis_url: str, source_id: str) -> None:
    """`source_id` ingested and its categories published inline (no queue), into a store
    stamped current, as `web` requires."""
    runtime = Runtime.open(config, redis_url)
    try:
        await migrate(runtime.redis, runtime.keys)
        await ingest_source(runtime, source_id)
        await publish_missing(runtime)
    finally:
        await runtime.close()


async def scrape(http: ClientSession, url: str) -> tuple[dict[str, object], Samples, str]:
    async with http.get(url) as response:
        text = await response.text()
        assert response.status == 200, text
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return (*parse(text), text)


async def until(condition, what: str, seconds: float = 30.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"no {what} within {seconds}s")


async def test_metrics_parse_and_move_with_jobs_and_feed_requests(
    tmp_path, upstream, redis, redis_url, prefix
):
    config = config_for(tmp_path, upstream, redis_url, prefix)
    async with serving(config, redis_url) as (_runtime, server), ClientSession() as http:
        metrics_url = str(server.make_url("/metrics"))
        _, before, _ = await scrape(http, metrics_url)

        await run_burst_worker(config, redis_url)  # the scheduler enqueues both sources
        await until(lambda: server.app[FEED_CACHE].live, "live feed cache")
        for path in ("/feeds/tech.rss", "/feeds/tech.rss", "/feeds/tech.atom", "/feeds/nope.rss"):
            async with http.get(server.make_url(path)) as response:
                await response.read()

        families, after, text = await scrape(http, metrics_url)

    def moved(name: str, **labels: str) -> float:
        return total(after, name, **labels) - total(before, name, **labels)

    assert moved("syndicator_fetches_total", source="good", outcome="ok") == 1
    assert moved("syndicator_fetches_total", source="broken", outcome="http_4xx") == 1
    assert moved("syndicator_articles_total", source="good", result="stored") == 3
    assert moved("syndicator_publishes_total", category="tech", result="changed") >= 1
    assert moved("syndicator_fetch_duration_seconds_count") == 2
    assert moved("syndicator_parse_duration_seconds_count") == 1  # the broken source has no body
    assert moved("syndicator_render_duration_seconds_count") >= 1
    assert moved("syndicator_feed_requests_total", format="rss", status="200") == 2
    assert moved("syndicator_feed_requests_total", format="atom", status="200") == 1
    assert moved("syndicator_feed_requests_total", format="rss", status="404", cache="none") == 1
    # The second request of the same feed came from this process's memory.
    assert moved("syndicator_feed_requests_total", format="rss", status="200", cache="memory") >= 1
    # Computed at scrape time from Redis.
    assert total(after, "syndicator_redis_up") == 1
    assert ("syndicator_scheduler_lag_seconds", ()) in after
    assert ("syndicator_queue_depth", ()) in after and ("syndicator_runs_in_progress", ()) in after
    assert total(after, "syndicator_failing_sources") == 1  # `broken`
    assert total(after, "syndicator_sources", state="failing") == 1
    assert total(after, "syndicator_sources", state="ok") == 1
    assert total(after, "syndicator_config_info", digest=config.digest) == 1

    # Labels name sources, never URLs; histograms have no per-source label.
    assert "s3cret" not in text and "/missing.rss" not in text
    for (_name, labels), _value in after.items():
        assert not any("://" in value for _key, value in labels), labels
    for name in HISTOGRAMS:
        assert families[name.removesuffix("_total")].type == "histogram"
        assert all("source" not in s.labels for s in families[name].samples)


async def test_extraction_updates_deduplication_and_scheduler_lag_move_the_metrics(
    tmp_path, upstream, redis, redis_url, prefix
):
    """What the first test's two feed sources cannot move: a page source's extraction, an
    article that changes upstream, the same article through a second source, and a source
    overdue because no scheduler runs."""
    upstream.put("/first.rss", rss(items("d", 2)), "application/rss+xml")
    upstream.put("/second.rss", rss(items("d", 1)), "application/rss+xml")  # d-0's link again
    upstream.put("/harbour.html", HARBOUR_PAGE.encode(), "text/html; charset=utf-8")
    src = {"categories": ["tech"], "allow_private_network": True}
    config = write_config(
        tmp_path,
        redis_url=redis_url,
        prefix=prefix,
        categories=[{"slug": "tech", "title": "Technology"}],
        sources=[
            {"id": "first", "url": upstream.url("/first.rss"), "poll_interval": "1s", **src},
            {"id": "second", "url": upstream.url("/second.rss"), **src},
            {"id": "harbour", "url": upstream.url("/harbour.html"), "kind": "page", **src},
        ],
    )
    async with serving(config, redis_url) as (runtime, server), ClientSession() as http:
        metrics_url = str(server.make_url("/metrics"))
        _, before, _ = await scrape(http, metrics_url)
        await run_burst_worker(config, redis_url)  # the scheduler enqueues all three
        d0, d1 = items("d", 2)
        upstream.put(
            "/first.rss", rss([d0, replace(d1, body="<p>d body 1, corrected</p>")]), "application/rss+xml"
        )
        corrected = await ingest_source(runtime, "first")  # inline, as `syndicator ingest first`
        assert corrected.counts.get("changed") == 1

        # No worker runs now: `first` (polled every second) falls behind its due time.
        lag = 0.0
        for _ in range(100):
            _, samples, _ = await scrape(http, metrics_url)
            if (lag := total(samples, "syndicator_scheduler_lag_seconds")) > 0:
                break
            await asyncio.sleep(0.05)
        _, after, _ = await scrape(http, metrics_url)

    def moved(name: str, **labels: str) -> float:
        return total(after, name, **labels) - total(before, name, **labels)

    assert moved("syndicator_extract_duration_seconds_count") == 1  # the page, extracted once
    assert moved("syndicator_extract_duration_seconds_sum") > 0
    assert moved("syndicator_articles_total", source="harbour", result="stored") == 1
    assert moved("syndicator_articles_total", source="first", result="updated") == 1
    # d-0 came through both feeds: stored from one, deduplicated from the other.
    assert moved("syndicator_articles_total", result="deduplicated") == 1
    assert moved("syndicator_articles_total", result="stored") == 3  # d-0, d-1, the page
    assert lag > 0 and total(after, "syndicator_scheduler_lag_seconds") >= lag


async def test_metrics_answer_only_to_the_configured_networks(tmp_path, upstream, redis, redis_url, prefix):
    config = config_for(tmp_path, upstream, redis_url, prefix, networks='["127.0.0.1/32"]')
    async with serving(config, redis_url) as (_runtime, server):
        url = f"http://127.0.0.1:{server.port}/metrics"
        async with ClientSession(connector=TCPConnector(local_addr=("127.0.0.2", 0))) as other:
            async with other.get(url) as response:
                refused, refusal = response.status, await response.text()
            async with other.get(f"http://127.0.0.1:{server.port}/readyz") as response:
                ready = response.status  # only /metrics is restricted
        async with ClientSession() as http, http.get(url) as response:
            allowed = response.status
    assert (refused, ready, allowed) == (403, 200, 200)
    assert "syndicator_" not in refusal


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def scrape_sync(url: str) -> Samples:
    status, text = get(url)
    assert status == 200, text
    return parse(text)[1]


def eventually(check, what: str, seconds: float = 60.0) -> None:
    asyncio.run(until(check, what, seconds))


def test_worker_serves_its_metrics_on_loopback(tmp_path, redis, redis_url, prefix):
    config = config_for(tmp_path, None, redis_url, prefix)
    port = free_port()
    worker = Running(
        ("worker", "--config", config.path, "--metrics-port", str(port)),
        tmp_path,
        store_environment(redis_url, prefix),
        tmp_path / "worker.log",
    )
    try:
        worker.wait_for(f"worker: metrics at http://127.0.0.1:{port}/metrics")
        url = f"http://127.0.0.1:{port}/metrics"
        eventually(
            lambda: total(scrape_sync(url), "syndicator_articles_total", source="good", result="stored") == 3,
            "the worker's articles counted",
            seconds=20,
        )
        samples = scrape_sync(url)
        assert total(samples, "syndicator_fetches_total", source="good", outcome="ok") == 1
        eventually(
            lambda: total(scrape_sync(url), "syndicator_fetches_total", source="broken", outcome="error"),
            "the broken source's fetch counted",
            seconds=20,
        )
        assert total(samples, "syndicator_redis_up") == 1
        assert get(f"http://127.0.0.1:{port}/readyz")[0] == 404  # metrics only
    finally:
        assert worker.stop(signal.SIGTERM) == 0, worker.log
    assert "Traceback" not in worker.log


def test_two_web_processes_add_up_through_the_multiprocess_directory(tmp_path, redis, redis_url, prefix):
    config = config_for(tmp_path, None, redis_url, prefix)

    asyncio.run(ingest_and_publish(config, redis_url, "good"))
    shared = tmp_path / "prometheus"
    shared.mkdir()
    ports = free_port(), free_port()
    webs = [
        Running(
            ("web", "--config", config.path, "--port", str(port)),
            tmp_path,
            store_environment(redis_url, prefix) | {"PROMETHEUS_MULTIPROC_DIR": str(shared)},
            tmp_path / f"web{n}.log",
        )
        for n, port in enumerate(ports)
    ]
    try:
        for web in webs:
            web.wait_for("serving feeds at")
        for port, times in zip(ports, (2, 3), strict=True):
            for _ in range(times):
                assert get(f"http://127.0.0.1:{port}/feeds/tech.rss")[0] == 200
        for port in ports:  # either process reports both
            samples = scrape_sync(f"http://127.0.0.1:{port}/metrics")
            assert total(samples, "syndicator_feed_requests_total", format="rss", status="200") == 5
    finally:
        for web in webs:
            assert web.stop(signal.SIGTERM) == 0, web.log


def test_serve_exposes_its_worker_and_web_metrics_and_logs_json(tmp_path, redis, redis_url, prefix):
    """`serve` is both in one: its /metrics counts the in-process worker's fetches and the
    feed requests; its JSON log lines carry the run's fields with the URL's secret hidden."""
    config = config_for(tmp_path, None, redis_url, prefix)
    port = free_port()
    serve = Running(
        ("serve", "--config", config.path, "--port", str(port)),
        tmp_path,
        store_environment(redis_url, prefix) | {"SYNDICATOR_LOG_FORMAT": "json"},
        tmp_path / "serve.log",
    )
    site = f"http://127.0.0.1:{port}"
    try:
        serve.wait_for("serving feeds at")
        eventually(
            lambda: total(scrape_sync(f"{site}/metrics"), "syndicator_fetches_total", source="broken"),
            "the broken source's fetch counted",
            seconds=30,
        )
        eventually(lambda: b"m title 1" in urllib.request.urlopen(f"{site}/feeds/tech.rss").read(), "feed")
        samples = scrape_sync(f"{site}/metrics")
        assert total(samples, "syndicator_fetches_total", source="good", outcome="ok") == 1
        assert total(samples, "syndicator_fetches_total", source="broken", outcome="error") == 1
        assert total(samples, "syndicator_feed_requests_total", format="rss", status="200") >= 1
    finally:
        assert serve.stop(signal.SIGTERM) == 0, serve.log
    records = [json.loads(line) for line in serve.log.splitlines() if line.startswith("{")]
    [failed] = [r for r in records if r.get("event") == "ingest_failed"]
    assert {"time", "level", "logger", "message", "source_id", "run_id", "url", "outcome", "duration"} <= set(
        failed
    )
    assert failed["source_id"] == "broken" and failed["level"] == "WARNING"
    assert failed["url"] == "http://user:***@127.0.0.1:9/missing.rss"
    assert "s3cret" not in serve.log


def counted(counter: Counter, fmt: str, status: str) -> float:
    """The Counter's total for one (format, status), as a scrape would read it."""
    [family] = counter.collect()
    wanted = {"format": fmt, "status": status}
    return sum(s.value for s in family.samples if s.name.endswith("_total") and s.labels == wanted)


async def test_a_loop_tally_reaches_its_counter_at_the_end_of_the_loop_turn_and_before_a_scrape():
    """Feed requests are counted in a dict and added to their Counter once per turn of
    the event loop (metrics.LoopTally): by the next turn, or by a scrape within the same
    turn, every count is in the Counter, under the labels as strings."""
    counter = Counter("syndicator_test_tally", "tally test", ["format", "status"], registry=None)
    tally = metrics.LoopTally(counter)
    for _ in range(3):
        tally.add(("rss", 200))
    tally.add(("atom", 304))
    assert counted(counter, "rss", "200") == 0  # not yet: the loop turn is not over
    await asyncio.sleep(0)
    assert counted(counter, "rss", "200") == 3
    assert counted(counter, "atom", "304") == 1
    tally.add(("rss", 200))
    metrics.exposition()  # a scrape flushes what this turn counted
    assert counted(counter, "rss", "200") == 4
    await asyncio.sleep(0)
    assert counted(counter, "rss", "200") == 4  # counted once
    metrics._TALLIES.remove(tally)

"""Prometheus metrics: the families every Syndicator process records, and their exposition.

Counters and histograms are recorded where the work happens (fetch, parse pool, store,
publish, the web middleware) into prometheus-client's default registry. With
`PROMETHEUS_MULTIPROC_DIR` set *before the process starts*, prometheus-client writes them to
files in that directory instead, and any one web process's `/metrics` adds up every
process's files: run several web processes (and workers) with the same directory and one
scrape sees them all. The directory must be emptied when the whole set of processes
restarts (prometheus-client's rule: stale files of dead processes keep counting).

Values that describe the store rather than this process — queue depth, sources by state,
failing sources, scheduler lag, worker heartbeats — are not recorded anywhere: the process
that is scraped computes them from Redis at scrape time (`ScrapeValues`) and appends them.

Labels carry source ids and category slugs, never URLs; histograms carry no per-source
label (one series per bucket per source would be the largest part of a scrape).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

# Upstream requests take from milliseconds (file:, a 304) to the fetch timeout (60 s).
_SLOW = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
# Parsing, extraction and rendering run in the parse pool or in memory: mostly < 1 s.
_FAST = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

FETCHES = Counter(
    "syndicator_fetches",
    "Upstream fetches by source and outcome (ok, not_modified, http_4xx, http_5xx, error).",
    ["source", "outcome"],
)
FETCH_SECONDS = Histogram("syndicator_fetch_duration_seconds", "Upstream fetch time.", buckets=_SLOW)
PARSE_SECONDS = Histogram(
    "syndicator_parse_duration_seconds", "Parse time of feeds, listings and sitemaps.", buckets=_FAST
)
EXTRACT_SECONDS = Histogram(
    "syndicator_extract_duration_seconds", "Extraction time of article pages.", buckets=_FAST
)
ARTICLES = Counter(
    "syndicator_articles",
    "Articles ingested by source and result (stored, updated, deduplicated, unchanged, evicted, hidden).",
    ["source", "result"],
)
PUBLISHES = Counter(
    "syndicator_publishes",
    "Publish runs by category and result (changed: a new version stored; unchanged).",
    ["category", "result"],
)
RENDER_SECONDS = Histogram(
    "syndicator_render_duration_seconds", "Rendering one category in every format.", buckets=_FAST
)
FEED_REQUESTS = Counter(
    "syndicator_feed_requests",
    "Feed requests by format, HTTP status and cache outcome (memory, redis, stale, variant, delta, none).",
    ["format", "status", "cache"],
)
WEBSUB_PUSHES = Counter(
    "syndicator_websub_pushes",
    "Pushes from upstream WebSub hubs by source and outcome (ingested, unsigned, bad_signature, refused).",
    ["source", "outcome"],
)

# What store.articles' upsert outcomes are called here (operators' words).
ARTICLE_RESULTS = {
    "new": "stored",
    "changed": "updated",
    "merged": "deduplicated",
    "unchanged": "unchanged",
    "evicted": "evicted",
    "hidden": "hidden",  # taken down by an operator (store/takedown.py): not stored again
}


def fetch_outcome(status: int | None, error: bool) -> str:
    """The `outcome` label of a fetch: its HTTP status class, or `error` without one."""
    if not error:
        return "not_modified" if status == 304 else "ok"
    if status is not None and 400 <= status < 600:
        return f"http_{status // 100}xx"
    return "error"


@contextmanager
def timed(histogram: Histogram) -> Iterator[None]:
    """Observe the block's wall time (also when it raises)."""
    start = time.perf_counter()
    try:
        yield
    finally:
        histogram.observe(time.perf_counter() - start)


def count_articles(counts: dict[str, int], source_id: str) -> None:
    """Add one ingest's upsert outcome counts (`new`, `changed`, …) to ARTICLES."""
    for outcome, n in counts.items():
        if n and outcome in ARTICLE_RESULTS:
            ARTICLES.labels(source_id, ARTICLE_RESULTS[outcome]).inc(n)


# ---------------------------------------------------------------- scrape-time values


@dataclass
class ScrapeValues:
    """Gauges computed from Redis by the process being scraped, at scrape time.

    `None` for a value that could not be read (Redis down): the gauge is then left out of
    the scrape rather than reported as 0, which would read as "all well".
    """

    redis_up: bool = False
    queue_depth: int | None = None
    runs_in_progress: int | None = None
    sources_by_state: dict[str, int] | None = None
    scheduler_lag: float | None = None
    # worker id → seconds since its last heartbeat
    heartbeat_ages: dict[str, float] | None = None
    feeds_held: int | None = None
    # Seconds; 0 while what this process serves is current (held feeds and kept responses).
    feeds_stale_for: float | None = None
    config_digest: str | None = None
    config_loaded_at: float | None = None  # unix time

    def families(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("syndicator_redis_up", "1 when this process reached Redis at scrape time.")
        up.add_metric([], 1.0 if self.redis_up else 0.0)
        yield up
        if self.queue_depth is not None:
            yield GaugeMetricFamily(
                "syndicator_queue_depth", "Jobs waiting in the queue.", value=self.queue_depth
            )
        if self.runs_in_progress is not None:
            yield GaugeMetricFamily(
                "syndicator_runs_in_progress", "Runs a worker is executing.", value=self.runs_in_progress
            )
        if self.sources_by_state is not None:
            states = GaugeMetricFamily(
                "syndicator_sources",
                "Configured sources by state (ok, failing, paused, gone).",
                labels=["state"],
            )
            for state, n in sorted(self.sources_by_state.items()):
                states.add_metric([state], n)
            yield states
            yield GaugeMetricFamily(
                "syndicator_failing_sources",
                "Sources whose last poll failed.",
                value=self.sources_by_state.get("failing", 0),
            )
        if self.scheduler_lag is not None:
            yield GaugeMetricFamily(
                "syndicator_scheduler_lag_seconds",
                "How long the most overdue polled source has been due (0: none is overdue).",
                value=self.scheduler_lag,
            )
        if self.heartbeat_ages is not None:
            yield GaugeMetricFamily(
                "syndicator_workers_alive",
                "Workers whose heartbeat key exists.",
                value=len(self.heartbeat_ages),
            )
            ages = GaugeMetricFamily(
                "syndicator_worker_heartbeat_age_seconds",
                "Seconds since each live worker's last heartbeat.",
                labels=["worker"],
            )
            for worker, age in sorted(self.heartbeat_ages.items()):
                ages.add_metric([worker], age)
            yield ages
        if self.feeds_held is not None:
            yield GaugeMetricFamily(
                "syndicator_feeds_held", "Feeds this web process holds in memory.", value=self.feeds_held
            )
        if self.feeds_stale_for is not None:
            yield GaugeMetricFamily(
                "syndicator_feeds_stale_seconds",
                "How long this process has served its held feeds, or kept variant, delta and "
                "archive responses, without knowing they are current.",
                value=self.feeds_stale_for,
            )
        if self.config_digest is not None:
            info = GaugeMetricFamily(
                "syndicator_config_info", "The configuration this process runs (sha256).", labels=["digest"]
            )
            info.add_metric([self.config_digest], 1.0)
            yield info
        if self.config_loaded_at is not None:
            yield GaugeMetricFamily(
                "syndicator_config_loaded_timestamp_seconds",
                "When this process loaded or last reloaded its configuration.",
                value=self.config_loaded_at,
            )


class _Fixed(Collector):
    def __init__(self, metrics: list[Metric]) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[Metric]:
        yield from self.metrics


class _Default(Collector):
    """This process's own registry (single-process mode)."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


class LoopTally:
    """Increments of one labelled Counter, kept in a dict and added to it once per turn of
    the event loop (and before every scrape of this process).

    Why: prometheus-client's `inc` is five Python calls and a lock; the feed requests are
    the hot path (issue 16), where each Python call is about 1 % of a 304's cost. Counts
    reach the Counter (and, with PROMETHEUS_MULTIPROC_DIR, its file, which other processes'
    scrapes read) at the end of the loop turn that answered the request, before the loop
    reads the next request."""

    def __init__(self, counter: Counter) -> None:
        self.counter = counter
        self.pending: defaultdict[tuple[object, ...], int] = defaultdict(int)
        self.children: dict[tuple[object, ...], Counter] = {}  # `labels()` takes a lock
        self.scheduled = False
        _TALLIES.append(self)

    def add(self, labels: tuple[object, ...]) -> None:
        self.pending[labels] += 1
        if not self.scheduled:
            try:
                asyncio.get_running_loop().call_soon(self.flush)
            except RuntimeError:  # no event loop: nothing would flush it later
                self.flush()
                return
            self.scheduled = True

    def flush(self) -> None:
        self.scheduled = False
        pending, self.pending = self.pending, defaultdict(int)
        for labels, count in pending.items():
            child = self.children.get(labels)
            if child is None:
                child = self.children[labels] = self.counter.labels(*(str(v) for v in labels))
            child.inc(count)


_TALLIES: list[LoopTally] = []


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_ENV) or None


def exposition(values: ScrapeValues | None = None) -> bytes:
    """The text a scrape returns: every process's recorded families (this one's, or all in
    the multiprocess directory), then the scrape-time gauges."""
    for tally in _TALLIES:
        tally.flush()
    registry = CollectorRegistry(auto_describe=False)
    if multiprocess_dir():
        MultiProcessCollector(registry)
    else:
        registry.register(_Default())
    if values is not None:
        registry.register(_Fixed(list(values.families())))
    return generate_latest(registry)

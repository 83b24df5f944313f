"""`/readyz` and `/metrics` of a web process, and the metrics-only server of a worker.

`/healthz` (pages.py) says the process is alive and nothing else: it touches no Redis, so
a supervisor never restarts a web process for an outage of the store. `/readyz` says
whether this process can answer feed requests: 200 while Redis answers *or* it holds
feeds in memory (feedcache.py serves those through an outage), 503 only when it can serve
nothing. Its JSON body tells an operator why: Redis reachability, the feeds held and since
when they may be stale, the worker heartbeats seen (a stale or missing worker is shown,
never a reason for a web process to leave the load balancer), and the configuration
running (path, digest, load or reload time).

`/metrics` is Prometheus' text format (syndicator/metrics.py), for the networks in
`admin.metrics_networks` (default loopback) or a request with the admin token; anyone
else gets 403. The peer address counts, never X-Forwarded-For (anyone can send it).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
from collections import Counter
from datetime import UTC, datetime

from aiohttp import web
from redis.exceptions import RedisError

from syndicator import metrics
from syndicator.config.reload import ConfigReloader
from syndicator.operate import STATES, list_health, queue_status
from syndicator.operate.health import scheduler_lag
from syndicator.publish import moved_categories
from syndicator.runtime import Runtime
from syndicator.store.heartbeats import live_workers
from syndicator.web.admin.token import AdminTokenError, bearer_ok, load_admin_token
from syndicator.web.errors import guarded
from syndicator.web.feeds import FEED_CACHE, RUNTIME
from syndicator.web.lastgood import LAST_GOOD
from syndicator.web.pages import RELOADER, config_status

log = logging.getLogger(__name__)

STARTED = web.AppKey("started_at", datetime)  # when this app (and its configuration) started
REDIS_WAIT = 2.0  # seconds a probe or a scrape waits for Redis before reporting it down


# ---------------------------------------------------------------- /readyz


async def _redis_up(runtime: Runtime) -> bool:
    try:
        async with asyncio.timeout(REDIS_WAIT):
            await runtime.redis.ping()
    except (RedisError, OSError, TimeoutError) as exc:
        # The error names the Redis address: the operator's log gets it, the public body
        # only says that the store is unreachable.
        log.warning("readyz: Redis unreachable: %s", exc, extra={"event": "redis_unreachable"})
        return False
    return True


async def _workers(runtime: Runtime) -> list[dict[str, object]]:
    """The worker heartbeats in Redis, each with its age and whether it is stale (a beat
    missed: shown here and in the metrics, never a reason for this process to be unready)."""
    now = datetime.now(UTC)
    return [
        {**beat.as_dict(), "age_seconds": round(beat.age(now), 3), "stale": beat.stale(now)}
        for beat in await live_workers(runtime.bus, runtime.keys)
    ]


def feeds_status(app: web.Application) -> dict[str, object]:
    """What this process holds to serve while Redis is down: plain feeds (FeedCache) and,
    under `responses`, the last good variant, delta and archive responses (lastgood.py).
    `served_stale_since` is the earlier of the two: since then something served may be stale."""
    feeds = app[FEED_CACHE].status()
    responses = app[LAST_GOOD].status()
    since = [s for s in (feeds["served_stale_since"], responses["served_stale_since"]) if s]
    return feeds | {"served_stale_since": min(since, default=None), "responses": responses}


async def readyz(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    feeds = feeds_status(request.app)
    redis_up = await _redis_up(runtime)
    ready = (
        redis_up
        or bool(feeds["held"])
        or bool(LAST_GOOD in request.app and request.app[LAST_GOOD].status()["held"])
    )
    reloader = request.app.get(RELOADER)
    config = config_status(runtime, reloader)
    config["loaded_at"] = _loaded_at(request.app, reloader).isoformat()
    body: dict[str, object] = {
        "status": "ready" if ready else "unavailable",
        "redis": "ok" if redis_up else "unreachable",
        # From memory while Redis is down (possibly stale since `served_stale_since`).
        "feeds": feeds,
        "sources": len(runtime.config.sources),
        "config": config,
        # Which process answered: with `web --processes N` the N share one port.
        "pid": os.getpid(),
    }
    if redis_up:
        try:
            async with asyncio.timeout(REDIS_WAIT):
                body["workers"] = await _workers(runtime)
                # Stored feeds rendered for another address (slug → it) until a worker republishes.
                body["base_url"] = {
                    "this_process": runtime.site_url,
                    "stored": await moved_categories(runtime),
                }
        except (RedisError, OSError, TimeoutError) as exc:
            log.warning("readyz: Redis failed mid-probe: %s", exc)
            body["redis"] = "unreachable"
    return web.json_response(body, status=200 if ready else 503)


def _loaded_at(app: web.Application, reloader: ConfigReloader | None) -> datetime:
    if reloader is not None and reloader.reloaded_at is not None:
        return reloader.reloaded_at
    return app[STARTED]


# ---------------------------------------------------------------- /metrics


# The admin token (which opens /metrics from anywhere), read once when the app is built:
# `web`/`serve` refused an unusable one at start, so a scrape never reads the environment
# or the token file again.
METRICS_TOKEN = web.AppKey("metrics_token", str)


def _configured_token() -> str | None:
    try:
        return load_admin_token()
    except AdminTokenError:
        return None


def metrics_allowed(request: web.Request, runtime: Runtime) -> bool:
    """From a network in `admin.metrics_networks`, or with the admin token."""
    peer = request.transport.get_extra_info("peername") if request.transport else None
    if peer:
        try:
            address = ipaddress.ip_address(peer[0])
        except ValueError:
            address = None
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped  # an IPv4 client of a dual-stack listener
        if address is not None:
            networks = (ipaddress.ip_network(n) for n in runtime.config.admin.metrics_networks)
            if any(address in network for network in networks):
                return True
    return bearer_ok(request, request.app.get(METRICS_TOKEN))


async def scrape_values(runtime: Runtime, app: web.Application | None = None) -> metrics.ScrapeValues:
    """The gauges computed from Redis now (see metrics.ScrapeValues); `app`: a web
    process's, for its feed cache and configuration."""
    values = metrics.ScrapeValues(config_digest=runtime.config.digest or None)
    if app is not None:
        cache = app[FEED_CACHE]
        values.feeds_held = cache.status()["held"]  # type: ignore[assignment]
        # Since when anything this process serves may be stale, as /readyz's
        # `served_stale_since`: the earlier of the held feeds' and the kept responses'.
        kept = app[LAST_GOOD].stale_since if LAST_GOOD in app else None
        stale = min((s for s in (cache.stale_since, kept) if s is not None), default=None)
        values.feeds_stale_for = (datetime.now(UTC) - stale).total_seconds() if stale else 0.0
        values.config_loaded_at = _loaded_at(app, app.get(RELOADER)).timestamp()
    try:
        async with asyncio.timeout(REDIS_WAIT):
            await runtime.redis.ping()
            values.redis_up = True
            await _store_values(runtime, values)
    except (RedisError, OSError, TimeoutError) as exc:
        log.warning("metrics: Redis unreachable: %s", exc, extra={"event": "redis_unreachable"})
    return values


async def _store_values(runtime: Runtime, values: metrics.ScrapeValues) -> None:
    """Queue depth, runs in progress and heartbeats (`operate.queue_status`), sources by
    state and scheduler lag (`operate.list_health`), read from Redis now."""
    now = datetime.now(UTC)
    queue = await queue_status(runtime)
    values.queue_depth = queue.depth
    values.runs_in_progress = len(queue.runs)
    values.heartbeat_ages = {beat.worker_id: beat.age(now) for beat in queue.workers}
    healths = await list_health(runtime, now=now)
    values.sources_by_state = {state: 0 for state in STATES} | Counter(h.state for h in healths)
    values.scheduler_lag = scheduler_lag(healths, now)


async def serve_metrics(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    if not metrics_allowed(request, runtime):
        return web.Response(status=403, text="metrics: not from this address (admin.metrics_networks)\n")
    values = await scrape_values(runtime, request.app if FEED_CACHE in request.app else None)
    return web.Response(body=metrics.exposition(values), headers={"Content-Type": metrics.CONTENT_TYPE})


def install(app: web.Application) -> None:
    """Give a web app `/readyz` and `/metrics` (feed requests are counted by errors.feed_route)."""
    app[STARTED] = datetime.now(UTC)
    if (token := _configured_token()) is not None:
        app[METRICS_TOKEN] = token
    app.router.add_get("/readyz", guarded(readyz))
    app.router.add_get("/metrics", guarded(serve_metrics))


def metrics_app(runtime: Runtime) -> web.Application:
    """A worker's metrics server (`syndicator worker --metrics-port`): `/metrics` only."""
    app = web.Application()
    app[RUNTIME] = runtime
    if (token := _configured_token()) is not None:
        app[METRICS_TOKEN] = token
    app.router.add_get("/metrics", serve_metrics)
    return app

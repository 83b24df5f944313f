"""arq worker settings, for `syndicator worker`/`serve` and `arq workers.main.WorkerSettings`.

arq reads settings from a class's own `__dict__` (a subclass loses its parent's attributes,
arq #472), so `worker_settings()` builds a fresh, complete class for a given config, and
`settings_from_environment()` is that class for the configuration the environment names.

Under arq's own command (`arq workers.main.WorkerSettings`) Redis is waited for before
arq sees the settings: one line says where it is tried, and the worker starts once Redis
answers, however late (arq alone retries `conn_retries` times, then exits with a
traceback). arq's worker still exits when Redis drops while it runs (arq #435): unlike
`syndicator worker`, that command needs a supervisor that restarts it (Docker
`restart: unless-stopped`, systemd `Restart=always`); the restarted worker waits here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from arq import cron, func
from arq.connections import ArqRedis
from redis.exceptions import RedisError

from syndicator.config import load_config
from syndicator.config.changes import ConfigChange
from syndicator.config.reload import ConfigReloader, OnApply
from syndicator.hub.intent import VERIFY_JOB
from syndicator.hub.leases import MAINTAIN_JOB
from syndicator.models import Config
from syndicator.operate.reprocess import JOB_NAME as REPROCESS_JOB
from syndicator.publish import enqueue_publish, republish_moved
from syndicator.runtime import Runtime, external_redis, public_url_required
from syndicator.store.connection import RedisUrls, arq_settings, wait_for_redis
from syndicator.store.heartbeats import BEAT_INTERVAL, new_worker_id, remove_heartbeat, write_heartbeat
from syndicator.subscriber.push import JOB_NAME as PUSH_JOB
from syndicator.worker.hubjobs import close_pushers, hub_functions, start_pushers
from syndicator.worker.jobs import (
    full_text_job,
    hub_maintain_job,
    hub_verify_job,
    ingest_job,
    page_job,
    publish_job,
    reprocess_job,
    websub_push_job,
)
from syndicator.worker.schedule import schedule_job

log = logging.getLogger("syndicator.worker")


def republisher(runtime: Runtime) -> OnApply:
    """After a reload, publish every category again: titles, TTLs (from the sources' poll
    intervals) and new categories reach the feeds; unchanged bytes store no new version."""

    async def republish(change: ConfigChange) -> None:
        await enqueue_publish(runtime, sorted(change.config.categories))

    return republish


class Beating:
    """This worker's heartbeat (store/heartbeats.py): its id, the jobs it is running, and
    the task that writes the key every `interval` seconds until the worker stops."""

    def __init__(self, runtime: Runtime, interval: float) -> None:
        self.runtime = runtime
        self.interval = interval
        self.worker_id = new_worker_id()
        self.started = datetime.now(UTC)
        self.jobs_running = 0
        self._task: asyncio.Task[None] | None = None

    async def beat(self) -> None:
        await write_heartbeat(
            self.runtime.bus,
            self.runtime.keys,
            self.worker_id,
            started=self.started,
            jobs_running=self.jobs_running,
            beat_interval=self.interval,
        )

    async def start(self) -> None:
        await self.beat()  # seen at once, before the first job
        self._task = asyncio.create_task(self._loop(), name="heartbeat")

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.beat()
            except (RedisError, OSError) as exc:  # Redis away: the worker rides it out
                log.debug("heartbeat not written: %s", exc)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        with contextlib.suppress(RedisError, OSError):
            await remove_heartbeat(self.runtime.bus, self.runtime.keys, self.worker_id)


def worker_settings(
    config: Config,
    redis_url: str | RedisUrls,
    *,
    runtime: Runtime | None = None,
    beat_interval: float = BEAT_INTERVAL,
) -> type:
    """A complete arq settings class for `config`, talking to `redis_url` (one Redis, or
    the queue's and the store's: arq's keys go to the queue's).

    On its own (`syndicator worker`) the worker opens its runtime and follows config
    reloads itself. `serve` passes the runtime its web server uses, and reloads it there:
    one process, one configuration. Either way the worker writes its own heartbeat every
    `beat_interval` seconds (jobs record its id in their runs).
    """
    settings = config.settings
    urls = redis_url if isinstance(redis_url, RedisUrls) else RedisUrls.one(redis_url)
    every = max(1, min(60, settings.schedule_every))
    seconds = set(range(0, 60, every))

    async def on_startup(ctx: dict[str, Any]) -> None:
        if runtime is not None:
            ctx["runtime"] = runtime
        else:
            queue: ArqRedis = ctx["redis"]
            own = ctx["runtime"] = Runtime.open(config, urls, queue=queue)
            reloader = ctx["reloader"] = ConfigReloader(own, on_apply=republisher(own))
            await reloader.start()
        start_pushers(ctx)
        beating = ctx["beating"] = Beating(ctx["runtime"], beat_interval)
        ctx["worker_id"] = beating.worker_id
        await beating.start()
        # Before any job: every category not stored with this worker's base URL (never
        # published, or rendered for another address) is published again, inline.
        await republish_moved(ctx["runtime"])

    async def on_job_start(ctx: dict[str, Any]) -> None:
        ctx["beating"].jobs_running += 1

    async def on_job_end(ctx: dict[str, Any]) -> None:
        ctx["beating"].jobs_running -= 1

    async def on_shutdown(ctx: dict[str, Any]) -> None:
        beating: Beating | None = ctx.get("beating")
        if beating is not None:
            await beating.stop()
        reloader: ConfigReloader | None = ctx.get("reloader")
        if reloader is not None:
            await reloader.stop()
        await close_pushers(ctx)
        own: Runtime | None = ctx.get("runtime") if runtime is None else None
        if own is not None:
            await own.close()

    timeout = settings.job_timeout
    return type(
        "WorkerSettings",
        (),
        {
            "functions": [
                # keep_result=0: a finished ingest must not block the next enqueue of its id
                func(
                    ingest_job,
                    name="ingest_source",
                    keep_result=0,
                    timeout=timeout,
                    max_tries=settings.max_tries,
                ),
                func(
                    page_job,
                    name="ingest_page",
                    keep_result=0,
                    timeout=timeout,
                    max_tries=settings.max_tries,
                ),
                func(
                    full_text_job,
                    name="full_text",
                    keep_result=0,
                    timeout=timeout,
                    max_tries=settings.max_tries,
                ),
                func(
                    reprocess_job,
                    name=REPROCESS_JOB,
                    keep_result=0,
                    timeout=timeout,
                    max_tries=settings.max_tries,
                ),
                func(publish_job, name="publish_category", keep_result=0, timeout=timeout, max_tries=3),
                func(
                    websub_push_job,
                    name=PUSH_JOB,
                    keep_result=0,
                    timeout=timeout,
                    max_tries=settings.max_tries,
                ),
                func(hub_verify_job, name=VERIFY_JOB, keep_result=0, timeout=timeout, max_tries=3),
                *hub_functions(timeout),
            ],
            "cron_jobs": [
                cron(
                    schedule_job,
                    name=f"{settings.redis_prefix}schedule_due",  # job ids carry the prefix
                    second=seconds,
                    run_at_startup=True,
                    unique=True,
                    timeout=min(30.0, timeout),
                ),
                cron(
                    hub_maintain_job,
                    name=f"{settings.redis_prefix}{MAINTAIN_JOB}",
                    second={0},
                    unique=True,
                    timeout=timeout,
                ),
            ],
            "redis_settings": arq_settings(urls.queue),
            "queue_name": settings.queue_name,
            "on_startup": on_startup,
            "on_shutdown": on_shutdown,
            "on_job_start": on_job_start,
            "on_job_end": on_job_end,
            "health_check_interval": 30,
            "max_jobs": 16,
            # How long an idle worker waits before looking for jobs again (arq: 0.5 s). A
            # hub delivery is three hops (publish, fan-out, delivery) and should reach a
            # subscriber within a second; polling costs one Redis round trip.
            "poll_delay": 0.1,
            "job_completion_wait": 5,
            "keep_result": 0,
        },
    )


def wait_until_reachable(redis_url: str) -> None:
    """Block until Redis answers, saying so in one line on stderr if it does not at once.

    Runs before arq starts its own event loop (arq makes a new one when none is set).
    Ctrl-C while waiting ends the process quietly; SIGTERM ends it as by default, which
    is right for a process that has not started anything yet."""

    def say(line: str) -> None:
        print(f"arq worker: {line}", file=sys.stderr, flush=True)

    try:
        asyncio.run(wait_for_redis(redis_url, say))
    except KeyboardInterrupt:
        raise SystemExit(0) from None


def settings_from_environment(*, wait: bool = False) -> type:
    """The settings class for the configuration and Redis the environment names; with
    `wait`, once that Redis answers (`wait_until_reachable`)."""
    config = load_config()
    urls = external_redis(config.settings)
    if urls is None:
        raise SystemExit(
            "arq workers.main.WorkerSettings needs SYNDICATOR_REDIS_URL (or server.redis_url); "
            "for the embedded Redis use `syndicator serve`"
        )
    if refusal := public_url_required("worker", config.settings):
        raise SystemExit(refusal)
    if wait:
        for url in dict.fromkeys((urls.queue, urls.store)):
            wait_until_reachable(url)
    return worker_settings(config, urls)

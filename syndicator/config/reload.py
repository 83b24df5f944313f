"""Config reload across processes: asked of one (SIGHUP, or the admin API), applied by all.

The process that is asked re-reads and validates its own file. If it is good, it applies
it and announces it on Redis: it bumps a generation counter and records the file's digest,
who announced it and when (`Keys.config_reload`). Every process sharing that Redis and
prefix polls the counter every second; on a new generation it re-reads *its own* file —
workers on other machines may keep their configuration elsewhere — and applies it if it
validates. A file that does not validate is refused: the process keeps the configuration
it runs and logs one WARNING with the usual one-line error (`file: key: problem`).

Settings a running process cannot change are kept and reported as "needs restart"
(`config.changes.RESTART_KEYS`). Polling one key a second instead of pub/sub keeps this
free of reconnect logic and well inside the five seconds promised to operators.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime

from redis.exceptions import RedisError

from syndicator.config.changes import ConfigChange, plan_change
from syndicator.config.errors import ConfigError
from syndicator.config.loading import load_config
from syndicator.fetch import Fetcher
from syndicator.runtime import Runtime
from syndicator.store.atomic import atomic
from syndicator.store.sources import forget_removed

log = logging.getLogger("syndicator.config")

POLL_SECONDS = 1.0

OnApply = Callable[[ConfigChange], Awaitable[None]]


@dataclass(frozen=True)
class ReloadOutcome:
    """What one reload did: the change it applied, or the one-line error it refused."""

    change: ConfigChange | None = None
    error: str | None = None


class ConfigReloader:
    """Keeps one process's `Runtime.config` in step with its file and with the other processes.

    `on_apply` runs after each applied reload (a worker re-publishes, so new category
    titles or TTLs reach the feeds). Status for operators: `needs_restart`, `last_error`,
    `reloaded_at`.
    """

    def __init__(self, runtime: Runtime, *, on_apply: OnApply | None = None) -> None:
        self.runtime = runtime
        self._on_apply = on_apply
        self._generation: int | None = None
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._sighup = False
        self._background: set[asyncio.Task[object]] = set()  # SIGHUP reloads, fetcher closes
        self.needs_restart: tuple[str, ...] = ()
        self.last_error: str | None = None
        self.reloaded_at: datetime | None = None

    async def start(self, *, handle_sighup: bool = True) -> None:
        """Remember the current generation, start polling, and reload on SIGHUP."""
        self._generation = await self._read_generation()
        self._task = asyncio.create_task(self._watch(), name="config-reload")
        if handle_sighup:
            asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, self._on_sighup)
            self._sighup = True

    async def stop(self) -> None:
        if self._sighup:
            asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
            self._sighup = False
        for task in (self._task, *self._background):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._task = None

    def _on_sighup(self) -> None:
        log.info("SIGHUP: reloading %s", self.runtime.config.path)
        self._in_background(self.reload_and_announce())

    async def reload_and_announce(self) -> ReloadOutcome:
        """Reload this process's file; if it validates, have every other process reload too."""
        outcome = await self.reload()
        if outcome.change is None:
            return outcome
        keys = self.runtime.keys
        async with atomic(self.runtime.bus) as pipe:
            pipe.hincrby(keys.config_reload, "generation", 1)
            pipe.hset(
                keys.config_reload,
                mapping={
                    "digest": outcome.change.config.digest,
                    "by": f"{socket.gethostname()}:{os.getpid()}",
                    "at": datetime.now(UTC).isoformat(timespec="seconds"),
                },
            )
            generation, _ = await pipe.execute()
        self._generation = int(generation)  # our own announcement: already applied here
        return outcome

    async def reload(self) -> ReloadOutcome:
        """Re-read and validate this process's own file; apply it if it is good."""
        async with self._lock:
            running = self.runtime.config
            try:
                loaded = await asyncio.to_thread(load_config, running.path)
            except ConfigError as exc:
                self.last_error = str(exc)
                log.warning("config reload refused, the running config stays: %s", exc)
                return ReloadOutcome(error=str(exc))
            change = plan_change(running, loaded)
            await self._apply(change)
            return ReloadOutcome(change=change)

    async def _apply(self, change: ConfigChange) -> None:
        runtime = self.runtime
        if change.fetch_changed:
            # Fetches in flight finish on the old sessions (bounded by their total timeout);
            # those are closed once that has passed.
            old, grace = runtime.fetcher, runtime.config.fetch.total_timeout + 5.0
            runtime.fetcher = Fetcher(change.config.fetch)
            self._in_background(_close_later(old, grace))
        runtime.config = change.config
        self.needs_restart = change.needs_restart
        self.last_error = None
        self.reloaded_at = datetime.now(UTC)
        log.info("config reloaded from %s: %s", change.config.path, change.summary())
        for line in change.needs_restart:
            log.warning("config: %s: needs restart, not applied", line)
        if change.removed_sources:
            await _forget_halts(runtime)
        if self._on_apply is not None and change.applies_anything:
            await self._on_apply(change)

    def _in_background(self, work: Coroutine[object, object, object]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _read_generation(self) -> int:
        value = await self.runtime.bus.hget(self.runtime.keys.config_reload, "generation")
        return int(value or 0)

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(POLL_SECONDS)
            try:
                generation = await self._read_generation()
            except (RedisError, OSError) as exc:
                log.debug("config reload: cannot read the generation: %s", exc)
                continue
            if generation != self._generation:
                self._generation = generation
                await self.reload()


async def _forget_halts(runtime: Runtime) -> None:
    """Drop the pauses of sources the reload removed, now and not only at the scheduler's
    next tick: with no worker running, or a source removed and added back between two
    ticks, its pause would otherwise outlive it. A Redis error leaves that to the tick."""
    try:
        forgotten = await forget_removed(runtime.redis, runtime.keys, runtime.config.sources)
    except (RedisError, OSError) as exc:
        log.warning("config reload: pauses of removed sources not forgotten yet: %s", exc)
        return
    for source_id in forgotten:
        log.info("%s: removed from the config, no longer paused or gone", source_id)


async def _close_later(fetcher: Fetcher, delay: float) -> None:
    try:
        await asyncio.sleep(delay)
    finally:
        await fetcher.close()

"""An arq worker that outlives a Redis outage: `syndicator worker` and `serve`'s own.

arq's worker exits when Redis drops its connection (arq #435), which would leave the
queue unserved until a supervisor restarts the process — and `serve`, whose web side
keeps running, would never ingest again. A lost Redis is an outage to ride out, in one
WARNING line, not a crash: this loop closes the dead worker, waits for Redis, and starts
a new one. Jobs it was running re-run (arq delivers at least once; ingest and publish
are idempotent).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable

from arq.worker import Worker
from redis.exceptions import RedisError

from syndicator.store.connection import unreachable

log = logging.getLogger("syndicator")


class RestartingWorker:
    """Runs workers from `new_worker` one after the other while Redis comes and goes.

    `wait` returns once Redis answers again (True) or when the process is told to stop
    meanwhile (False). `stopped_by` is the signal that stopped the worker, if one did:
    arq's own handler reports it (`syndicator worker`), or `stop` (`serve`, which handles
    its signals itself)."""

    def __init__(
        self,
        new_worker: Callable[[], Worker],
        redis_url: str,
        command: str,
        *,
        wait: Callable[[], Awaitable[bool]],
        burst: bool = False,
    ) -> None:
        self.new_worker = new_worker
        self.redis_url = redis_url
        self.command = command
        self.wait = wait
        self.burst = burst
        self.worker: Worker | None = None
        self.stopped_by: signal.Signals | None = None
        self.restarts = 0

    def _on_stop(self, sig: signal.Signals) -> None:
        # arq's `close()` of a worker without its own signal handlers calls this with
        # SIGUSR1 just to cancel its tasks: that is no request to stop.
        if sig != signal.SIGUSR1:
            self.stopped_by = sig

    def stop(self, sig: signal.Signals) -> None:
        """Stop the current worker as arq does on `sig` (its jobs cancelled)."""
        self.stopped_by = sig
        if self.worker is not None:
            self.worker.handle_sig(sig)

    async def run(self) -> None:
        """Until stopped (or, with `burst`, until the queue is empty)."""
        while True:
            worker = self.worker = self.new_worker()
            worker.on_stop = self._on_stop
            try:
                await worker.async_run()
                return
            except asyncio.CancelledError:
                # arq stops on SIGINT/SIGTERM (after letting running jobs finish) by
                # cancelling its poll loop: an orderly end, not a crash.
                if self.stopped_by is None:
                    raise
                return
            except (RedisError, OSError) as exc:
                if self.burst or self.stopped_by is not None:
                    raise
                log.warning(
                    "%s: %s; restarting when it is back", self.command, unreachable(self.redis_url, exc)
                )
            finally:
                with contextlib.suppress(RedisError, OSError):
                    await worker.close()
            if not await self.wait():
                return
            self.restarts += 1

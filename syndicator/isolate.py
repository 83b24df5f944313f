"""A pool of child processes for CPU-heavy work on untrusted bytes: `await pool.run(fn, *args)`.

Why: feedparser, lxml and trafilatura hold the GIL, and some of their paths are slow on
hostile input (feedparser's e-mail regex is quadratic: a 100 KB `<author>` takes a minute).
Run on the event loop, one such document stops `serve` from answering anything; run in a
thread, it still holds the GIL and cannot be stopped. Only a process can be killed, so
every parse and extraction runs here, in a child bounded by a `timeout` of its own wall
time (time spent waiting for a CPU other processes held is not counted, up to 3 times the
timeout in all: see `_exchange`) and an address-space limit (`RLIMIT_AS`, set in the child
before each job), and a child that overruns either, or whose job is cancelled, is killed
with SIGKILL and replaced.

Why not `concurrent.futures.ProcessPoolExecutor`: it cannot kill one worker. A job that
overruns keeps its worker busy until it ends by itself, `cancel()` does nothing to a
running job, and a worker that dies marks the whole executor broken. Here each child is
our own `multiprocessing.Process` with its own pipe, so killing one touches no other job.

Children come from the 'forkserver' context: never a fork of the asyncio process (its
threads and locks would be copied mid-state), and cheaper than 'spawn' because the fork
server imports the parsing modules once and each child is a fork of it. Children run at a
lower priority (`os.nice`), so the web server and the event loop win the CPU. There is one
child per core at most, started on first use.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import multiprocessing.connection
import os
import resource
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from typing import Any, TypeVar

from syndicator.errors import SyndicatorError

log = logging.getLogger(__name__)

T = TypeVar("T")

# Modules the fork server imports once, so that each child starts as a cheap fork of them:
# the parsers and every module that defines a job function (a child imports a job's module
# when it unpickles the job, inside the job's time limit and at the child's low priority:
# `syndicator.ingest.bounded` alone took 0.25 s of CPU there, seconds on a busy machine).
PRELOAD = [
    "syndicator.parse",
    "syndicator.parse.limits",
    "syndicator.normalise.feed",
    "syndicator.extract",
    "syndicator.discover",
    "syndicator.discover.feeds",
    "syndicator.discover.sitemap",
    "syndicator.fetch.robots",
    "syndicator.ingest.bounded",
]
NICENESS = 10
KILL_WAIT = 5.0  # seconds to wait for a killed child to be reaped
STARVED_BACKSTOP = 3.0  # a job kept off the CPU gets at most this many times its timeout
# Seconds a new child may take to say it is ready: its start is not part of any job's time
# limit (on a loaded machine a fork, unpickling and the lowered priority can take seconds).
START_WAIT = 60.0


class IsolateError(SyndicatorError):
    """A job the pool could not complete. `reason` says why, for people."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class OverLimit(IsolateError):
    """The job's child went over a limit (time, memory) or died, and was killed and replaced.

    `limit` is "time" or "memory" (a child that died without a word counts as memory: the
    kernel's usual reason is an allocation it refused)."""

    def __init__(self, reason: str, limit: str) -> None:
        super().__init__(reason)
        self.limit = limit


@dataclass(frozen=True)
class _Job:
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    memory: int | None


def _child_main(conn: multiprocessing.connection.Connection) -> None:
    """A child's loop: lower priority once, then for each job set the memory limit, run it
    and send back `("ok", result)` or `("error", exception)`; a MemoryError is reported and
    ends the child (its heap may be left in any state)."""
    with contextlib.suppress(OSError):
        os.nice(NICENESS)
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    conn.send(("ready", None))  # the parent starts a job's clock only now
    while True:
        try:
            job: _Job = conn.recv()
        except (EOFError, OSError):
            return  # the parent is gone or closed the pipe
        limit = hard if job.memory is None else job.memory
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
        try:
            result = job.fn(*job.args)
        except MemoryError:
            del job
            resource.setrlimit(resource.RLIMIT_AS, (hard, hard))
            conn.send(("memory", None))
            return
        except BaseException as exc:  # every failure goes back to the parent
            resource.setrlimit(resource.RLIMIT_AS, (hard, hard))
            try:
                conn.send(("error", exc))
            except Exception:  # an exception that does not pickle
                conn.send(("error", IsolateError(f"{type(exc).__name__}: {exc}")))
            continue
        resource.setrlimit(resource.RLIMIT_AS, (hard, hard))
        conn.send(("ok", result))


class _Child:
    """One child process and our end of its pipe."""

    def __init__(self, context: multiprocessing.context.BaseContext) -> None:
        """Start the child and wait until it is ready for a job (in a thread: this blocks)."""
        parent_end, child_end = context.Pipe(duplex=True)
        self.conn = parent_end
        self.process: BaseProcess = context.Process(
            target=_child_main, args=(child_end,), name="syndicator-parse", daemon=True
        )
        self.process.start()
        child_end.close()  # only the child holds it now: its death is our EOF
        try:
            ready = self.conn.poll(START_WAIT) and self.conn.recv() == ("ready", None)
        except (EOFError, OSError):
            ready = False
        if not ready:
            self.kill()
            raise IsolateError(f"a parse child did not start within {START_WAIT:g} s")

    @property
    def pid(self) -> int:
        assert self.process.pid is not None
        return self.process.pid

    def kill(self) -> None:
        """SIGKILL and wait until it is reaped. Safe to call twice.

        The pipe is left open: a thread may still be polling it (it sees EOF now), and
        closing a descriptor under a waiting thread is a race; it closes when collected."""
        with contextlib.suppress(OSError, ValueError):
            self.process.kill()
        self.process.join(KILL_WAIT)


_TIMED_OUT = object()


def _runqueue_wait(pid: int) -> float:
    """Seconds `pid` has spent runnable but waiting for a CPU that other processes had
    (Linux `/proc/PID/schedstat`, second field); 0 where the kernel does not say."""
    try:
        with open(f"/proc/{pid}/schedstat", "rb") as stat:
            return int(stat.read().split()[1]) / 1e9
    except (OSError, ValueError, IndexError):
        return 0.0


def _exchange(conn: multiprocessing.connection.Connection, job: _Job, timeout: float, pid: int) -> Any:
    """Send `job` and wait for the answer (in a thread, off the event loop) until the job
    has had `timeout` seconds of its own: wall time less the time the child, at its low
    priority, waited for a CPU the rest of the machine was using. Without that, a busy
    host (a render burst, a test run) starves a 1 s parse past a 10 s limit and the
    document is remembered as over the limit. A starved job still ends at
    `STARVED_BACKSTOP` times `timeout` of wall time.

    Returns the child's `(kind, value)`, `_TIMED_OUT`, or raises EOFError when the child died.
    """
    waited_before = _runqueue_wait(pid)
    started = time.monotonic()
    backstop = started + timeout * STARVED_BACKSTOP
    conn.send(job)
    while True:
        now = time.monotonic()
        own = (now - started) - (_runqueue_wait(pid) - waited_before)
        left = min(timeout - own, backstop - now)
        if left <= 0:
            return _TIMED_OUT
        if conn.poll(left):
            return conn.recv()


class ParsePool:
    """Child processes that run one job each at a time, each job bounded in time and memory.

    Cheap to create: children start on first use (at most `size`, default one per core)
    and `close()` ends them. `last_pid` is the PID of the child that ran the latest job
    (for tests and logs: it shows which process was killed).
    """

    def __init__(self, size: int | None = None) -> None:
        self.size = max(1, size or os.cpu_count() or 1)
        self._idle: list[_Child] = []
        self._started = 0
        self._slots: asyncio.Semaphore | None = None
        self._threads = ThreadPoolExecutor(max_workers=self.size, thread_name_prefix="parse-pool")
        self._closed = False
        self.last_pid: int | None = None
        self.killed: deque[int] = deque(maxlen=100)  # PIDs killed over a limit or on cancel, newest last

    def _context(self) -> multiprocessing.context.BaseContext:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(PRELOAD)
        return context

    async def run(
        self,
        fn: Callable[..., T],
        *args: Any,
        timeout: float,  # noqa: ASYNC109 - it kills a child, which asyncio.timeout cannot
        memory: int | None = None,
    ) -> T:
        """`fn(*args)` in a child: its result, or the exception it raised, raised here.

        `fn` and its arguments must pickle (a module-level function). Raises OverLimit when
        the job ran past `timeout` seconds, hit `memory` bytes of address space, or its
        child died; that child is killed and the next job gets a fresh one. Cancelling the
        awaiting task kills the child too: nothing keeps running for a job nobody awaits.
        """
        if self._closed:
            raise IsolateError("the parse pool is closed")
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.size)
        async with self._slots:
            child = self._idle.pop() if self._idle else await self._start()
            self.last_pid = child.pid
            job = _Job(fn, args, memory)
            loop = asyncio.get_running_loop()
            started = time.monotonic()
            done = False
            try:
                answer = await asyncio.wrap_future(
                    self._threads.submit(_exchange, child.conn, job, timeout, child.pid), loop=loop
                )
                done = True
            except (EOFError, OSError, BrokenPipeError):
                answer = None
            finally:
                if not done:  # cancelled (or the pipe broke): the child goes
                    await self._kill(child)
            if answer is _TIMED_OUT:
                await self._kill(child)
                raise OverLimit(f"parse took longer than {timeout:g} s and was stopped", "time")
            if answer is None or answer[0] == "memory":
                await self._kill(child)
                exitcode = child.process.exitcode
                how = "" if answer is not None else f" (child died, exit code {exitcode})"
                raise OverLimit(f"parse went over the memory limit{_of(memory)}{how}", "memory")
            kind, value = answer
            self._idle.append(child)
            log.debug("pool job %s took %.3f s", getattr(fn, "__name__", fn), time.monotonic() - started)
            if kind == "error":
                raise value
            return value  # type: ignore[no-any-return]

    async def _start(self) -> _Child:
        """A new child (forking from the fork server, which starts with the first one)."""
        context = self._context()
        child = await asyncio.to_thread(_Child, context)
        self._started += 1
        return child

    async def _kill(self, child: _Child) -> None:
        self.killed.append(child.pid)
        await asyncio.to_thread(child.kill)

    async def close(self) -> None:
        """End every idle child (busy ones end with their job's cancellation)."""
        self._closed = True
        idle, self._idle = self._idle, []
        for child in idle:
            await asyncio.to_thread(child.kill)
            child.conn.close()
        self._threads.shutdown(wait=False, cancel_futures=True)


def _of(memory: int | None) -> str:
    return "" if memory is None else f" of {memory // (1024 * 1024)} MB"

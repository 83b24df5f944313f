"""The parse pool: a child over its time or memory limit, or whose job is cancelled, is
killed (its PID is gone) and replaced, and the pool goes on serving jobs."""

from __future__ import annotations

import asyncio
import os
import sys
import time

import pytest

from syndicator.isolate import STARVED_BACKSTOP, OverLimit, ParsePool
from syndicator.parse import ParseError
from tests.chaos.helpers import MB, allocate, child_pid, gone, sleep_then_pid, spin_on_cpu0, wait_gone


@pytest.fixture
async def pool():
    pool = ParsePool(size=1)
    try:
        yield pool
    finally:
        await pool.close()


async def test_a_job_runs_in_a_child_and_its_errors_come_back(pool: ParsePool) -> None:
    pid = await pool.run(child_pid, timeout=30)
    assert pid != os.getpid()
    assert await pool.run(child_pid, timeout=30) == pid  # the child is reused
    with pytest.raises(ParseError, match="no feed here"):
        await pool.run(_raise_parse_error, timeout=30)
    assert await pool.run(child_pid, timeout=30) == pid  # an error does not cost the child


async def test_a_job_over_its_time_is_killed_and_its_child_replaced(pool: ParsePool) -> None:
    first = await pool.run(child_pid, timeout=30)
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(OverLimit, match="longer than 1 s") as caught:
        await pool.run(sleep_then_pid, 30, timeout=1)
    assert loop.time() - started < 5
    assert caught.value.limit == "time"
    assert list(pool.killed) == [first]
    assert wait_gone(first), f"child {first} still runs"
    second = await pool.run(child_pid, timeout=30)
    assert second != first and not gone(second)


async def test_a_job_starved_of_cpu_by_a_busy_machine_is_not_stopped_at_its_timeout(pool: ParsePool) -> None:
    """0.12 s of CPU, but the child (at its low priority) shares CPU 0 with a busy process at
    normal priority: it takes longer than its 0.8 s timeout in wall time, yet is not stopped
    there, because time spent waiting for the CPU is not the document's fault. It finishes,
    or, on a machine so loaded that even that is too slow, is stopped at the 3x backstop."""
    hog = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "import os; os.sched_setaffinity(0, {0})\nwhile True: pass"
    )
    started = time.monotonic()
    try:
        await asyncio.sleep(0.2)  # the hog is running on CPU 0
        started = time.monotonic()
        try:
            wall = await pool.run(spin_on_cpu0, 0.12, timeout=0.8)
        except OverLimit:
            stopped_after = time.monotonic() - started
            assert stopped_after >= 0.8 * STARVED_BACKSTOP * 0.95, f"stopped after {stopped_after:.2f} s"
            return
    finally:
        hog.kill()
        await hog.wait()
    assert wall > 0.8, f"not starved ({wall:.2f} s): the test proves nothing"


async def test_a_cancelled_job_kills_its_child(pool: ParsePool) -> None:
    pid = await pool.run(child_pid, timeout=30)
    task = asyncio.create_task(pool.run(sleep_then_pid, 30, timeout=60))
    await asyncio.sleep(0.5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert wait_gone(pid), f"child {pid} of a cancelled job still runs"
    assert await pool.run(child_pid, timeout=30) != pid


async def test_a_job_over_its_memory_dies_and_is_reported(pool: ParsePool) -> None:
    pid = await pool.run(child_pid, timeout=30)
    assert await pool.run(allocate, 16 * MB, timeout=30, memory=1024 * MB) == 16 * MB
    with pytest.raises(OverLimit, match="memory limit of 512 MB") as caught:
        await pool.run(allocate, 1024 * MB, timeout=30, memory=512 * MB)
    assert caught.value.limit == "memory"
    assert wait_gone(pid)
    assert await pool.run(allocate, 16 * MB, timeout=30, memory=512 * MB) == 16 * MB


def _raise_parse_error() -> None:
    raise ParseError("no feed here")

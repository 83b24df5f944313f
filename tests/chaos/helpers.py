"""Test-only work for the parse pool's children, and hostile feeds (module-level, so they pickle)."""

from __future__ import annotations

import os
import threading
import time
from datetime import UTC, datetime
from email.utils import format_datetime
from types import TracebackType

from syndicator.isolate import ParsePool

MB = 1024 * 1024

# `SYNDICATOR_CHAOS=full` asks for the documented full chaos run (README, Reliability): 50
# kills in each kill campaign and the `full` hypothesis profile (tests/conftest.py). The
# suite and CI run the short form. `SYNDICATOR_KILLS` still sets the kills in either form.
FULL_RUN = os.environ.get("SYNDICATOR_CHAOS", "") == "full"
KILLS = int(os.environ.get("SYNDICATOR_KILLS", "50" if FULL_RUN else "5"))


def sleep_then_pid(seconds: float) -> int:
    """A job that takes `seconds` of wall time (a stand-in for a pathological parse)."""
    time.sleep(seconds)
    return os.getpid()


def spin_on_cpu0(cpu_seconds: float) -> float:
    """A job that needs `cpu_seconds` of CPU on CPU 0 (a stand-in for an honest parse on a
    busy machine); returns the wall time it took."""
    os.sched_setaffinity(0, {0})
    started, wall = time.process_time(), time.monotonic()
    while time.process_time() - started < cpu_seconds:
        pass
    return time.monotonic() - wall


def allocate(n_bytes: int) -> int:
    """A job that needs `n_bytes` of memory at once (a stand-in for a parse that balloons)."""
    block = bytearray(n_bytes)
    return len(block)


def child_pid() -> int:
    return os.getpid()


def gone(pid: int) -> bool:
    """True once no process has `pid` (a killed child is reaped by the fork server)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def wait_gone(pid: int, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not gone(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def long_author_feed(author_bytes: int = 100_000, n_items: int = 3) -> bytes:
    """RSS whose channel and first item carry a huge author (and managingEditor, dc:creator)."""
    huge = "x" * author_bytes
    date = format_datetime(datetime(2024, 1, 1, tzinfo=UTC))
    items = "".join(
        f"<item><guid>g{i}</guid><title>title {i}</title><link>https://hostile.example/{i}</link>"
        f"<pubDate>{date}</pubDate><description>body {i}</description>"
        + (f"<author>{huge}</author><dc:creator>{huge}</dc:creator>" if i == 0 else "")
        + "</item>"
        for i in range(n_items)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>'
        f"<title>hostile</title><link>https://hostile.example/</link>"
        f"<managingEditor>{huge}</managingEditor><webMaster>{huge}</webMaster>{items}"
        "</channel></rss>"
    ).encode()


def many_entries_feed(n_items: int) -> bytes:
    """RSS with `n_items` small items: slow for feedparser when the entry limit lets them in."""
    items = "".join(
        f"<item><guid>g{i}</guid><title>t{i}</title><link>https://many.example/{i}</link></item>"
        for i in range(n_items)
    )
    return f'<rss version="2.0"><channel><title>many</title>{items}</channel></rss>'.encode()


# ------------------------------------------------------------------ peak memory (Linux /proc)


def peak_rss(pid: int | str = "self") -> int | None:
    """The process's peak resident set size in bytes (`VmHWM` in /proc/PID/status), or None
    once it is gone."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        return None
    return None


def reset_peak_rss(pid: int | str = "self") -> int:
    """Start the process's `VmHWM` again from its current RSS (writing 5 to clear_refs,
    Linux 4.0+); returns that RSS, the baseline the coming peak is measured from."""
    with open(f"/proc/{pid}/clear_refs", "w") as clear:
        clear.write("5")
    return peak_rss(pid) or 0


class ChildPeak:
    """The highest `VmHWM` of the children a parse pool runs jobs in, while the block runs.

    A thread reads /proc/PID/status of `pool.last_pid` every `every` seconds (VmHWM only
    grows, so the last reading is the peak so far) and once more at the end. A child killed
    over a limit is gone before the end: its peak is the last reading before the kill (at
    most `every` late). A pool child is a fork of the fork server, so the figure includes
    the modules it inherited (58 MB here): see `idle_child_peak`.
    """

    def __init__(self, pool: ParsePool, every: float = 0.005) -> None:
        self.pool = pool
        self.every = every
        self.peaks: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="child-peak", daemon=True)

    @property
    def peak(self) -> int | None:
        """Bytes, or None when no job ran (the case never reached a parse)."""
        return max(self.peaks.values(), default=None)

    def _read(self) -> None:
        pid = self.pool.last_pid
        if pid is None:
            return
        value = peak_rss(pid)
        if value is not None:
            self.peaks[pid] = max(value, self.peaks.get(pid, 0))

    def _watch(self) -> None:
        while not self._stop.wait(self.every):
            self._read()

    def __enter__(self) -> ChildPeak:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._read()
        self._stop.set()
        self._thread.join()


async def idle_child_peak() -> int:
    """The peak RSS of a fresh pool child that ran nothing but `child_pid`: what every
    child's peak includes before it parses a byte."""
    pool = ParsePool(size=1)
    try:
        pid = await pool.run(child_pid, timeout=60)
        return peak_rss(pid) or 0
    finally:
        await pool.close()

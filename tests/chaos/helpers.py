"""Test-only work for the parse pool's children, and hostile feeds (module-level, so they pickle)."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from email.utils import format_datetime

MB = 1024 * 1024


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

"""A dashboard to look at: sample sources on a loopback upstream (one working, two failing,
one paused, one with hostile text), polled once, and Debian's Chromium driven by Playwright.

Shared by tests/test_dashboard.py and tests/dashboard_screenshot.py (docs/dashboard.png).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

from playwright.async_api import Browser, Page, async_playwright

from syndicator.ingest import ingest_source
from syndicator.ingest.report import failed
from syndicator.models import Config
from syndicator.runtime import Runtime
from syndicator.store.sources import pause_source, record_outcome
from tests.admin_helpers import TOKEN
from tests.builders import items, rss, write_config
from tests.upstream import Upstream

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
]


def hostile_title(hit: str) -> str:
    """A source title that runs code if inserted as HTML: an <img> whose onerror calls `hit`."""
    return f"<img src=x onerror=\"window.__pwned=1;fetch('{hit}?title')\">"


def hostile_error(hit: str) -> str:
    """A last error that runs code if inserted into a script or as HTML."""
    return f"</script><script>window.__pwned=2;fetch('{hit}?error')</script>"


def sample_config(tmp_path: Path, upstream: Upstream, redis_url: str, prefix: str, hit: str) -> Config:
    """Sources: `python-blog` (3 items), `news` (2), `broken` (HTTP 500), `missing` (404),
    `evil` (a hostile title; its last error is set hostile by `prepare`), `quiet` (paused)."""
    upstream.put("/python.rss", rss(items("python", 3)), "application/rss+xml")
    upstream.put("/news.rss", rss(items("news", 2)), "application/rss+xml")
    upstream.put("/quiet.rss", rss(items("quiet", 1)), "application/rss+xml")
    upstream.put("/broken.rss", b"oops", "text/plain", status=500)
    sources = [
        {"id": "python-blog", "title": "Python Insider", "path": "/python.rss", "cat": "tech"},
        {"id": "news", "title": "Daily News", "path": "/news.rss", "cat": "news"},
        {"id": "broken", "title": "Broken Upstream", "path": "/broken.rss", "cat": "news"},
        {"id": "missing", "title": "Moved Away", "path": "/missing.rss", "cat": "tech"},
        {"id": "evil", "title": hostile_title(hit), "path": "/broken.rss", "cat": "news"},
        {"id": "quiet", "title": "Quiet Blog", "path": "/quiet.rss", "cat": "tech"},
    ]
    return write_config(
        tmp_path,
        redis_url=redis_url,
        prefix=prefix,
        extra_server="max_tries = 1",
        categories=[{"slug": "tech"}, {"slug": "news"}],
        sources=[
            {
                "id": s["id"],
                "title": s["title"],
                "url": upstream.url(s["path"]),
                "categories": [s["cat"]],
                "allow_private_network": True,
            }
            for s in sources
        ],
    )


async def prepare(runtime: Runtime, hit: str) -> None:
    """Poll every source once, give `evil` a hostile last error, pause `quiet`."""
    for source_id in runtime.config.sources:
        await ingest_source(runtime, source_id)
    now = datetime.now(UTC)
    evil = runtime.config.sources["evil"]
    hostile = failed("evil", evil.url, hostile_error(hit))
    await record_outcome(runtime.redis, runtime.keys, evil, hostile, now=now)
    await pause_source(runtime.redis, runtime.keys, "quiet", now=now, reason="upstream migrating")


@contextlib.asynccontextmanager
async def chromium(executable: str = CHROMIUM) -> AsyncIterator[Browser]:
    """Debian's Chromium (never a browser Playwright downloads) under Playwright."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=executable, args=FLAGS)
        try:
            yield browser
        finally:
            await browser.close()


async def log_in(page: Page, base: str, token: str = TOKEN) -> None:
    """Open the dashboard and give the token at its prompt."""
    await page.goto(f"{base}admin/")
    await page.fill("#token", token)
    await page.click("#login-form button[type=submit]")

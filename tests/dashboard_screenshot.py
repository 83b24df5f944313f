"""Take docs/dashboard.png: the dashboard's sources table with sample sources (two working,
two failing, one paused, one with a hostile title and error shown as text), a re-ingest
done; and docs/dashboard-source.png: that source's page (health, timeline, runs, articles).

    .venv/bin/python -m tests.dashboard_screenshot [OUT.png] [--redis redis://127.0.0.1:6379/0]

It serves the app on loopback over a private key prefix of the given Redis (or, without
`--redis`, an embedded one), polls the sample sources from a loopback upstream, opens
/admin/ in Debian's Chromium (Playwright, executable_path=/usr/bin/chromium), gives the
token and saves the page. Every key it wrote is deleted at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

from playwright.async_api import expect

from syndicator.embedded import EmbeddedRedis
from syndicator.store.connection import connect
from tests.admin_helpers import TOKEN, admin_serving
from tests.conftest import delete_created
from tests.dashboard_helpers import chromium, log_in, prepare, sample_config
from tests.harness import run_burst_worker
from tests.upstream import Upstream


@contextlib.contextmanager
def redis_at(url: str | None, tmp: Path) -> Iterator[str]:
    if url:
        yield url
        return
    with EmbeddedRedis(tmp / "redis", appendonly=False) as server:
        yield server.url


async def shoot(out: Path, redis_url: str, tmp: Path) -> None:
    prefix = f"shot{uuid.uuid4().hex[:8]}:"
    os.environ.pop("SYNDICATOR_ADMIN_TOKEN_FILE", None)
    os.environ["SYNDICATOR_ADMIN_TOKEN"] = TOKEN
    upstream, recorder = Upstream(), Upstream()
    await upstream.start()
    await recorder.start()
    redis = connect(redis_url)
    try:
        config = sample_config(tmp, upstream, redis_url, prefix, recorder.url("/hit"))
        async with admin_serving(config, redis_url) as (runtime, client):
            await prepare(runtime, recorder.url("/hit"))
            base = str(client.server.make_url("/"))
            async with chromium() as browser, _page(browser) as page:
                await log_in(page, base)
                news = page.locator('#sources tr[data-source="news"]')
                await expect(news).to_be_visible()
                await news.locator("button.reingest").click()
                await expect(news.locator(".result")).to_contain_text("queued")
                await run_burst_worker(config, redis_url)
                await expect(news.locator(".result")).to_contain_text("done")
                await page.screenshot(path=str(out), full_page=True)
                await news.locator("a.source-id").click()
                await expect(page.locator("#fetches tbody tr")).to_have_count(2)
                source_page = out.with_name(f"{out.stem}-source{out.suffix}")
                await page.screenshot(path=str(source_page), full_page=True)
    finally:
        await delete_created(redis, prefix)
        await redis.aclose()
        await recorder.stop()
        await upstream.stop()


@contextlib.asynccontextmanager
async def _page(browser) -> AsyncIterator:
    context = await browser.new_context(viewport={"width": 1440, "height": 560})
    try:
        yield await context.new_page()
    finally:
        await context.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", default="docs/dashboard.png", type=Path)
    parser.add_argument("--redis", default=None, help="a Redis URL (default: an embedded Redis)")
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, redis_at(args.redis, Path(tmp)) as url:
        asyncio.run(shoot(args.out, url, Path(tmp)))
    print(f"dashboard screenshot: {args.out}")


if __name__ == "__main__":
    main()

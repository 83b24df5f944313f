"""Take docs/category-en.png and docs/category-zh.png: the pages of an English category
(`tech/python`, items from a loopback RSS feed) and a Chinese one (`xinwen/guonei`, the
bundled Chinese article, a copy of it on a portal shown as "also reported by", and
another story), as Debian's Chromium shows them (Playwright, executable_path=/usr/bin/chromium).

    .venv/bin/python -m tests.category_screenshot [OUT_DIR] [--redis redis://127.0.0.1:6379/0]

It serves the app on loopback over a private key prefix of the given Redis (or, without
`--redis`, an embedded one); every key it wrote is deleted at the end. Chinese text needs a
CJK font (Debian: fonts-noto-cjk).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import uuid
from pathlib import Path

from syndicator.store.connection import connect
from tests.category_helpers import SOURCES, site_config
from tests.conftest import delete_created
from tests.dashboard_helpers import chromium
from tests.dashboard_screenshot import redis_at
from tests.harness import serving
from tests.processes import free_port
from tests.upstream import Upstream

PAGES = {"category-en.png": "tech/python", "category-zh.png": "xinwen/guonei"}


async def shoot(out_dir: Path, redis_url: str, tmp: Path) -> None:
    prefix = f"shot{uuid.uuid4().hex[:8]}:"
    upstream = Upstream()
    await upstream.start()
    redis = connect(redis_url)
    port = free_port()
    base = f"http://127.0.0.1:{port}/"
    try:
        config = site_config(tmp, upstream, redis_url, prefix, base)
        async with serving(config, redis_url, SOURCES, port=port), chromium() as browser:
            context = await browser.new_context(viewport={"width": 1000, "height": 700})
            page = await context.new_page()
            for name, slug in PAGES.items():
                await page.goto(f"{base}categories/{slug}/")
                await page.wait_for_selector("button[data-copy]:not([hidden])")
                await page.screenshot(path=str(out_dir / name), full_page=True)
            await context.close()
    finally:
        await delete_created(redis, prefix)
        await redis.aclose()
        await upstream.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", nargs="?", default="docs", type=Path)
    parser.add_argument("--redis", default=None, help="a Redis URL (default: an embedded Redis)")
    args = parser.parse_args()
    args.out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, redis_at(args.redis, Path(tmp)) as url:
        asyncio.run(shoot(args.out_dir, url, Path(tmp)))
    print(f"category page screenshots: {', '.join(str(args.out_dir / n) for n in PAGES)}")


if __name__ == "__main__":
    main()

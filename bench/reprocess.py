"""What a real reprocess costs: the admin API's answer, the jobs on a worker, inline.

    .venv/bin/python bench/reprocess.py [--sources 2] [--items 500]

In a private Redis (EmbeddedRedis, in a temporary directory removed afterwards), with a
loopback upstream: `--sources` RSS feeds of `--items` items each (~1 KB of text an item)
are ingested, then the sources' category is changed and the rules re-applied three ways:

- `start_reprocess` (what `POST /admin/api/reprocess` does before it answers 202): the
  plan, one run record per job, the jobs queued;
- those jobs on one real arq worker (in this process, burst mode) until the last one has
  published (worker start-up and the deferred publish jobs included): wall time and
  articles per second;
- a dry run, then `reprocess()` in this process (`syndicator reprocess --inline`), back
  to the first category.

Articles a category's retention (1,000 by default) evicted count as unchanged: reprocess
leaves them out. Items are ~150 words drawn from 2,000, so none are near-duplicates.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from aiohttp import web
from arq.connections import create_pool
from arq.worker import create_worker
from machine import describe

from syndicator.config import load_config
from syndicator.embedded import EmbeddedRedis
from syndicator.ingest import ingest_source
from syndicator.operate.reingest import Selection
from syndicator.operate.reprocess import reprocess, reprocess_status, start_reprocess
from syndicator.publish import publish_missing
from syndicator.runtime import Runtime
from syndicator.store.connection import arq_settings
from syndicator.worker import worker_settings

WORDS = tuple(f"w{n:04x}" for n in range(2000))  # distinct stories, not near-duplicates


def feed(source: int, items: int) -> bytes:
    start = datetime(2026, 11, 30, tzinfo=UTC)
    entries = []
    for i in range(items):
        pick = random.Random(source * 100_000 + i)
        text = " ".join(pick.choice(WORDS) for _ in range(150))
        entries.append(
            f"<item><guid>s{source}-{i}</guid><title>Story {source}-{i}</title>"
            f"<link>https://example.org/{source}/{i}</link>"
            f"<pubDate>{format_datetime(start - timedelta(minutes=i))}</pubDate>"
            f"<description>&lt;p&gt;{text}&lt;/p&gt;</description></item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
        f"<link>https://example.org/</link><description>d</description>{''.join(entries)}</channel></rss>"
    ).encode()


def write_config(folder: Path, redis_url: str, port: int, sources: int, slug: str) -> Path:
    lines = [
        "[server]",
        f'redis_url = "{redis_url}"',
        'redis_prefix = "bench:"',
        'queue_name = "bench:queue"',
        'public_url = "http://feeds.test/"',
        "",
        '[[categories]]\nslug = "tech"\ntitle = "Tech"',
        '[[categories]]\nslug = "science"\ntitle = "Science"',
    ]
    for n in range(sources):
        lines.append(
            f'[[sources]]\nid = "s{n}"\nurl = "http://127.0.0.1:{port}/{n}.rss"\n'
            f'categories = ["{slug}"]\nallow_private_network = true'
        )
    path = folder / f"{slug}.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


async def main(sources: int, items: int) -> None:
    print(describe())
    feeds = {f"/{n}.rss": feed(n, items) for n in range(sources)}

    async def serve(request: web.Request) -> web.Response:
        return web.Response(body=feeds[request.path], content_type="application/rss+xml")

    app = web.Application()
    app.router.add_get("/{name}", serve)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    with tempfile.TemporaryDirectory() as tmp, EmbeddedRedis(Path(tmp) / "redis", appendonly=False) as server:
        folder = Path(tmp)
        tech = load_config(write_config(folder, server.url, port, sources, "tech"), environ={})
        science = load_config(write_config(folder, server.url, port, sources, "science"), environ={})
        runtime = Runtime.open(tech, server.url)
        for n in range(sources):
            await ingest_source(runtime, f"s{n}")
        await publish_missing(runtime)
        await runtime.close()
        total = sources * items

        queue = await create_pool(arq_settings(server.url), default_queue_name=science.settings.queue_name)
        runtime = Runtime.open(science, server.url, queue=queue)
        began = time.perf_counter()
        started = await start_reprocess(runtime, queue, Selection(all=True))
        answered = time.perf_counter() - began
        worker = create_worker(
            worker_settings(science, server.url), burst=True, handle_signals=False, poll_delay=0.05
        )
        try:
            await worker.main()
        finally:
            await worker.close()
        status = await reprocess_status(runtime, started.reprocess_id)
        finished = time.perf_counter() - began
        await runtime.close()
        await queue.aclose()
        assert status.done and not status.result.errors, status.result.summary()
        print(
            f"{total} articles, {len(started.runs)} jobs: "
            f"API answer (start_reprocess) {answered * 1000:.0f} ms; "
            f"done on one worker in {finished:.2f} s ({total / finished:.0f} articles/s); "
            f"{status.result.summary()}; published {', '.join(status.result.published)}"
        )

        runtime = Runtime.open(tech, server.url)
        began = time.perf_counter()
        dry = await reprocess(runtime, Selection(all=True), dry_run=True)
        dry_time = time.perf_counter() - began
        began = time.perf_counter()
        inline = await reprocess(runtime, Selection(all=True))
        inline_time = time.perf_counter() - began
        await runtime.close()
        assert len(inline.changes) == len(dry.changes) == len(status.result.changes)
        print(
            f"dry run {dry_time:.2f} s ({total / dry_time:.0f} articles/s); "
            f"inline (--inline) {inline_time:.2f} s ({total / inline_time:.0f} articles/s)"
        )
    await runner.cleanup()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, default=2)
    parser.add_argument("--items", type=int, default=500)
    args = parser.parse_args()
    asyncio.run(main(args.sources, args.items))

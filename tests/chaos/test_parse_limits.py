"""Hostile feeds through a real ingest (loopback upstream, real Redis, the parse pool).

A 100 KB `<author>` is cut before feedparser sees it (its e-mail regex is quadratic), so
the feed is stored in well under a second; a document that takes the parser past
`fetch.parse_timeout` has its child killed, the failure names the limit, and the same
bytes are refused unparsed until they change.
"""

from __future__ import annotations

import time
from pathlib import Path

from syndicator.ingest import ingest_source
from syndicator.ingest.bounded import UNCHANGED
from syndicator.parse.limits import PERSON_FIELD_BYTES, parse_bounded
from syndicator.runtime import Runtime
from syndicator.store.articles import newest_articles
from syndicator.store.sources import load_state
from tests.builders import write_config
from tests.chaos.helpers import child_pid, gone, long_author_feed, many_entries_feed, wait_gone


def hostile_config(tmp_path: Path, upstream, redis_url: str, prefix: str, **fetch: str):
    fetch_table = "".join(f"{k} = {v}\n" for k, v in fetch.items())
    return write_config(
        tmp_path,
        redis_url=redis_url,
        prefix=prefix,
        categories=[{"slug": "tech", "title": "Technology"}],
        sources=[
            {
                "id": "hostile",
                "url": upstream.url("/hostile.xml"),
                "categories": ["tech"],
                "allow_private_network": True,
            }
        ],
        extra_server=f"\n[fetch]\n{fetch_table}" if fetch_table else "",
    )


def test_the_pre_pass_alone_makes_a_100_kb_author_fast() -> None:
    started = time.monotonic()
    feed = parse_bounded(
        long_author_feed(), {}, "https://hostile.example/feed", max_entries=500, max_field_bytes=65536
    )
    assert time.monotonic() - started < 2  # feedparser alone: about a minute
    assert [e.title for e in feed.entries] == ["title 0", "title 1", "title 2"]
    assert feed.entries[0].author is not None and len(feed.entries[0].author) <= PERSON_FIELD_BYTES
    assert any("cut" in w for w in feed.warnings)


async def test_a_100_kb_author_is_cut_and_the_feed_stored(
    tmp_path, upstream, redis, redis_url, prefix
) -> None:
    upstream.put("/hostile.xml", long_author_feed(), "application/rss+xml")
    config = hostile_config(tmp_path, upstream, redis_url, prefix)
    runtime = Runtime.open(config, redis_url)
    try:
        started = time.monotonic()
        report = await ingest_source(runtime, "hostile")
        elapsed = time.monotonic() - started
        assert report.status == "updated", report.line()
        assert report.counts["new"] == 3
        assert elapsed < 10, elapsed  # a child's first start included; the parse is ~20 ms
        stored = await newest_articles(runtime.redis, runtime.keys, "tech", 10)
        assert sorted(a.title for a in stored) == ["title 0", "title 1", "title 2"]
        assert all(len(a.author or "") <= PERSON_FIELD_BYTES for a in stored)
    finally:
        await runtime.close()


async def test_a_document_over_the_time_limit_is_killed_remembered_and_not_parsed_again(
    tmp_path, upstream, redis, redis_url, prefix
) -> None:
    # 20,000 entries let in by the entry limit: feedparser needs a few seconds, the limit is 1 s.
    upstream.put("/hostile.xml", many_entries_feed(20_000), "application/rss+xml")
    config = hostile_config(tmp_path, upstream, redis_url, prefix, parse_timeout='"1s"', max_entries="100000")
    runtime = Runtime.open(config, redis_url)
    try:
        started = time.monotonic()
        report = await ingest_source(runtime, "hostile")
        assert time.monotonic() - started < 8
        assert report.status == "error"
        assert report.reason == "parse took longer than 1 s and was stopped"
        killed = runtime.pool.killed[-1]
        assert wait_gone(killed), f"child {killed} still runs"
        state = await load_state(runtime.redis, runtime.keys, "hostile")
        assert state.last_error is not None and "longer than 1 s" in state.last_error

        # The same bytes again: refused at once, without a child.
        started = time.monotonic()
        again = await ingest_source(runtime, "hostile")
        assert time.monotonic() - started < 1
        assert again.status == "error"
        assert again.reason == f"{UNCHANGED} (parse took longer than 1 s and was stopped)"
        assert runtime.pool.last_pid == killed  # no job ran since
        state = await load_state(runtime.redis, runtime.keys, "hostile")
        assert state.last_error is not None and UNCHANGED in state.last_error

        # New bytes are parsed again, by a fresh child.
        upstream.put("/hostile.xml", many_entries_feed(5), "application/rss+xml")
        fixed = await ingest_source(runtime, "hostile")
        assert fixed.status == "updated", fixed.line()
        assert fixed.counts["new"] == 5
        assert runtime.pool.last_pid != killed and not gone(runtime.pool.last_pid or 0)
        assert await runtime.pool.run(child_pid, timeout=10) == runtime.pool.last_pid
    finally:
        await runtime.close()

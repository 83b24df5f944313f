"""End to end: upstream sites on loopback → real arq worker → real Redis → served feeds.

Four upstreams (RSS 2.0, Atom 1.0, JSON Feed 1.1, GBK-encoded RSS) feed two categories;
every format of every category is fetched over HTTP and parsed back.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import feedparser
import jsonschema
import pytest

from syndicator.ingest import ingest_source
from syndicator.runtime import Runtime
from tests.builders import BASE_TIME, Item, atom, items, json_feed, rss, write_config
from tests.conftest import delete_created
from tests.harness import SCHEMA, fetch_all_feeds, run_burst_worker, snapshot

JSON_ITEMS = items("json", 2, start=BASE_TIME - timedelta(minutes=30))
ATOM_ITEMS = items("atom", 3, start=BASE_TIME - timedelta(minutes=15))
RSS_ITEMS = items("rss", 4)
GBK_ITEMS = [
    Item(
        guid=f"gushi-{i}",
        title=f"情感故事第{i}篇：陆海新通道",
        link=f"https://gushi.example/qinggan/{i}.html",
        published=BASE_TIME.replace(hour=3 + i, minute=5),
        body=f"<p>这是第{i}个故事，讲述重庆的人才合作。</p>",
        author="智汇八方",
    )
    for i in range(3)
]


async def setup_world(tmp_path: Path, upstream, redis_url: str, prefix: str):
    upstream.put("/tech.rss", rss(RSS_ITEMS), "application/rss+xml")
    upstream.put("/python.atom", atom(ATOM_ITEMS), "application/atom+xml")
    upstream.put("/news.json", json_feed(JSON_ITEMS), "application/feed+json")
    upstream.put("/gushi.xml", rss(GBK_ITEMS, encoding="gbk"), "application/rss+xml; charset=gbk")
    src = {"allow_private_network": True, "poll_interval": "1h"}
    return write_config(
        tmp_path,
        redis_url=redis_url,
        prefix=prefix,
        categories=[
            {"slug": "tech", "title": "Technology", "language": "en"},
            {"slug": "qinggan/gushi", "title": "故事", "language": "zh"},
        ],
        sources=[
            {"id": "tech-rss", "url": upstream.url("/tech.rss"), "categories": ["tech"], **src},
            {"id": "tech-json", "url": upstream.url("/news.json"), "categories": ["tech"], **src},
            {"id": "gushi-atom", "url": upstream.url("/python.atom"), "categories": ["qinggan/gushi"], **src},
            {
                "id": "gushi-gbk",
                "url": upstream.url("/gushi.xml"),
                "categories": ["qinggan/gushi"],
                "timezone": "Asia/Shanghai",
                **src,
            },
        ],
    )


def expected_titles(*groups: list[Item]) -> list[str]:
    merged = [i for g in groups for i in g]
    merged.sort(key=lambda i: i.published, reverse=True)
    return [i.title for i in merged]


async def test_four_formats_into_two_categories(tmp_path, upstream, redis, redis_url, prefix):
    config = await setup_world(tmp_path, upstream, redis_url, prefix)
    await run_burst_worker(config, redis_url)
    feeds = await fetch_all_feeds(config, redis_url)

    tech = expected_titles(RSS_ITEMS, JSON_ITEMS)
    gushi = expected_titles(ATOM_ITEMS, GBK_ITEMS)
    expected = {"tech": tech, "qinggan/gushi": gushi, "qinggan": gushi}
    for (slug, fmt), (status, headers, body) in feeds.items():
        assert status == 200, (slug, fmt, body[:200])
        assert headers["ETag"] and headers["Last-Modified"]
        if fmt == "json":
            document = json.loads(body)
            jsonschema.validate(document, SCHEMA, format_checker=jsonschema.FormatChecker())
            titles = [item["title"] for item in document["items"]]
            ids = [item["id"] for item in document["items"]]
        else:
            parsed = feedparser.parse(body)
            assert not parsed.bozo, (slug, fmt, parsed.get("bozo_exception"))
            titles = [e.title for e in parsed.entries]
            ids = [e.id for e in parsed.entries]
        assert len(set(ids)) == len(ids)
        if slug == "all":
            assert sorted(titles) == sorted(tech + gushi)
        else:
            assert titles == expected[slug], (slug, fmt)

    # The GBK source decoded into the right characters, with its date from the feed.
    parsed = feedparser.parse(feeds[("qinggan/gushi", "atom")][2])
    first = next(e for e in parsed.entries if e.title == GBK_ITEMS[2].title)
    assert "重庆的人才合作" in first.content[0].value
    assert first.published_parsed[:5] == GBK_ITEMS[2].published.utctimetuple()[:5]
    assert first.link == GBK_ITEMS[2].link
    # Relative links in upstream content became absolute against the upstream's URL.
    tech_rss = feedparser.parse(feeds[("tech", "rss")][2])
    assert 'href="https://rss.example/rel/0"' in tech_rss.entries[0].content[0].value or (
        upstream.url("/rel/0") in tech_rss.entries[0].content[0].value
    )


async def test_second_poll_is_304_and_changes_nothing(tmp_path, upstream, redis, redis_url, prefix):
    config = await setup_world(tmp_path, upstream, redis_url, prefix)
    await run_burst_worker(config, redis_url)
    before = await snapshot(redis, prefix)

    runtime = Runtime.open(config, redis_url)
    try:
        reports = [await ingest_source(runtime, sid) for sid in config.sources]
    finally:
        await runtime.close()
    assert [r.status for r in reports] == ["not-modified"] * 4
    for path in ("/tech.rss", "/news.json", "/python.atom", "/gushi.xml"):
        last = upstream.seen(path)[-1]
        assert last.status == 304
        assert "If-None-Match" in last.headers and "If-Modified-Since" in last.headers
    assert await snapshot(redis, prefix) == before
    state = await redis.hgetall(f"{prefix}source:tech-rss".encode())
    assert state[b"last_status"] == b"304 not modified"


async def test_edited_item_changes_updated_once(tmp_path, upstream, redis, redis_url, prefix):
    config = await setup_world(tmp_path, upstream, redis_url, prefix)
    await run_burst_worker(config, redis_url)
    runtime = Runtime.open(config, redis_url)
    try:
        edited = list(RSS_ITEMS)
        edited[1] = replace(edited[1], body="<p>corrected text</p>")
        upstream.put("/tech.rss", rss(edited), "application/rss+xml")
        first = await ingest_source(runtime, "tech-rss")
        feeds_after_edit = await fetch_all_feeds(config, redis_url)
        # A cosmetic upstream change (new channel element) re-sends the same items: no new update.
        upstream.put("/tech.rss", rss(edited, extra="<ttl>5</ttl>"), "application/rss+xml")
        second = await ingest_source(runtime, "tech-rss")
        feeds_after_repeat = await fetch_all_feeds(config, redis_url)
    finally:
        await runtime.close()
    assert first.counts.get("changed") == 1 and first.counts.get("unchanged") == 3
    assert second.counts.get("changed", 0) == 0 and second.counts.get("unchanged") == 4
    entry = next(
        e
        for e in feedparser.parse(feeds_after_edit[("tech", "atom")][2]).entries
        if e.title == edited[1].title
    )
    assert "corrected text" in entry.content[0].value
    assert entry.updated_parsed > entry.published_parsed
    assert feeds_after_repeat[("tech", "atom")][2] == feeds_after_edit[("tech", "atom")][2]
    assert feeds_after_repeat[("tech", "atom")][1]["ETag"] == feeds_after_edit[("tech", "atom")][1]["ETag"]


async def test_two_workers_at_once_store_what_one_does(tmp_path, upstream, redis, redis_url, prefix):
    import asyncio
    from datetime import UTC, datetime

    now = datetime(2026, 11, 21, tzinfo=UTC)
    config = await setup_world(tmp_path, upstream, redis_url, prefix)
    single_prefix = prefix.replace(":", "s:")
    single = replace(config, settings=replace(config.settings, redis_prefix=single_prefix))
    a, b, c = (
        Runtime.open(config, redis_url),
        Runtime.open(config, redis_url),
        Runtime.open(single, redis_url),
    )
    try:
        for sid in config.sources:
            await asyncio.gather(ingest_source(a, sid, now=now), ingest_source(b, sid, now=now))
            await ingest_source(c, sid, now=now)
        twice = await snapshot(redis, prefix)
        once = await snapshot(redis, single_prefix)
    finally:
        for r in (a, b, c):
            await r.close()
        await delete_created(redis, single_prefix)
    assert len([k for k in once if k.startswith("article:")]) == 12
    # Versions too: one change is one version, however many processes publish it (their
    # times make the TTL the feeds advertise, and each version is another ETag).
    assert twice == once


@pytest.mark.parametrize(
    "body", [b"<rss><channel><item><title>broken", b"<html><body>moved</body></html>", b""]
)
async def test_malformed_upstream_keeps_stored_items(tmp_path, upstream, redis, redis_url, prefix, body):
    config = await setup_world(tmp_path, upstream, redis_url, prefix)
    await run_burst_worker(config, redis_url)
    before = await fetch_all_feeds(config, redis_url)
    upstream.put("/tech.rss", body, "application/rss+xml")
    runtime = Runtime.open(config, redis_url)
    try:
        report = await ingest_source(runtime, "tech-rss")
    finally:
        await runtime.close()
    after = await fetch_all_feeds(config, redis_url)
    assert after == before or all(after[k][2] == before[k][2] for k in before)
    state = await redis.hgetall(f"{prefix}source:tech-rss".encode())
    if report.status == "error":
        assert upstream.url("/tech.rss") in report.error
        assert state[b"last_error"].decode() == report.error
        assert int(state[b"consecutive_errors"]) == 1
    else:  # feedparser recovered something: recorded as a warning, stored items stay
        assert report.warnings

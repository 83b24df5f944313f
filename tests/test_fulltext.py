"""Full text for summary-only feeds, end to end: a feed whose items carry only a summary
and link to pages like the seed's, a real arq worker, real Redis, a loopback upstream."""

from __future__ import annotations

import html
import json
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import feedparser
import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer
from arq import create_pool

from syndicator.config import ConfigError
from syndicator.ingest import ingest_source
from syndicator.ingest.fulltext import LONGER_BY, clearly_longer, release_due, with_full_text
from syndicator.operate.health import source_health
from syndicator.publish import publish_category, publish_missing
from syndicator.runtime import Runtime
from syndicator.store.articles import Outcome, load_articles, upsert_articles
from syndicator.store.connection import arq_settings
from syndicator.store.keys import Keys
from syndicator.web.app import create_app
from tests.builders import STORE_TIME, make_article, write_config
from tests.conftest import REPO, SITE_ZHBF
from tests.harness import fetch_all_feeds, run_burst_worker

EXPECTED = json.loads((SITE_ZHBF / "article-8812.expected.json").read_text())
PAGE = (SITE_ZHBF / "article-8812.utf8.html").read_bytes()
SUMMARY = EXPECTED["paragraphs"][0]
WHOLE = "".join(f"<p>{p}</p>" for p in EXPECTED["paragraphs"])
PUBLISHED = datetime(2023, 11, 23, 2, 20, tzinfo=UTC)


def item(guid: str, link: str, description: str, hours: int = 0) -> str:
    when = format_datetime(PUBLISHED + timedelta(hours=hours), usegmt=True)
    return (
        f"<item><title>{guid}</title><guid>{guid}</guid><link>{link}</link>"
        f"<pubDate>{when}</pubDate><description>{html.escape(description)}</description></item>"
    )


def summary_feed(upstream, extra: str = "") -> str:
    """Three summary-only items: one whose page is the seed article, one whose page is a
    404, one whose summary is already the whole text of its page."""
    upstream.put("/qinggan/gushi/20231123/8812.html", PAGE, "text/html; charset=utf-8")
    upstream.put("/copy/8812.html", PAGE, "text/html; charset=utf-8")
    items = [
        item("full", upstream.url("/qinggan/gushi/20231123/8812.html"), SUMMARY, 3),
        item("gone", upstream.url("/missing.html"), "被删除的文章的摘要。", 2),
        item("whole", upstream.url("/copy/8812.html"), WHOLE, 1),
    ]
    body = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>摘要</title>'
        f"<link>{upstream.url('/')}</link><description>d</description>{''.join(items)}{extra}"
        "</channel></rss>"
    )
    return upstream.put("/feed.xml", body.encode(), "application/rss+xml")


def config_for(tmp_path, upstream, redis_url, prefix, *, wait: str = "1h", **more: object):
    return write_config(
        tmp_path,
        redis_url=redis_url,
        prefix=prefix,
        categories=[{"slug": "qinggan", "title": "情感", "language": "zh"}],
        sources=[
            {
                "id": "zhaiyao",
                "url": upstream.url("/feed.xml"),
                "categories": ["qinggan"],
                "timezone": "Asia/Shanghai",
                "allow_private_network": True,
                "crawl_delay": "10ms",
                "full_text": True,
                "full_text_wait": wait,
                **more,
            }
        ],
    )


def local(src: str, upstream) -> str:
    return src.replace("http://www.zhbf.example", upstream.url(""))


def json_items(feeds, slug: str = "qinggan") -> dict[str, dict]:
    status, _headers, body = feeds[(slug, "json")]
    assert status == 200
    return {i["title"]: i for i in json.loads(body)["items"]}


async def test_summary_feed_items_carry_their_pages_body_and_images(
    tmp_path, upstream, redis, redis_url, prefix
):
    summary_feed(upstream)
    config = config_for(tmp_path, upstream, redis_url, prefix)
    await run_burst_worker(config, redis_url)
    feeds = await fetch_all_feeds(config, redis_url, ("qinggan", "all"))

    items = json_items(feeds)
    assert set(items) == {"full", "gone", "whole"}
    full = items["full"]
    for paragraph in EXPECTED["paragraphs"]:
        assert paragraph in full["content_html"]
    for image in EXPECTED["images"]:
        assert local(image["src"], upstream) in full["content_html"]
    assert full["image"] == local(EXPECTED["images"][0]["src"], upstream)
    assert full["summary"] == SUMMARY  # the upstream's summary, not the page's
    assert full["url"] == upstream.url("/qinggan/gushi/20231123/8812.html")
    for banned in EXPECTED["must_not_contain"]:
        assert banned not in full["content_html"]
    # The 404: kept, with its summary for a body.
    assert items["gone"]["content_html"] == "被删除的文章的摘要。"
    assert items["gone"]["summary"] == "被删除的文章的摘要。"
    # Not clearly longer than what the item had: the item's own body stays.
    assert re.sub(r"\s+", "", items["whole"]["content_html"]) == re.sub(r"\s+", "", WHOLE)

    for fmt in ("rss", "atom"):
        status, _headers, body = feeds[("qinggan", fmt)]
        parsed = feedparser.parse(body)
        assert status == 200 and not parsed.bozo
        entry = next(e for e in parsed.entries if e.title == "full")
        assert all(p in entry.content[0].value for p in EXPECTED["paragraphs"])
        assert entry.summary == SUMMARY
        text = body.decode()
        assert all(local(i["src"], upstream) in text for i in EXPECTED["images"])

    runtime = Runtime.open(config, redis_url)
    try:
        health = await source_health(runtime, "zhaiyao")
    finally:
        await runtime.close()
    assert (health.full_text_pages, health.full_text_errors, health.full_text_held) == (3, 1, 0)
    assert health.last_full_text_error is not None
    assert upstream.url("/missing.html") in health.last_full_text_error
    assert "404" in health.last_full_text_error
    assert health.state == "ok" and health.last_error is None  # the feed itself is fine


async def test_a_second_poll_fetches_no_page_again(tmp_path, upstream, redis, redis_url, prefix):
    summary_feed(upstream)
    config = config_for(tmp_path, upstream, redis_url, prefix)
    await run_burst_worker(config, redis_url)
    before = json_items(await fetch_all_feeds(config, redis_url, ("qinggan",)))

    # The feed changes (one more item), so it is read in full, not answered with a 304.
    upstream.put("/later.html", PAGE, "text/html; charset=utf-8")
    summary_feed(upstream, item("later", upstream.url("/later.html"), SUMMARY, 4))
    runtime = Runtime.open(config, redis_url)  # no queue: the new item's page is read inline
    try:
        report = await ingest_source(runtime, "zhaiyao")
    finally:
        await runtime.close()
    assert report.status == "updated"
    assert report.counts == {"new": 1, "unchanged": 3, "full text": 1}
    [page] = report.pages
    assert page.counts == {"new": 1, "full text": 1}
    assert [len(upstream.seen(p)) for p in ("/qinggan/gushi/20231123/8812.html", "/copy/8812.html")] == [1, 1]
    assert len(upstream.seen("/missing.html")) == 1 and len(upstream.seen("/later.html")) == 1

    after = json_items(await fetch_all_feeds(config, redis_url, ("qinggan",)))
    for title in ("full", "gone", "whole"):  # the feed's summary again changed nothing
        assert after[title] == before[title]
    assert EXPECTED["paragraphs"][-1] in after["later"]["content_html"]


async def test_an_item_waits_for_its_page_out_of_every_feed_at_most_full_text_wait(
    tmp_path, upstream, redis, redis_url, prefix
):
    summary_feed(upstream)
    config = config_for(tmp_path, upstream, redis_url, prefix, wait="1h")
    queue = await create_pool(arq_settings(redis_url), default_queue_name=config.settings.queue_name)
    runtime = Runtime.open(config, redis_url, queue=queue)
    now = datetime.now(UTC)
    server = TestServer(create_app(runtime), host="127.0.0.1")
    try:
        report = await ingest_source(runtime, "zhaiyao", now=now)
        assert report.counts == {"waiting for full text": 3}
        assert await queue.zcard(config.settings.queue_name) == 3  # three page jobs, not run
        await publish_missing(runtime)
        await server.start_server()
        async with ClientSession() as http:

            async def titles(path: str) -> list[str]:
                async with http.get(server.make_url(path)) as resp:
                    assert resp.status == 200
                    return [i["title"] for i in json.loads(await resp.read())["items"]]

            for path in ("/feeds/qinggan.json", "/feeds/all.json", "/feeds/qinggan.json?q=摘要"):
                assert await titles(path) == [], path
            health = await source_health(runtime, "zhaiyao")
            assert health.full_text_held == 3

            # Polled again while waiting: still held, no second page job.
            again = await ingest_source(runtime, "zhaiyao", now=now + timedelta(minutes=1), force=True)
            assert again.counts == {"waiting for full text": 3}
            assert await queue.zcard(config.settings.queue_name) == 3

            assert await release_due(runtime, now=now + timedelta(minutes=59)) == 0
            assert await release_due(runtime, now=now + timedelta(hours=1, seconds=1)) == 3
            await publish_category(runtime, "qinggan")
            await publish_category(runtime, "all")
            assert sorted(await titles("/feeds/qinggan.json")) == ["full", "gone", "whole"]
            async with http.get(server.make_url("/feeds/qinggan.json")) as resp:
                released = {i["title"]: i for i in json.loads(await resp.read())["items"]}
            assert released["full"]["summary"] == SUMMARY
            assert EXPECTED["paragraphs"][-1] not in released["full"]["content_html"]
            assert (await source_health(runtime, "zhaiyao")).full_text_held == 0
    finally:
        await server.close()
        await runtime.close()
        await queue.aclose()

    # The page jobs run after all: the page read late still gives the item its body.
    await run_burst_worker(config, redis_url)
    late = json_items(await fetch_all_feeds(config, redis_url, ("qinggan",)))
    assert EXPECTED["paragraphs"][-1] in late["full"]["content_html"]
    assert late["full"]["summary"] == SUMMARY


def test_clearly_longer_means_half_as_long_again_and_200_characters_more() -> None:
    short = "字" * 100
    assert not clearly_longer(short, "字" * (100 + LONGER_BY - 1))  # 2.99×, 199 more
    assert clearly_longer(short, "字" * (100 + LONGER_BY))
    long = "<p>" + "字" * 1000 + "</p>"
    assert not clearly_longer(long, "<p>" + "字" * 1499 + "</p>")  # 500 more, 1.499×
    assert clearly_longer(long, "<div><p>" + "字" * 1500 + "</p></div>")
    assert clearly_longer("", "字" * LONGER_BY)


def test_full_text_is_a_feed_sources_key(tmp_path, upstream, redis_url, prefix) -> None:
    config = config_for(tmp_path, upstream, redis_url, prefix, wait="90s")
    source = config.sources["zhaiyao"]
    assert source.full_text is True and source.full_text_wait == timedelta(seconds=90)
    with pytest.raises(ConfigError) as info:
        config_for(tmp_path, upstream, redis_url, prefix, kind="listing")
    assert "sources[0].full_text: only a feed source fetches full text" in str(info.value)
    with pytest.raises(ConfigError) as info:
        config_for(tmp_path, upstream, redis_url, prefix, wait="soon")
    assert "sources[0].full_text_wait" in str(info.value)


def test_the_reference_config_documents_the_full_text_keys() -> None:
    reference = (REPO / "config" / "syndicator.toml").read_text(encoding="utf-8")
    for key, default in (("full_text", "false"), ("full_text_wait", '"10m"')):
        assert re.search(rf"^#\s+{key} = {re.escape(default)}\s", reference, re.MULTILINE), key


async def test_a_page_robots_txt_refuses_keeps_the_summary_with_the_reason(
    tmp_path, upstream, redis, redis_url, prefix
):
    summary_feed(upstream)
    upstream.put("/robots.txt", b"User-agent: *\nDisallow: /qinggan/\n", "text/plain")
    config = config_for(tmp_path, upstream, redis_url, prefix)
    await run_burst_worker(config, redis_url)

    items = json_items(await fetch_all_feeds(config, redis_url, ("qinggan",)))
    assert items["full"]["content_html"] == SUMMARY and items["full"]["summary"] == SUMMARY
    assert upstream.seen("/qinggan/gushi/20231123/8812.html") == []  # never asked
    runtime = Runtime.open(config, redis_url)
    try:
        health = await source_health(runtime, "zhaiyao")
    finally:
        await runtime.close()
    assert health.robots_refused == 1 and health.full_text_errors == 2  # and the 404
    assert health.last_robots_refusal is not None
    assert upstream.url("/qinggan/gushi/20231123/8812.html") in health.last_robots_refusal


async def test_the_store_keeps_a_body_read_from_the_page_over_the_feeds_summary(redis, prefix):
    keys = Keys(prefix)
    feed_item = make_article(1, "tech", body="A short summary.")
    page = make_article(1, "tech", body="The whole story. " * 40)
    full = with_full_text(feed_item, page, "https://upstream.example/a/1")
    assert full is not None and full.summary == "A short summary."
    indexes = ("tech", "all")

    [first] = await upsert_articles(redis, keys, [(full, indexes)], now=STORE_TIME)
    # The feed's item again, unchanged: nothing changes, `updated` stays.
    [again] = await upsert_articles(redis, keys, [(feed_item, indexes)], now=STORE_TIME + timedelta(hours=1))
    # The upstream retitles it: the title changes, the page's body stays.
    retitled = replace(feed_item, title="New title").hashed()
    [edit] = await upsert_articles(redis, keys, [(retitled, indexes)], now=STORE_TIME + timedelta(hours=2))
    [stored] = await load_articles(redis, keys, [feed_item.id])
    assert (first.outcome, again.outcome, edit.outcome) == (Outcome.NEW, Outcome.UNCHANGED, Outcome.CHANGED)
    assert stored.title == "New title" and stored.content_html == full.content_html
    assert stored.summary == "A short summary." and stored.full_text_url == "https://upstream.example/a/1"
    # Stored the other way round (the wait was over first): the page's body still wins.
    other = make_article(2, "tech", body="A short summary.")
    await upsert_articles(redis, keys, [(other, indexes)], now=STORE_TIME)
    longer = with_full_text(other, page, "https://upstream.example/a/2")
    assert longer is not None
    [late] = await upsert_articles(redis, keys, [(longer, indexes)], now=STORE_TIME + timedelta(hours=1))
    assert late.outcome == Outcome.CHANGED
    assert (await load_articles(redis, keys, [other.id]))[0].content_html == page.content_html


async def test_filters_run_first_so_a_blocked_item_costs_no_page(
    tmp_path, upstream, redis, redis_url, prefix
):
    summary_feed(upstream)
    block = [{"field": "title", "words": ["gone"]}]
    config = config_for(tmp_path, upstream, redis_url, prefix, block=block)
    runtime = Runtime.open(config, redis_url)  # no queue: the pages are read inline
    try:
        report = await ingest_source(runtime, "zhaiyao")
    finally:
        await runtime.close()
    assert report.counts == {"filtered": 1, "new": 2, "full text": 1, "page not longer": 1}
    assert upstream.seen("/missing.html") == []
    assert sorted(json_items(await fetch_all_feeds(config, redis_url, ("qinggan",)))) == ["full", "whole"]

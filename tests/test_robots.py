"""robots.txt (RFC 9309) on the page-fetch path, against a real upstream on loopback.

The upstream records every request, so "nothing fetched" is what it saw, not what we
believe we did; Redis holds the cache and the politeness state the assertions read.
"""

from __future__ import annotations

import time
from dataclasses import replace

import pytest

from syndicator.fetch import RobotsRefused
from syndicator.fetch.robots import (
    CACHE_TTL,
    DISALLOW_ALL,
    MAX_CRAWL_DELAY,
    RULES,
    UNREACHABLE_TTL,
    RobotsFile,
    origin_of,
    robots_allows,
    robots_sitemaps,
    robots_url_of,
)
from syndicator.ingest import ingest_source
from syndicator.ingest.pages import fetch_politely
from syndicator.operate.health import source_health
from syndicator.operate.preview import preview_source
from syndicator.runtime import Runtime
from tests.builders import write_config
from tests.test_pages_e2e import ARTICLE_PATH, EXPECTED, zhbf_config, zhbf_site

ARTICLE = (EXPECTED["url"], ARTICLE_PATH)


def page_config(tmp_path, upstream, redis_url, prefix, path: str, **source: object):
    return write_config(
        tmp_path,
        redis_url=redis_url,
        prefix=prefix,
        categories=[{"slug": "qinggan", "title": "情感", "language": "zh"}],
        sources=[
            {
                "id": "page",
                "url": upstream.url(path),
                "kind": "page",
                "categories": ["qinggan"],
                "timezone": "Asia/Shanghai",
                "allow_private_network": True,
                "crawl_delay": "10ms",
                **source,
            }
        ],
    )


def robots(upstream, text: str, **kwargs: object) -> None:
    upstream.put("/robots.txt", text.encode(), "text/plain", **kwargs)


async def test_a_disallowed_page_is_never_requested_and_health_names_the_url_and_reason(
    tmp_path, upstream, redis, redis_url, prefix
):
    zhbf_site(upstream)
    robots(upstream, "User-agent: *\nDisallow: /qinggan/gushi/2023\n")
    config = page_config(tmp_path, upstream, redis_url, prefix, ARTICLE_PATH)
    runtime = Runtime.open(config, redis_url)
    try:
        report = await ingest_source(runtime, "page")
        health = await source_health(runtime, "page")
    finally:
        await runtime.close()

    assert upstream.seen(ARTICLE_PATH) == []  # the upstream never saw a request for it
    assert len(upstream.seen("/robots.txt")) == 1
    reason = f"disallowed by {upstream.url('/robots.txt')} for Syndicator"
    assert report.status == "error" and report.reason == reason and report.robots_refused
    assert not report.retryable
    assert health.last_error == reason
    assert health.robots_refused == 1
    assert health.last_robots_refusal == f"{upstream.url(ARTICLE_PATH)}: {reason}"
    assert health.obey_robots is True


async def test_a_listing_skips_the_pages_robots_refuses_and_records_each_by_url(
    tmp_path, upstream, redis, redis_url, prefix
):
    zhbf_site(upstream)
    robots(upstream, "User-agent: *\nAllow: /qinggan/gushi/$\nDisallow: /qinggan/\n")
    config = zhbf_config(tmp_path, upstream, redis_url, prefix)
    runtime = Runtime.open(config, redis_url)
    try:
        report = await ingest_source(runtime, "zhbf")
        health = await source_health(runtime, "zhbf")
    finally:
        await runtime.close()
    assert len(upstream.seen("/qinggan/gushi/")) == 1  # the listing itself is allowed ($)
    assert upstream.seen(ARTICLE_PATH) == []
    refused = [p for p in report.pages if p.robots_refused]
    assert upstream.url(ARTICLE_PATH) in [p.url for p in refused]
    assert health.robots_refused == len(refused)
    assert health.last_robots_refusal is not None
    assert health.last_robots_refusal.endswith(f"disallowed by {upstream.url('/robots.txt')} for Syndicator")


async def test_the_syndicator_group_wins_over_the_star_group(tmp_path, upstream, redis, redis_url, prefix):
    zhbf_site(upstream)
    robots(upstream, "User-agent: *\nDisallow: /\n\nUser-agent: Syndicator\nAllow: /\n")
    config = page_config(tmp_path, upstream, redis_url, prefix, ARTICLE_PATH)
    runtime = Runtime.open(config, redis_url)
    try:
        report = await ingest_source(runtime, "page")
    finally:
        await runtime.close()
    assert report.status == "updated", report.line()
    assert len(upstream.seen(ARTICLE_PATH)) == 1


async def test_crawl_delay_reaches_the_hosts_politeness_slot(tmp_path, upstream, redis, redis_url, prefix):
    """Crawl-delay: 7 with the source's own 10 ms: the host's next-start time in Redis (the
    shared politeness state every worker waits on) is set 7 s after this fetch began."""
    zhbf_site(upstream)
    robots(upstream, "User-agent: *\nCrawl-delay: 7\n")
    config = page_config(tmp_path, upstream, redis_url, prefix, ARTICLE_PATH)
    runtime = Runtime.open(config, redis_url)
    source = config.sources["page"]
    try:
        verdict = await robots_allows(runtime, source, upstream.url(ARTICLE_PATH))
        assert verdict.allowed and verdict.crawl_delay == 7.0
        before = int(time.time() * 1000)
        await fetch_politely(runtime, source, upstream.url(ARTICLE_PATH))
        after = int(time.time() * 1000)
        next_start = int(await redis.get(runtime.keys.host_next("127.0.0.1")))
    finally:
        await runtime.close()
    assert before + 7000 <= next_start <= after + 7000
    # Without robots.txt's delay the same fetch would set next-start 10 ms on.
    assert len(upstream.seen(ARTICLE_PATH)) == 1


def test_crawl_delay_and_request_rate_are_read_for_our_token_and_capped() -> None:
    url = "http://a.example/robots.txt"
    assert (
        RobotsFile(url, RULES, "User-agent: *\nRequest-rate: 1/20s\n")
        .verdict("http://a.example/x")
        .crawl_delay
        == 20
    )
    assert RobotsFile(url, RULES, "User-agent: *\nCrawl-delay: 3600\n").verdict(
        "http://a.example/x"
    ).crawl_delay == (MAX_CRAWL_DELAY)
    other = "User-agent: otherbot\nCrawl-delay: 9\n"
    assert RobotsFile(url, RULES, other).verdict("http://a.example/x").crawl_delay is None


async def test_sitemap_source_reads_the_sitemaps_robots_txt_names(
    tmp_path, upstream, redis, redis_url, prefix
):
    zhbf_site(upstream)
    article = upstream.url(ARTICLE_PATH)
    robots(
        upstream,
        "User-agent: *\nAllow: /\nSitemap: /sitemap_index.xml\nSitemap: https://elsewhere.example/s.xml\n",
    )
    index = f'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><sitemap><loc>{upstream.url("/sitemap-1.xml")}</loc></sitemap></sitemapindex>'
    urlset = f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>{article}</loc></url></urlset>'
    upstream.put("/sitemap_index.xml", index.encode(), "application/xml")
    upstream.put("/sitemap-1.xml", urlset.encode(), "application/xml")
    assert robots_sitemaps(upstream.documents["/robots.txt"].body, upstream.url("/robots.txt")) == (
        upstream.url("/sitemap_index.xml"),
        "https://elsewhere.example/s.xml",
    )
    config = zhbf_config(tmp_path, upstream, redis_url, prefix, kind="sitemap", path="/robots.txt")
    # Only our own loopback sitemaps: the other host's would be refused by the address guard.
    upstream.put("/robots.txt", b"User-agent: *\nAllow: /\nSitemap: /sitemap_index.xml\n", "text/plain")
    runtime = Runtime.open(config, redis_url)
    try:
        report = await ingest_source(runtime, "zhbf")
    finally:
        await runtime.close()
    assert report.status == "updated", report.line()
    assert report.counts["found"] == 1 and report.counts["new"] == 1
    assert len(upstream.seen("/sitemap_index.xml")) == 1 and len(upstream.seen("/sitemap-1.xml")) == 1
    assert len(upstream.seen(ARTICLE_PATH)) == 1
    assert len(upstream.seen("/robots.txt")) == 1  # read as the sitemap source, never fetched twice


@pytest.mark.parametrize("status", [404, 403, 410])
async def test_a_4xx_robots_txt_allows_everything_and_is_cached_for_a_day(
    tmp_path, upstream, redis, redis_url, prefix, status
):
    zhbf_site(upstream)
    if status != 404:
        robots(upstream, "User-agent: *\nDisallow: /\n", status=status)  # rules in an error body: ignored
    config = page_config(tmp_path, upstream, redis_url, prefix, ARTICLE_PATH)
    runtime = Runtime.open(config, redis_url)
    try:
        first = await ingest_source(runtime, "page", force=True)
        second = await ingest_source(runtime, "page", force=True)
        key = runtime.keys.robots(origin_of(upstream.url("/")))
        ttl = await redis.ttl(key)
        cached = await redis.hget(key, "outcome")
    finally:
        await runtime.close()
    assert first.status == "updated" and second.status == "updated", (first.line(), second.line())
    assert len(upstream.seen(ARTICLE_PATH)) == 2
    assert len(upstream.seen("/robots.txt")) == 1  # the second poll read the cache
    assert cached == b"allow-all"
    assert 0 < ttl <= CACHE_TTL == 24 * 3600


@pytest.mark.parametrize("status", [500, 503, 429])
async def test_a_5xx_robots_txt_disallows_everything_for_now(
    tmp_path, upstream, redis, redis_url, prefix, status
):
    zhbf_site(upstream)
    robots(upstream, "oops", status=status)
    config = page_config(tmp_path, upstream, redis_url, prefix, ARTICLE_PATH)
    runtime = Runtime.open(config, redis_url)
    try:
        report = await ingest_source(runtime, "page")
        health = await source_health(runtime, "page")
        key = runtime.keys.robots(origin_of(upstream.url("/")))
        ttl = await redis.ttl(key)
        cached = await redis.hget(key, "outcome")
    finally:
        await runtime.close()
    assert upstream.seen(ARTICLE_PATH) == []
    assert report.robots_refused and report.reason is not None
    assert report.reason.startswith(f"{upstream.url('/robots.txt')} unreachable (answered HTTP {status}")
    assert report.reason.endswith("everything disallowed for now")
    assert health.last_robots_refusal == f"{upstream.url(ARTICLE_PATH)}: {report.reason}"
    assert cached == DISALLOW_ALL.encode()
    assert 0 < ttl <= UNREACHABLE_TTL  # asked again soon, not for a day


async def test_an_unreachable_robots_txt_disallows(tmp_path, upstream, redis, redis_url, prefix):
    config = page_config(tmp_path, upstream, redis_url, prefix, "/page.html")
    closed = replace(config.sources["page"], url="http://127.0.0.1:9/page.html")  # discard port: refused
    runtime = Runtime.open(config, redis_url)
    try:
        verdict = await robots_allows(runtime, closed, closed.url)
        with pytest.raises(RobotsRefused) as refused:
            await fetch_politely(runtime, closed, closed.url)
    finally:
        await runtime.close()
    assert not verdict.allowed and verdict.checked
    assert verdict.reason == (
        "http://127.0.0.1:9/robots.txt unreachable (connection refused by 127.0.0.1:9): "
        "everything disallowed for now"
    )
    assert refused.value.url == closed.url and refused.value.reason == verdict.reason


async def test_obey_robots_false_opts_out_and_robots_txt_is_never_asked(
    tmp_path, upstream, redis, redis_url, prefix
):
    zhbf_site(upstream)
    robots(upstream, "User-agent: *\nDisallow: /\n")
    config = page_config(tmp_path, upstream, redis_url, prefix, ARTICLE_PATH, obey_robots=False)
    runtime = Runtime.open(config, redis_url)
    try:
        report = await ingest_source(runtime, "page")
        health = await source_health(runtime, "page")
    finally:
        await runtime.close()
    assert report.status == "updated", report.line()
    assert len(upstream.seen(ARTICLE_PATH)) == 1
    assert upstream.seen("/robots.txt") == []
    assert health.obey_robots is False and health.robots_refused == 0


async def test_only_pages_are_checked_not_a_feeds_own_document(tmp_path, upstream, redis, redis_url, prefix):
    robots(upstream, "User-agent: *\nDisallow: /\n")
    config = page_config(tmp_path, upstream, redis_url, prefix, "/feed.xml", kind="feed")
    source = config.sources["page"]
    runtime = Runtime.open(config, redis_url)
    try:
        own = await robots_allows(runtime, source, source.url)
        item = await robots_allows(runtime, source, upstream.url("/posts/1.html"))  # a full-text fetch
        itself = await robots_allows(runtime, source, upstream.url("/robots.txt"))
    finally:
        await runtime.close()
    assert own.allowed and not own.checked
    assert not item.allowed and item.robots_url == upstream.url("/robots.txt")
    assert itself.allowed  # robots.txt itself is always allowed
    assert len(upstream.seen("/robots.txt")) == 1


async def test_preview_of_a_refused_page_says_why(tmp_path, upstream, redis, redis_url, prefix):
    zhbf_site(upstream)
    robots(upstream, "User-agent: Syndicator\nDisallow: /qinggan/gushi/20231123/\n")
    config = page_config(tmp_path, upstream, redis_url, prefix, ARTICLE_PATH)
    runtime = Runtime.open(config, redis_url)
    try:
        preview = await preview_source(runtime, config.sources["page"])
    finally:
        await runtime.close()
    assert preview.error == f"disallowed by {upstream.url('/robots.txt')} for Syndicator"
    assert upstream.seen(ARTICLE_PATH) == []


def test_robots_urls_and_origins() -> None:
    assert robots_url_of("https://user:pw@a.example:8443/x/y?z=1") == "https://a.example:8443/robots.txt"
    assert origin_of("https://A.example/x") == "https://a.example:443"
    assert origin_of("http://a.example/x") == "http://a.example:80"
    assert origin_of("http://[::1]:8080/x") == "http://[::1]:8080"

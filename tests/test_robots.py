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
from syndicator.store.sources import ROBOTS_REFUSALS_KEPT
from tests.builders import write_config
from tests.conftest import running_upstream
from tests.harness import fetch_all_feeds, run_burst_worker
from tests.test_fulltext import PAGE, SUMMARY, item, json_items
from tests.test_fulltext import config_for as full_text_config
from tests.test_pages_e2e import ARTICLE_PATH, EXPECTED, zhbf_config, zhbf_site
from tests.upstream import Upstream

ARTICLE = (EXPECTED["url"], ARTICLE_PATH)


POLITE_LOOPBACK = {
    "categories": ["qinggan"],
    "timezone": "Asia/Shanghai",
    "allow_private_network": True,
    "crawl_delay": "10ms",
}


def page_config(tmp_path, upstream, redis_url, prefix, path: str, **source: object):
    return write_config(
        tmp_path,
        redis_url=redis_url,
        prefix=prefix,
        categories=[{"slug": "qinggan", "title": "情感", "language": "zh"}],
        sources=[{"id": "page", "url": upstream.url(path), "kind": "page", **POLITE_LOOPBACK, **source}],
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


async def test_health_keeps_the_last_ten_refused_urls_newest_first(
    tmp_path, upstream, redis, redis_url, prefix
):
    robots(upstream, "User-agent: *\nDisallow: /a/\n")
    pages = [upstream.url(f"/a/{n}.html") for n in range(1, 13)]
    urlset = "".join(f"<url><loc>{url}</loc></url>" for url in pages)
    upstream.put(
        "/sitemap.xml",
        f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urlset}</urlset>'.encode(),
        "application/xml",
    )
    config = page_config(tmp_path, upstream, redis_url, prefix, "/sitemap.xml", kind="sitemap")
    runtime = Runtime.open(config, redis_url)
    try:
        report = await ingest_source(runtime, "page")
        health = await source_health(runtime, "page")
    finally:
        await runtime.close()

    assert [p.url for p in report.pages if p.robots_refused] == pages
    reason = f"disallowed by {upstream.url('/robots.txt')} for Syndicator"
    newest_first = [f"{url}: {reason}" for url in reversed(pages)]
    assert health.robots_refused == 12
    assert health.recent_robots_refusals == tuple(newest_first[:ROBOTS_REFUSALS_KEPT])
    assert ROBOTS_REFUSALS_KEPT == 10 and health.last_robots_refusal == newest_first[0]
    assert health.as_dict()["recent_robots_refusals"] == newest_first[:10]


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


async def test_a_feeds_own_document_is_followed_through_its_redirects_unchecked(
    tmp_path, upstream, redis, redis_url, prefix
):
    """A feed that moved (a preview or `add-source` reads it through the page-fetch path):
    its redirects lead to the feed, which robots.txt does not govern."""
    robots(upstream, "User-agent: *\nDisallow: /\n")
    upstream.put("/moved/feed.xml", b"<rss/>", "application/rss+xml")
    redirect(upstream, "/feed.xml", upstream.url("/moved/feed.xml"))
    config = page_config(tmp_path, upstream, redis_url, prefix, "/feed.xml", kind="feed")
    source = config.sources["page"]
    runtime = Runtime.open(config, redis_url)
    try:
        fetched = await fetch_politely(runtime, source, source.url)
    finally:
        await runtime.close()
    assert fetched.final_url == upstream.url("/moved/feed.xml") and fetched.body == b"<rss/>"
    assert upstream.seen("/robots.txt") == []


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


# ---------------------------------------------------------------- redirects
# Every redirect the page-fetch path follows is asked what its first URL is asked (the
# host's cool-down, then its own origin's robots.txt) before it is requested.


def redirect(upstream, path: str, target: str) -> str:
    return upstream.put(path, b"", "text/plain", status=302, headers={"Location": target})


async def test_a_redirect_into_a_disallowed_path_is_never_followed(
    tmp_path, upstream, redis, redis_url, prefix
):
    zhbf_site(upstream)
    robots(upstream, "User-agent: *\nDisallow: /qinggan/\n")
    redirect(upstream, "/go", upstream.url(ARTICLE_PATH))
    config = page_config(tmp_path, upstream, redis_url, prefix, "/go")
    runtime = Runtime.open(config, redis_url)
    try:
        report = await ingest_source(runtime, "page")
        health = await source_health(runtime, "page")
    finally:
        await runtime.close()

    assert len(upstream.seen("/go")) == 1
    assert upstream.seen(ARTICLE_PATH) == []  # the upstream never saw a request for it
    assert len(upstream.seen("/robots.txt")) == 1
    reason = f"disallowed by {upstream.url('/robots.txt')} for Syndicator"
    assert report.status == "error" and report.robots_refused and not report.retryable
    assert report.line() == f"source page ({upstream.url(ARTICLE_PATH)}): {reason}"
    assert health.robots_refused == 1
    assert health.last_robots_refusal == f"{upstream.url(ARTICLE_PATH)}: {reason}"


async def test_a_full_text_redirect_to_another_origin_asks_that_origins_robots_txt(
    tmp_path, upstream, redis, redis_url, prefix
):
    """The item's link redirects to another origin whose robots.txt disallows the page:
    its robots.txt is read, the page is never asked, the item keeps its summary and
    health names the refused URL and the other origin's robots.txt."""
    async with running_upstream() as other:  # 127.0.0.1 on another port: another origin
        other.put(ARTICLE_PATH, PAGE, "text/html; charset=utf-8")
        robots(other, "User-agent: *\nDisallow: /qinggan/\n")
        robots(upstream, "User-agent: *\nAllow: /\n")
        redirect(upstream, "/go/8812", other.url(ARTICLE_PATH))
        feed = (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>摘要</title>'
            f"<link>{upstream.url('/')}</link><description>d</description>"
            f"{item('full', upstream.url('/go/8812'), SUMMARY)}</channel></rss>"
        )
        upstream.put("/feed.xml", feed.encode(), "application/rss+xml")
        config = full_text_config(tmp_path, upstream, redis_url, prefix)
        await run_burst_worker(config, redis_url)
        items = json_items(await fetch_all_feeds(config, redis_url, ("qinggan",)))
        runtime = Runtime.open(config, redis_url)
        try:
            health = await source_health(runtime, "zhaiyao")
        finally:
            await runtime.close()

    assert len(upstream.seen("/go/8812")) == 1
    assert len(other.seen("/robots.txt")) == 1
    assert other.seen(ARTICLE_PATH) == []
    assert items["full"]["content_html"] == SUMMARY and items["full"]["summary"] == SUMMARY
    reason = f"disallowed by {other.url('/robots.txt')} for Syndicator"
    assert health.robots_refused == 1 and health.full_text_errors == 1
    assert health.last_robots_refusal == f"{other.url(ARTICLE_PATH)}: {reason}"
    assert health.last_full_text_error is not None and reason in health.last_full_text_error


async def test_a_redirect_to_a_host_cooling_down_after_a_429_is_not_followed(
    tmp_path, upstream, redis, redis_url, prefix
):
    """Another host (127.0.0.2) answered a 429 to one source; a page whose URL redirects
    there is put off until the cool-down ends, and that host is asked nothing, not even
    its robots.txt."""
    other = Upstream("127.0.0.2")
    await other.start()
    try:
        zhbf_site(other)
        other.put("/busy", b"slow down", "text/plain", status=429, headers={"Retry-After": "600"})
        redirect(upstream, "/go", other.url(ARTICLE_PATH))
        config = write_config(
            tmp_path,
            redis_url=redis_url,
            prefix=prefix,
            categories=[{"slug": "qinggan", "title": "情感", "language": "zh"}],
            sources=[
                {"id": "page", "url": upstream.url("/go"), "kind": "page", **POLITE_LOOPBACK},
                {"id": "busy", "url": other.url("/busy"), "kind": "page", **POLITE_LOOPBACK},
            ],
        )
        runtime = Runtime.open(config, redis_url)
        try:
            assert (await ingest_source(runtime, "busy")).http_status == 429
            before = len(other.requests)
            report = await ingest_source(runtime, "page")
            health = await source_health(runtime, "page")
        finally:
            await runtime.close()
    finally:
        await other.stop()

    assert len(upstream.seen("/go")) == 1
    assert len(other.requests) == before  # neither the page nor its robots.txt
    assert report.status == "deferred", report.line()
    assert (report.reason or "").startswith("host 127.0.0.2 cooling down (HTTP 429 to source busy)")
    assert health.next_due_reason.startswith("deferred: host 127.0.0.2 cooling down (HTTP 429")
    assert health.consecutive_errors == 0


async def test_a_redirect_to_an_allowed_page_on_another_host_waits_for_its_crawl_delay(
    tmp_path, upstream, redis, redis_url, prefix
):
    """Allowed by the other host's robots.txt, the page is read; that robots.txt's
    Crawl-delay spaces the host's next request, as for a first URL on it."""
    other = Upstream("127.0.0.2")
    await other.start()
    try:
        zhbf_site(other)
        robots(other, "User-agent: *\nDisallow: /private/\nCrawl-delay: 7\n")
        redirect(upstream, "/go", other.url(ARTICLE_PATH))
        config = page_config(tmp_path, upstream, redis_url, prefix, "/go")
        runtime = Runtime.open(config, redis_url)
        try:
            before = int(time.time() * 1000)
            report = await ingest_source(runtime, "page")
            after = int(time.time() * 1000)
            next_start = int(await redis.get(runtime.keys.host_next("127.0.0.2")))
        finally:
            await runtime.close()
    finally:
        await other.stop()

    assert report.status == "updated", report.line()
    assert report.counts == {"new": 1}
    assert len(upstream.seen("/go")) == 1 and len(other.seen(ARTICLE_PATH)) == 1
    assert len(other.seen("/robots.txt")) == 1
    assert before + 7000 <= next_start <= after + 7000

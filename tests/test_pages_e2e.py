"""End to end for article web pages: a local copy of the seed site, a listing source, a
real arq worker, and the category feeds the seed article lands in."""

from __future__ import annotations

import json
from dataclasses import replace

import feedparser
import jsonschema

from syndicator.ingest import ingest_source
from syndicator.runtime import Runtime
from syndicator.store.keys import Keys
from tests.builders import write_config
from tests.conftest import SITE_ZHBF, delete_created
from tests.harness import SCHEMA, fetch_all_feeds, run_burst_worker

SITE = SITE_ZHBF
EXPECTED = json.loads((SITE / "article-8812.expected.json").read_text())
ARTICLE_PATH = "/qinggan/gushi/20231123/8812.html"


def zhbf_site(upstream, *, gbk: bool = False) -> None:
    listing = (SITE / "listing-qinggan-gushi.html").read_bytes()
    upstream.put("/qinggan/gushi/", listing, "text/html; charset=utf-8")
    if gbk:
        upstream.put(ARTICLE_PATH, (SITE / "article-8812.gbk.html").read_bytes(), "text/html; charset=gbk")
    else:
        upstream.put(ARTICLE_PATH, (SITE / "article-8812.utf8.html").read_bytes(), "text/html")


def zhbf_config(
    tmp_path,
    upstream,
    redis_url,
    prefix,
    *,
    kind: str = "listing",
    path: str = "/qinggan/gushi/",
    category_map: dict[str, str] | None = None,
):
    return write_config(
        tmp_path,
        redis_url=redis_url,
        prefix=prefix,
        categories=[
            {"slug": "qinggan", "title": "情感", "language": "zh"},
            {"slug": "qinggan/gushi", "title": "故事", "language": "zh"},
            {"slug": "misc", "title": "其他", "language": "zh"},
        ],
        sources=[
            {
                "id": "zhbf",
                "url": upstream.url(path),
                "kind": kind,
                "timezone": "Asia/Shanghai",
                "allow_private_network": True,
                "crawl_delay": "10ms",
                "default_category": "misc",
                "category_map": category_map or {"情感/故事": "qinggan/gushi", "情感/*": "qinggan"},
            }
        ],
    )


async def test_listing_puts_the_seed_article_into_its_category_feeds(
    tmp_path, upstream, redis, redis_url, prefix
):
    zhbf_site(upstream)
    config = zhbf_config(tmp_path, upstream, redis_url, prefix)
    await run_burst_worker(config, redis_url)
    feeds = await fetch_all_feeds(config, redis_url, ("qinggan", "qinggan/gushi", "misc", "all"))

    for slug in ("qinggan", "qinggan/gushi", "all"):
        for fmt in ("rss", "atom", "json"):
            status, _headers, body = feeds[(slug, fmt)]
            assert status == 200
            if fmt == "json":
                document = json.loads(body)
                jsonschema.validate(document, SCHEMA, format_checker=jsonschema.FormatChecker())
                (item,) = document["items"]
                title, link, tags, html = item["title"], item["url"], item["tags"], item["content_html"]
                published = item["date_published"]
            else:
                parsed = feedparser.parse(body)
                assert not parsed.bozo, parsed.get("bozo_exception")
                (entry,) = parsed.entries
                title, link, html = entry.title, entry.link, entry.content[0].value
                # What a reader shows: the label (RSS: the term; Atom: the label, the slug its term).
                tags = [t.get("label") or t.term for t in entry.tags]
                if fmt == "atom":
                    assert "qinggan/gushi" in [t.term for t in entry.tags]
                published = entry.published
            assert title == EXPECTED["title"]
            assert link == EXPECTED["url"]
            # Our category's label; the upstream breadcrumb 情感/故事 says the same, shown once.
            assert "情感/故事" in tags and "qinggan/gushi" not in tags, tags
            for paragraph in EXPECTED["paragraphs"]:
                assert paragraph.replace("'", "&#x27;") in html or paragraph in html
            for image in EXPECTED["images"]:
                local = image["src"].replace("http://www.zhbf.example", upstream.url(""))
                assert local in html, local
            for banned in EXPECTED["must_not_contain"]:
                assert banned not in html, banned
            if fmt == "json":
                assert published == "2023-11-22T16:00:00Z"
    assert json.loads(feeds[("misc", "json")][2])["items"] == []

    state = await redis.hgetall(f"{prefix}source:zhbf".encode())
    # The four related-article links 404 here: each is recorded with its URL and reason.
    assert int(state[b"page_errors"]) == 4
    assert upstream.url("/xiangguan/") in state[b"last_page_error"].decode()
    assert "404" in state[b"last_page_error"].decode()


async def test_second_poll_enqueues_no_page_twice(tmp_path, upstream, redis, redis_url, prefix):
    zhbf_site(upstream)
    config = zhbf_config(tmp_path, upstream, redis_url, prefix)
    await run_burst_worker(config, redis_url)
    first_fetches = len(upstream.seen(ARTICLE_PATH))
    # The listing changes (a new sibling link), so it is fetched in full, not a 304.
    listing = (
        (SITE / "listing-qinggan-gushi.html")
        .read_text()
        .replace("</ul>", '<li><a href="/qinggan/gushi/20231124/8813.html">新文章</a></li></ul>')
    )
    upstream.put("/qinggan/gushi/", listing.encode(), "text/html; charset=utf-8")
    runtime = Runtime.open(config, redis_url)
    try:
        report = await ingest_source(runtime, "zhbf")
    finally:
        await runtime.close()
    # The new link, plus the four pages that failed (404) last time and are tried again;
    # the stored seed article is not fetched twice.
    assert report.counts["new pages"] == 5
    assert report.counts.get("new", 0) == 0 and report.counts["page errors"] == 5
    assert len(upstream.seen(ARTICLE_PATH)) == first_fetches == 1


async def test_gbk_page_source(tmp_path, upstream, redis, redis_url, prefix):
    zhbf_site(upstream, gbk=True)
    config = zhbf_config(tmp_path, upstream, redis_url, prefix, kind="page", path=ARTICLE_PATH)
    runtime = Runtime.open(config, redis_url)
    try:
        report = await ingest_source(runtime, "zhbf")
        again = await ingest_source(runtime, "zhbf")
    finally:
        await runtime.close()
    assert report.counts == {"new": 1}, report
    assert again.status == "not-modified"
    feeds = await fetch_all_feeds(config, redis_url, ("qinggan/gushi",))
    (item,) = json.loads(feeds[("qinggan/gushi", "json")][2])["items"]
    assert item["title"] == EXPECTED["title"]
    assert EXPECTED["paragraphs"][0] in item["content_html"]


async def test_unmapped_breadcrumb_goes_to_default_category_and_is_counted(
    tmp_path, upstream, redis, redis_url, prefix
):
    zhbf_site(upstream)
    config = zhbf_config(
        tmp_path,
        upstream,
        redis_url,
        prefix,
        kind="page",
        path=ARTICLE_PATH,
        category_map={"体育/*": "qinggan"},
    )
    runtime = Runtime.open(config, redis_url)
    try:
        await ingest_source(runtime, "zhbf")
    finally:
        await runtime.close()
    state = await redis.hgetall(f"{prefix}source:zhbf".encode())
    assert state[b"unmapped"] == b"1" and state[b"last_unmapped"].decode() == "情感/故事"
    feeds = await fetch_all_feeds(config, redis_url, ("misc",))
    assert [i["title"] for i in json.loads(feeds[("misc", "json")][2])["items"]] == [EXPECTED["title"]]
    assert await redis.zcard(Keys(prefix).category_index("qinggan")) == 0


async def test_listing_follows_next_pages_up_to_max_depth(tmp_path, upstream, redis, redis_url, prefix):
    zhbf_site(upstream)
    page2 = (
        '<html><body><ul class="list">'
        '<li><a href="/qinggan/gushi/20231120/8790.html">第二页的文章</a></li>'
        '<li><a href="/qinggan/gushi/20231119/8788.html">第二页的另一篇</a></li>'
        '</ul><div class="pages"><a href="/qinggan/gushi/list_3.html">下一页</a></div></body></html>'
    )
    upstream.put("/qinggan/gushi/list_2.html", page2.encode(), "text/html; charset=utf-8")
    for depth, expected_pages in ((1, 5), (2, 7)):
        config = zhbf_config(tmp_path, upstream, redis_url, f"{prefix}d{depth}:")
        config = replace(config, sources={"zhbf": replace(config.sources["zhbf"], max_depth=depth)})
        runtime = Runtime.open(config, redis_url)
        try:
            report = await ingest_source(runtime, "zhbf")
        finally:
            await runtime.close()
            await delete_created(redis, f"{prefix}d{depth}:")
        assert report.counts["found"] == expected_pages, depth
    # list_3.html was never requested: depth 2 stops after the second listing page.
    assert upstream.seen("/qinggan/gushi/list_3.html") == []
    assert len(upstream.seen("/qinggan/gushi/list_2.html")) == 1


def sitemap(lastmod: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<url><loc>URL</loc><lastmod>{lastmod}</lastmod></url></urlset>"
    ).encode()


async def test_sitemap_refetches_a_page_whose_lastmod_moved(tmp_path, upstream, redis, redis_url, prefix):
    zhbf_site(upstream)
    article_url = upstream.url(ARTICLE_PATH)
    upstream.put(
        "/sitemap.xml", sitemap("2023-11-23").replace(b"URL", article_url.encode()), "application/xml"
    )
    config = zhbf_config(tmp_path, upstream, redis_url, prefix, kind="sitemap", path="/sitemap.xml")
    runtime = Runtime.open(config, redis_url)
    try:
        first = await ingest_source(runtime, "zhbf")
        unchanged = await ingest_source(runtime, "zhbf")
        upstream.put(
            "/sitemap.xml",
            sitemap("2023-11-24T08:00:00+08:00").replace(b"URL", article_url.encode()),
            "application/xml",
        )
        moved = await ingest_source(runtime, "zhbf")
    finally:
        await runtime.close()
    assert first.counts["new pages"] == 1 and first.counts["new"] == 1
    assert unchanged.status == "not-modified"
    assert moved.counts["new pages"] == 1 and moved.counts.get("unchanged") == 1
    assert len(upstream.seen(ARTICLE_PATH)) == 2

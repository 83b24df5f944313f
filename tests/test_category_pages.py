"""Category pages (/categories/{slug}/) as a person meets them, in Debian's Chromium driven
by Playwright (never `playwright install`): readable without script, one-click copy with it,
nothing the strict CSP blocks; the feeds' home page links point to them, the index links to
them; a renamed category (`aliases`) answers 301 and a removed one 410.

Without Chromium the browser test skips locally and fails in CI (tests/programs.py).
"""

from __future__ import annotations

import json

import feedparser
import pytest
from aiohttp import ClientSession
from lxml import etree
from lxml import html as lxml_html
from playwright.async_api import Browser, Page

from syndicator.config import ConfigError
from syndicator.ingest import ingest_source
from syndicator.runtime import Runtime
from syndicator.store.articles import newest_articles
from syndicator.web.category_page import CONTENT_SECURITY_POLICY, render_category_page
from syndicator.web.target import parse_target
from tests.builders import items, rss, write_config
from tests.category_helpers import SOURCES, site_config
from tests.dashboard_helpers import chromium
from tests.harness import serving
from tests.processes import free_port
from tests.programs import require_program

ATOM = "{http://www.w3.org/2005/Atom}"
MEDIA_TYPES = {"rss": "application/rss+xml", "atom": "application/atom+xml", "json": "application/feed+json"}


@pytest.fixture
def browser_program() -> str:
    """Checked before anything is built, so a machine without Chromium skips at once."""
    return require_program("chromium", "chromium")


@pytest.fixture
async def site(tmp_path, upstream, redis, redis_url, prefix):
    port = free_port()
    base = f"http://127.0.0.1:{port}/"
    config = site_config(tmp_path, upstream, redis_url, prefix, base)
    async with serving(config, redis_url, SOURCES, port=port) as (runtime, _):
        yield base, runtime


async def open_page(browser: Browser, url: str, *, script: bool) -> tuple[Page, list[str]]:
    """`url` in a fresh context (script on or off); the console's CSP complaints and the
    page's errors are collected into the returned list."""
    context = await browser.new_context(java_script_enabled=script)
    if script:
        origin = url.split("/categories/")[0]
        await context.grant_permissions(["clipboard-read", "clipboard-write"], origin=origin)
    page = await context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    response = await page.goto(url)
    assert response is not None and response.status == 200, url
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    return page, problems


@pytest.mark.parametrize(
    ("slug", "language", "title", "line", "copy", "copied", "parents", "children"),
    [
        (
            "tech/python",
            "en",
            "Python",
            "This is a feed — copy its address into your reader.",
            "Copy",
            "Copied",
            ["All articles", "Technology"],
            [],
        ),
        (
            "xinwen",
            "zh-CN",
            "新闻",
            "这是一个订阅源——把它的地址复制到你的阅读器里。",
            "复制",
            "已复制",
            ["All articles"],
            ["国内新闻"],
        ),
    ],
)
async def test_a_category_page_reads_without_script_and_copies_with_it(
    browser_program, site, slug, language, title, line, copy, copied, parents, children
):
    base, _ = site
    url = f"{base}categories/{slug}/"
    feeds = {fmt: f"{base}feeds/{slug}.{fmt}" for fmt in MEDIA_TYPES}
    async with chromium(browser_program) as browser:
        # Without script: everything is there to read; the copy buttons stay hidden.
        page, problems = await open_page(browser, url, script=False)
        assert await page.get_attribute("html", "lang") == language
        assert await page.title() == title
        assert await page.inner_text("h1") == title
        assert await page.inner_text(".feed-line") == line
        assert [await f.input_value() for f in await page.query_selector_all(".feed input")] == list(
            feeds.values()
        )
        assert not await page.locator("button[data-copy]").first.is_visible()
        assert await page.locator("nav.parents a").all_inner_texts() == parents
        assert await page.locator("nav.children a").all_inner_texts() == children
        articles = page.locator("section.items article")
        assert await articles.count() >= 1
        first = articles.first
        assert await first.locator("h3 a").inner_text()
        assert await first.locator("time").get_attribute("datetime")
        assert await first.locator(".source").inner_text()
        assert await first.locator(".summary").inner_text()
        links = await page.eval_on_selector_all(
            "head link[rel=alternate]", "ls => ls.map(l => [l.type, l.href])"
        )
        assert links == [[MEDIA_TYPES[fmt], href] for fmt, href in feeds.items()]
        await page.context.close()
        assert problems == []

        # With script: one click copies the address; nothing broke the CSP.
        page, problems = await open_page(browser, url, script=True)
        button = page.locator('button[data-copy="feed-atom"]')
        assert await button.inner_text() == copy
        await button.click()
        assert await page.evaluate("navigator.clipboard.readText()") == feeds["atom"]
        assert await button.inner_text() == copied
        await page.context.close()
        assert problems == []

    # Every autodiscovered feed: its real media type, no stylesheet, its home link is the page.
    async with ClientSession() as http:
        for fmt, href in feeds.items():
            async with http.get(href) as resp:
                assert resp.status == 200
                assert resp.headers["Content-Type"].startswith(MEDIA_TYPES[fmt])
                body = await resp.read()
            assert b"xml-stylesheet" not in body
            if fmt == "json":
                assert json.loads(body)["home_page_url"] == url
            elif fmt == "rss":
                assert etree.fromstring(body).findtext("channel/link") == url
                assert not feedparser.parse(body).bozo
            else:
                [alternate] = etree.fromstring(body).findall(f"{ATOM}link[@rel='alternate']")
                assert (alternate.get("href"), alternate.get("type")) == (url, "text/html")


async def test_the_chinese_page_shows_who_else_reported_an_article(browser_program, site):
    base, _ = site
    async with chromium(browser_program) as browser:
        page, problems = await open_page(browser, f"{base}categories/xinwen/guonei/", script=False)
        also = page.locator(".also")
        assert await also.count() == 1
        assert await also.locator("a").all_inner_texts() == ["东方门户网"]
        assert "其他来源的报道" in await also.inner_text()
        sources = await page.locator("section.items .source").all_inner_texts()
        assert "重庆日报网" in sources and "新华观察" in sources
        assert await page.locator("nav.parents a").all_inner_texts() == ["All articles", "新闻"]
        await page.context.close()
        assert problems == []


async def test_the_index_links_every_category_page_and_each_answers(site):
    base, runtime = site
    async with ClientSession() as http:
        async with http.get(base) as resp:
            dom = lxml_html.fromstring(await resp.read())
        pages = dom.xpath("//a[contains(@href, '/categories/')]/@href")
        assert sorted(pages) == sorted(f"{base}categories/{slug}/" for slug in runtime.config.categories)
        for href in pages:
            async with http.get(href) as resp:
                assert resp.status == 200, href
                etag = resp.headers["ETag"]
            async with http.get(href, headers={"If-None-Match": etag}) as resp:
                assert resp.status == 304, href
        # One URL per page: without the trailing slash, a 301 to it.
        async with http.get(f"{base}categories/tech/python", allow_redirects=False) as resp:
            assert (resp.status, resp.headers["Location"]) == (301, "/categories/tech/python/")
        async with http.get(f"{base}static/nothing.js") as resp:
            assert resp.status == 404


async def test_a_renamed_category_answers_301_and_a_removed_one_410(
    tmp_path, upstream, redis, redis_url, prefix
):
    port = free_port()
    base = f"http://127.0.0.1:{port}/"
    # Before: `python` and `gone` are published.
    old = write_config(
        tmp_path,
        redis_url=redis_url,
        prefix=prefix,
        public_url=base,
        categories=[{"slug": "python"}, {"slug": "gone"}, {"slug": "tech"}],
        sources=[],
    )
    async with serving(old, redis_url):
        pass
    # After: `python` became `tech/python` (an alias), `gone` was removed.
    new = site_config(tmp_path, upstream, redis_url, prefix, base)
    async with serving(new, redis_url, port=port) as (runtime, _):
        target = parse_target(runtime, "python+tech.json")
        assert (target.slugs, target.renamed) == (("tech/python", "tech"), True)
        assert parse_target(runtime, "tech/python+python.rss").slugs == ("tech/python",)
        moved = {
            "feeds/python.rss": f"{base}feeds/tech/python.rss",
            "feeds/python.atom?q=asyncio&limit=5": f"{base}feeds/tech/python.atom?q=asyncio&limit=5",
            "feeds/python+xinwen.json": f"{base}feeds/tech/python+xinwen.json",
            "categories/python/": f"{base}categories/tech/python/",
        }
        async with ClientSession() as http:
            for path, location in moved.items():
                async with http.get(base + path, allow_redirects=False) as resp:
                    assert (resp.status, resp.headers["Location"]) == (301, location), path
                async with http.get(base + path) as resp:
                    assert resp.status == 200, path
            for path, status in {
                "feeds/gone.rss": 410,
                "categories/gone/": 410,
                "feeds/never.rss": 404,
                "categories/never/": 404,
            }.items():
                async with http.get(base + path, allow_redirects=False) as resp:
                    assert resp.status == status, path
                    assert "Location" not in resp.headers
            # A combined feed has no page of its own: it links the index.
            async with http.get(f"{base}feeds/tech/python+xinwen.json") as resp:
                assert json.loads(await resp.read())["home_page_url"] == base


@pytest.mark.parametrize(
    ("categories", "key", "problem"),
    [
        (
            [{"slug": "tech", "aliases": ["news"]}, {"slug": "news"}],
            "categories[0].aliases[0]",
            "alias 'news' is a category of its own",
        ),
        (
            [{"slug": "tech/python", "aliases": ["tech"]}],
            "categories[0].aliases[0]",
            "alias 'tech' is a category of its own",
        ),
        (
            [{"slug": "a", "aliases": ["old"]}, {"slug": "b", "aliases": ["old"]}],
            "categories[1].aliases[0]",
            "alias 'old' is also an alias of 'a'",
        ),
        ([{"slug": "a", "aliases": ["all"]}], "categories[0].aliases[0]", "alias 'all' is a category"),
    ],
)
def test_an_alias_names_one_category_only(tmp_path, categories, key, problem):
    with pytest.raises(ConfigError) as info:
        write_config(tmp_path, redis_url="redis://x", prefix="p:", categories=categories, sources=[])
    assert info.value.key == key and problem in info.value.problem


async def test_text_from_upstreams_is_text_on_the_page(tmp_path, redis_url, prefix):
    config = write_config(
        tmp_path, redis_url=redis_url, prefix=prefix, categories=[{"slug": "tech"}], sources=[]
    )
    hostile = '<img src=x onerror="alert(1)"></script><script>alert(2)</script>'
    feed = {
        "items": [
            {
                "title": hostile,
                "url": 'https://x.example/"><script>alert(3)</script>',
                "summary": hostile,
                "date_published": "2026-11-30T08:00:00Z",
                "_syndicator": {
                    "source_title": hostile,
                    "also_reported_by": [{"url": "javascript:x", "title": hostile, "source": hostile}],
                    "also_reported_by_more": 2,
                },
            }
        ]
    }
    runtime = Runtime.open(config, redis_url)
    try:
        page = render_category_page(runtime, "tech", feed)
    finally:
        await runtime.close()
    dom = lxml_html.fromstring(page)
    assert [s.get("src") for s in dom.iter("script")] == ["/static/category.js"]
    assert dom.xpath("//img") == [] and dom.xpath("//@onerror") == []
    assert dom.findtext(".//h3/a") == hostile
    assert dom.findtext(".//time") == "2026-11-30 08:00 UTC"
    also = dom.find(".//div[@class='also']")
    assert "and 2 more" in also.text_content() and hostile in also.text_content()
    assert not [h for h in dom.xpath("//@href") if h.startswith("javascript:")]


async def test_after_a_rename_a_forced_ingest_refills_the_new_slug(
    tmp_path, upstream, redis, redis_url, prefix
):
    """Articles are indexed by slug: the renamed category starts empty, and a forced run
    (`syndicator reingest --category NEW --force`) files what the upstream still lists under it."""
    upstream.put("/feed.rss", rss(items("renamed", 3)), "application/rss+xml")

    def config(slug: dict[str, object]):
        source = {"id": "b", "url": upstream.url("/feed.rss"), "allow_private_network": True}
        return write_config(
            tmp_path,
            redis_url=redis_url,
            prefix=prefix,
            categories=[slug],
            sources=[{**source, "categories": [slug["slug"]]}],
        )

    runtime = Runtime.open(config({"slug": "python"}), redis_url)
    try:
        await ingest_source(runtime, "b")
    finally:
        await runtime.close()
    runtime = Runtime.open(config({"slug": "tech/python", "aliases": ["python"]}), redis_url)
    try:
        await ingest_source(runtime, "b")
        assert await newest_articles(runtime.redis, runtime.keys, "tech/python", 10) == []
        await ingest_source(runtime, "b", force=True)
        assert len(await newest_articles(runtime.redis, runtime.keys, "tech/python", 10)) == 3
    finally:
        await runtime.close()

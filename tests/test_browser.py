"""Discovery as a person meets it: `/` in a real headless Chromium, and the OPML export.

Chromium comes from Debian's package (`.ci/run` installs it); test tools' own browser
downloads cannot work here. Without a Chromium the test is skipped locally and fails in CI
(tests/programs.py).
"""

from __future__ import annotations

import asyncio
import json

import feedparser
import pytest
from aiohttp import ClientSession
from lxml import etree
from lxml import html as lxml_html

from tests.builders import items, rss, write_config
from tests.harness import serving
from tests.processes import free_port
from tests.programs import require_program

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
async def site(tmp_path, upstream, redis, redis_url, prefix):
    port = free_port()
    upstream.put("/feed.rss", rss(items("browser", 3)), "application/rss+xml")
    config = write_config(
        tmp_path,
        redis_url=redis_url,
        prefix=prefix,
        public_url=f"http://127.0.0.1:{port}/",
        categories=[
            {"slug": "tech", "title": "Technology"},
            {"slug": "qinggan/gushi", "title": "情感故事", "language": "zh"},
        ],
        sources=[
            {
                "id": "b",
                "url": upstream.url("/feed.rss"),
                "categories": ["tech"],
                "allow_private_network": True,
            }
        ],
    )
    async with serving(config, redis_url, ("b",), port=port):
        yield f"http://127.0.0.1:{port}/", config


@pytest.fixture
def chromium_binary() -> str:
    """Checked before `site` is built, so a machine without Chromium skips at once."""
    return require_program("chromium", "chromium", aliases=("chromium-browser",))


async def chromium(binary: str, tmp_path, *args: str) -> bytes:
    process = await asyncio.create_subprocess_exec(
        binary,
        *FLAGS,
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    out, _ = await asyncio.wait_for(process.communicate(), timeout=90)
    assert process.returncode == 0
    return out


async def test_index_renders_in_chromium_and_every_link_resolves(chromium_binary, tmp_path, site):
    base, config = site
    dom = lxml_html.fromstring(await chromium(chromium_binary, tmp_path, "--dump-dom", base))
    assert dom.findtext(".//title") == "Syndicator feeds"
    alternates = dom.xpath("//head/link[@rel='alternate']")
    assert len(alternates) == 3 * len(config.categories)
    screenshot = tmp_path / "index.png"
    await chromium(chromium_binary, tmp_path, f"--screenshot={screenshot}", "--window-size=1000,700", base)
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    async with ClientSession() as http:
        for link in alternates:
            href, declared = link.get("href"), link.get("type")
            assert href.startswith(base)
            async with http.get(href) as resp:
                assert resp.status == 200, href
                assert resp.headers["Content-Type"].startswith(declared), href
                body = await resp.read()
            if declared == "application/feed+json":
                assert json.loads(body)["version"] == "https://jsonfeed.org/version/1.1"
            else:
                assert not feedparser.parse(body).bozo, href
        visible = dom.xpath("//a[contains(@href, '/feeds/')]/@href")
        assert sorted(visible) == sorted(link.get("href") for link in alternates)


async def test_opml_lists_every_category_feed(site):
    base, config = site
    async with ClientSession() as http:
        # For feed readers: each article once per category. No source files directly under
        # a parent or `all` here, so the leaves only, `qinggan` a folder.
        async with http.get(base + "opml.xml") as resp:
            assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/x-opml")
            readers = etree.fromstring(await resp.read())
        assert sorted(readers.xpath("//outline/@xmlUrl")) == [
            f"{base}feeds/qinggan/gushi.rss",
            f"{base}feeds/tech.rss",
        ]
        folder = readers.xpath("//outline[@title='情感故事']")[0].getparent()
        assert folder.tag == "outline" and folder.get("xmlUrl") is None and folder.get("text")
        # Everything, each outline a feed.
        async with http.get(base + "opml.xml?all=1") as resp:
            assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/x-opml")
            opml = etree.fromstring(await resp.read())
        assert opml.get("version") == "2.0" and opml.findtext("head/title")
        outlines = opml.xpath("//outline")
        assert sorted(o.get("xmlUrl") for o in outlines) == sorted(
            f"{base}feeds/{slug}.rss" for slug in config.categories
        )
        # Children nest under their parent, as folders in readers that keep them.
        gushi = opml.xpath("//outline[@title='情感故事']")[0]
        assert gushi.getparent().get("xmlUrl") == f"{base}feeds/qinggan.rss"
        for outline in outlines:
            assert outline.get("type") == "rss" and outline.get("text")
            async with http.get(outline.get("xmlUrl")) as resp:
                assert resp.status == 200
                assert not feedparser.parse(await resp.read()).bozo

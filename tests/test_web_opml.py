"""GET /opml.xml: the category feeds as OPML 2.0 subscription lists (syndicator/web/opml.py).

A reader imports the file and stores every feed in it separately. A parent's feed holds
its children's articles too, so the default list gives each article once per category it
is filed in: leaves, plus a parent's `?own=1` feed, parents as folders. `?all=1` lists
every feed, nested by slug. The first test imports the served list into a real feed
reader (lemon24/reader) that fetches every feed from the app over loopback.
"""

from __future__ import annotations

import asyncio
import io
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit
from xml.etree import ElementTree

import pytest
from aiohttp import ClientSession
from reader import make_reader

from syndicator.models import ALL_CATEGORY
from syndicator.store.articles import newest_articles
from syndicator.web.opml import filed_categories
from tests.builders import BASE_TIME, Item, items, rss, write_config
from tests.harness import serving
from tests.processes import free_port

SHARED = Item("crosspost", "Cross-posted", "https://crosspost.example/a", BASE_TIME, "<p>cross-posted</p>")

# source id → (its categories, its items); `crosspost` reaches python and gushi: one article
# filed in both. `both` files one item directly under tech and under tech/python.
SOURCES: dict[str, tuple[list[str], list[Item]]] = {
    "general": (["tech"], items("general", 3)),
    "python": (["tech/python"], [*items("py", 4), SHARED]),
    "both": (["tech", "tech/python"], items("both", 1)),
    "gushi": (
        ["qinggan/gushi"],
        [
            *items("gushi", 3),
            Item("gushi-crosspost", SHARED.title, SHARED.link, SHARED.published, SHARED.body),
        ],
    ),
    "sanwen": (["qinggan/sanwen"], items("sanwen", 2)),
    "misc": ([], items("misc", 2)),  # no category: filed under `all` only
}


def import_and_update(opml: bytes, database: Path) -> list[tuple[str, str]]:
    """What lemon24/reader stores after importing `opml`: (feed URL, entry link) pairs.

    Blocking (requests, sqlite): the caller runs it in a thread while the app serves.
    """
    reader = make_reader(str(database))
    try:
        reader.import_feeds(io.BytesIO(opml))
        feeds = [feed.url for feed in reader.get_feeds()]
        assert all(urlsplit(url).hostname == "127.0.0.1" for url in feeds), feeds  # loopback only
        reader.update_feeds()
        failures = {feed.url: feed.last_exception for feed in reader.get_feeds() if feed.last_exception}
        assert not failures
        return [(entry.feed_url, entry.link) for entry in reader.get_entries()]
    finally:
        reader.close()


def category_of(feed: str) -> str:
    """The category whose own articles a subscribed feed URL holds (leaf, or `?own=1`)."""
    parts = urlsplit(feed)
    assert parts.query in ("", "own=1"), feed
    return parts.path.removeprefix("/feeds/").removesuffix(".rss")


@pytest.fixture
async def served(tmp_path, upstream, redis, redis_url, prefix):
    for source_id, (_, entries) in SOURCES.items():
        upstream.put(f"/{source_id}.rss", rss(entries), "application/rss+xml")
    port = free_port()
    config = write_config(
        tmp_path,
        redis_url=redis_url,
        prefix=prefix,
        public_url=f"http://127.0.0.1:{port}/",
        categories=[
            {"slug": "tech", "title": "Technology"},
            {"slug": "tech/python", "title": "Python"},
            {"slug": "qinggan", "title": "情感", "language": "zh-CN"},
            {"slug": "qinggan/gushi", "title": "故事", "language": "zh-CN"},
            {"slug": "qinggan/sanwen", "title": "散文", "language": "zh-CN"},
        ],
        sources=[
            {
                "id": source_id,
                "url": upstream.url(f"/{source_id}.rss"),
                "categories": categories,
                "allow_private_network": True,
            }
            for source_id, (categories, _) in SOURCES.items()
        ],
    )
    async with serving(config, redis_url, tuple(SOURCES), port=port) as (runtime, _):
        yield f"http://127.0.0.1:{port}/", runtime


async def get(url: str) -> tuple[int, str, bytes]:
    async with ClientSession() as http, http.get(url) as resp:
        return resp.status, resp.headers["Content-Type"], await resp.read()


async def test_a_feed_reader_importing_the_opml_stores_each_article_once_per_category(served, tmp_path):
    base, runtime = served
    stored = await newest_articles(runtime.redis, runtime.keys, ALL_CATEGORY, 1000)
    expected = Counter(
        (slug, article.url) for article in stored for slug in (article.categories or (ALL_CATEGORY,))
    )
    assert len(stored) == 16 and sum(expected.values()) == 18  # crosspost and `both`: two categories each

    status, _, opml = await get(base + "opml.xml")
    assert status == 200
    entries = await asyncio.to_thread(import_and_update, opml, tmp_path / "reader.sqlite")

    by_category = Counter((category_of(feed), link) for feed, link in entries)
    assert len(entries) == sum(expected.values())
    assert by_category == expected  # every (article, category) pair, none twice within a category


async def test_default_opml_has_leaves_own_feeds_and_folders(served):
    base, _ = served
    status, content_type, body = await get(base + "opml.xml")
    assert (status, content_type) == (200, "text/x-opml; charset=utf-8")
    root = ElementTree.fromstring(body)
    assert (root.tag, root.get("version"), root.findtext("head/title")) == ("opml", "2.0", "Syndicator feeds")

    top = root.find("body")
    assert [(o.get("text"), o.get("xmlUrl")) for o in top] == [
        ("All articles (own articles only)", f"{base}feeds/all.rss?own=1"),  # `misc` has no category
        ("情感", None),  # a folder: no source files directly under qinggan
        ("Technology", None),
    ]
    _, qinggan, tech = top
    assert qinggan.attrib == {"text": "情感", "title": "情感"}
    assert [(o.get("text"), o.get("xmlUrl")) for o in qinggan] == [
        ("故事", f"{base}feeds/qinggan/gushi.rss"),
        ("散文", f"{base}feeds/qinggan/sanwen.rss"),
    ]
    assert [(o.get("text"), o.get("xmlUrl")) for o in tech] == [
        ("Technology (own articles only)", f"{base}feeds/tech.rss?own=1"),
        ("Python", f"{base}feeds/tech/python.rss"),
    ]
    gushi = qinggan[0]
    assert gushi.attrib == {
        "type": "rss",
        "text": "故事",
        "title": "故事",
        "xmlUrl": f"{base}feeds/qinggan/gushi.rss",
        "htmlUrl": base,
        "description": "故事",  # no description: the title stands in
        "language": "zh-CN",
    }
    for outline in root.iter("outline"):  # every subscription in the list is served
        if outline.get("xmlUrl"):
            assert (await get(outline.get("xmlUrl")))[0] == 200


async def test_all_1_lists_every_feed_nested_by_slug(served):
    base, runtime = served
    status, content_type, body = await get(base + "opml.xml?all=1")
    assert (status, content_type) == (200, "text/x-opml; charset=utf-8")
    root = ElementTree.fromstring(body)
    assert root.findtext("head/title") == "Syndicator feeds (every feed)"
    top = root.find("body")
    assert [o.get("xmlUrl") for o in top] == [f"{base}feeds/{s}.rss" for s in ("all", "qinggan", "tech")]
    everything, qinggan, tech = top
    assert len(everything) == 0
    assert [o.get("xmlUrl") for o in qinggan] == [f"{base}feeds/qinggan/{s}.rss" for s in ("gushi", "sanwen")]
    assert [o.get("xmlUrl") for o in tech] == [f"{base}feeds/tech/python.rss"]
    assert sorted(o.get("xmlUrl") for o in root.iter("outline")) == sorted(
        f"{base}feeds/{slug}.rss" for slug in runtime.config.categories
    )
    assert all(o.get("type") == "rss" for o in root.iter("outline"))


EVERY_FEED = "every feed: all, parents with their children's articles, children"


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("all=2", f"all: must be 1 ({EVERY_FEED}), got '2'"),
        ("al=1", "al: unknown parameter 'al'; /opml.xml takes only all=1"),
    ],
)
async def test_bad_opml_parameters_are_400_naming_them(served, query, message):
    base, _ = served
    status, content_type, body = await get(f"{base}opml.xml?{query}")
    assert (status, content_type) == (400, "text/plain; charset=utf-8")
    assert body.decode() == message + "\n"


def test_filed_categories_follow_what_ingest_files_under(tmp_path):
    """Feed sources file under their categories (none: `all`); page sources under their
    category_map targets and default_category, falling back to their categories."""
    config = write_config(
        tmp_path,
        redis_url="redis://127.0.0.1:1/0",
        prefix="unused:",
        categories=[{"slug": s} for s in ("a/b", "c/d", "e/f", "g/h", "g")],
        sources=[
            {"id": "feed", "url": "https://up.example/f.rss", "categories": ["a/b"]},
            {
                "id": "mapped",
                "url": "https://up.example/list",
                "kind": "listing",
                "categories": ["g"],
                "category_map": {"x/y": "c/d", "x/*": "c"},
                "default_category": "e",
            },
            {"id": "fallback", "url": "https://up.example/page", "kind": "page", "categories": ["g/h"]},
        ],
    )
    assert filed_categories(config) == {"a/b", "c/d", "c", "e", "g/h"}
    bare = write_config(
        tmp_path,
        redis_url="redis://127.0.0.1:1/0",
        prefix="unused:",
        categories=[{"slug": "a"}],
        sources=[{"id": "s", "url": "https://up.example/s", "kind": "sitemap"}],
    )
    assert filed_categories(bare) == {ALL_CATEGORY}

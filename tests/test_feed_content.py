"""What a reader sees of upstream authors, content images and our categories (issue 8).

Each test starts from upstream bytes or a config file and goes through the real stages —
parse (feedparser; JSON Feed by hand), normalise, render (feedgen) — then reads our output
back as a subscriber would: feedparser for RSS and Atom, `json` plus the JSON Feed 1.1
schema for JSON, lxml where a reader looks at elements (Atom `<source>`, Media RSS).
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import feedparser
import pytest
from lxml import etree

from syndicator.config import load_config
from syndicator.models import Article, Category, Config, Source
from syndicator.normalise import normalise_entry
from syndicator.parse import parse_feed
from syndicator.render import FeedDocument, render_atom, render_json, render_rss
from syndicator.store.codec import article_from_json, article_to_json
from tests.render_helpers import ATOM_NS, MEDIA_NS, SITE, _article, _validator

FETCHED = datetime(2024, 5, 10, 12, 0, tzinfo=UTC)
FEED_URL = "https://up.example/feed"
SOURCE = Source(id="up", url=FEED_URL)
CATEGORY = Category(slug="python", title="Python")

ATOM_IN = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Upstream Weekly</title>
  <id>tag:up.example,2024:feed</id>
  <link rel="alternate" href="https://up.example/"/>
  <updated>2024-05-01T00:00:00Z</updated>
  <author><name>Feed Author</name><email>feed@up.example</email></author>
  <entry>
    <id>tag:up.example,2024:1</id><title>Inherits</title>
    <link href="https://up.example/1"/><updated>2024-05-01T00:00:00Z</updated>
  </entry>
  <entry>
    <id>tag:up.example,2024:2</id><title>Own author</title>
    <link href="https://up.example/2"/><updated>2024-05-01T00:00:00Z</updated>
    <author><name>Own Author</name></author>
  </entry>
  <entry>
    <id>tag:up.example,2024:3</id><title>Copied from elsewhere</title>
    <link href="https://up.example/3"/><updated>2024-05-01T00:00:00Z</updated>
    <source>
      <id>tag:else.example,2024:feed</id><title>Elsewhere</title>
      <link rel="alternate" href="https://else.example/"/>
      <author><name>Source Author</name></author>
    </source>
  </entry>
</feed>"""

RSS_EDITOR_IN = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel>
  <title>Upstream Weekly</title><link>https://up.example/</link><description>d</description>
  <managingEditor>feed@up.example (Feed Author)</managingEditor>
  <item><title>Inherits</title><link>https://up.example/1</link><guid>https://up.example/1</guid></item>
</channel></rss>"""

RSS_DC_IN = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>
  <title>Upstream Weekly</title><link>https://up.example/</link><description>d</description>
  <dc:creator>Feed Author</dc:creator>
  <item><title>Inherits</title><link>https://up.example/1</link><guid>https://up.example/1</guid></item>
</channel></rss>"""

JSON_IN = json.dumps(
    {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "Upstream Weekly",
        "home_page_url": "https://up.example/",
        "feed_url": "https://up.example/feed.json",
        "authors": [{"name": "Feed Author"}],
        "items": [{"id": "1", "url": "https://up.example/1", "title": "Inherits", "content_text": "x"}],
    }
).encode()


def ingest(body: bytes) -> list[Article]:
    """Upstream bytes → Articles, as the feed ingest job does it."""
    feed = parse_feed(body, {}, FEED_URL)
    return [
        normalise_entry(e, SOURCE, feed_url=FEED_URL, fetched_at=FETCHED, categories=("python",))
        for e in feed.entries
    ]


def document(articles: list[Article], **fields: object) -> FeedDocument:
    values: dict[str, object] = {
        "category": CATEGORY,
        "articles": tuple(articles),
        "site_url": SITE,
        "updated": FETCHED,
        "category_labels": {"python": "Python"},
    }
    values.update(fields)
    return FeedDocument(**values)  # type: ignore[arg-type]


def read_xml(body: bytes) -> feedparser.FeedParserDict:
    parsed = feedparser.parse(body, sanitize_html=False, resolve_relative_uris=False)
    assert not parsed.bozo, parsed.get("bozo_exception")
    return parsed


def read_json(body: bytes) -> dict:
    feed = json.loads(body)
    assert not list(_validator().iter_errors(feed))
    return feed


def authors_seen(doc: FeedDocument) -> dict[str, list[str | None]]:
    """The author a subscriber sees for each item, per format (RSS: dc:creator)."""
    json_items = read_json(render_json(doc))["items"]
    return {
        "rss": [e.get("author") for e in read_xml(render_rss(doc)).entries],
        "atom": [e.get("author") for e in read_xml(render_atom(doc)).entries],
        "json": [", ".join(a["name"] for a in i.get("authors", [])) or None for i in json_items],
    }


# ---------------------------------------------------------------- 2. authors


@pytest.mark.parametrize(
    "body", [ATOM_IN, RSS_EDITOR_IN, RSS_DC_IN, JSON_IN], ids=["atom", "rss", "dc", "json"]
)
def test_an_entry_without_an_author_has_its_feeds_in_every_format(body: bytes) -> None:
    articles = ingest(body)
    assert articles[0].author == "Feed Author"
    seen = authors_seen(document(articles))
    for fmt in ("rss", "atom", "json"):
        assert seen[fmt][0] == "Feed Author", fmt


def test_own_author_wins_and_an_atom_source_author_comes_before_the_feeds() -> None:
    articles = ingest(ATOM_IN)
    assert [a.author for a in articles] == ["Feed Author", "Own Author", "Source Author"]
    assert articles[2].upstream is not None and articles[2].upstream.title == "Elsewhere"
    seen = authors_seen(document(articles))
    assert seen == {fmt: ["Feed Author", "Own Author", "Source Author"] for fmt in ("rss", "atom", "json")}


# Children RFC 4287 §4.2.11 allows in <source>, and those it allows at most once.
SOURCE_CHILDREN = {"author", "category", "contributor", "generator", "icon", "id", "link", "logo", "rights"}
SOURCE_CHILDREN |= {"subtitle", "title", "updated"}
SOURCE_SINGLES = {"generator", "icon", "id", "logo", "rights", "subtitle", "title", "updated"}


def check_atom(body: bytes) -> etree._Element:
    """The RFC 4287 rules a test can check: every entry has an author, its source's or the
    feed's; every author has a name; `<source>` holds only what §4.2.11 allows."""
    root = etree.fromstring(body)
    feed_authors = root.findall(f"{ATOM_NS}author")
    for entry in root.findall(f"{ATOM_NS}entry"):
        own = entry.findall(f"{ATOM_NS}author")
        sources = entry.findall(f"{ATOM_NS}source")
        assert len(sources) <= 1
        from_source = sources[0].findall(f"{ATOM_NS}author") if sources else []
        assert own or from_source or feed_authors, etree.tostring(entry)
        for source in sources:
            names = [etree.QName(child).localname for child in source]
            assert set(names) <= SOURCE_CHILDREN, names
            assert all(names.count(n) <= 1 for n in SOURCE_SINGLES), names
            for link in source.findall(f"{ATOM_NS}link"):
                assert link.get("href", "").startswith(("http://", "https://"))
    for author in root.iter(f"{ATOM_NS}author"):
        name = author.find(f"{ATOM_NS}name")
        assert name is not None and (name.text or "").strip()
    return root


def test_atom_entries_without_authors_carry_their_source_and_the_feed_names_the_publisher() -> None:
    nobody = ingest(
        ATOM_IN.replace(b"<author><name>Feed Author</name><email>feed@up.example</email></author>", b"")
    )
    page = _article(9, author=None, source_id="pages")  # a page: no upstream feed at all
    doc = document([nobody[0], page], source_titles={"pages": "Pages of Up"})

    root = check_atom(render_atom(doc))
    feed_author = root.findtext(f"{ATOM_NS}author/{ATOM_NS}name")
    assert feed_author == "localhost:8080"  # no server.publisher: the site's host, not "Python"
    first, second = root.findall(f"{ATOM_NS}entry")
    assert first.find(f"{ATOM_NS}author") is None
    source = first.find(f"{ATOM_NS}source")
    assert source is not None
    assert source.findtext(f"{ATOM_NS}id") == "tag:up.example,2024:feed"
    assert source.findtext(f"{ATOM_NS}title") == "Upstream Weekly"
    assert source.find(f"{ATOM_NS}link").get("href") == "https://up.example/"
    assert source.find(f"{ATOM_NS}author") is None  # the upstream named nobody: neither do we
    assert second.findtext(f"{ATOM_NS}source/{ATOM_NS}title") == "Pages of Up"
    # Every <source> has an <updated> (the W3C validator warns without one): the entry's own.
    for entry in (first, second):
        assert entry.findtext(f"{ATOM_NS}source/{ATOM_NS}updated") == entry.findtext(f"{ATOM_NS}updated")

    configured = check_atom(render_atom(replace(doc, publisher="Example News")))
    assert configured.findtext(f"{ATOM_NS}author/{ATOM_NS}name") == "Example News"
    # Readers: nobody credits the category; feedparser gives the entry no author of its own.
    parsed = read_xml(render_atom(doc))
    assert parsed.feed.author == "localhost:8080"
    assert "Python" not in {parsed.feed.author, *(e.get("author") for e in parsed.entries)}
    assert "authors" not in read_json(render_json(doc))


def test_a_source_names_the_upstream_author_when_there_is_one() -> None:
    # Normalise gives such an entry the inherited author; a record without one (edited, or
    # from elsewhere) still shows whose feed it came from.
    doc = document([replace(ingest(ATOM_IN)[0], author=None)])
    root = check_atom(render_atom(doc))
    assert root.findtext(f"{ATOM_NS}entry/{ATOM_NS}source/{ATOM_NS}author/{ATOM_NS}name") == "Feed Author"
    assert read_xml(render_atom(doc)).entries[0].source.author == "Feed Author"


# ---------------------------------------------------------------- 3. images in feed content

RSS_IMAGES_IN = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel>
  <title>Pictures</title><link>https://up.example/</link><description>d</description>
  <item>
    <title>With pictures</title><link>https://up.example/p</link><guid>https://up.example/p</guid>
    <description><![CDATA[<p>Look:</p>
      <img src="/img/cat.jpg" alt="A cat">
      <img src="/static/blank.gif" data-original="/img/dog.png">
      <img src="https://stats.example/count.gif?id=1">
      <img src="https://up.example/img/spy.gif" width="1" height="1">
      <img src="/img/cat.jpg">
      <img src="https://cdn.example/podcast-cover.jpg">]]></description>
    <enclosure url="https://cdn.example/podcast-cover.jpg" type="image/jpeg" length="5000"/>
  </item>
</channel></rss>"""

CONTENT_IMAGES = ["https://up.example/img/cat.jpg", "https://up.example/img/dog.png"]


def test_images_in_a_plain_rss_items_content_reach_every_format() -> None:
    (article,) = ingest(RSS_IMAGES_IN)
    # Real pictures, lazy one resolved; counter beacon and 1×1 pixel dropped; each URL once,
    # and the one the upstream already declared as an enclosure is not listed twice.
    assert [i.url for i in article.images] == CONTENT_IMAGES
    assert [(i.type, i.length) for i in article.images] == [("image/jpeg", 0), ("image/png", 0)]
    doc = document([article])
    everything = ["https://cdn.example/podcast-cover.jpg", *CONTENT_IMAGES]

    rss = etree.fromstring(render_rss(doc))
    media = rss.findall(f"channel/item/{MEDIA_NS}content")
    assert [m.get("url") for m in media] == everything
    assert [m.get("medium") for m in media] == ["image"] * 3
    assert [m.get("type") for m in media] == ["image/jpeg", "image/jpeg", "image/png"]
    assert len(rss.findall("channel/item/enclosure")) == 1  # RSS allows one enclosure
    assert [c.get("url") for c in read_xml(render_rss(doc)).entries[0].media_content] == everything

    (item,) = read_json(render_json(doc))["items"]
    assert item["image"] == "https://cdn.example/podcast-cover.jpg"
    assert [a["url"] for a in item["attachments"]] == ["https://cdn.example/podcast-cover.jpg"]

    atom = read_xml(render_atom(doc)).entries[0]
    assert [e.href for e in atom.enclosures] == everything


def test_the_first_content_image_is_the_json_feed_image() -> None:
    body = RSS_IMAGES_IN.replace(
        b'<enclosure url="https://cdn.example/podcast-cover.jpg" type="image/jpeg" length="5000"/>', b""
    )
    (article,) = ingest(body)
    (item,) = read_json(render_json(document([article])))["items"]
    assert item["image"] == "https://up.example/img/cat.jpg"
    assert "attachments" not in item  # images of the content are not attachments


def test_an_item_without_images_has_none() -> None:
    (article,) = ingest(RSS_EDITOR_IN)
    assert article.images == ()
    rss = etree.fromstring(render_rss(document([article])))
    assert rss.findall(f"channel/item/{MEDIA_NS}content") == []


# ---------------------------------------------------------------- 4. category labels

LABELS_CONFIG = """
[server]
publisher = "Example News"

[[categories]]
slug = "qinggan"
title = "情感"

[[categories]]
slug = "qinggan/gushi"
title = "故事"

[[categories]]
slug = "tech/python"
title = "Python"
"""


@pytest.fixture
def config(tmp_path: Path) -> Config:
    path = tmp_path / "syndicator.toml"
    path.write_text(LABELS_CONFIG, encoding="utf-8")
    return load_config(path, environ={})


def test_a_category_label_joins_its_ancestors_titles(config: Config) -> None:
    assert config.category_label("qinggan") == "情感"
    assert config.category_label("qinggan/gushi") == "情感/故事"
    assert config.category_label("tech/python") == "Tech/Python"  # `tech` is implied by its child
    assert config.category_label("gone/away") == "gone/away"  # since removed from the file
    assert config.category_labels()["qinggan/gushi"] == "情感/故事"
    assert config.settings.publisher == "Example News"


def test_categories_show_labels_in_every_format_and_upstream_tags_stay(config: Config) -> None:
    article = _article(1, categories=("qinggan/gushi", "qinggan"), tags=("upstream tag", "情感"))
    doc = FeedDocument(
        category=config.categories["qinggan/gushi"],
        articles=(article,),
        site_url=SITE,
        updated=FETCHED,
        category_labels=config.category_labels(),
        publisher=config.settings.publisher or "",
    )
    scheme = f"{SITE}categories"

    rss = etree.fromstring(render_rss(doc))
    categories = [(c.text, c.get("domain")) for c in rss.findall("channel/item/category")]
    assert categories == [("情感/故事", scheme), ("情感", scheme), ("upstream tag", None)]

    atom = etree.fromstring(render_atom(doc))
    terms = [(c.get("term"), c.get("scheme"), c.get("label")) for c in atom.iter(f"{ATOM_NS}category")]
    assert terms == [
        ("qinggan/gushi", scheme, "情感/故事"),
        ("qinggan", scheme, "情感"),
        ("upstream tag", None, None),
    ]
    assert atom.findtext(f"{ATOM_NS}author/{ATOM_NS}name") == "Example News"

    (item,) = read_json(render_json(doc))["items"]
    assert item["tags"] == ["情感/故事", "情感", "upstream tag"]

    # What feedparser hands a reader: the label (RSS term, Atom label), never the slug alone.
    (rss_entry,) = read_xml(render_rss(doc)).entries
    assert [t.term for t in rss_entry.tags] == ["情感/故事", "情感", "upstream tag"]
    (atom_entry,) = read_xml(render_atom(doc)).entries
    assert [t.label for t in atom_entry.tags][:2] == ["情感/故事", "情感"]


# ---------------------------------------------------------------- the stored record


def test_images_and_upstream_survive_the_store_and_older_records_read_without_them() -> None:
    (article,) = ingest(RSS_IMAGES_IN)
    assert article.upstream is not None and article.images
    again, indexes = article_from_json(article_to_json(article, indexes=("python", "all")))
    assert (again, indexes) == (article, ("python", "all"))

    older = json.loads(article_to_json(article, indexes=()))
    del older["images"], older["upstream"]  # a record written before these fields existed
    read, _ = article_from_json(json.dumps(older))
    assert (read.images, read.upstream) == ((), None)
    # Neither is part of the content hash: adding them moves no article's `updated`.
    assert read.reader_hash() == article.reader_hash() == article.content_hash

"""Render stage, RSS 2.0: round trip through feedparser, each item element, enclosures, archives.

Shared articles and readers are in tests/render_helpers.py; what every format must do is in
tests/test_render.py.
"""

from __future__ import annotations

from datetime import UTC, datetime

from lxml import etree

from syndicator.render import render_rss
from tests.render_helpers import (
    ARCHIVE,
    ARTICLES,
    ATOM_LINK,
    CONTENT_NS,
    DC_NS,
    EXPECTED_CONTENT,
    EXPECTED_IDS,
    EXPECTED_TERMS,
    FH_NS,
    MEDIA_NS,
    SITE,
    _archive_doc,
    _common_entry_checks,
    _doc,
    _parse,
    _when,
    _xml_links,
)


def test_rss_round_trips_through_feedparser() -> None:
    body = render_rss(_doc())
    parsed = _parse(body)
    assert parsed.version == "rss20"
    _common_entry_checks(parsed)
    feed = parsed.feed
    assert feed.title == "情感 · 故事"
    assert feed.link == SITE
    assert feed.subtitle == "情感 · 故事"  # empty description falls back to the title
    assert feed.language == "zh-CN"
    assert feed.generator == "Syndicator"
    assert feed.ttl == "30"
    assert _when(feed.updated_parsed) == datetime(2024, 5, 10, 12, 0, tzinfo=UTC)
    self_links = [link.href for link in feed.links if link.rel == "self"]
    assert self_links == ["http://localhost:8080/feeds/qinggan/gushi.rss"]
    # The source's title is credited where one is known.
    assert [e.get("publisher") for e in parsed.entries] == ["示例新闻网", "示例新闻网", None]


def test_rss_enclosures_and_media_content() -> None:
    root = etree.fromstring(render_rss(_doc()))
    items = root.findall("channel/item")
    assert len(items) == 3
    for item in items:
        assert len(item.findall("enclosure")) <= 1
    # First item: the first enclosure with known length and type is the PNG (the JPEG has
    # no length); every image — including the untyped .webp — gets a media:content.
    assert [dict(e.attrib) for e in items[0].findall("enclosure")] == [
        {"url": "https://img.example.cn/2.png", "length": "2048", "type": "image/png"}
    ]
    media = [(m.get("url"), m.get("type")) for m in items[0].findall(f"{MEDIA_NS}content")]
    assert media == [
        ("https://img.example.cn/1.jpg", "image/jpeg"),
        ("https://img.example.cn/2.png", "image/png"),
        ("https://img.example.cn/3.webp", "image/webp"),
    ]
    assert items[1].findall("enclosure") == []
    assert items[2].findall("enclosure") == []  # length known, type unknown
    assert items[2].findall(f"{MEDIA_NS}content") == []
    guids = items[0].find("guid")
    assert guids is not None and guids.get("isPermaLink") == "false"


def test_rss_item_without_summary_has_content_only() -> None:
    parsed = _parse(render_rss(_doc()))
    assert ["content" in e for e in parsed.entries] == [True, True, False]
    # Article 3 has no summary: the description carries the HTML, as RSS readers expect.
    assert parsed.entries[2].summary == EXPECTED_CONTENT[2]


def test_rss_item_elements_one_by_one() -> None:
    root = etree.fromstring(render_rss(_doc()))
    channel = root.find("channel")
    assert channel is not None
    assert channel.findtext("link") == SITE  # rel=alternate
    assert [(x.get("rel"), x.get("href")) for x in channel.findall(ATOM_LINK)] == [
        ("self", "http://localhost:8080/feeds/qinggan/gushi.rss"),
        ("hub", "http://localhost:8080/hub"),  # WebSub discovery, right after self
    ]
    assert channel.findtext("language") == "zh-CN"
    assert channel.findtext("generator") == "Syndicator"
    assert channel.findtext("description") == "情感 · 故事"
    assert channel.findtext("ttl") == "30"
    assert channel.findtext("lastBuildDate") == "Fri, 10 May 2024 12:00:00 +0000"
    items = channel.findall("item")
    first = items[0]
    assert first.findtext("guid") == EXPECTED_IDS[0]
    assert first.findtext("link") == ARTICLES[0].url
    assert first.findtext("pubDate") == "Fri, 10 May 2024 11:30:15 +0000"
    # A name without an email is dc:creator; RSS <author> (which must be an email) is never used.
    assert [i.findtext(f"{DC_NS}creator") for i in items] == ["张三", None, "أحمد"]
    assert all(i.find("author") is None for i in items)
    assert [c.text for c in first.findall("category")] == EXPECTED_TERMS[0]
    # Summary in <description> (escaped HTML of the plain text), full HTML in content:encoded.
    assert first.findtext("description") == "第一段 ]]&gt; 文字 &amp; 更多"
    assert [i.findtext(f"{CONTENT_NS}encoded") for i in items[:2]] == EXPECTED_CONTENT[:2]
    # Without a summary the full HTML is the description itself (no duplicate copy).
    assert items[2].find(f"{CONTENT_NS}encoded") is None
    assert items[2].findtext("description") == EXPECTED_CONTENT[2]


def test_rss_archive_document_has_history_links_and_fh_archive() -> None:
    body = render_rss(_archive_doc("rss"))
    _parse(body)
    root = etree.fromstring(body)
    assert root.nsmap["fh"] == "http://purl.org/syndication/history/1.0"
    assert _xml_links(root, "channel") == [
        ("self", f"{ARCHIVE}2.rss"),
        ("current", "http://localhost:8080/feeds/qinggan/gushi.rss"),
        ("prev-archive", f"{ARCHIVE}1.rss"),
        ("next-archive", f"{ARCHIVE}3.rss"),
    ]  # "next" is JSON Feed's next_url only
    assert len(root.findall(f"channel/{FH_NS}archive")) == 1

"""Render stage, Atom 1.0: round trip through feedparser, escaped HTML content, each entry
element, enclosures as links, archives.

Shared articles and readers are in tests/render_helpers.py; what every format must do is in
tests/test_render.py.
"""

from __future__ import annotations

from datetime import UTC, datetime

from lxml import etree

from syndicator.render import render_atom
from tests.render_helpers import (
    ARCHIVE,
    ARTICLES,
    ATOM_LINK,
    ATOM_NS,
    EXPECTED_CONTENT,
    EXPECTED_IDS,
    EXPECTED_UPDATED,
    FH_NS,
    SITE,
    _archive_doc,
    _common_entry_checks,
    _doc,
    _parse,
    _when,
    _xml_links,
)


def test_atom_round_trips_through_feedparser() -> None:
    body = render_atom(_doc())
    parsed = _parse(body)
    assert parsed.version == "atom10"
    _common_entry_checks(parsed)
    assert [_when(e.updated_parsed) for e in parsed.entries] == EXPECTED_UPDATED
    feed = parsed.feed
    assert feed.id == "http://localhost:8080/feeds/qinggan/gushi.atom"
    assert feed.title == "情感 · 故事"
    assert feed.subtitle == "情感 · 故事"
    assert feed.author == "localhost:8080"  # the publisher: the site's host, never a category
    assert feed.language == "zh-CN"
    assert feed.generator == "Syndicator"
    rels = {link.rel: link.href for link in feed.links}
    assert rels == {
        "alternate": SITE,
        "self": "http://localhost:8080/feeds/qinggan/gushi.atom",
        "hub": "http://localhost:8080/hub",  # WebSub discovery
    }
    assert _when(feed.updated_parsed) == datetime(2024, 5, 10, 12, 0, tzinfo=UTC)


def test_atom_content_is_escaped_html_and_enclosures_are_links() -> None:
    root = etree.fromstring(render_atom(_doc()))
    entries = root.findall(f"{ATOM_NS}entry")
    assert [c.get("type") for e in entries for c in e.findall(f"{ATOM_NS}content")] == ["html"] * 3
    first = [
        dict(link.attrib) for link in entries[0].findall(f"{ATOM_NS}link") if link.get("rel") == "enclosure"
    ]
    assert first == [
        {"rel": "enclosure", "href": "https://img.example.cn/1.jpg", "type": "image/jpeg"},
        {
            "rel": "enclosure",
            "href": "https://img.example.cn/2.png",
            "type": "image/png",
            "length": "2048",
        },
        {
            "rel": "enclosure",
            "href": "https://cdn.example.cn/talk.mp3",
            "type": "audio/mpeg",
            "length": "123456",
        },
        {"rel": "enclosure", "href": "https://img.example.cn/3.webp", "type": "image/webp"},
    ]
    parsed = _parse(render_atom(_doc()))
    assert all("content" in e for e in parsed.entries)
    assert [x.href for x in parsed.entries[2].enclosures] == ["https://files.example.org/blob"]
    # Entries without their own author stay valid thanks to the feed-level author (the publisher).
    assert entries[1].find(f"{ATOM_NS}author") is None
    assert root.find(f"{ATOM_NS}author/{ATOM_NS}name").text == "localhost:8080"


def test_atom_entry_elements_one_by_one() -> None:
    root = etree.fromstring(render_atom(_doc()))
    assert root.findtext(f"{ATOM_NS}generator") == "Syndicator"
    assert root.get("{http://www.w3.org/XML/1998/namespace}lang") == "zh-CN"
    entry = root.findall(f"{ATOM_NS}entry")[0]
    assert entry.findtext(f"{ATOM_NS}id") == EXPECTED_IDS[0]
    assert entry.findtext(f"{ATOM_NS}published") == "2024-05-10T11:30:15+00:00"
    assert entry.findtext(f"{ATOM_NS}updated") == "2024-05-10T12:00:00+00:00"
    assert entry.findtext(f"{ATOM_NS}author/{ATOM_NS}name") == "张三"
    # A link without rel is rel="alternate" (RFC 4287 4.2.7.2).
    alternate = [x.get("href") for x in entry.findall(ATOM_LINK) if x.get("rel", "alternate") == "alternate"]
    assert alternate == [ARTICLES[0].url]
    assert entry.find(f"{ATOM_NS}summary").get("type") in (None, "text")
    assert entry.find(f"{ATOM_NS}content").get("type") == "html"
    assert entry.findtext(f"{ATOM_NS}content") == EXPECTED_CONTENT[0]


def test_atom_archive_document_has_history_links_and_fh_archive() -> None:
    body = render_atom(_archive_doc("atom"))
    parsed = _parse(body)
    root = etree.fromstring(body)
    assert root.findtext(f"{ATOM_NS}id") == f"{ARCHIVE}2.atom"
    assert _xml_links(root, "") == [
        ("alternate", SITE),
        ("self", f"{ARCHIVE}2.atom"),
        ("current", "http://localhost:8080/feeds/qinggan/gushi.atom"),
        ("prev-archive", f"{ARCHIVE}1.atom"),
        ("next-archive", f"{ARCHIVE}3.atom"),
    ]
    assert len(root.findall(f"{FH_NS}archive")) == 1
    rels = {link.rel: link.href for link in parsed.feed.links}
    assert rels["prev-archive"] == f"{ARCHIVE}1.atom"

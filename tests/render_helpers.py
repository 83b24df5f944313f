"""What the render tests share: hand-built articles, the feed document, and how a subscriber reads
them back (feedparser for RSS/Atom, the JSON Feed schema with a real URI checker for JSON).

The expected values are written out by hand, so a change in rendering shows as a difference
from what the articles say, not from a previous output.
"""

from __future__ import annotations

import calendar
import html
import json
from datetime import UTC, datetime, timedelta, timezone

import feedparser
from jsonschema import Draft7Validator
from lxml import etree

from syndicator.models import Article, Category, Enclosure
from syndicator.render import FeedDocument, feed_url
from tests.conftest import JSONFEED_SCHEMA

SCHEMA = json.loads(JSONFEED_SCHEMA.read_text("utf-8"))


SITE = "http://localhost:8080/"
# The category page the feeds of CATEGORY (qinggan/gushi) link to as their home page.
PAGE = "http://localhost:8080/categories/qinggan/gushi/"


CST = timezone(timedelta(hours=8))


ATOM_NS = "{http://www.w3.org/2005/Atom}"


MEDIA_NS = "{http://search.yahoo.com/mrss/}"


TAGS = tuple(f"标签{i}" for i in range(25))


def _article(n: int, **fields: object) -> Article:
    base: dict[str, object] = {
        "id": f"00000000-0000-4000-8000-{n:012d}",
        "source_id": "src-a",
        "url": f"https://news.example.cn/a/{n}.html?from=rss&x=1",
        "title": f"Article {n}",
        "author": f"Author {n}",
        "published": datetime(2024, 5, 10, 12, 0, tzinfo=UTC) - timedelta(hours=n),
        "updated": datetime(2024, 5, 10, 13, 0, tzinfo=UTC) - timedelta(hours=n),
        "published_raw": None,
        "date_estimated": False,
        "content_html": f"<p>Body {n}</p>",
        "summary": f"Summary {n}",
        "categories": ("news",),
        "tags": (),
        "content_hash": f"hash{n}",
    }
    base.update(fields)
    return Article(**base)  # type: ignore[arg-type]


ARTICLES = (
    _article(
        1,
        title="情感故事：一个关于家的故事 🏠",
        author="张三",
        content_html='<p>第一段 ]]> 文字 &amp; 更多</p><p><img src="https://img.example.cn/1.jpg"/></p>',
        summary="第一段 ]]> 文字 & 更多",
        categories=("qinggan/gushi", "qinggan"),
        tags=TAGS,
        enclosures=(
            Enclosure("https://img.example.cn/1.jpg", "image/jpeg", 0),
            Enclosure("https://img.example.cn/2.png", "image/png", 2048),
            Enclosure("https://cdn.example.cn/talk.mp3", "audio/mpeg", 123456),
            Enclosure("https://img.example.cn/3.webp", "", 0),
        ),
        published=datetime(2024, 5, 10, 19, 30, 15, tzinfo=CST),  # 11:30:15 UTC
        updated=datetime(2024, 5, 10, 20, 0, tzinfo=CST),
    ),
    _article(
        2,
        title="<b>&amp;</b> tags & < ]]> in a\x0b title\x85",
        author=None,
        content_html="<p>ctrl\x00 \x1f chars\x9f gone &lt;ok&gt;</p>",
        summary="ctrl\x08 summary\x7f",
        date_estimated=True,
        published=datetime(2024, 5, 10, 11, 30, 15, tzinfo=UTC),  # ties with 1: order by id
        updated=datetime(2024, 5, 10, 11, 30, 15, 999999, tzinfo=UTC),
        tags=("news", "breaking"),
    ),
    _article(
        3,
        title="مرحبا بالعالم — שלום עולם",
        author="أحمد",
        content_html='<p dir="rtl">مرحبا</p><p dir="rtl">שלום</p>',
        summary="",
        source_id="src-b",
        enclosures=(Enclosure("https://files.example.org/blob", "", 10),),
    ),
)


CATEGORY = Category(slug="qinggan/gushi", title="情感 · 故事", description="", language="zh-CN")


def _doc(articles: tuple[Article, ...] = ARTICLES, **fields: object) -> FeedDocument:
    values: dict[str, object] = {
        "category": CATEGORY,
        "articles": articles,
        "site_url": SITE,
        "updated": datetime(2024, 5, 10, 12, 0, tzinfo=UTC),
        "ttl_minutes": 30,
        "source_titles": {"src-a": "示例新闻网"},
    }
    values.update(fields)
    return FeedDocument(**values)  # type: ignore[arg-type]


# What a subscriber must see, written out by hand (control characters gone, text intact).
EXPECTED_TITLES = [
    "情感故事：一个关于家的故事 🏠",
    "<b>&amp;</b> tags & < ]]> in a title",
    "مرحبا بالعالم — שלום עולם",
]


EXPECTED_CONTENT = [
    '<p>第一段 ]]> 文字 &amp; 更多</p><p><img src="https://img.example.cn/1.jpg"/></p>',
    "<p>ctrl  chars gone &lt;ok&gt;</p>",
    '<p dir="rtl">مرحبا</p><p dir="rtl">שלום</p>',
]


EXPECTED_IDS = [
    "urn:uuid:00000000-0000-4000-8000-000000000001",
    "urn:uuid:00000000-0000-4000-8000-000000000002",
    "urn:uuid:00000000-0000-4000-8000-000000000003",
]


EXPECTED_TERMS = [
    ["qinggan/gushi", "qinggan", *TAGS],
    ["news", "breaking"],
    ["news"],
]


EXPECTED_AUTHORS = ["张三", None, "أحمد"]


EXPECTED_PUBLISHED = [
    datetime(2024, 5, 10, 11, 30, 15, tzinfo=UTC),
    datetime(2024, 5, 10, 11, 30, 15, tzinfo=UTC),
    datetime(2024, 5, 10, 9, 0, tzinfo=UTC),
]


EXPECTED_UPDATED = [
    datetime(2024, 5, 10, 12, 0, tzinfo=UTC),
    datetime(2024, 5, 10, 11, 30, 15, tzinfo=UTC),
    datetime(2024, 5, 10, 10, 0, tzinfo=UTC),
]


def _parse(body: bytes) -> feedparser.FeedParserDict:
    # As the ingest side does: our own HTML handling, so content comes back verbatim.
    parsed = feedparser.parse(body, sanitize_html=False, resolve_relative_uris=False)
    assert not parsed.bozo, parsed.get("bozo_exception")
    return parsed


def _when(struct) -> datetime:  # type: ignore[no-untyped-def]
    return datetime.fromtimestamp(calendar.timegm(struct), tz=UTC)


def _text(entry: feedparser.FeedParserDict, key: str) -> str:
    """A text field as a reader displays it: HTML-typed values (RSS descriptions, and titles
    that look like markup) are escaped text — no tags — so decoding the entities gives it."""
    value = entry[key]
    if entry[f"{key}_detail"].type == "text/html":
        assert "<" not in value, value
        return html.unescape(value)
    return value


def _common_entry_checks(parsed: feedparser.FeedParserDict) -> None:
    entries = parsed.entries
    assert [_text(e, "title") for e in entries] == EXPECTED_TITLES
    assert [e.id for e in entries] == EXPECTED_IDS
    assert [e.link for e in entries] == [a.url for a in ARTICLES]
    assert [e.get("author") for e in entries] == EXPECTED_AUTHORS
    assert [[t.term for t in e.get("tags", [])] for e in entries] == EXPECTED_TERMS
    assert [_when(e.published_parsed) for e in entries] == EXPECTED_PUBLISHED
    # An RSS item without a summary carries its HTML in <description> (checked below).
    assert [e.content[0].value if "content" in e else e.summary for e in entries] == EXPECTED_CONTENT
    assert _text(entries[0], "summary") == "第一段 ]]> 文字 & 更多"
    assert _text(entries[1], "summary") == "ctrl summary"


def _no_forbidden_characters(body: bytes) -> None:
    text = body.decode("utf-8")
    bad = [c for c in text if (ord(c) < 0x20 and c not in "\t\n\r") or 0x7F <= ord(c) <= 0x9F]
    assert bad == []


def _validator() -> Draft7Validator:
    return Draft7Validator(SCHEMA, format_checker=Draft7Validator.FORMAT_CHECKER)


DC_NS = "{http://purl.org/dc/elements/1.1/}"


CONTENT_NS = "{http://purl.org/rss/1.0/modules/content/}"


FH_NS = "{http://purl.org/syndication/history/1.0}"


ATOM_LINK = f"{ATOM_NS}link"


ARCHIVE = "http://localhost:8080/archive/qinggan/gushi/"


def _archive_doc(fmt: str) -> FeedDocument:
    links = {
        "current": feed_url(SITE, "qinggan/gushi", fmt),
        "prev-archive": f"{ARCHIVE}1.{fmt}",
        "next-archive": f"{ARCHIVE}3.{fmt}",
        "next": f"{ARCHIVE}1.{fmt}",
    }
    return _doc(self_url=f"{ARCHIVE}2.{fmt}", links=links, archive=True)


def _xml_links(root: etree._Element, parent: str) -> list[tuple[str | None, str | None]]:
    node = root.find(parent) if parent else root
    assert node is not None
    return [(x.get("rel"), x.get("href")) for x in node.findall(ATOM_LINK)]

"""The parse stage against small public test files (tests/fixtures) and inline documents.

Miniflux's large real-world feeds and the sweep over all of feedparser's test feeds are
in the conformance suite (tests/conformance/test_feeds.py).

Each inline fixture carries the one trait under test (GBK bytes, a CST date, malformed
XML, …) so that a failure points at the behaviour that broke.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from syndicator.models import Enclosure
from syndicator.parse import ParseError, parse_feed
from tests.conftest import FIXTURES

FEEDPARSER = FIXTURES / "feedparser"
JSONFEED = FIXTURES / "jsonfeed" / "examples"
URL = "https://upstream.example/feed"


def rss(items: str, *, head: str = "", channel: str = "<title>T</title>") -> str:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"'
        ' xmlns:dc="http://purl.org/dc/elements/1.1/"'
        f' xmlns:media="http://search.yahoo.com/mrss/">{head}\n'
        f"<channel>{channel}\n{items}\n</channel></rss>"
    )


def corpus_headers(path: Path) -> dict[str, str]:
    """The `Header:` line of a feedparser test file's leading comment, as a header dict."""
    found = re.search(rb"Header:\s*([^:\n]+):\s*(.*)", path.read_bytes()[:1000])
    if found is None:
        return {}
    return {found.group(1).decode().strip().lower(): found.group(2).decode().strip()}


# ---------------------------------------------------------------- RSS and Atom, public test files


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("http_application_atom_xml_gb2312_charset.xml", "atom10"),
        ("http_application_atom_xml_gb2312_charset_overrides_encoding.xml", "atom10"),
        ("big5.xml", "rss"),
    ],
)
def test_empty_cjk_feeds_are_valid_empty_feeds(name: str, fmt: str) -> None:
    # Each file's comment expects "not bozo": an empty, well-formed feed is no error.
    path = FEEDPARSER / "encoding" / name
    feed = parse_feed(path.read_bytes(), corpus_headers(path), URL)

    assert (feed.format, feed.entries) == (fmt, ())


def test_atom_0_3_content_xml_base() -> None:
    # Expects entries[0]['content'][0]['base'] == 'http://example.com/test/'
    body = (FEEDPARSER / "wellformed" / "base" / "entry_content_xml_base.xml").read_bytes()
    feed = parse_feed(body, {"content-type": "application/atom+xml"}, URL)

    (entry,) = feed.entries
    assert (feed.format, entry.base_url) == ("atom03", "http://example.com/test/")
    assert entry.content_html == '<div>Example <a href="test.html">test</a></div>'  # relative


def test_illformed_feed_recovers_its_entry_and_says_what_was_wrong() -> None:
    # Expects entries[0].link == 'http://link/get?a=1&b=2' despite the unclosed </rss
    body = (FEEDPARSER / "illformed" / "rss_item_link_corrupted_ampersands.xml").read_bytes()
    feed = parse_feed(body, {"content-type": "application/rss+xml"}, URL)

    assert [e.link for e in feed.entries] == ["http://link/get?a=1&b=2"]
    assert len(feed.warnings) == 1
    assert re.fullmatch(r"recovered from malformed XML: .+ at line \d+", feed.warnings[0])


@pytest.mark.parametrize("name", ["aaa_illformed.xml", "rss_empty_document.xml"])
def test_illformed_documents_without_entries_are_errors(name: str) -> None:
    body = (FEEDPARSER / "illformed" / name).read_bytes()
    with pytest.raises(ParseError, match=r"^(not a feed|malformed XML)"):
        parse_feed(body, {"content-type": "application/rss+xml"}, URL)


# ---------------------------------------------------------------- RSS and Atom, inline


def test_gbk_feed_decodes_with_the_charset_header() -> None:
    body = rss(
        "<item><title>婚姻里最可怕的不是争吵</title><link>http://zh.example/8812.html</link>"
        "<description>她说：“我们已经很久没有好好说话了。”</description></item>",
        channel="<title>情感故事</title><language>zh-cn</language>",
    ).replace('encoding="utf-8"', "")
    # Both spellings: the fetch stage lowercases keys, but aiohttp's own is Content-Type.
    for key in ("content-type", "Content-Type"):
        feed = parse_feed(body.encode("gbk"), {key: "application/rss+xml; charset=gbk"}, URL)

        assert (feed.title, feed.language) == ("情感故事", "zh-cn")
        assert feed.entries[0].title == "婚姻里最可怕的不是争吵"
        assert feed.entries[0].content_html == "她说：“我们已经很久没有好好说话了。”"


def test_undeclared_gbk_is_detected() -> None:
    # No charset header, no encoding declaration: chardet has to recognise GBK.
    body = rss(
        "<item><title>婚姻里最可怕的不是争吵，而是沉默</title>"
        "<description>她说：“我们已经很久没有好好说话了。”他没有回答，"
        "只是把电视的声音调大了一些。</description></item>",
        channel="<title>情感故事</title>",
    ).replace(' encoding="utf-8"', "")
    feed = parse_feed(body.encode("gbk"), {"content-type": "application/rss+xml"}, URL)

    assert (feed.title, feed.entries[0].title) == ("情感故事", "婚姻里最可怕的不是争吵，而是沉默")
    assert feed.warnings == ("character encoding: document declared as utf-8, but parsed as GB18030",)


@pytest.mark.parametrize(
    ("codec", "title"),
    [("windows-1251", "Цитата #17703"), ("iso-8859-1", "Hinweise auf PC-Umsetzung für Spieler")],
)
def test_charset_declared_in_the_prolog(codec: str, title: str) -> None:
    # Small stand-ins for Miniflux's real feeds (conformance suite): no header, prolog only.
    body = rss(f"<item><guid>g</guid><title>{title}</title></item>").replace("utf-8", codec)
    feed = parse_feed(body.encode(codec), {}, URL)

    assert feed.entries[0].title == title
    assert feed.warnings == ()


def test_raw_dates_are_kept_verbatim() -> None:
    body = rss(
        "<item><title>a</title><guid>g1</guid><pubDate>Thu, 23 Nov 2023 10:20:35 CST</pubDate>"
        "<dc:date>2023年11月23日 10:20</dc:date></item>"
    )
    entry = parse_feed(body.encode(), {}, URL).entries[0]

    assert entry.published_raw == "Thu, 23 Nov 2023 10:20:35 CST"
    assert entry.updated_raw == "2023年11月23日 10:20"


def test_rss_entry_fields() -> None:
    body = rss(
        """<item>
          <title>Tom &amp;amp; Jerry &lt;b&gt;return&lt;/b&gt;</title>
          <link>https://upstream.example/tj</link>
          <guid isPermaLink="false">tj-1</guid>
          <author>ed@upstream.example (The Editor)</author>
          <description>Short teaser</description>
          <content:encoded><![CDATA[<p>Full <img src="/a.jpg"> story</p>]]></content:encoded>
          <category> Cartoons </category><category>Cartoons</category><category>Cats</category>
          <enclosure url="https://cdn.example/tj.mp3" length="1234" type="audio/mpeg"/>
          <media:content url="https://cdn.example/tj.jpg" type="image/jpeg" fileSize="oops"/>
        </item>
        <item><guid>https://upstream.example/only-guid</guid>
          <content:encoded><![CDATA[<p>only content</p>]]></content:encoded></item>
        <item><guid>12345</guid><link>/news/12345.html</link><title>Relative</title>
          <author>Jane Doe &lt;jane@news.example&gt;</author></item>"""
    )
    feed = parse_feed(body.encode(), {"content-type": "application/rss+xml"}, URL)
    first, second, third = feed.entries

    assert first.title == "Tom & Jerry return"  # HTML title → text
    assert (first.link, first.guid) == ("https://upstream.example/tj", "tj-1")
    assert first.author == "The Editor"
    assert first.content_html == '<p>Full <img src="/a.jpg"> story</p>'  # relative src kept
    assert first.summary_html == "Short teaser"
    assert first.tags == ("Cartoons", "Cats")
    assert first.enclosures == (
        Enclosure("https://cdn.example/tj.mp3", "audio/mpeg", 1234),
        Enclosure("https://cdn.example/tj.jpg", "image/jpeg", 0),
    )
    assert second.link == second.guid == "https://upstream.example/only-guid"  # permalink guid
    assert (second.title, second.author) == ("", None)
    assert (second.content_html, second.summary_html) == ("<p>only content</p>", "")
    # A relative GUID is an identity, not a link: it must not depend on the feed's URL.
    assert third.guid == "12345"
    assert third.link == "https://upstream.example/news/12345.html"
    assert third.author == "Jane Doe"


def test_atom_entry_fields_and_xml_base() -> None:
    body = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="fr" xml:base="https://blog.example/fr/">
  <title type="html">Le &lt;i&gt;blog&lt;/i&gt;</title>
  <link rel="self" href="atom.xml"/><link rel="alternate" href="./"/>
  <entry xml:base="https://blog.example/fr/2023/">
    <id>urn:uuid:1</id><title type="text">a &lt; b</title>
    <link rel="related" href="other.html"/><link rel="alternate" href="post.html"/>
    <link rel="enclosure" href="ep.ogg" type="audio/ogg" length="77"/>
    <author><name>Anne</name></author>
    <published>2023-11-23T10:20:00+08:00</published>
    <category term="vie" label="Vie"/><category label="sans terme"/>
    <summary>Court</summary>
    <content type="html">&lt;p&gt;Long&lt;/p&gt;</content>
    <content type="html">&lt;p&gt;The longest content&lt;/p&gt;</content>
  </entry>
  <entry><id>urn:uuid:2</id><title>deux</title><link href="deux.html"/></entry>
</feed>"""
    feed = parse_feed(body, {"content-type": "application/atom+xml"}, URL)
    first, second = feed.entries

    assert (feed.format, feed.title, feed.language) == ("atom10", "Le blog", "fr")
    assert feed.link == "https://blog.example/fr/"
    assert first.guid == "urn:uuid:1"
    assert first.title == "a < b"  # a text title stays text
    assert first.link == "https://blog.example/fr/2023/post.html"  # rel=alternate preferred
    assert first.author == "Anne"
    assert first.published_raw == "2023-11-23T10:20:00+08:00"
    assert first.updated_raw is None
    assert first.tags == ("vie", "sans terme")
    assert first.enclosures == (Enclosure("https://blog.example/fr/2023/ep.ogg", "audio/ogg", 77),)
    assert first.content_html == "<p>The longest content</p>"
    assert first.summary_html == "Court"
    assert first.base_url == "https://blog.example/fr/2023/"
    assert second.base_url == "https://blog.example/fr/"
    assert second.link == "https://blog.example/fr/deux.html"


def test_malformed_xml_keeps_recovered_entries() -> None:
    # An HTML entity XML does not know (&nbsp;) and an unclosed tag: common in the wild.
    body = rss(
        "<item><title>One&nbsp;two</title><link>https://upstream.example/1</link></item>\n"
        "<item><title>Three</title><link>https://upstream.example/3</link>"
        "<description><b>bold</description></item>"
    )
    feed = parse_feed(body.encode(), {"content-type": "application/rss+xml"}, URL)

    assert [(e.title, e.link) for e in feed.entries] == [
        ("One\xa0two", "https://upstream.example/1"),
        ("Three", "https://upstream.example/3"),
    ]
    assert feed.warnings == ("recovered from malformed XML: undefined entity at line 4",)


def test_empty_feed_is_valid() -> None:
    feed = parse_feed(rss("", channel="<title>Quiet</title>").encode(), {}, URL)

    assert (feed.format, feed.title, feed.entries) == ("rss20", "Quiet", ())


def test_entries_beyond_the_limit_are_dropped_with_a_warning() -> None:
    items = "".join(f"<item><guid>g{i}</guid><title>t{i}</title></item>" for i in range(5))
    feed = parse_feed(rss(items).encode(), {"content-type": "text/xml"}, URL, max_entries=3)

    assert [e.guid for e in feed.entries] == ["g0", "g1", "g2"]
    assert feed.warnings == ("dropped 2 entries beyond the limit of 3",)


@pytest.mark.parametrize(
    ("body", "content_type", "reason"),
    [
        (b"", "application/rss+xml", "not a feed: empty document"),
        (b" \r\n ", "application/rss+xml", "not a feed: empty document"),
        (
            b"<!DOCTYPE html>\n<html lang='en'><head><title>Blog</title>"
            b"<link rel='alternate' type='application/rss+xml' href='/rss'></head>"
            b"<body><p>Welcome</p></body></html>",
            "text/html; charset=utf-8",
            "not a feed: HTML document",
        ),
        (b"<html><body>Moved</body></html>", "application/xml", "not a feed: HTML document"),
        (
            b"\x89PNG\r\n\x1a\n\x00\x00garbage",
            "application/octet-stream",
            "not a feed: malformed XML (not well-formed (invalid token) at line 1)",
        ),
        (
            b'<?xml version="1.0"?><config><x>1</x></config>',
            "application/xml",
            "not a feed: no RSS, RDF or Atom root element (found <config>)",
        ),
    ],
)
def test_documents_without_a_feed_are_errors(body: bytes, content_type: str, reason: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse_feed(body, {"content-type": content_type}, URL)

    assert caught.value.reason == reason
    assert str(caught.value) == reason


def test_body_naming_a_local_file_is_not_read(tmp_path: Path) -> None:
    # feedparser opens bare bytes as a file name when such a file exists.
    secret = tmp_path / "local.xml"
    secret.write_text(rss("<item><guid>local-secret</guid></item>"), encoding="utf-8")

    with pytest.raises(ParseError, match="not a feed"):
        parse_feed(str(secret).encode(), {"content-type": "application/rss+xml"}, URL)


def test_rss_served_as_json_is_still_rss() -> None:
    body = rss("<item><guid>x1</guid><title>X</title></item>").encode()
    feed = parse_feed(body, {"content-type": "application/json"}, URL)

    assert (feed.format, [e.guid for e in feed.entries]) == ("rss20", ["x1"])


# ---------------------------------------------------------------- JSON Feed


def test_feedparser_json_example() -> None:
    feed = parse_feed((FEEDPARSER / "json" / "example.json").read_bytes(), {}, URL)

    assert (feed.format, feed.title, feed.link) == ("json10", "My Example Feed", "https://example.org/")
    assert len(feed.entries) == 2
    second, initial = feed.entries
    assert (second.guid, second.title, second.link) == ("2", "post 2", "https://example.org/second-item")
    assert second.content_html == "<p>This is a second item.</p>"
    # Its own author is none; the feed's is recorded for normalise to inherit.
    assert (second.author, second.upstream.author) == (None, "me")
    assert second.tags == ("test", "JSON")
    assert second.enclosures == (
        Enclosure("https://example.org/second-item-show.mp4", "video/mp4", 12000000),
    )
    assert (initial.guid, initial.author, initial.title) == ("1", "you", "")
    assert initial.content_html == "<p>Hello, world!</p>\n\n<script>alert();</script>"  # raw
    assert initial.base_url == URL


def test_json_feed_1_1_podcast() -> None:
    path = JSONFEED / "v1.1" / "podcast.json"
    feed = parse_feed(path.read_bytes(), {"content-type": "application/feed+json"}, URL)

    assert (feed.format, feed.title, feed.link) == ("json11", "The Record", "http://therecord.co/")
    (entry,) = feed.entries
    assert entry.guid == entry.link == "http://therecord.co/chris-parrish"
    assert entry.title == "Special #1 - Chris Parrish"
    assert entry.published_raw == "2014-05-09T14:04:00-07:00"
    assert entry.content_html.startswith('Chris has worked at <a href="http://adobe.com/">Adobe</a>')
    assert entry.summary_html == (
        "Brent interviews Chris Parrish, co-host of The Record and one-half of Aged &amp; Distilled."
    )
    assert entry.enclosures == (
        Enclosure("http://therecord.co/downloads/The-Record-sp1e1-ChrisParrish.m4a", "audio/x-m4a", 89970236),
    )


def test_json_feed_1_0_microblog_text_becomes_paragraphs() -> None:
    feed = parse_feed((JSONFEED / "v1" / "microblog.json").read_bytes(), {}, URL)

    (entry,) = feed.entries
    assert (feed.format, entry.guid, entry.author) == ("json10", "2347259", None)
    assert (feed.author, entry.upstream.author) == ("Brent Simmons", "Brent Simmons")
    assert entry.content_html == "<p>Cats are neat.</p><p>https://example.org/cats</p>"
    assert entry.published_raw == "2016-02-09T14:22:00-07:00"


def jsonfeed(items: object, version: str = "https://jsonfeed.org/version/1.1", **top: object) -> bytes:
    return json.dumps({"version": version, "title": "J", "items": items, **top}).encode()


def test_json_feed_1_0_author_and_1_1_authors() -> None:
    body = jsonfeed(
        [
            {"id": 7, "author": {"name": "Old Style"}, "content_text": "a < b\nnext line"},
            {"id": "b", "authors": [{"name": "Ann"}, {"url": "https://x"}, {"name": "Bo"}]},
            {"id": "c", "external_url": "https://elsewhere.example/c", "summary": "Only & summary"},
        ],
        version="https://jsonfeed.org/version/1",
        language="en-GB",
    )
    feed = parse_feed(body, {}, URL)
    numeric, several, summary_only = feed.entries

    assert (feed.format, feed.language) == ("json10", "en-GB")
    assert (numeric.guid, numeric.author) == ("7", "Old Style")
    assert numeric.content_html == "<p>a &lt; b<br>next line</p>"
    assert several.author == "Ann, Bo"
    assert summary_only.link == "https://elsewhere.example/c"
    assert (summary_only.content_html, summary_only.summary_html) == ("<p>Only &amp; summary</p>", "")


def test_json_items_that_are_not_objects_or_lack_an_id_are_skipped_by_index() -> None:
    body = jsonfeed(["oops", {"title": "no id"}, {"id": "ok", "title": "Kept", "tags": "x"}])
    feed = parse_feed(body, {"content-type": "application/feed+json"}, URL)

    assert [(e.guid, e.title, e.tags) for e in feed.entries] == [("ok", "Kept", ())]
    assert feed.warnings == (
        "JSON Feed: item 0 skipped: it is a string, not an object",
        "JSON Feed: item 1 skipped: no id",
        "JSON Feed: item 2: tags is a string, not a list; ignored",
    )


def test_json_entries_beyond_the_limit_are_dropped_with_a_warning() -> None:
    feed = parse_feed(jsonfeed([{"id": str(i)} for i in range(4)]), {}, URL, max_entries=1)

    assert [e.guid for e in feed.entries] == ["0"]
    assert feed.warnings == ("dropped 3 entries beyond the limit of 1",)


def test_json_with_bom_and_with_declared_charset() -> None:
    doc = {"version": "https://jsonfeed.org/version/1.1", "title": "新闻", "items": [{"id": "1"}]}
    text = json.dumps(doc, ensure_ascii=False)

    with_bom = parse_feed(b"\xef\xbb\xbf" + text.encode("utf-8"), {}, URL)
    as_gbk = parse_feed(text.encode("gbk"), {"content-type": "application/json; charset=gbk"}, URL)

    assert with_bom.title == as_gbk.title == "新闻"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"version": "https://jsonfeed.org/version/1.1",\n "items": [}', None),
        (b"[1, 2]", None),
        (jsonfeed({"id": "1"}), "JSON Feed: items is not a list (it is an object)"),
        (b'{"version": "https://jsonfeed.org/version/1.1"}', "JSON Feed: items is missing"),
        (b'{"title": "x", "items": []}', "JSON Feed: version is missing"),
        (
            jsonfeed([], version="http://example.com/my-format"),
            "JSON Feed: version 'http://example.com/my-format' does not start with"
            " https://jsonfeed.org/version/",
        ),
        (b'{"items": []}\xff', "JSON Feed: byte 13 is not valid utf-8 (invalid start byte)"),
    ],
)
def test_bad_json_feeds_are_errors(body: bytes, reason: str | None) -> None:
    with pytest.raises(ParseError) as caught:
        parse_feed(body, {"content-type": "application/feed+json"}, URL)

    if body.startswith(b"[1"):
        assert caught.value.reason == "JSON Feed: top level is a list, not an object"
    elif reason is None:
        assert caught.value.reason == "invalid JSON at line 2 column 12: Expecting value"
    else:
        assert caught.value.reason == reason

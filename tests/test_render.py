"""Render stage, what every format must do: deterministic bytes, clean XML, empty feeds, bad
documents refused clearly, text that looks like markup, paging links, any text surviving.

Per-format tests: test_render_rss.py, test_render_atom.py, test_render_jsonfeed.py; the shared
articles and readers: tests/render_helpers.py.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from lxml import etree

from syndicator.models import Category
from syndicator.render import (
    FORMATS,
    FeedDocument,
    RenderError,
    feed_url,
    render_atom,
    render_json,
    render_rss,
)
from tests.render_helpers import (
    ARCHIVE,
    ARTICLES,
    ATOM_NS,
    SITE,
    _archive_doc,
    _article,
    _doc,
    _no_forbidden_characters,
    _parse,
    _text,
    _validator,
    _xml_links,
)


@pytest.mark.parametrize("fmt", ["rss", "atom", "json"])
def test_output_is_deterministic(fmt: str) -> None:
    render = FORMATS[fmt].render
    first = render(_doc())
    # An equal document built afresh (new tuples, new dict) renders to the same bytes.
    again = render(_doc(articles=tuple(replace(a) for a in ARTICLES)))
    assert first == again
    # The build date is the document's, not the clock's. JSON Feed has no feed-level date,
    # so there a new build date alone must not change the bytes (no needless new ETag).
    later = render(_doc(updated=datetime(2024, 5, 11, tzinfo=UTC)))
    assert (later == first) is (fmt == "json")


@pytest.mark.parametrize("fmt", ["rss", "atom"])
def test_xml_is_well_formed_and_clean(fmt: str) -> None:
    body = FORMATS[fmt].render(_doc())
    assert body.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    etree.fromstring(body)  # raises on malformed XML
    _no_forbidden_characters(body)
    assert "שלום עולם".encode() in body and "🏠".encode() in body


@pytest.mark.parametrize("fmt", ["rss", "atom", "json"])
def test_empty_feed_is_valid(fmt: str) -> None:
    body = FORMATS[fmt].render(_doc(articles=()))
    if fmt == "json":
        feed = json.loads(body)
        assert list(_validator().iter_errors(feed)) == []
        assert feed["items"] == []
    else:
        parsed = _parse(body)
        assert parsed.entries == []
        assert parsed.feed.title == "情感 · 故事"


def test_formats_table() -> None:
    assert {k: (v.media_type, v.extension) for k, v in FORMATS.items()} == {
        "rss": ("application/rss+xml; charset=utf-8", "rss"),
        "atom": ("application/atom+xml; charset=utf-8", "atom"),
        "json": ("application/feed+json", "json"),
    }
    assert feed_url(SITE, "all", "json") == "http://localhost:8080/feeds/all.json"
    assert feed_url(SITE, "体育", "rss") == "http://localhost:8080/feeds/%E4%BD%93%E8%82%B2.rss"


def test_untitled_article_gets_a_readable_title() -> None:
    untitled = _article(9, title="  ", summary="A summary that stands in for the title")
    for render in (render_rss, render_atom):
        parsed = _parse(render(_doc(articles=(untitled,))))
        assert parsed.entries[0].title == "A summary that stands in for the title"


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (_doc(updated=datetime(2024, 5, 10, 12, 0)), "FeedDocument.updated is a naive datetime"),
        (_doc(articles=(_article(1, id="not-a-uuid"),)), "'not-a-uuid' is not a UUID"),
        (_doc(articles=(_article(1, published=datetime(2024, 1, 1)),)), "published is a naive"),
        (_doc(articles=(_article(1), _article(1))), "appears twice"),
        (_doc(articles=(_article(1, url="javascript:alert(1)"),)), "is not http(s)"),
        (_doc(site_url="http://localhost:8080"), "must be an absolute http(s) URL ending in '/'"),
        (_doc(ttl_minutes=0), "ttl_minutes must be at least 1"),
    ],
)
@pytest.mark.parametrize("fmt", ["rss", "atom", "json"])
def test_bad_documents_are_refused_clearly(doc: FeedDocument, message: str, fmt: str) -> None:
    with pytest.raises(RenderError, match=message.replace("(", r"\(").replace(")", r"\)")):
        FORMATS[fmt].render(doc)


def test_unknown_format_is_refused() -> None:
    with pytest.raises(RenderError, match="unknown feed format 'xml'"):
        feed_url(SITE, "news", "xml")


def test_xml_writes_ampersand_and_less_than_as_hex_references() -> None:
    # The RSS Profile's advice, which the W3C validator checks: `&#x26;` and `&#x3C;`.
    for render in (render_rss, render_atom):
        body = render(_doc())
        assert b"&amp;" not in body and b"&lt;" not in body
        assert b"&#x26;" in body and b"&#x3C;" in body


MARKUP_TITLE = "Use </p> and &amp; literally"


MARKUP_SUMMARY = "Text with <em>tags</em> &copy; that is not markup"


def test_text_that_looks_like_html_is_escaped_not_guessed() -> None:
    # A plain title containing an end tag or entity would be taken for HTML by readers (and
    # by the W3C validator); it is written as escaped HTML (Atom type="html") instead.
    doc = _doc(articles=(_article(1, title=MARKUP_TITLE, summary=MARKUP_SUMMARY),))
    atom = etree.fromstring(render_atom(doc))
    entry = atom.find(f"{ATOM_NS}entry")
    assert entry.find(f"{ATOM_NS}title").get("type") == "html"
    assert entry.findtext(f"{ATOM_NS}title") == html.escape(MARKUP_TITLE, quote=False)
    assert entry.find(f"{ATOM_NS}summary").get("type") == "html"
    for render in (render_rss, render_atom):
        parsed = _parse(render(doc))
        assert _text(parsed.entries[0], "title") == MARKUP_TITLE
        assert _text(parsed.entries[0], "summary") == MARKUP_SUMMARY
    # Ordinary text stays type="text" (the common case is not needlessly escaped).
    plain = etree.fromstring(render_atom(_doc(articles=(_article(1, title="AT&T < 5 <b"),))))
    title = plain.find(f"{ATOM_NS}entry/{ATOM_NS}title")
    assert title.get("type") is None and title.text == "AT&T < 5 <b"


def test_feed_level_text_that_looks_like_html() -> None:
    category = Category(slug="news", title="News </b>", description="A &amp; B", language="en")
    for render in (render_rss, render_atom):
        parsed = _parse(render(_doc(category=category)))
        assert _text(parsed.feed, "title") == "News </b>"
        assert _text(parsed.feed, "subtitle") == "A &amp; B"


@pytest.mark.parametrize("fmt", ["rss", "atom"])
def test_subscription_feed_links_prev_archive_without_fh_archive(fmt: str) -> None:
    doc = _doc(links={"prev-archive": f"{ARCHIVE}7.{fmt}"})
    body = FORMATS[fmt].render(doc)
    root = etree.fromstring(body)
    assert ("prev-archive", f"{ARCHIVE}7.{fmt}") in _xml_links(root, "channel" if fmt == "rss" else "")
    assert b"purl.org/syndication/history" not in body  # no fh namespace, no fh:archive
    # The plain feed has neither extra links nor the namespace.
    plain = FORMATS[fmt].render(_doc())
    assert b"prev-archive" not in plain and b"syndication/history" not in plain


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"links": {"next": "http://localhost:8080/feeds/qinggan/gushi.json"}}, "is the document's own URL"),
        ({"self_url": f"{ARCHIVE}2.json", "links": {"next": f"{ARCHIVE}2.json"}}, "own URL"),
        ({"links": {"previous": f"{ARCHIVE}1.json"}}, "unknown relation 'previous'"),
        ({"links": {"next": "/archive/1.json"}}, "is not an absolute http"),
        ({"self_url": "ftp://x/feed"}, "self_url 'ftp://x/feed' is not an absolute http"),
    ],
)
def test_bad_links_are_refused(fields: dict[str, object], message: str) -> None:
    with pytest.raises(RenderError, match=message):
        render_json(_doc(**fields))


def test_self_url_overrides_feed_url_everywhere() -> None:
    url = "http://proxy.example.org/feeds/qinggan/gushi.rss?limit=3&tag=news"
    parsed = _parse(render_rss(_doc(self_url=url)))
    assert [x.href for x in parsed.feed.links if x.rel == "self"] == [url]
    atom_url = url.replace(".rss", ".atom")
    root = etree.fromstring(render_atom(_doc(self_url=atom_url)))
    assert root.findtext(f"{ATOM_NS}id") == atom_url
    assert ("self", atom_url) in _xml_links(root, "")
    json_url = url.replace(".rss", ".json")
    assert json.loads(render_json(_doc(self_url=json_url)))["feed_url"] == json_url


@pytest.mark.parametrize("fmt", ["rss", "atom", "json"])
def test_history_links_are_deterministic(fmt: str) -> None:
    doc = _archive_doc(fmt)
    reordered = replace(doc, links=dict(reversed(list(doc.links.items()))))
    assert FORMATS[fmt].render(doc) == FORMATS[fmt].render(reordered)


# Any character but lone surrogates (not encodable), weighted towards the troublesome ones.
_TRICKY = "<>&\"']]>;#/\t\n\r \x00\x0b\x1f\x7f\x85\x9f\ufffe\u200f\u202eé中文עבריתالعربية🏠👩‍👧"


_TEXT = st.text(
    alphabet=st.one_of(st.sampled_from(_TRICKY), st.characters(exclude_categories=("Cs",))),
    max_size=40,
)


_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]")


def _reads_as_utf8(text: str) -> bool:
    try:
        return text.encode("iso-8859-1").decode("utf-8") != text
    except UnicodeError:
        return False


@settings(max_examples=150, deadline=None, derandomize=True)
@given(title=_TEXT, summary=_TEXT, author=_TEXT, tag=_TEXT, body=_TEXT)
def test_any_text_survives_feedparser_and_json(
    title: str, summary: str, author: str, tag: str, body: str
) -> None:
    def expect(text: str) -> str:
        return _FORBIDDEN.sub("", text).strip()

    fields = (title, summary, author, tag, body)
    assume(all(expect(x) for x in fields))
    # feedparser "repairs" text made only of Latin-1 characters that also reads as UTF-8
    # ("Â\xa0" → "\xa0", taking it for mojibake): its limitation, whatever the feed says.
    assume(not any(_reads_as_utf8(expect(x)) for x in fields))
    content = f"<p>{html.escape(_FORBIDDEN.sub('', body), quote=False)}</p>"
    article = _article(1, title=title, summary=summary, author=author, tags=(tag,), content_html=content)
    doc = _doc(articles=(article,))
    for render in (render_rss, render_atom):
        body_bytes = render(doc)
        _no_forbidden_characters(body_bytes)
        entry = _parse(body_bytes).entries[0]
        assert _text(entry, "title") == expect(title)
        assert _text(entry, "summary") == expect(summary)
        assert entry.author == expect(author)
        assert [t.term for t in entry.tags] == list(dict.fromkeys(["news", expect(tag)]))
        assert entry.content[0].value == content
    item = json.loads(render_json(doc))["items"][0]
    assert (item["title"], item["summary"], item["authors"], item["content_html"]) == (
        expect(title),
        expect(summary),
        [{"name": expect(author)}],
        content,
    )

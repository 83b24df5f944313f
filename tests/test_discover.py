"""Discovery: listing pages → article URLs and next page; sitemaps → URLs with lastmod."""

from __future__ import annotations

import gzip
import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from syndicator.discover import (
    DiscoveredLink,
    DiscoverError,
    parse_listing,
    parse_sitemap,
    parse_w3c_datetime,
)
from tests.conftest import SITE_ZHBF

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "discover"
SM_NS = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'


def _listing_cases() -> list[Path]:
    return [SITE_ZHBF / "listing-qinggan-gushi.html", *sorted(FIXTURES.glob("listing-*.html"))]


# ---------------------------------------------------------------- listing pages: whole pages


@pytest.mark.parametrize("page", _listing_cases(), ids=lambda p: p.name)
def test_listing_page_yields_exactly_the_expected_links(page: Path) -> None:
    expected = json.loads(page.with_name(page.name.removesuffix(".html") + ".expected.json").read_text())
    result = parse_listing(page.read_text(encoding="utf-8"), expected["base"])
    assert list(result.article_urls) == expected["article_urls"]
    assert result.next_page == expected["next_page"]


def test_fixture_set_has_several_shapes() -> None:
    assert len(_listing_cases()) >= 5


def test_hot_sidebar_is_excluded_only_because_it_is_marked() -> None:
    """The same page with its .hot box renamed: the box's articles are then ordinary links."""
    html = (FIXTURES / "listing-news-portal.html").read_text(encoding="utf-8")
    base = "https://news.example.com.cn/tech/"
    hot = "https://news.example.com.cn/tech/2024-03-01/doc-ikx120001.shtml"
    assert hot not in parse_listing(html, base).article_urls
    renamed = parse_listing(html.replace('<div class="hot">', '<div class="box">'), base)
    assert hot in renamed.article_urls


# ---------------------------------------------------------------- listing pages: single rules


def _page(body: str, head: str = "") -> str:
    return f"<html><head><title>t</title>{head}</head><body>{body}</body></html>"


BASE = "https://site.example/news/"


@pytest.mark.parametrize(
    "wrapper",
    [
        "<aside>{}</aside>",
        '<div class="sidebar">{}</div>',
        '<div id="right-sidebar">{}</div>',
        '<div class="hot">{}</div>',
        '<div class="rank">{}</div>',
        '<div class="hot-list">{}</div>',
        "<nav>{}</nav>",
        '<div class="breadcrumb">{}</div>',
        '<div class="position">{}</div>',
        '<div role="navigation">{}</div>',
        '<div class="pagination">{}</div>',
        "<footer>{}</footer>",
        "<header>{}</header>",
    ],
)
def test_links_in_site_chrome_are_not_articles(wrapper: str) -> None:
    chrome = wrapper.format('<a href="/news/2024/03/05/chrome-link">x</a>')
    html = _page(chrome + '<p><a href="/news/20240305/77.html">real</a></p>')
    assert parse_listing(html, BASE).article_urls == ("https://site.example/news/20240305/77.html",)


def test_card_header_inside_article_is_not_chrome() -> None:
    card = '<article><header class="entry-header"><a href="/2024/03/05/slug/">T</a></header></article>'
    html = _page(f"<main>{card}</main>")
    assert parse_listing(html, BASE).article_urls == ("https://site.example/2024/03/05/slug/",)


def test_utility_class_tokens_do_not_count_as_chrome() -> None:
    html = _page('<div class="position-relative list-group"><a href="/news/a/123.html">x</a></div>')
    assert parse_listing(html, BASE).article_urls == ("https://site.example/news/a/123.html",)


@pytest.mark.parametrize(
    "href",
    [
        "/",
        "/index.html",
        "/news/",
        "/news/list_3.html",
        "/news/index_2.html",
        "/news/?page=2",
        "/news/page/2/",
        "/2024/03/",
        "/2024/03/05/",
        "javascript:void(0)",
        "mailto:a@site.example",
        "#top",
        "/img/2024/0305/123.jpg",
        "/files/2024/report-123.pdf",
        "/tag/2024/123",
        "/login.php?id=5",
        "/search?q=123",
        "/user/12345",
        "https://elsewhere.example/news/20240305/77.html",
        BASE,
    ],
)
def test_non_article_links_are_dropped(href: str) -> None:
    html = _page(f'<p><a href="{href}">x</a></p>')
    assert parse_listing(html, BASE).article_urls == ()


@pytest.mark.parametrize(
    ("href", "expected"),
    [
        ("/a/123.html", "https://site.example/a/123.html"),
        ("/xiangguan/1.html", "https://site.example/xiangguan/1.html"),
        ("/2023/11/23/slug", "https://site.example/2023/11/23/slug"),
        ("/2024/03/05/slug/", "https://site.example/2024/03/05/slug/"),
        ("/2024/03/slug/", "https://site.example/2024/03/slug/"),
        ("/qinggan/gushi/20231123/8812.html", "https://site.example/qinggan/gushi/20231123/8812.html"),
        ("/p/abc123", "https://site.example/p/abc123"),
        ("/show.php?id=42&utm_source=x", "https://site.example/show.php?id=42"),
        ("/?p=481", "https://site.example/?p=481"),
        ("https://m.site.example/news/2024-03-05/doc-1.shtml", "https://m.site.example/news/2024-03-05/doc-1.shtml"),
    ],
)  # fmt: skip
def test_article_like_urls_are_kept(href: str, expected: str) -> None:
    html = _page(f'<p><a href="{href}">An article</a></p>')
    assert parse_listing(html, BASE).article_urls == (expected,)


def test_slug_links_count_only_in_the_main_list() -> None:
    main = "".join(f'<li><a href="/stories/story-{w}">{w}</a></li>' for w in ("one", "two", "three"))
    picks = '<ul><li><a href="/essays/on-maps">m</a></li><li><a href="/essays/on-time">t</a></li></ul>'
    result = parse_listing(_page(f"<ul>{main}</ul>{picks}<p><a href='/about-us'>about</a></p>"), BASE)
    assert result.article_urls == tuple(
        f"https://site.example/stories/story-{w}" for w in ("one", "two", "three")
    )


def test_two_slug_links_are_no_main_list() -> None:
    html = _page('<ul><li><a href="/stories/one">1</a></li><li><a href="/stories/two">2</a></li></ul>')
    assert parse_listing(html, BASE).article_urls == ()


def test_duplicates_keep_their_first_position() -> None:
    html = _page(
        '<a href="/a/2.html"><img src="x.png"></a><a href="/a/1.html">one</a>'
        '<a href="/a/2.html#comments">two</a><a href="/a/1.html?utm_source=x">one again</a>'
    )
    assert parse_listing(html, BASE).article_urls == (
        "https://site.example/a/2.html",
        "https://site.example/a/1.html",
    )


@pytest.mark.parametrize(
    "anchor",
    [
        '<a href="list_2.html">下一页</a>',
        '<a href="list_2.html">下页</a>',
        '<a href="list_2.html">后页</a>',
        '<a href="list_2.html">Next</a>',
        '<a href="list_2.html"> Next  page </a>',
        '<a href="list_2.html">下一页 &gt;</a>',
        '<a href="list_2.html">›</a>',
        '<a href="list_2.html">»</a>',
        '<a href="list_2.html">&gt;</a>',
        '<a href="list_2.html">更多</a>',
        '<a href="list_2.html" rel="next">2</a>',
        '<a class="next page-numbers" href="list_2.html">→ Onward</a>',
        '<li class="next"><a href="list_2.html">Onward</a></li>',
        '<a class="nextpage" href="list_2.html">Onward</a>',
    ],
)
def test_next_page_forms(anchor: str) -> None:
    html = _page(f'<div><a href="/news/a/1.html">a</a></div><div>{anchor}</div>')
    result = parse_listing(html, BASE)
    assert result.next_page == "https://site.example/news/list_2.html"
    assert result.article_urls == ("https://site.example/news/a/1.html",)


def test_next_page_from_link_rel_in_head() -> None:
    html = _page("", head='<link rel="next" href="/news/?page=2"><link rel="prev" href="/news/?page=0">')
    assert parse_listing(html, BASE).next_page == "https://site.example/news/?page=2"


@pytest.mark.parametrize(
    "anchor",
    [
        '<a href="/more/">更多</a>',  # a section page, not page 2
        '<a href="/news/a/9.html">下一篇</a>',  # next *article*
        f'<a rel="next" href="{BASE}">下一页</a>',  # the current page itself (last page)
        '<a href="#">下一页</a>',
        '<a href="javascript:next()">下一页</a>',
        '<a href="https://elsewhere.example/news/list_2.html">下一页</a>',
        '<span class="next disabled">下一页</span>',
    ],
)
def test_not_a_next_page(anchor: str) -> None:
    assert parse_listing(_page(anchor), BASE).next_page is None


def test_next_page_skips_a_self_link_for_a_later_candidate() -> None:
    html = _page(f'<a rel="next" href="{BASE}#">x</a><a href="list_3.html">下一页</a>')
    assert parse_listing(html, BASE).next_page == "https://site.example/news/list_3.html"


def test_base_element_resolves_relative_links() -> None:
    html = _page('<a href="7/88.html">a</a>', head='<base href="https://site.example/archive/">')
    assert parse_listing(html, BASE).article_urls == ("https://site.example/archive/7/88.html",)


def test_xml_declaration_in_a_string_is_accepted() -> None:
    html = '<?xml version="1.0" encoding="utf-8"?>' + _page('<a href="/a/1.html">a</a>')
    assert parse_listing(html, BASE).article_urls == ("https://site.example/a/1.html",)


@pytest.mark.parametrize(("html", "url", "reason"), [("", BASE, "empty"), ("  \n", BASE, "empty"),
                                                     ("<p>x</p>", "/relative", "URL")])  # fmt: skip
def test_bad_listing_input(html: str, url: str, reason: str) -> None:
    with pytest.raises(DiscoverError, match=reason):
        parse_listing(html, url)


# ---------------------------------------------------------------- sitemaps


def _urlset(*entries: str, ns: str = SM_NS, extra_ns: str = "") -> bytes:
    body = "".join(entries)
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<urlset {ns} {extra_ns}>{body}</urlset>'.encode()


def test_urlset_with_lastmod() -> None:
    doc = parse_sitemap(
        _urlset(
            "<url><loc>https://s.example/a/1.html</loc><lastmod>2024-03-05T10:20:00+08:00</lastmod></url>",
            "<url><loc> https://S.example/a/2.html?utm_source=sm </loc></url>",
        ),
        "https://s.example/sitemap.xml",
    )
    assert doc.sitemaps == ()
    assert doc.links == (
        DiscoveredLink("https://s.example/a/1.html", datetime(2024, 3, 5, 2, 20, tzinfo=UTC)),
        DiscoveredLink("https://s.example/a/2.html"),
    )
    assert doc.links[0].lastmod is not None and doc.links[0].lastmod.utcoffset() == timedelta(0)


def test_urlset_without_namespace() -> None:
    doc = parse_sitemap(_urlset("<url><loc>http://s.example/x</loc></url>", ns=""), "http://s.example/s.xml")
    assert [link.url for link in doc.links] == ["http://s.example/x"]


def test_sitemap_index() -> None:
    body = (
        f'<?xml version="1.0"?><sitemapindex {SM_NS}>'
        "<sitemap><loc>https://s.example/sitemap-posts.xml.gz</loc><lastmod>2024-03-01</lastmod></sitemap>"
        "<sitemap><loc>https://s.example/sitemap-pages.xml</loc></sitemap></sitemapindex>"
    ).encode()
    doc = parse_sitemap(body, "https://s.example/sitemap_index.xml")
    assert doc.links == ()
    assert doc.sitemaps == (
        DiscoveredLink("https://s.example/sitemap-posts.xml.gz", datetime(2024, 3, 1, tzinfo=UTC)),
        DiscoveredLink("https://s.example/sitemap-pages.xml"),
    )


def test_google_news_sitemap() -> None:
    news_ns = 'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9"'
    body = _urlset(
        "<url><loc>https://s.example/n/8812.html</loc><news:news><news:publication>"
        "<news:name>示例</news:name><news:language>zh-cn</news:language></news:publication>"
        "<news:publication_date>2023-11-23T10:20:35+08:00</news:publication_date>"
        "<news:title>携手共商高技能合作</news:title></news:news></url>",
        "<url><loc>https://s.example/n/8813.html</loc><lastmod>2023-11-24T00:00:00Z</lastmod>"
        "<news:news><news:publication_date>2023-11-23</news:publication_date>"
        "<news:title>B</news:title></news:news></url>",
        extra_ns=news_ns,
    )
    doc = parse_sitemap(body, "https://s.example/news.xml")
    assert doc.links == (
        DiscoveredLink(
            "https://s.example/n/8812.html",
            datetime(2023, 11, 23, 2, 20, 35, tzinfo=UTC),
            "携手共商高技能合作",
        ),
        DiscoveredLink("https://s.example/n/8813.html", datetime(2023, 11, 24, tzinfo=UTC), "B"),
    )


def test_gzip_sitemap() -> None:
    plain = _urlset("<url><loc>https://s.example/a/1.html</loc></url>")
    doc = parse_sitemap(gzip.compress(b"\n\n  " + plain), "https://s.example/sitemap.xml.gz")
    assert [link.url for link in doc.links] == ["https://s.example/a/1.html"]


def test_gzip_bomb_is_refused() -> None:
    bomb = gzip.compress(_urlset()[:-10] + b" " * (51 * 1024 * 1024) + b"</urlset>")
    assert len(bomb) < 200_000
    with pytest.raises(DiscoverError, match="expands beyond"):
        parse_sitemap(bomb, "https://s.example/sitemap.xml.gz")


def test_truncated_gzip_is_an_error() -> None:
    with pytest.raises(DiscoverError, match="gzip"):
        parse_sitemap(gzip.compress(_urlset())[:12] + b"garbage", "https://s.example/s.xml.gz")


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "empty"),
        (b"<urlset><url><loc>https://s.example/</loc></url>", "not well-formed"),
        (b"<html><body>Not found</body></html>", "root element is <html>"),
        (b'<?xml version="1.0"?><rss version="2.0"><channel/></rss>', "root element is <rss>"),
    ],
)
def test_malformed_sitemap(body: bytes, reason: str) -> None:
    with pytest.raises(DiscoverError, match=reason):
        parse_sitemap(body, "https://s.example/sitemap.xml")


BILLION_LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE urlset [\n<!ENTITY lol "lol">\n'
    + "".join(f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">\n' for i in range(1, 10)).replace(
        "&lol0;", "&lol;"
    )
    + f"]>\n<urlset {SM_NS}><url><loc>https://s.example/&lol9;</loc></url></urlset>"
)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_billion_laughs_is_refused(encoding: str) -> None:
    text = BILLION_LAUGHS.replace('version="1.0"?>', f'version="1.0" encoding="{encoding}"?>', 1)
    with pytest.raises(DiscoverError, match="entit"):  # ours, or libxml2's amplification guard
        parse_sitemap(text.encode(encoding), "https://s.example/sitemap.xml")


def test_external_entity_is_refused_and_never_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET")
    body = (
        f'<?xml version="1.0"?><!DOCTYPE urlset [<!ENTITY x SYSTEM "{secret.as_uri()}">]>'
        f"<urlset {SM_NS}><url><loc>https://s.example/&x;</loc></url></urlset>"
    ).encode()
    with pytest.raises(DiscoverError, match="entities") as info:
        parse_sitemap(body, "https://s.example/sitemap.xml")
    assert "TOPSECRET" not in str(info.value)


def test_max_links_cuts_the_list() -> None:
    body = _urlset(*(f"<url><loc>https://s.example/a/{i}.html</loc></url>" for i in range(10)))
    doc = parse_sitemap(body, "https://s.example/s.xml", max_links=3)
    assert [link.url for link in doc.links] == [f"https://s.example/a/{i}.html" for i in range(3)]


def test_only_http_locs_are_kept_and_the_rest_logged(caplog: pytest.LogCaptureFixture) -> None:
    body = _urlset(
        "<url><loc>ftp://s.example/file</loc></url>",
        "<url><loc>javascript:alert(1)</loc></url>",
        "<url><loc>/relative/1.html</loc></url>",
        "<url><lastmod>2024-01-01</lastmod></url>",
        "<url><loc>https://s.example/ok/1.html</loc><lastmod>yesterday</lastmod></url>",
    )
    with caplog.at_level(logging.WARNING, logger="syndicator.discover.sitemap"):
        doc = parse_sitemap(body, "https://s.example/s.xml")
    assert doc.links == (DiscoveredLink("https://s.example/ok/1.html"),)
    messages = " ".join(r.getMessage() for r in caplog.records)
    for fragment in ("ftp", "javascript", "relative", "without <loc>", "'yesterday'"):
        assert fragment in messages


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2024", datetime(2024, 1, 1, tzinfo=UTC)),
        ("2024-03", datetime(2024, 3, 1, tzinfo=UTC)),
        ("2024-03-05", datetime(2024, 3, 5, tzinfo=UTC)),
        ("2024-03-05T10:20+08:00", datetime(2024, 3, 5, 2, 20, tzinfo=UTC)),
        ("2024-03-05T10:20:30Z", datetime(2024, 3, 5, 10, 20, 30, tzinfo=UTC)),
        ("2024-03-05T10:20:30.25-05:00", datetime(2024, 3, 5, 15, 20, 30, 250000, tzinfo=UTC)),
        ("2024-03-05T10:20:30", datetime(2024, 3, 5, 10, 20, 30, tzinfo=UTC)),
        ("2024-03-05 10:20:30 +0800", datetime(2024, 3, 5, 2, 20, 30, tzinfo=UTC)),
        (" 2024-03-05T23:30:00-01:00 ", datetime(2024, 3, 6, 0, 30, tzinfo=UTC)),
        ("2024-02-30", None),
        ("2024-03-05T25:00:00Z", None),
        ("5 March 2024", None),
        ("", None),
    ],
)
def test_lastmod_forms(raw: str, expected: datetime | None) -> None:
    parsed = parse_w3c_datetime(raw)
    assert parsed == expected
    if parsed is not None:
        assert parsed.tzinfo is not None and parsed.utcoffset() == timedelta(0)


def test_main_list_counts_distinct_articles_not_anchors() -> None:
    """Image + title links to two articles are still two, too few for a main list."""
    items = "".join(
        f'<li><a href="/stories/{w}"><img src="i.png"></a><a href="/stories/{w}">{w}</a></li>'
        for w in ("a", "b")
    )
    assert parse_listing(_page(f"<ul>{items}</ul>"), BASE).article_urls == ()

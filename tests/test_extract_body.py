"""Body, images and title extraction: variant pages with expected output, and focused cases."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from syndicator.extract import ExtractError, extract_article
from syndicator.extract.body import BodyError, extract_body
from syndicator.extract.document import parse_html
from syndicator.extract.title import page_title
from syndicator.models import PageImage, SiteRules

PAGES = Path(__file__).resolve().parent / "fixtures" / "pages"
VARIANTS = sorted(p.name.removesuffix(".expected.json") for p in PAGES.glob("body-*.expected.json"))
BASE = "https://news.example/a/1.html"
LONG = "这是一段足够长的正文内容，用来让正文检测找到文章所在的位置，并且包含完整的句子。" * 2


@pytest.mark.parametrize("name", VARIANTS)
def test_variant_page(name: str) -> None:
    expected = json.loads((PAGES / f"{name}.expected.json").read_text(encoding="utf-8"))
    page = (PAGES / f"{name}.html").read_bytes()
    article = extract_article(page, expected["url"], timezone="Asia/Shanghai")
    assert article.title == expected["title"]
    assert list(article.paragraphs) == expected["paragraphs"]
    got = [{"src": i.src, "caption": i.caption, "alt": i.alt} for i in article.images]
    assert got == [{"caption": "", "alt": "", **image} for image in expected["images"]]
    for unwanted in expected["must_not_contain"]:
        for field in ("title", "text", "content_html", "summary"):
            assert unwanted not in getattr(article, field), f"{unwanted!r} leaked into {field}"


def test_variant_density_page_is_found_by_density() -> None:
    text = (PAGES / "body-density.html").read_text(encoding="utf-8")
    body = extract_body(parse_html(text), BASE)
    assert body.method == "density"


def test_gbk_fixture_declares_its_charset_after_two_kilobytes() -> None:
    raw = (PAGES / "body-gbk-late-meta.html").read_bytes()
    assert raw.index(b"charset=gbk") > 2048
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")


def _page(body: str, head: str = "<title>测试标题_某某网</title>") -> str:
    return f"<html><head>{head}</head><body>{body}</body></html>"


@pytest.mark.parametrize(
    "attribute", ["data-original", "data-src", "data-lazy-src", "data-actualsrc", "data-url"]
)
def test_lazy_image_attribute_wins_over_placeholder(attribute: str) -> None:
    html = _page(
        f'<div class="content"><p>{LONG}</p><p><img src="/images/blank.gif" {attribute}="/up/real.jpg"></p>'
        f"<p>{LONG}</p></div>"
    )
    body = extract_body(parse_html(html), BASE)
    assert body.images == (PageImage(src="https://news.example/up/real.jpg"),)


def test_srcset_gives_the_largest_image_when_src_is_a_data_uri() -> None:
    html = _page(
        f'<article><p>{LONG}</p><img src="data:image/gif;base64,R0lGOD" '
        f'data-srcset="/s.jpg 300w, /l.jpg 1200w, /m.jpg 800w"><p>{LONG}</p></article>'
    )
    assert [i.src for i in extract_body(parse_html(html), BASE).images] == ["https://news.example/l.jpg"]


def test_pixels_spacers_and_hidden_trackers_are_not_images() -> None:
    html = _page(
        f'<div class="content"><p>{LONG}</p><img src="/spacer.gif"><img src="/a.jpg" width="1" height="1">'
        f'<img src="https://stat.tracker.example/pixel.gif?id=1"><img src="/b.jpg" style="display:none">'
        f'<img src="/photo.jpg"><p>{LONG}</p></div>'
    )
    assert [i.src for i in extract_body(parse_html(html), BASE).images] == ["https://news.example/photo.jpg"]


@pytest.mark.parametrize(
    "caption_html",
    [
        '<p class="img-desc">图为新建成的大桥</p>',
        '<p style="text-align: center">新建成的大桥</p>',
        '<p align="center">新建成的大桥</p>',
        "<p>图为新建成的大桥</p>",
        "<p>新建成的大桥 张三 摄</p>",
    ],
)
def test_caption_paragraph_after_an_image_becomes_its_caption(caption_html: str) -> None:
    html = _page(
        f'<div class="content"><p>{LONG}</p><p style="text-align:center"><img src="/bridge.jpg"></p>'
        f"{caption_html}<p>{LONG}</p></div>"
    )
    body = extract_body(parse_html(html), BASE)
    caption = parse_html(caption_html).text_content()
    assert [i.caption for i in body.images] == [caption]
    assert caption not in body.paragraphs
    assert body.paragraphs == (LONG, LONG)


def test_an_ordinary_paragraph_after_an_image_stays_a_paragraph() -> None:
    ordinary = "记者了解到，这座大桥的建成将大大缩短两岸居民的出行时间，预计每天通行车辆将超过两万辆次。"
    html = _page(f'<div class="content"><p>{LONG}</p><p><img src="/b.jpg"></p><p>{ordinary}</p></div>')
    body = extract_body(parse_html(html), BASE)
    assert body.images[0].caption == ""
    assert body.paragraphs == (LONG, ordinary)


def test_full_width_indents_and_whitespace_are_trimmed() -> None:
    html = _page(f'<div class="content"><p>\u3000\u3000 {LONG} \u3000</p><p>&nbsp;&nbsp;{LONG}</p></div>')
    assert extract_body(parse_html(html), BASE).paragraphs == (LONG, LONG)


def test_chrome_inside_the_container_is_removed() -> None:
    html = _page(
        f'<div class="content"><p>{LONG}</p><div class="bdsharebuttonbox">分享到：微信 微博</div>'
        "<div><h3>相关阅读</h3><ul><li><a href='/x'>另一篇文章的标题在这里</a></li></ul></div>"
        "<p>（责任编辑：李四）</p><p>Copyright © 2024 某某网 版权所有</p></div>"
    )
    body = extract_body(parse_html(html), BASE)
    assert body.paragraphs == (LONG,)


def test_drop_rule_removes_elements_before_extraction() -> None:
    html = _page(f'<div class="content"><p>{LONG}</p><p class="promo">{LONG[:30]}广告语在这里出现</p></div>')
    body = extract_body(parse_html(html), BASE, rules=SiteRules(drop=(".promo",)))
    assert body.paragraphs == (LONG,)


def test_body_rule_gives_the_container() -> None:
    other = "侧栏里有一段很长的文字，它不是文章正文，但是长度足以迷惑自动检测的算法。" * 4
    html = _page(f'<div class="side"><p>{other}</p></div><div id="zw"><p>短正文一句。</p></div>')
    body = extract_body(parse_html(html), BASE, rules=SiteRules(body="#zw"))
    assert (body.method, body.paragraphs) == ("rule", ("短正文一句。",))


def test_invalid_selector_is_a_clear_error() -> None:
    with pytest.raises(BodyError, match="not valid CSS"):
        extract_body(parse_html(_page(f"<p>{LONG}</p>")), BASE, rules=SiteRules(body="div[["))


def test_broken_markup_keeps_the_article() -> None:
    html = (
        f'<html><body><div class="nav"><a href="/">首页</a></p></div><div class="article"><p>{LONG}'
        f"<p>{LONG}</div></span><div><p>{LONG}</b>"
    )
    assert extract_body(parse_html(html), BASE).paragraphs == (LONG, LONG, LONG)


def test_page_without_text_raises_extract_error() -> None:
    with pytest.raises(ExtractError, match="no article body"):
        extract_article("<html><body><div></div></body></html>", BASE)


def test_feed_is_not_an_article_page() -> None:
    with pytest.raises(ExtractError, match="feed or a sitemap"):
        extract_article(b'<?xml version="1.0"?><rss version="2.0"><channel></channel></rss>', BASE)


def test_binary_is_not_an_article_page() -> None:
    with pytest.raises(ExtractError, match="binary"):
        extract_article(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", BASE)


@pytest.mark.parametrize(
    ("head", "body", "expected"),
    [
        ("<title>标题一_智汇八方</title>", "<h1>标题一</h1>", "标题一"),
        ("<title>新闻标题内容 - 栏目 - 站点名称</title>", "", "新闻标题内容"),
        (
            '<title>A longer headline here | Site</title><meta property="og:site_name" content="Site">',
            "",
            "A longer headline here",
        ),
        (
            '<title>X</title><meta property="og:title" content="真正的标题_站名">'
            '<meta property="og:site_name" content="站名">',
            "",
            "真正的标题",
        ),
        ("<title>唯一标题</title>", "", "唯一标题"),
    ],
)
def test_title_without_site_suffix(head: str, body: str, expected: str) -> None:
    assert page_title(parse_html(_page(body, head))) == expected


def test_title_rule_wins() -> None:
    tree = parse_html(_page('<div class="t">规则标题</div><h1>别的标题</h1>', "<title>文档标题_站</title>"))
    assert page_title(tree, rules=SiteRules(title="div.t")) == "规则标题"


def test_jsonld_headline_is_used() -> None:
    tree = parse_html(_page("", "<title>Headline text - Example News</title>"))
    objects = [{"@type": "NewsArticle", "headline": "Headline text"}]
    assert page_title(tree, json_ld=objects) == "Headline text"

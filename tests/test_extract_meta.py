"""Page metadata: JSON-LD, source/author bylines, canonical URL, language, and the meta-*
variant fixtures checked field by field."""

# ruff: noqa: E501 — inline HTML test pages with CJK text read better unwrapped

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from syndicator.extract.breadcrumb import breadcrumb_path
from syndicator.extract.byline import byline, element_text, element_texts
from syndicator.extract.canonical import canonical_page_url
from syndicator.extract.dates import page_date
from syndicator.extract.document import parse_html
from syndicator.extract.jsonld import json_ld_objects
from syndicator.extract.language import detect_language
from syndicator.models import SiteRules
from tests.conftest import SITE_ZHBF

PAGES = Path(__file__).resolve().parent / "fixtures" / "pages"
BODY = "<p>" + "重庆持续深化人才领域国际交流合作,为西部陆海新通道建设汇聚更多智慧和力量。" * 3 + "</p>"


def page(*, head: str = "", info: str = "", body: str = BODY, after: str = "", lang: str = "") -> str:
    lang_attr = f" lang='{lang}'" if lang else ""
    return (
        f"<html{lang_attr}><head><title>联盟成立_新闻网</title>{head}</head><body>"
        f"<div class='article'><h1>联盟成立</h1>{info}<div class='content'>{body}</div></div>{after}</body></html>"
    )


# ---------------------------------------------------------------- JSON-LD


def test_json_ld_is_read_leniently_and_flattened() -> None:
    html = page(
        head=(
            '<script type="application/ld+json">//<![CDATA[\n{"@context":"https://schema.org","@graph":['
            '{"@type":"WebSite","name":"站"},{"@type":["NewsArticle"],"headline":"甲",},]}\n//]]></script>'
            '<script type="application/ld+json"><!-- [{"@type":"Person","name":"乙"},'
            '{"@type":"Organization","name":"丙"}] --></script>'
            '<script type="application/ld+json">{"headline": broken</script>'
            '<script type="application/ld+json"></script>'
            '<script type="text/javascript">{"@type":"NotLd"}</script>'
        )
    )
    objects = json_ld_objects(parse_html(html))
    assert [o["@type"] for o in objects] == ["WebSite", ["NewsArticle"], "Person", "Organization"]
    assert objects[1]["headline"] == "甲"


# ---------------------------------------------------------------- byline


@pytest.mark.parametrize(
    ("info", "expected"),
    [
        # the seed: value spans, an editor label glued to the source value
        ('<div class="info">日期: <span class="time"></span>&nbsp;来源:<span class="source">智汇八方</span>'
         '收集编辑:<span class="author">智汇八方</span></div>', ("智汇八方", "智汇八方")),
        ("<div>发布时间：2024-03-05 08:30 来源：新华社 作者：张三</div>", ("新华社", "张三")),
        ("<div class='meta'>2024-03-05　稿源：人民日报海外版　责任编辑：李四　点击：1024</div>", ("人民日报海外版", "李四")),
        ("<p>出处: 中国青年报 | 记者: 王五 | 编辑: 赵六</p>", ("中国青年报", "王五")),
        ("<div class='info'>文/陈七　来源：南方周末</div>", ("南方周末", "陈七")),
        ("<div class='byline'>By Jane Doe · Source: Reuters</div>", ("Reuters", "Jane Doe")),
        ("<div class='info'>来源：新华社2024-03-05</div>", ("新华社", None)),
        ("<div class='info'>来源： 作者：</div>", (None, None)),
    ],
)  # fmt: skip
def test_byline_from_the_info_line(info: str, expected: tuple) -> None:
    assert byline(parse_html(page(info=info))) == expected


def test_byline_from_classes_meta_and_json_ld() -> None:
    html = page(
        head=(
            '<meta property="og:site_name" content="新闻网">'
            '<script type="application/ld+json">{"@type":"NewsArticle","headline":"联盟成立",'
            '"author":{"@type":"Person","name":"刘八"},"publisher":{"name":"新闻网集团"}}</script>'
        ),
        info="<div class='article-info'><span class='source'>经济日报</span></div>",
    )
    assert byline(parse_html(html)) == ("经济日报", "刘八")


def test_byline_fallbacks_og_site_name_and_meta_author() -> None:
    html = page(head='<meta property="og:site_name" content="新闻网"><meta name="author" content="周九">')
    assert byline(parse_html(html)) == ("新闻网", "周九")


def test_byline_rel_author_and_json_ld_publisher() -> None:
    html = page(
        head='<script type="application/ld+json">{"@type":"Article","publisher":{"name":"晚报"}}</script>',
        info="<p class='x'><a rel='author' href='/u/1'>吴十</a></p>",
    )
    assert byline(parse_html(html)) == ("晚报", "吴十")


def test_byline_ignores_related_lists_and_sidebars() -> None:
    related = (
        "<ul class='related'><li>来源：别的报纸 作者：别人</li></ul><div class='sidebar'>来源：侧栏</div>"
    )
    assert byline(parse_html(page(after=related))) == (None, None)


def test_source_at_the_end_of_the_body_when_the_header_has_none() -> None:
    html = page(body=BODY + "<p>（来源：经济参考报）</p><p>（责任编辑：钱一）</p>")
    assert byline(parse_html(html)) == ("经济参考报", "钱一")


# ---------------------------------------------------------------- canonical URL


@pytest.mark.parametrize(
    ("head", "url", "expected"),
    [
        ('<link rel="canonical" href="https://A.example/news/1.html?utm_source=x&amp;id=3#top">',
         "https://a.example/m/1", "https://a.example/news/1.html?id=3"),
        ('<link rel="canonical" href="/news/1.html?utm_medium=rss">', "https://a.example/x/y.html",
         "https://a.example/news/1.html"),
        ('<link rel="Canonical amphtml" href="javascript:void(0)"><meta property="og:url" '
         'content="https://a.example/og.html?fbclid=1">', "https://a.example/p", "https://a.example/og.html"),
        ("", "https://a.example/p.html?utm_campaign=c&spm=1.2&page=2", "https://a.example/p.html?page=2"),
        ('<link rel="canonical" href="https://a.example/">', "https://a.example/news/7.html?utm_source=x",
         "https://a.example/news/7.html"),
        ('<base href="https://cdn.a.example/site/"><link rel="canonical" href="news/1.html">',
         "https://a.example/p", "https://cdn.a.example/site/news/1.html"),
    ],
)  # fmt: skip
def test_canonical_url(head: str, url: str, expected: str) -> None:
    assert canonical_page_url(parse_html(page(head=head)), url) == expected


def test_canonical_of_a_local_file_is_left_as_given() -> None:
    assert canonical_page_url(parse_html(page()), "file:///tmp/a.html") == "file:///tmp/a.html"


# ---------------------------------------------------------------- language

ENGLISH = "The city council approved the new budget on Tuesday after a long debate about transport."
JAPANESE = "東京都は火曜日、新しい予算案を承認しました。交通についての長い議論の後で決まりました。"
KOREAN = "서울시는 화요일 긴 교통 논의 끝에 새로운 예산안을 승인했습니다."
RUSSIAN = "Городской совет во вторник утвердил новый бюджет после долгих дебатов о транспорте."
CHINESE = "市议会周二在关于交通的长时间辩论后批准了新的预算方案,预算将用于地铁建设。"


@pytest.mark.parametrize(
    ("lang", "head", "text", "expected"),
    [
        ("zh-CN", "", CHINESE, "zh"),
        ("", '<meta http-equiv="Content-Language" content="zh-TW">', CHINESE, "zh"),
        ("", '<meta property="og:locale" content="zh_CN">', "", "zh"),
        ("en-US", "", CHINESE, "zh"),  # a template's wrong declaration loses to the script
        ("zh-CN", "", JAPANESE, "ja"),
        ("", "", KOREAN, "ko"),
        ("en", "", RUSSIAN, "ru"),
        ("uk", "", RUSSIAN, "uk"),  # Cyrillic does not contradict Ukrainian
        ("fr", "", ENGLISH, "fr"),  # Latin script cannot tell French from English
        ("", "", ENGLISH, "en"),
        ("", "", "", None),
        ("de-AT", "", "短", "de"),  # too little text to overrule the declaration
        ("", "", CHINESE + "の", "zh"),  # one stray kana is not Japanese
    ],
)
def test_language(lang: str, head: str, text: str, expected: str | None) -> None:
    html = (
        f"<html{' lang=' + repr(lang) if lang else ''}><head>{head}</head><body><p>{text}</p></body></html>"
    )
    assert detect_language(parse_html(html), text) == expected


# ---------------------------------------------------------------- the seed and the meta-* fixtures


def test_seed_page_metadata() -> None:
    html = (SITE_ZHBF / "article-8812.utf8.html").read_text("utf-8")
    expected = json.loads((SITE_ZHBF / "article-8812.expected.json").read_text("utf-8"))
    tree = parse_html(html)
    url = expected["url"]
    assert breadcrumb_path(tree, rules=SiteRules()) == tuple(expected["category_path"])
    assert byline(tree) == (expected["source"], expected["author"])
    found, precision, where = page_date(
        tree, url, timezone="Asia/Shanghai", rules=SiteRules(), now=datetime(2024, 1, 1, tzinfo=UTC)
    )
    assert (found.isoformat() if found else None, precision, where) == (
        f"{expected['published_date']}T00:00:00+08:00", expected["published_precision"], "url",
    )  # fmt: skip
    assert canonical_page_url(tree, url + "?utm_source=x") == url
    assert detect_language(tree, "\n\n".join(expected["paragraphs"])) == expected["language"]


@pytest.mark.parametrize("name", sorted(p.name.removesuffix(".html") for p in PAGES.glob("meta-*.html")))
def test_meta_fixture(name: str) -> None:
    expected = json.loads((PAGES / f"{name}.expected.json").read_text("utf-8"))
    tree = parse_html((PAGES / f"{name}.html").read_text("utf-8"))
    found, precision, where = page_date(
        tree, expected["page_url"], timezone=expected["timezone"], rules=SiteRules(),
        now=datetime(2025, 1, 1, tzinfo=UTC),
    )  # fmt: skip
    assert {
        "url": canonical_page_url(tree, expected["page_url"]),
        "category_path": list(breadcrumb_path(tree, rules=SiteRules())),
        "source": byline(tree)[0],
        "author": byline(tree)[1],
        "published": found.isoformat() if found else None,
        "published_precision": precision,
        "date_source": where,
        "language": detect_language(tree, "\n\n".join(expected["paragraphs"])),
    } == {key: expected[key] for key in (
        "url", "category_path", "source", "author", "published", "published_precision", "date_source",
        "language",
    )}  # fmt: skip


def test_there_are_meta_fixtures() -> None:
    assert {p.name for p in PAGES.glob("meta-*.expected.json")} >= {
        "meta-jsonld.expected.json", "meta-plaininfo.expected.json",
    }  # fmt: skip


def test_element_text_reads_nested_tails_in_reading_order():
    tree = parse_html(
        "<div><p><b>来源：<i>新华社</i></b> 记者<!-- c --> 张三<script>x()</script></p>尾</div>"
    )
    div = tree.find(".//div")
    assert element_text(div) == "来源：新华社 记者 张三尾"
    texts = element_texts(div)
    assert texts[div.find("p")] == "来源：新华社 记者 张三"
    assert texts[div.find(".//b")] == "来源：新华社"

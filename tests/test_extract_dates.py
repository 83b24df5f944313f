"""Publication dates of article pages: each evidence kind, each format, and the pages where
no date may be found (body text, sidebars, related lists, copyright lines, comments)."""

# ruff: noqa: E501 — inline HTML test pages with CJK text read better unwrapped

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from syndicator.extract.dates import DateRuleError, page_date
from syndicator.extract.document import parse_html
from syndicator.models import SiteRules

NOW = datetime(2024, 6, 1, 4, 0, tzinfo=UTC)
URL = "http://news.example.cn/shehui/8812.html"
SHANGHAI = "Asia/Shanghai"
BODY = (
    "<p>　　11月22日,陆海新通道技术技能人才国际发展联盟在重庆成立。2023年11月22日,近年来重庆人社持续"
    "深化人才领域国际交流合作,为西部陆海新通道建设汇聚更多智慧和力量,推动技工教育领域合作走深走实。</p>"
    "<p>　　本次活动围绕共建“一带一路”倡议和西部陆海新通道建设重大战略需求,以“开放·合作·共赢”为主题,"
    "为来自中国、俄罗斯、日本、新加坡等7个国家共计20家中外技工院校颁发首批联盟成员证书。</p>"
)


def page(*, head: str = "", info: str = "", body: str = BODY, after: str = "", h1: str = "联盟成立") -> str:
    return (
        f"<html><head><title>{h1}_新闻网</title>{head}</head><body>"
        f"<div class='nav'><a href='/'>首页</a></div>"
        f"<div class='article'><h1>{h1}</h1>{info}<div class='content'>{body}</div></div>"
        f"{after}<div class='footer'>Copyright © 2005-2023 新闻网 版权所有</div></body></html>"
    )


def when(html: str, url: str = URL, tz: str = SHANGHAI, rules: SiteRules | None = None):
    found, precision, where = page_date(
        parse_html(html), url, timezone=tz, rules=rules or SiteRules(), now=NOW
    )
    return (found.isoformat() if found else None), precision, where


# ---------------------------------------------------------------- explicit metadata


@pytest.mark.parametrize(
    ("meta", "expected"),
    [
        ('<meta property="article:published_time" content="2023-11-23T10:20:35+08:00">',
         ("2023-11-23T10:20:35+08:00", "datetime", "meta")),
        ('<meta property="og:published_time" content="2023-11-23T02:20:00Z">',
         ("2023-11-23T10:20:00+08:00", "datetime", "meta")),
        ('<meta name="pubdate" content="2023-11-23">', ("2023-11-23T00:00:00+08:00", "date", "meta")),
        ('<meta name="PubDate" content="2023-11-23 10:20">', ("2023-11-23T10:20:00+08:00", "datetime", "meta")),
        ('<meta name="publishdate" content="2023年11月23日 10:20">',
         ("2023-11-23T10:20:00+08:00", "datetime", "meta")),
        ('<meta name="sailthru.date" content="2023-11-23 10:20:00">',
         ("2023-11-23T10:20:00+08:00", "datetime", "meta")),
        ('<meta name="parsely-pub-date" content="2023-11-23T10:20:00-05:00">',
         ("2023-11-23T23:20:00+08:00", "datetime", "meta")),
        ('<meta name="dc.date" content="2023/11/23">', ("2023-11-23T00:00:00+08:00", "date", "meta")),
        ('<meta itemprop="datePublished" content="2023-11-23T10:20+0800">',
         ("2023-11-23T10:20:00+08:00", "datetime", "meta")),
    ],
)  # fmt: skip
def test_meta_tags_give_the_date_in_the_source_zone(meta: str, expected: tuple) -> None:
    assert when(page(head=meta)) == expected


def test_meta_wins_over_the_info_line_and_the_url() -> None:
    html = page(
        head='<meta property="article:published_time" content="2023-11-23T10:20:00+08:00">',
        info="<div class='info'>发布时间：2023-11-20 09:00</div>",
    )
    assert when(html, "http://news.example.cn/2023/11/01/8812.html") == (
        "2023-11-23T10:20:00+08:00", "datetime", "meta",
    )  # fmt: skip


def test_json_ld_date_published() -> None:
    ld = (
        '<script type="application/ld+json">{"@context":"https://schema.org","@graph":['
        '{"@type":"WebSite","name":"新闻网"},'
        '{"@type":"NewsArticle","headline":"联盟成立","datePublished":"2023-11-23T10:20:00+08:00",}]}</script>'
    )
    assert when(page(head=ld)) == ("2023-11-23T10:20:00+08:00", "datetime", "json-ld")


def test_time_element_in_the_article_header() -> None:
    html = page(info="<div class='byline'><time datetime='2023-11-23T10:20'>昨天</time></div>")
    assert when(html) == ("2023-11-23T10:20:00+08:00", "datetime", "time-element")


def test_time_element_in_a_related_list_is_ignored() -> None:
    related = (
        "<ul class='related'><li><a href='/1'>旧闻</a><time datetime='2023-10-01'>10-01</time></li></ul>"
    )
    assert when(page(after=related)) == (None, None, None)


def test_site_rule_selector_is_trusted_first() -> None:
    html = page(
        head='<meta name="pubdate" content="2023-01-01">',
        info="<div class='pt'>刊发于 <b class='stamp'>2023.11.23 10:20</b></div>",
    )
    assert when(html, rules=SiteRules(date=".pt .stamp")) == ("2023-11-23T10:20:00+08:00", "datetime", "rule")


def test_invalid_rule_selector_is_a_clear_error() -> None:
    with pytest.raises(DateRuleError, match="invalid date selector"):
        when(page(), rules=SiteRules(date="div[[["))


def test_unknown_time_zone_is_a_clear_error() -> None:
    with pytest.raises(DateRuleError, match="unknown time zone 'Mars/Base'"):
        when(page(), tz="Mars/Base")


# ---------------------------------------------------------------- the info line


@pytest.mark.parametrize(
    ("info", "expected"),
    [
        ("<div class='info'>2023-11-23 10:20 来源：新华社</div>", ("2023-11-23T10:20:00+08:00", "datetime")),
        ("<div class='info'>时间：2023-11-23 10:20:35</div>", ("2023-11-23T10:20:35+08:00", "datetime")),
        ("<p class='meta'>2023年11月23日 10:20 新华社</p>", ("2023-11-23T10:20:00+08:00", "datetime")),
        ("<span class='pubtime'>2023/11/23</span>", ("2023-11-23T00:00:00+08:00", "date")),
        ("<div class='post-meta'>Posted 2023.11.23 by admin</div>", ("2023-11-23T00:00:00+08:00", "date")),
        ("<div>发布时间：2024-03-05 08:30 来源：新华社 作者：张三</div>", ("2024-03-05T08:30:00+08:00", "datetime")),
        ("<div>更新时间：2023-11-25 12:00 发表时间：2023-11-23 08:00</div>",
         ("2023-11-23T08:00:00+08:00", "datetime")),
    ],
)  # fmt: skip
def test_info_line_formats(info: str, expected: tuple) -> None:
    assert when(page(info=info)) == (*expected, "info-line")


def test_info_line_in_a_title_wrapper_without_classes() -> None:
    html = page(info="").replace(
        "<h1>联盟成立</h1>", "<div><h1>联盟成立</h1></div><div>日期：2023-11-23</div>"
    )
    assert when(html) == ("2023-11-23T00:00:00+08:00", "date", "info-line")


def test_month_day_takes_the_year_from_the_url() -> None:
    html = page(info="<div class='info'>11月22日 18:05 来源：重庆日报</div>")
    assert when(html, "http://news.example.cn/2023/11/23/8812.html") == (
        "2023-11-22T18:05:00+08:00", "datetime", "info-line",
    )  # fmt: skip


def test_month_day_takes_the_year_from_metadata() -> None:
    html = page(
        head='<meta property="article:modified_time" content="2022-11-24T08:00:00+08:00">',
        info="<div class='info'>11月22日 来源：重庆日报</div>",
    )
    assert when(html) == ("2022-11-22T00:00:00+08:00", "date", "info-line")


def test_month_day_without_any_dated_evidence_gives_nothing() -> None:
    assert when(page(info="<div class='info'>11月22日 来源：重庆日报</div>")) == (None, None, None)


def test_empty_date_field_falls_through_to_the_url() -> None:
    info = '<div class="info">日期: <span class="time"></span>&nbsp;来源:<span>智汇八方</span></div>'
    assert when(page(info=info), "http://www.zhbf.example/qinggan/gushi/20231123/8812.html") == (
        "2023-11-23T00:00:00+08:00", "date", "url",
    )  # fmt: skip


def test_a_future_info_date_is_not_trusted() -> None:
    assert when(page(info="<div class='info'>发布时间：2031-01-01 10:00</div>")) == (None, None, None)


# ---------------------------------------------------------------- URL paths


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://a.example/news/20231123/8812.html", "2023-11-23T00:00:00+08:00"),
        ("http://a.example/2023/11/23/some-title/", "2023-11-23T00:00:00+08:00"),
        ("http://a.example/news/2023-11-23/8812.html", "2023-11-23T00:00:00+08:00"),
        ("http://a.example/a/2023/1123/8812.html", "2023-11-23T00:00:00+08:00"),
        ("http://www.gov.example/xwdt/202311/t20231123_12345.html", "2023-11-23T00:00:00+08:00"),
        ("http://a.example/news/231123/8812.html", None),  # 6 digits: ambiguous, skipped
        ("http://a.example/news/20231399/8812.html", None),  # not a date
        ("http://a.example/news/8812.html?date=20231123", None),  # the query is not the path
    ],
)
def test_url_path_dates(url: str, expected: str | None) -> None:
    result = when(page(), url)
    assert result == ((expected, "date", "url") if expected else (None, None, None))


def test_url_date_is_read_in_the_source_zone() -> None:
    assert when(page(), "http://a.example/2023/11/23/x.html", tz="America/New_York") == (
        "2023-11-23T00:00:00-05:00", "date", "url",
    )  # fmt: skip


# ---------------------------------------------------------------- where no date may be found


def test_dates_in_the_body_text_are_never_used() -> None:
    assert when(page()) == (None, None, None)  # BODY says 11月22日 and 2023年11月22日


def test_a_short_dated_lead_paragraph_is_not_an_info_line() -> None:
    html = page(body="<p>2023年11月20日，记者从市里获悉一则消息。</p>" + BODY)
    assert when(html) == (None, None, None)


def test_sidebar_dates_are_never_used() -> None:
    sidebar = (
        "<div class='sidebar'><div class='box'><h3>热门文章</h3>"
        "<p class='date'>2023-11-20 08:00</p><p>某某新闻</p></div></div>"
    )
    assert when(page(after=sidebar)) == (None, None, None)


def test_related_list_dates_are_never_used() -> None:
    related = (
        "<div class='related'><h3>相关阅读</h3><ul>"
        "<li><a href='/1.html'>重庆上线服务</a><span class='date'>2023-11-22</span></li>"
        "<li><a href='/2.html'>技能竞赛</a><span class='time'>2023年11月21日 10:00</span></li></ul></div>"
    )
    assert when(page(after=related)) == (None, None, None)


def test_copyright_lines_are_never_used() -> None:
    footer = "<div class='bottom'>© 2023-11-01 新闻网 版权所有 备案号 2023-123</div>"
    assert when(page(after=footer)) == (None, None, None)


def test_comment_dates_are_never_used() -> None:
    comments = "<div id='comments'><div class='comment-meta'>张三 发表于 2023-11-24 09:00</div></div>"
    assert when(page(after=comments)) == (None, None, None)

"""Publication dates on layouts real Chinese CMSs use (synthetic pages, written here):
a headline inside an <aside>, the date line in an <article>'s own <footer> under the
body, a day-only meta tag with the time on the info line, a layout <li> column, and a
related list beside the headline whose "6小时前" must not become the date."""

# ruff: noqa: E501 — inline HTML test pages with CJK text read better unwrapped

from __future__ import annotations

from datetime import UTC, datetime

from syndicator.extract.dates import page_date
from syndicator.extract.document import parse_html
from syndicator.models import SiteRules

NOW = datetime(2024, 6, 1, 4, 0, tzinfo=UTC)
BODY = "<p>" + "重庆人社持续深化人才领域国际交流合作，为西部陆海新通道建设汇聚更多智慧和力量。" * 4 + "</p>"
FILLER = "<p>" + "本次活动围绕共建倡议和西部陆海新通道建设重大战略需求，颁发首批联盟成员证书。" * 30 + "</p>"


def when(html: str, url: str = "http://news.example.cn/a/8812.html"):
    found, precision, where = page_date(
        parse_html(html), url, timezone="Asia/Shanghai", rules=SiteRules(), now=NOW
    )
    return (found.isoformat() if found else None), precision, where


def test_headline_wrapped_in_aside_keeps_its_date_line() -> None:
    html = f"<html><body><section><aside class='head'><h1>联盟成立</h1><span>2023-11-23 10:20 新闻网[整理]</span></aside><div>{BODY}</div></section></body></html>"
    assert when(html) == ("2023-11-23T10:20:00+08:00", "datetime", "info-line")


def test_labelled_date_in_the_articles_own_footer() -> None:
    html = (
        f"<html><body><main><article><h1>联盟成立</h1><div class='entry'>{BODY}{FILLER}"
        "<footer class='entry-footer'><div>发布日期：2023-11-23 14:34:05  所属分类：头条</div></footer></div></article>"
        "<footer class='site'>Copyright © 2023 新闻网 发布时间：2020-01-01 00:00:00</footer></main></body></html>"
    )
    assert when(html) == ("2023-11-23T14:34:05+08:00", "datetime", "info-line")


def test_day_only_meta_gains_the_time_from_the_info_line() -> None:
    html = f"<html><head><meta name='publishdate' content='2023-11-23'></head><body><h1>联盟成立</h1><div class='box'>2023年11月23日10:20 来源：新闻网</div>{BODY}</body></html>"
    assert when(html) == ("2023-11-23T10:20:00+08:00", "datetime", "meta")


def test_info_line_of_another_day_does_not_change_the_meta_date() -> None:
    html = f"<html><head><meta name='publishdate' content='2023-11-23'></head><body><h1>联盟成立</h1><div class='box'>更新：2023年11月25日10:20</div>{BODY}</body></html>"
    assert when(html) == ("2023-11-23T00:00:00+08:00", "date", "meta")


def test_url_day_gains_the_time_from_a_time_box_inside_a_layout_column() -> None:
    html = (
        f"<html><body><ul class='cols'><li class='left-main'><h3>联盟成立</h3><div class='time fix'><span>2023-11-23 15:10:53</span></div>"
        f"{BODY}{FILLER}</li><li class='side'><div class='time'>2023-11-23 08:00:00</div></li></ul></body></html>"
    )
    assert when(html, "http://news.example.cn/2023_11_23_8812.shtml") == (
        "2023-11-23T15:10:53+08:00",
        "datetime",
        "url",
    )


def test_related_list_beside_the_headline_gives_no_date() -> None:
    related = "".join(f"<p><a href='/r{i}.html'>另一篇文章的标题第{i}条</a> 6小时前</p>" for i in range(3))
    html = f"<html><body><div><h1>联盟成立</h1><div class='panel'>推荐阅读{related}</div></div><div>{BODY}</div></body></html>"
    assert when(html) == (None, None, None)


def test_date_leading_line_beside_share_buttons_is_an_info_line() -> None:
    html = f"<html><head><title>重庆技工院校国际联盟成立_新闻网</title></head><body><h2>重庆技工院校国际联盟成立</h2><div class='share_box'>2023-11-23 用微信扫描二维码 分享至好友和朋友圈 分享到微博 分享到QQ空间</div><div>{BODY}</div></body></html>"
    found = when(html)
    assert found[0] == "2023-11-23T00:00:00+08:00" and found[2] == "info-line"


# Headline found from the page's title when there is no <h1>: its info line is read.


def test_headline_div_named_by_og_title_under_a_keyword_title() -> None:
    html = (
        "<html><head><title>联盟成立大会在重庆召开 首批成员证书颁发-重庆,联盟,人才,交流 ——新闻网(某某旗下媒体)--科技改变未来</title>"
        "<meta property='og:title' content='联盟成立大会在重庆召开 首批成员证书颁发'></head><body>"
        "<div class='news_n'><div class='news_bt' id='thread_subject'>联盟成立大会在重庆召开 首批成员证书颁发</div>"
        f"<div class='news_bt1'><div class='news_bt1_left'>2023-11-23 10:22:14&nbsp;&nbsp;出处：新闻网 作者：张三</div></div>"
        f"<div class='news_main'>{BODY}{FILLER}</div></div></body></html>"
    )
    assert when(html) == ("2023-11-23T10:22:14+08:00", "datetime", "info-line")


def test_headline_h3_in_a_layout_column_not_the_related_link_repeating_it() -> None:
    related = "<ul class='nav'><li><a href='/a/8812.html'>联盟成立大会在重庆召开</a><span>2020-01-01 08:00</span></li></ul>"
    html = (
        f"<html><head><title>联盟成立大会在重庆召开</title></head><body>{related}<ul class='cols'><li class='left-main'>"
        "<h3>联盟成立大会在重庆召开</h3><div class='bar'><span>2023-11-23 09:25:09</span><span>来源：新闻网</span></div>"
        f"{BODY}{FILLER}</li></ul></body></html>"
    )
    assert when(html) == ("2023-11-23T09:25:09+08:00", "datetime", "info-line")


# A labelled month-day run together with the time: the year comes from the page, else from now.


def _month_day_page(visible: str, head: str = "") -> str:
    return (
        f"<html><head><title>联盟成立</title>{head}</head><body><h1>联盟成立</h1><div class='article-desc'>"
        f"<p class='author-name'>新闻网</p><div class='article-source'>{visible}</div></div>{BODY}</body></html>"
    )


def test_labelled_month_day_takes_its_year_from_an_update_time_not_its_date() -> None:
    visible = "<span class='date'>发布时间：10-08</span><span class='time'>12:00</span>"
    update = "<meta itemprop='dateUpdate' content='2019-10-09 08:30:57'>"
    assert when(_month_day_page(visible, update)) == ("2019-10-08T12:00:00+08:00", "datetime", "info-line")
    # The update time alone is never taken as the publication date.
    assert when(_month_day_page("<span>优质原创作者</span>", update)) == (None, None, None)


def test_labelled_month_day_without_page_year_is_this_year_unless_that_is_ahead() -> None:
    assert when(_month_day_page("发布时间：05-3022:46")) == (
        "2024-05-30T22:46:00+08:00",
        "datetime",
        "info-line",
    )
    assert when(_month_day_page("发布时间：12-30 22:46")) == (
        "2023-12-30T22:46:00+08:00",
        "datetime",
        "info-line",
    )


def test_date_split_across_sibling_boxes_is_joined() -> None:
    html = (
        "<html><head><title>联盟成立</title></head><body><div class='LEFT'><h1>联盟成立</h1><div class='content'>"
        "<div class='left-stick'><div class='year'><span>2023</span></div><div class='md'>11<!-- x -->/<!-- x -->23</div>"
        "<div class='time'>19<!-- x -->:<!-- x -->02</div><div><a class='author' href='/u/1'>新闻网</a></div></div>"
        f"<div class='main'>{BODY}{FILLER}</div></div></div></body></html>"
    )
    assert when(html) == ("2023-11-23T19:02:00+08:00", "datetime", "info-line")

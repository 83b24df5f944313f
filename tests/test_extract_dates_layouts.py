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

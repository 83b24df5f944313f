"""Category paths from breadcrumbs: rules, JSON-LD, microdata, markup, <nav> lists, text trails."""

# ruff: noqa: E501 — inline HTML test pages with CJK text read better unwrapped

from __future__ import annotations

import pytest

from syndicator.extract.breadcrumb import BreadcrumbRuleError, breadcrumb_path
from syndicator.extract.document import parse_html
from syndicator.models import SiteRules
from tests.conftest import SITE_ZHBF

TITLE = "陆海新通道技术技能人才国际发展联盟成立"
BODY = "<p>" + "重庆持续深化人才领域国际交流合作,为西部陆海新通道建设汇聚更多智慧和力量。" * 3 + "</p>"


def page(crumb: str, *, head: str = "", title: str = TITLE) -> str:
    return (
        f"<html><head><title>{title}_新闻网</title>{head}</head><body>"
        "<div class='nav'><ul><li><a href='/'>首页</a></li><li><a href='/news/'>新闻</a></li>"
        "<li><a href='/sports/'>体育</a></li></ul></div>"
        f"{crumb}<h1>{title}</h1><div class='content'>{BODY}</div></body></html>"
    )


def path(html: str, rules: SiteRules | None = None) -> tuple[str, ...]:
    return breadcrumb_path(parse_html(html), rules=rules or SiteRules())


@pytest.mark.parametrize(
    "crumb",
    [
        # the seed's form: label, links separated by &gt;&nbsp;, a trailing separator
        "<div class='position'>当前位置:<a href='/'>首页</a>&nbsp;&gt;&nbsp;<a href='/qg/'>情感</a>"
        "&nbsp;&gt;&nbsp;<a href='/qg/gs/'>故事</a>&nbsp;&gt;</div>",
        "<div class='breadcrumb'><a href='/'>Home</a> › <a href='/qg/'>情感</a> › <a href='/qg/gs/'>故事</a></div>",
        "<p class='crumbs'><a href='/'>网站首页</a> » <a href='/qg/'>情感</a> » <a href='/qg/gs/'>故事</a> » 正文</p>",
        "<div id='weizhi'>您的位置：<a href='/'>主页</a> → <a href='/qg/'>情感</a> → <a href='/qg/gs/'>故事</a></div>",
        "<div class='location'><a href='/'>首页</a> | <a href='/qg/'>情感</a> | <a href='/qg/gs/'>故事</a></div>",
        "<div class='dangqian'><a href='/'>首页</a> &gt;&gt; <a href='/qg/'>情感</a> &gt;&gt; "
        f"<a href='/qg/gs/'>故事</a> &gt;&gt; {TITLE}</div>",
        "<div class='path'><a href='/'>首页</a> ＞ <a href='/qg/'>情感</a> ＞ <a href='/qg/gs/'>故事</a></div>",
        "<div class='path'><a href='/'>首页</a> / <a href='/qg/'>情感</a> / <a href='/qg/gs/'>故事</a> / </div>",
        # site name linking to / instead of 首页
        "<div class='crumb'><a href='http://www.site.example/'>智汇八方</a> &gt; <a href='/qg/'>情感</a> &gt; "
        "<a href='/qg/gs/'>故事</a></div>",
        # plain-text trails without any class
        "<div>当前位置：首页 &gt; 情感 &gt; 故事 &gt; 正文</div>",
        "<div><span>您现在的位置：</span><a href='/'>首页</a>&nbsp;>&nbsp;<a href='/qg/'>情感</a>&nbsp;>&nbsp;"
        "<a href='/qg/gs/'>故事</a></div>",
        "<div>位置：首页 » 情感 » 故事</div>",
        "<div>You are here: <a href='/'>Home</a> &raquo; <a href='/qg/'>情感</a> &raquo; <a href='/qg/gs/'>故事</a></div>",
        # <nav> lists (WAI breadcrumb pattern), the current page last
        "<nav aria-label='breadcrumb'><ol><li><a href='/'>首页</a></li><li><a href='/qg/'>情感</a></li>"
        f"<li><a href='/qg/gs/'>故事</a></li><li aria-current='page'>{TITLE}</li></ol></nav>",
        "<nav><ol><li><a href='/'>Home</a></li><li><a href='/qg/'>情感</a></li><li><a href='/qg/gs/'>故事</a></li>"
        "</ol></nav>",
        # the last crumb is a truncated copy of the title
        "<div class='breadcrumb'><a href='/'>首页</a> &gt; <a href='/qg/'>情感</a> &gt; <a href='/qg/gs/'>故事</a>"
        " &gt; 陆海新通道技术技能人才…</div>",
    ],
)
def test_breadcrumb_forms(crumb: str) -> None:
    assert path(page(crumb)) == ("情感", "故事")


def test_json_ld_breadcrumb_list_sorted_by_position() -> None:
    ld = (
        '<script type="application/ld+json"><!-- {"@context":"https://schema.org","@type":"BreadcrumbList",'
        '"itemListElement":['
        '{"@type":"ListItem","position":3,"item":{"@id":"http://a.example/qg/gs/","name":"故事"}},'
        '{"@type":"ListItem","position":1,"name":"首页","item":"http://a.example/"},'
        '{"@type":"ListItem","position":2,"name":"情感","item":"http://a.example/qg/"},'
        f'{{"@type":"ListItem","position":4,"name":"{TITLE}"}},]}} --></script>'
    )
    assert path(page("", head=ld)) == ("情感", "故事")


def test_microdata_breadcrumb() -> None:
    crumb = (
        '<ol itemscope itemtype="https://schema.org/BreadcrumbList">'
        '<li itemprop="itemListElement" itemscope itemtype="https://schema.org/ListItem">'
        '<a itemprop="item" href="/"><span itemprop="name">首页</span></a><meta itemprop="position" content="1"></li>'
        '<li itemprop="itemListElement" itemscope itemtype="https://schema.org/ListItem">'
        '<a itemprop="item" href="/qg/"><span itemprop="name">情感</span></a></li>'
        '<li itemprop="itemListElement" itemscope itemtype="https://schema.org/ListItem">'
        '<a itemprop="item" href="/qg/gs/"><span itemprop="name">故事</span></a></li></ol>'
    )
    assert path(page(crumb)) == ("情感", "故事")


def test_json_ld_wins_over_markup() -> None:
    ld = (
        '<script type="application/ld+json">{"@type":"BreadcrumbList","itemListElement":['
        '{"position":1,"name":"Home"},{"position":2,"name":"体育"},{"position":3,"name":"足球"}]}</script>'
    )
    crumb = "<div class='breadcrumb'><a href='/'>首页</a> &gt; <a href='/qg/'>情感</a></div>"
    assert path(page(crumb, head=ld)) == ("体育", "足球")


def test_site_rule_wins_over_everything() -> None:
    crumb = (
        "<div class='breadcrumb'><a href='/'>首页</a> &gt; <a href='/x/'>错误</a></div>"
        "<div class='lm'><a href='/'>首页</a><i></i><a href='/qg/'>情感</a><i></i><a href='/qg/gs/'>故事</a></div>"
    )
    assert path(page(crumb), SiteRules(category="div.lm")) == ("情感", "故事")


def test_invalid_category_rule_is_a_clear_error() -> None:
    with pytest.raises(BreadcrumbRuleError, match="invalid category selector"):
        path(page(""), SiteRules(category="div[["))


def test_plain_site_menu_is_not_a_breadcrumb() -> None:
    menu = "<nav><ul><li><a href='/'>首页</a></li><li><a href='/qg/'>情感</a></li><li><a href='/ty/'>体育</a></li></ul></nav>"
    assert path(page(menu)) == ()


def test_page_without_breadcrumb_has_no_path() -> None:
    assert path(page("")) == ()


def test_category_named_like_the_start_of_the_title_is_kept() -> None:
    crumb = "<div class='breadcrumb'><a href='/'>首页</a> &gt; <a href='/news/'>新闻</a></div>"
    assert path(page(crumb, title="新闻联播今晚播出国际发展联盟成立的消息")) == ("新闻",)


def test_the_seed_page() -> None:
    html = (SITE_ZHBF / "article-8812.utf8.html").read_text("utf-8")
    assert path(html) == ("情感", "故事")


def test_a_middle_dot_inside_a_category_name_is_not_a_separator() -> None:
    crumb = "<div class='breadcrumb'><a href='/'>首页</a> &gt; <a href='/wl/'>文旅·生活</a></div>"
    assert path(page(crumb)) == ("文旅·生活",)

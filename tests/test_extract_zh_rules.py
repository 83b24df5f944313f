"""Conventions of Chinese news CMS templates: boilerplate lines, headline blocks, trails.

Each page here is synthetic and small; it holds one convention and asserts what a reader
of the extracted article would (not) see.
"""

from __future__ import annotations

from syndicator.extract import extract_article
from syndicator.extract.breadcrumb import breadcrumb_path
from syndicator.extract.document import parse_html
from syndicator.models import SiteRules

URL = "http://news.example.cn/2024/0101/1.html"
PROSE = [
    "今天上午，市政府召开新闻发布会，介绍了今年城市交通建设的总体安排和重点项目推进情况。",
    "发布会上，相关负责人表示，全市将新建和改造道路一百二十公里，并新开通三条公交快线。",
    "据介绍，新建的快速路将连接城东和城西两个新区，预计通车后两地通行时间缩短一半左右。",
    "下一步，有关部门将加强施工组织，尽量减少对市民出行的影响，确保各项工程按期完成。",
]


def _paragraphs(lines: list[str]) -> str:
    return "".join(f"<p>{line}</p>" for line in lines)


def _page(article: str, *, after: str = "", head: str = "<title>交通建设有新安排_示例网</title>") -> str:
    return (
        f"<html><head>{head}</head><body><div class='top'><a href='/'>首页</a></div>"
        f"<div class='main'><h1>交通建设有新安排</h1><div class='article'>{article}</div></div>"
        f"{after}<div class='footer'>版权所有 示例网</div></body></html>"
    )


def test_disclaimer_block_below_the_article_is_not_the_body() -> None:
    # A disclaimer paragraph sits outside the article, near the page's lists; it must not
    # widen the body to the whole page nor appear in the text.
    after = (
        "<div class='side'><h3>热门新闻排行榜</h3><ul>"
        + "".join(f"<li><a href='/{i}.html'>另一条新闻标题第{i}条</a></li>" for i in range(8))
        + "</ul></div><div class='statement'><p>【免责声明】本文仅代表作者本人观点，与本网无关。"
        "本网站对文中陈述、观点判断保持中立，不对所包含内容的准确性、可靠性或完整性提供任何保证。</p></div>"
    )
    article = extract_article(_page(_paragraphs(PROSE[:2]), after=after), URL)
    assert article.paragraphs == tuple(PROSE[:2])


def test_promotion_and_pager_lines_are_dropped() -> None:
    lines = [
        "点击进入“城市交通”专题>>",
        *PROSE,
        "相关资讯请关注:交通专区",
        "【1】【2】【3】",
        "上一页 1 2 下一页",
    ]
    article = extract_article(_page(_paragraphs(lines)), URL)
    assert article.paragraphs == tuple(PROSE)


def test_original_title_line_is_dropped_however_long() -> None:
    original = (
        "原标题：今天上午市政府召开新闻发布会介绍今年城市交通建设的总体安排和重点项目推进情况以及下一步工作"
    )
    article = extract_article(_page(_paragraphs([*PROSE, original, "责任编辑：张三"])), URL)
    assert article.paragraphs == tuple(PROSE)


def test_links_listed_under_a_related_label_inside_the_body_are_dropped() -> None:
    related = (
        "<p><strong>相关新闻：</strong></p><p><a href='/a.html'>去年交通建设回顾</a></p>"
        "<p><a href='/b.html'>公交快线规划公布</a></p>"
    )
    article = extract_article(_page(_paragraphs(PROSE[:1]) + related + _paragraphs(PROSE[1:])), URL)
    assert article.paragraphs == tuple(PROSE)


def test_body_block_carrying_a_share_widget_class_is_kept() -> None:
    # A "share selected text" pop-up class on the body block itself: the block has the
    # article's paragraphs as its own children, so it is the body, not a share bar.
    page = (
        "<html><head><title>交通建设有新安排_示例网</title></head><body><h1>交通建设有新安排</h1>"
        f"<div class='BSHARE_POP articleBox'>{_paragraphs(PROSE)}</div>"
        "<div class='share'><a href='#'>分享到微博</a></div></body></html>"
    )
    article = extract_article(page, URL)
    assert article.paragraphs == tuple(PROSE)


def test_headline_block_named_title_strips_a_bare_hyphen_site_suffix() -> None:
    page = (
        "<html><head><title>交通建设有新安排-示例网</title></head><body><h1></h1>"
        "<div class='h-title'>交通建设有新安排</div>"
        f"<div class='main'>{_paragraphs(PROSE)}</div></body></html>"
    )
    assert extract_article(page, URL).title == "交通建设有新安排"


def test_headline_block_named_title_strips_a_space_separated_section_suffix() -> None:
    page = (
        "<html><head><title>全市交通建设今年有新安排 东区办事处_示例网</title></head><body>"
        "<span class='Title'><b>全市交通建设今年有新安排</b></span>"
        f"<div class='main'>{_paragraphs(PROSE)}</div></body></html>"
    )
    assert extract_article(page, URL).title == "全市交通建设今年有新安排"


def test_short_title_block_does_not_replace_a_longer_document_title() -> None:
    # "新闻动态--某学会官网": the block named title is the section, not the headline.
    page = (
        "<html><head><title>新闻动态--某学会官网</title></head><body>"
        f"<div class='title'>新闻动态</div><div class='main'>{_paragraphs(PROSE)}</div></body></html>"
    )
    assert extract_article(page, URL).title != "新闻动态"


def _crumbs(body: str) -> tuple[str, ...]:
    tree = parse_html(f"<html><head><title>交通建设有新安排</title></head><body>{body}</body></html>")
    return breadcrumb_path(tree, rules=SiteRules())


def test_unnamed_arrow_trail_starting_at_the_home_page() -> None:
    body = (
        "<div class='links'><a href='http://www.example.cn'>示例网</a> &gt; "
        "<a href='http://news.example.cn/gp/'>股票</a> &gt; "
        "<a href='http://news.example.cn/gp/bd/'>股市报道</a> &gt; 正文</div>"
    )
    assert _crumbs(body) == ("股票", "股市报道")


def test_pipe_separated_menu_is_no_trail() -> None:
    body = "<div><a href='/'>示例首页</a> | <a href='/about'>关于我们</a> | <a href='/map'>网站导航</a></div>"
    assert _crumbs(body) == ()


def test_trail_starts_at_its_home_crumb_and_ends_before_section_self_crumb() -> None:
    body = (
        "<ol class='breadcrumb'><li><a href='/rss'>订阅RSS</a></li><li><a href='/'>示例网首页</a></li>"
        "<li><a href='/fund/'>基金资讯</a></li><li class='active'>资讯正文</li></ol>"
    )
    assert _crumbs(body) == ("基金资讯",)


def test_arrow_image_separators_and_same_named_subsection() -> None:
    arrow = "<img src='/arrow.png'>"
    body = (
        f"<div class='weizhi'><span>首页</span>{arrow}<span><a href='/kx/'>快讯</a>{arrow}"
        f"<a href='/kx/gs/'>公司</a>{arrow}<a href='/company/internal/'>公司</a></span></div>"
    )
    assert _crumbs(body) == ("快讯", "公司", "公司")


def test_same_crumb_repeated_as_link_and_text_counts_once() -> None:
    body = "<div class='breadcrumb'><a href='/'>首页</a> &gt; <a href='/kx/'>快讯</a> &gt; 快讯</div>"
    assert _crumbs(body) == ("快讯",)


def test_xianzai_weizhi_label_starts_a_text_trail() -> None:
    body = (
        "<table><tr><td>现在位置： <a href='/'>首页</a> &gt;&gt; "
        "<a href='/dq/'>东区新闻</a> &gt;&gt; 正文</td></tr></table>"
    )
    assert _crumbs(body) == ("东区新闻",)


def test_body_block_starting_with_a_related_label_keeps_its_prose() -> None:
    # The label and the links it introduces open the article block; only they are chrome,
    # the paragraphs after them are the article.
    related = (
        "<p>相关新闻：</p><p><a href='/a.html'>去年交通建设回顾</a></p>"
        "<p><a href='/b.html'>公交快线规划公布</a></p>"
    )
    article = extract_article(_page(related + _paragraphs(PROSE)), URL)
    assert article.paragraphs == tuple(PROSE)
    assert "去年交通建设回顾" not in article.text


def test_related_label_over_a_link_list_at_the_top_of_the_body_goes_with_its_list() -> None:
    related = (
        "<p><strong>延伸阅读</strong></p><ul><li><a href='/a.html'>去年交通建设回顾</a></li>"
        "<li><a href='/b.html'>公交快线规划公布</a></li></ul>"
    )
    article = extract_article(_page(related + _paragraphs(PROSE)), URL)
    assert article.paragraphs == tuple(PROSE)
    assert "公交快线规划公布" not in article.text


def test_related_block_of_teasers_with_summaries_is_still_chrome() -> None:
    # Teasers under a label carry summaries as long as prose, but each ends in a link to
    # its story: the block is a list of other articles and goes whole.
    teasers = "".join(
        f"<div class='item'><p><strong>另一条新闻标题第{i}条</strong>{PROSE[i]}"
        f"<a href='/{i}.html'>【详细】</a></p></div>"
        for i in range(3)
    )
    after = f"<div class='box'><h2>推荐阅读</h2>{teasers}</div>"
    article = extract_article(_page(_paragraphs(PROSE), after=after), URL)
    assert article.paragraphs == tuple(PROSE)

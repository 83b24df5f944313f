"""Category mapping of upstream breadcrumbs, and pages becoming articles."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from syndicator.models import CategoryRule, ExtractedArticle, PageImage, Source
from syndicator.normalise.categories import map_categories
from syndicator.normalise.page import normalise_page

RULES = (
    CategoryRule(("情感", "故事"), "qinggan/gushi", "exact"),
    CategoryRule(("情感",), "qinggan", "prefix"),
    CategoryRule(("情感", "故事", "连载"), "qinggan/lianzai", "prefix"),
)
SOURCE = Source(id="zhbf", url="http://www.zhbf.example/", kind="listing", category_map=RULES)


def test_exact_rule_wins():
    assert map_categories(("情感", "故事"), SOURCE) == (("qinggan/gushi",), True)


def test_longest_prefix_wins():
    assert map_categories(("情感", "故事", "连载", "第一季"), SOURCE) == (("qinggan/lianzai",), True)
    assert map_categories(("情感", "婚姻"), SOURCE) == (("qinggan",), True)
    assert map_categories(("情感",), SOURCE) == (("qinggan",), True)


def test_unmapped_path_goes_to_default_then_fixed_categories():
    with_default = Source(id="s", url="http://x.example/", category_map=RULES, default_category="misc")
    assert map_categories(("体育",), with_default) == (("misc",), False)
    fixed = Source(id="s", url="http://x.example/", category_map=RULES, categories=("news",))
    assert map_categories(("体育",), fixed) == (("news",), False)
    assert map_categories((), fixed) == (("news",), False)


def page(published: datetime | None, precision: str | None = "date") -> ExtractedArticle:
    return ExtractedArticle(
        url="http://www.zhbf.example/qinggan/gushi/20231123/8812.html",
        title="标题",
        category_path=("情感", "故事"),
        source="智汇八方",
        author="编辑甲",
        published=published,
        published_precision=precision if published else None,
        language="zh",
        paragraphs=("第一段。",),
        images=(PageImage("http://www.zhbf.example/a.png", "图注"),),
        content_html="<p>第一段。</p>",
        text="第一段。",
        summary="第一段。",
    )


SHANGHAI = timezone(timedelta(hours=8))
FETCHED = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)


def test_dated_page_keeps_its_date_and_precision():
    article = normalise_page(
        page(datetime(2023, 11, 23, tzinfo=SHANGHAI)),
        SOURCE,
        fetched_at=FETCHED,
        categories=("qinggan/gushi",),
    )
    assert article.published == datetime(2023, 11, 22, 16, 0, tzinfo=UTC)
    assert article.published_raw == "2023-11-23"
    assert not article.date_estimated
    assert article.tags == ("情感/故事",)
    assert article.categories == ("qinggan/gushi",)
    assert article.enclosures[0].type == "image/png"
    assert article.author == "编辑甲"


def test_undated_page_carries_first_seen_time_and_says_so():
    article = normalise_page(page(None), SOURCE, fetched_at=FETCHED, categories=("qinggan",))
    assert article.published == FETCHED and article.date_estimated
    assert article.published_raw is None
    later = normalise_page(
        page(None), SOURCE, fetched_at=FETCHED + timedelta(hours=5), categories=("qinggan",)
    )
    assert later.content_hash == article.content_hash  # the store keeps the first-seen time

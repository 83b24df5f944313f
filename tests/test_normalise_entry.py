"""normalise_entry: what a feed reader ends up seeing for one upstream item."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from syndicator.models import Enclosure, ParsedEntry, Source, Upstream
from syndicator.normalise import NormaliseError, article_id, normalise_entry

FEED = "https://zhbf.example/rss.xml"
FETCHED = datetime(2023, 11, 24, 12, 0, tzinfo=UTC)
SOURCE = Source(id="zhbf", url=FEED, timezone="Asia/Shanghai")
ENTRY = ParsedEntry(
    guid="tag:zhbf.example,2023:8812",
    link="/qinggan/gushi/20231123/8812.html?utm_source=rss#comments",
    title="  陆海新通道技术技能人才\n国际发展联盟成立 ",
    author=" 智汇八方 ",
    published_raw="Thu, 23 Nov 2023 10:20:35 CST",
    updated_raw=None,
    content_html='<p>11月22日，联盟在重庆成立。</p><img src="/static/blank.gif" '
    'data-original="/uploads/1.jpg"><script>track()</script>',
    summary_html="<p>联盟在重庆成立。</p>",
    tags=("情感", " 故事 ", "情感"),
    enclosures=(
        Enclosure("/media/a.mp3", "audio/mpeg", 1234),
        Enclosure("https://zhbf.example/media/a.mp3", "audio/mpeg", 1234),
        Enclosure("javascript:alert(1)"),
    ),
)


def run(entry: ParsedEntry = ENTRY, *, fetched_at: datetime = FETCHED, source: Source = SOURCE):
    return normalise_entry(entry, source, feed_url=FEED, fetched_at=fetched_at, categories=("qinggan/gushi",))


def test_a_typical_chinese_entry() -> None:
    article = run()
    assert article.id == article_id("zhbf", "tag:zhbf.example,2023:8812", None)
    assert article.source_id == "zhbf"
    assert article.url == "https://zhbf.example/qinggan/gushi/20231123/8812.html"
    assert article.title == "陆海新通道技术技能人才 国际发展联盟成立"
    assert article.author == "智汇八方"
    assert article.published == datetime(2023, 11, 23, 2, 20, 35, tzinfo=UTC)
    assert article.updated == article.published
    assert article.published_raw == "Thu, 23 Nov 2023 10:20:35 CST"
    assert article.date_estimated is False
    assert article.content_html == (
        '<p>11月22日，联盟在重庆成立。</p><img src="https://zhbf.example/uploads/1.jpg">'
    )
    assert article.summary == "联盟在重庆成立。"
    assert article.categories == ("qinggan/gushi",)
    assert article.tags == ("情感", "故事")
    assert article.enclosures == (Enclosure("https://zhbf.example/media/a.mp3", "audio/mpeg", 1234),)
    assert article.guid == "tag:zhbf.example,2023:8812"
    assert article.first_seen == FETCHED
    assert article.sources == ("zhbf",)


def test_same_guid_same_id_on_every_fetch_and_edit() -> None:
    edited = replace(ENTRY, title="New title", link="https://zhbf.example/moved.html")
    assert run().id == run(edited, fetched_at=FETCHED + timedelta(days=1)).id


def test_other_source_gives_other_id() -> None:
    other = Source(id="mirror", url="https://mirror.example/rss", timezone="Asia/Shanghai")
    assert run(source=other).id != run().id


def test_guidless_entry_is_identified_by_its_canonical_link() -> None:
    a = run(replace(ENTRY, guid=None))
    b = run(replace(ENTRY, guid="  ", link="https://ZHBF.example/qinggan/gushi/20231123/8812.html"))
    assert a.id == b.id == article_id("zhbf", None, a.url)
    assert a.guid is None


def test_guid_url_is_used_when_link_is_missing_or_unsafe() -> None:
    article = run(replace(ENTRY, guid="https://zhbf.example/p?id=9&utm_medium=x", link="javascript:void(0)"))
    assert article.url == "https://zhbf.example/p?id=9"


def test_entry_without_guid_or_link_is_rejected() -> None:
    with pytest.raises(NormaliseError, match="'zhbf' cannot be identified"):
        run(replace(ENTRY, guid=None, link="javascript:void(0)"))


def test_naive_times_are_in_the_source_zone() -> None:
    article = run(replace(ENTRY, published_raw="发布时间：2023-11-23 10:20"))
    assert article.published == datetime(2023, 11, 23, 2, 20, tzinfo=UTC)
    utc_source = replace(SOURCE, timezone="UTC")
    assert run(replace(ENTRY, published_raw="2023-11-23 10:20"), source=utc_source).published == (
        datetime(2023, 11, 23, 10, 20, tzinfo=UTC)
    )


def test_cst_means_us_central_for_a_utc_source() -> None:
    article = run(source=replace(SOURCE, timezone="UTC"))
    assert article.published == datetime(2023, 11, 23, 16, 20, 35, tzinfo=UTC)


def test_relative_date_counts_back_from_the_fetch() -> None:
    article = run(replace(ENTRY, published_raw="3小时前"))
    assert article.published == FETCHED - timedelta(hours=3)
    assert article.date_estimated is False


@pytest.mark.parametrize(
    "raw",
    [None, "", "garbage", "2030-01-01T00:00:00Z", "Fri, 24 Nov 2023 20:11:00 +0800"],
)
def test_missing_unreadable_or_future_dates_are_estimated(raw: str | None) -> None:
    article = run(replace(ENTRY, published_raw=raw))
    assert article.published == FETCHED
    assert article.updated == FETCHED
    assert article.date_estimated is True


def test_slightly_future_dates_are_clock_skew_and_kept() -> None:
    article = run(replace(ENTRY, published_raw="Fri, 24 Nov 2023 20:09:00 +0800"))
    assert article.published == FETCHED + timedelta(minutes=9)
    assert article.date_estimated is False


def test_updated_date_is_used_when_published_is_missing() -> None:
    article = run(replace(ENTRY, published_raw=None, updated_raw="2023-11-23T08:00:00Z"))
    assert article.published == article.updated == datetime(2023, 11, 23, 8, tzinfo=UTC)
    assert article.published_raw == "2023-11-23T08:00:00Z"
    assert article.date_estimated is False


def test_updated_is_never_before_published() -> None:
    earlier = replace(ENTRY, updated_raw="2020-01-01T00:00:00Z")
    assert run(earlier).updated == run(earlier).published
    later = run(replace(ENTRY, updated_raw="2023-11-24T01:00:00Z"))
    assert later.updated == datetime(2023, 11, 24, 1, tzinfo=UTC)
    assert later.published == datetime(2023, 11, 23, 2, 20, 35, tzinfo=UTC)


def test_double_escaped_title_and_control_characters() -> None:
    article = run(replace(ENTRY, title="AT&amp;T \x85\x00 &lt;b&gt;news&lt;/b&gt;\x0b"))
    assert article.title == "AT&T news"


def test_empty_title_comes_from_the_summary() -> None:
    text = "这是一篇没有标题的文章，" * 12
    article = run(replace(ENTRY, title="  ", summary_html=f"<p>{text}</p>"))
    assert article.title.endswith("…")
    assert len(article.title) <= 80
    assert text.startswith(article.title.rstrip("…"))


def test_entry_with_nothing_to_show_is_untitled() -> None:
    article = run(replace(ENTRY, title="", summary_html="", content_html=""))
    assert article.title == "(untitled)"
    assert article.summary == ""
    assert article.content_html == ""


def test_summary_falls_back_to_content_and_is_cut() -> None:
    long_text = "重庆持续深化人才领域国际交流合作" * 30
    article = run(replace(ENTRY, summary_html="", content_html=f"<p>{long_text}</p>"))
    assert len(article.summary) == 280
    assert article.summary == long_text[:279] + "…"


def test_content_hash_ignores_fetch_times_and_estimated_dates() -> None:
    undated = replace(ENTRY, published_raw=None)
    first = run(undated)
    later = run(undated, fetched_at=FETCHED + timedelta(hours=5))
    assert first.published != later.published
    assert first.content_hash == later.content_hash
    assert run().content_hash == run(fetched_at=FETCHED + timedelta(days=2)).content_hash


@pytest.mark.parametrize(
    "change",
    [
        {"title": "另一个标题"},
        {"content_html": "<p>改过的正文。</p>"},
        {"summary_html": "<p>改过的摘要。</p>"},
        {"author": "另一位作者"},
        {"tags": ("情感",)},
        {"link": "https://zhbf.example/elsewhere.html"},
        {"published_raw": "Thu, 23 Nov 2023 11:20:35 CST"},
        {"enclosures": ()},
    ],
)
def test_content_hash_changes_with_what_readers_see(change: dict) -> None:
    assert run(replace(ENTRY, **change)).content_hash != run().content_hash


def test_naive_fetch_time_is_rejected() -> None:
    with pytest.raises(NormaliseError, match="fetched_at must be timezone-aware"):
        run(fetched_at=datetime(2023, 11, 24, 12))


def test_unknown_source_zone_is_a_clear_error() -> None:
    with pytest.raises(NormaliseError, match="unknown time zone 'Asia/Atlantis'"):
        run(source=replace(SOURCE, timezone="Asia/Atlantis"))


def test_entry_with_guid_but_no_web_link_is_rejected() -> None:
    # Renderers need an http(s) link per item; the ingest job records the skip.
    with pytest.raises(NormaliseError, match="has no http\\(s\\) link"):
        run(replace(ENTRY, guid="urn:x:8812", link="data:text/html,hi"))


def test_the_upstream_feed_is_kept_clean_and_its_author_inherited() -> None:
    upstream = Upstream(
        title=" Zhbf\x0b 新闻 ", id="file:///srv/sample.xml", link="/", author=" ed@zhbf.example "
    )
    article = run(replace(ENTRY, author=None, upstream=upstream))
    # A local file path identifies nothing for a reader, and a relative home-page link has no
    # base to resolve against: both are dropped, while the title and author are cleaned.
    assert article.upstream == Upstream(title="Zhbf 新闻", id=None, link=None, author="ed@zhbf.example")
    assert article.author == "ed@zhbf.example"
    assert run(replace(ENTRY, upstream=upstream)).author == "智汇八方"  # its own wins
    empty = run(replace(ENTRY, upstream=Upstream(id="not an id", link="javascript:x")))
    assert empty.upstream is None


def test_content_images_become_the_articles_images() -> None:
    article = run()
    # The lazy image of ENTRY's content, made absolute; the placeholder is not an image.
    assert [(i.url, i.type) for i in article.images] == [("https://zhbf.example/uploads/1.jpg", "image/jpeg")]

"""Title and date failure kinds seen on forums and blogs (issue 15), each on a hand-written page
of its own (tests/fixtures/extract-cases/q15-*.html): the forum's or blog's name taken for the
headline, a category, kicker or symbol before it in <title>, og:title's spelling preferred to the
visible heading's, a toolbar taken for a heading, and forum dates (`03-03-2016, 11:45`,
`Sun Sep 01, 2019 8:05 pm`) that only the posts' headers carry."""

# ruff: noqa: E501 — inline HTML test pages read better unwrapped

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from syndicator.cli_extract import render, run_extract
from syndicator.extract import extract_article
from syndicator.extract.dates import find_page_date
from syndicator.extract.document import parse_html
from syndicator.extract.explain import explain_page, explanation_text
from syndicator.models import SiteRules

CASES = Path(__file__).parent / "fixtures" / "extract-cases"
NOW = datetime(2024, 6, 1, 4, 0, tzinfo=UTC)


def extracted(name: str, url: str, timezone: str = "UTC"):
    return extract_article((CASES / name).read_bytes(), url, timezone=timezone, now=NOW)


# ---------------------------------------------------------------- titles


@pytest.mark.parametrize(
    ("name", "url", "title"),
    [
        # The forum's logo <h1> links home and <title> is only the forum's name.
        (
            "q15-forum-site-title.html",
            "https://cyclists.example/viewtopic.php?f=3&t=4410",
            "Winter Commuting Mega Thread",
        ),
        # The blog's <h1> links to the blog's index; the post's <h2> is the headline.
        ("q15-blog-name-h1.html", "https://workbench.example/blog/?p=812", "Sharpening Chisels by Hand"),
        # <title> puts a category before the thread's subject with a bare space.
        (
            "q15-forum-dashed-date.html",
            "https://sterne.example/showthread.php?427-Der-Mond",
            "Der Mond und seine Krater",
        ),
        # A kicker before the headline in <title> and og:title; the <h1> has the headline alone.
        (
            "q15-title-prefix.html",
            "https://modeheft.example/herbst/strick.html",
            "So tragen wir den Strickpullover jetzt",
        ),
        # og:title writes `Smartphonehülle`, the visible heading `Smartphone-Hülle`: as shown.
        (
            "q15-heading-spelling.html",
            "https://modeheft.example/blog/kork.html",
            "Fundstück: die Smartphone-Hülle aus Kork",
        ),
        # The <h1> words stand in <title> in another order; og:title is a different teaser.
        ("q15-h1-reordered.html", "https://gadgets.example/review/acme-x200", "Review: Acme X200"),
        # No <title>; the only <h1> is a bar of two short links.
        ("q15-toolbar-title.html", "http://news.example.cn/2022/0213/park.html", "城市公园新增夜跑步道"),
    ],
)
def test_the_visible_headline_is_the_title(name, url, title):
    assert extracted(name, url).title == title


def test_a_symbol_before_the_headline_in_title_is_left_out():
    html = (CASES / "q15-title-prefix.html").read_text(encoding="utf-8")
    html = html.replace("Herbstmode: So tragen", "ᐅ So tragen").replace(
        '<span class="kicker">Herbstmode</span>', ""
    )
    page = extract_article(html, "https://modeheft.example/herbst/strick.html", timezone="UTC", now=NOW)
    assert page.title == "So tragen wir den Strickpullover jetzt"


def test_a_heading_that_is_the_pages_own_permalink_is_not_the_site_name():
    # The post's <h2> links to this very page (tracking parameters aside): it is the headline.
    page = extracted("q15-blog-name-h1.html", "https://workbench.example/blog/?p=812&utm_source=feed")
    assert page.title == "Sharpening Chisels by Hand"


def test_the_site_name_heading_still_names_a_page_that_has_nothing_else():
    html = "<html><head><title>Cyclists' Corner</title></head><body><a href='/'><h1>Cyclists' Corner</h1></a><p>Nothing here yet.</p></body></html>"
    page = extract_article(html, "https://cyclists.example/about", timezone="UTC", now=NOW)
    assert page.title == "Cyclists' Corner"


# ---------------------------------------------------------------- forum dates


def test_a_forum_thread_is_dated_by_its_first_posts_header_in_dashed_day_first_order():
    page = extracted(
        "q15-forum-dashed-date.html", "https://sterne.example/showthread.php?427-Der-Mond", "Europe/Berlin"
    )
    assert page.published is not None
    assert (page.published.isoformat(), page.date_source) == ("2016-03-03T11:45:00+01:00", "first-post")


def test_a_forum_thread_is_dated_by_its_first_post_with_a_day_name_and_12_hour_time():
    page = extracted("q15-forum-site-title.html", "https://cyclists.example/viewtopic.php?f=3&t=4410")
    assert page.published is not None
    assert (page.published.isoformat(), page.date_source) == ("2019-09-01T20:05:00+00:00", "first-post")


def test_extract_shows_the_forum_date_in_the_zone_it_was_read_in():
    path = CASES / "q15-forum-dashed-date.html"
    page, categories = run_extract(
        str(path),
        url="https://sterne.example/showthread.php?427-Der-Mond",
        source_id=None,
        config=None,
        now=NOW,
    )
    shown = json.loads(render(page, categories, as_json_output=True))
    # No source: the zone is guessed from the page (German → Europe/Berlin) and said so.
    assert shown["published_date"] == "2016-03-03"
    assert shown["published"].startswith("2016-03-03T11:45:00")
    assert shown["date_source"] == "first-post"


def test_a_newest_first_list_of_dated_headers_gives_no_date():
    html = (CASES / "q15-forum-dashed-date.html").read_text(encoding="utf-8")
    html = html.replace("03-03-2016", "05-05-2016")  # the first header is no longer the earliest
    finding = find_page_date(
        parse_html(html), "https://sterne.example/t", timezone="UTC", rules=SiteRules(), now=NOW
    )
    assert finding is None


# ---------------------------------------------------------------- dashed and slashed dates


def post(line: str, lang: str | None, elsewhere: str = "") -> str:
    declared = f' lang="{lang}"' if lang else ""
    return (
        f"<html{declared}><head><title>Ein Titel</title></head><body><div class='a'>"
        f"<h1>Ein Titel</h1><p class='date'>{line}</p>"
        "<p>" + "The text of the article is long enough to be its body. " * 4 + "</p>"
        f"<p>{elsewhere}</p></div></body></html>"
    )


@pytest.mark.parametrize(
    ("line", "lang", "elsewhere", "day"),
    [
        ("03-03-2016, 11:45", None, "", "2016-03-03"),  # day = month: no order needed
        ("13/03/2016", "en", "", "2016-03-13"),  # over 12 first: the day
        ("03/13/2016", "en", "", "2016-03-13"),  # over 12 second: the day, month first
        ("04-03-2016", "de", "", "2016-03-04"),  # German writes the day first
        ("04/03/2016", "en-GB", "", "2016-03-04"),
        ("04/03/2016", "en-US", "", "2016-04-03"),
        ("04/03/2016", "en", "Edited 21/03/2016", "2016-03-04"),  # the page's own dates say day first
        ("04/03/2016", "en", "Edited 03/21/2016", "2016-04-03"),  # … or month first
        ("04/03/2016", "en", "", None),  # nothing settles it: no guess
        ("04/03/2016", None, "", None),
        ("04/03/2016", "en-CA", "", None),  # Canada writes both orders
        ("04/03/2016", "de", "Edited 03/21/2016", "2016-04-03"),  # the page's dates before its language
    ],
)
def test_a_dashed_or_slashed_date_is_read_only_in_an_order_the_page_settles(line, lang, elsewhere, day):
    finding = find_page_date(
        parse_html(post(line, lang, elsewhere)),
        "https://x.example/a",
        timezone="UTC",
        rules=SiteRules(),
        now=NOW,
    )
    assert (finding.when.date().isoformat() if finding else None) == day


def test_explain_says_which_heading_made_the_title_and_that_the_date_is_the_first_posts():
    url = "https://cyclists.example/viewtopic.php?f=3&t=4410"
    page = (CASES / "q15-forum-site-title.html").read_bytes()
    shown = explanation_text(
        explain_page(page, url, article=extract_article(page, url, timezone="UTC", now=NOW))
    )
    assert "title:      Winter Commuting Mega Thread" in shown
    assert "from:     <h2> (<title> names only the site)" in shown
    assert "(from first-post: the header of a forum thread's first post)" in shown


def test_a_table_forum_is_dated_by_its_first_posts_plain_date_line():
    page = extracted("q15-forum-table-dates.html", "https://cointalk.example/index.php?topic=77.0")
    assert page.published is not None
    # Not the board's clock in the header (March 2021), which stands alone of its kind.
    assert (page.published.isoformat(), page.date_source) == ("2020-06-03T16:19:36+00:00", "first-post")


def test_dates_alone_in_a_list_are_other_articles_and_give_no_date():
    items = "".join(
        f"<li><span class='when'>June 0{d}, 2020</span> <span>Another story number {d}</span></li>"
        for d in (3, 4, 5)
    )
    html = (
        "<html><head><title>A page</title></head><body><h1>A page</h1>"
        f"<p>{'The text of the page is long enough to be its body. ' * 4}</p><ul>{items}</ul></body></html>"
    )
    finding = find_page_date(
        parse_html(html), "https://x.example/a", timezone="UTC", rules=SiteRules(), now=NOW
    )
    assert finding is None


def test_the_h1_that_og_title_repeats_beats_a_different_title_and_json_ld_headline():
    html = (
        "<html><head><title>Benefits will expire because Congress failed to act - Newsroom</title>"
        '<meta property="og:title" content="Why the stimulus bill is still stalled">'
        '<script type="application/ld+json">{"@type": "NewsArticle", "headline": "Benefits will expire because Congress failed to act"}</script>'
        "</head><body><h1>Why the stimulus bill is still stalled</h1>"
        f"<p>{'The text of the story is long enough to be its body. ' * 4}</p></body></html>"
    )
    page = extract_article(html, "https://news.example/politics/stimulus", timezone="UTC", now=NOW)
    assert page.title == "Why the stimulus bill is still stalled"


# ---------------------------------------------------------------- dev2's misses (q15b-*)


def test_a_byline_linking_its_author_and_comments_is_no_related_list_and_its_zone_is_kept():
    # `Written by <a>…</a> in <a>…</a> on 14 March 2021 at 9:30 AM EDT. <a>12 Comments</a>`
    page = extracted("q15b-byline-links.html", "https://greenward.example/2021/seed-libraries")
    assert page.published is not None
    assert (page.published.isoformat(), page.date_source) == ("2021-03-14T13:30:00+00:00", "info-line")
    finding = find_page_date(
        parse_html((CASES / "q15b-byline-links.html").read_text(encoding="utf-8")),
        "https://greenward.example/2021/seed-libraries",
        timezone="UTC",
        rules=SiteRules(),
        now=NOW,
    )
    assert finding is not None and finding.as_given.isoformat() == "2021-03-14T09:30:00-04:00"


def test_headline_links_with_their_dates_under_the_headline_still_give_no_date():
    related = (
        "<div class='meta'><a href='/a/1'>Mulching Mistakes Everyone Makes</a> 02 March 2021 "
        "<a href='/a/2'>Raised Beds on a Budget</a> 28 February 2021</div>"
    )
    html = (
        "<html><head><title>Seed libraries</title></head><body><h1>Seed libraries</h1>"
        f"{related}<p>{'The text of the story is long enough to be its body. ' * 4}</p></body></html>"
    )
    finding = find_page_date(
        parse_html(html), "https://greenward.example/seeds", timezone="UTC", rules=SiteRules(), now=NOW
    )
    assert finding is None


def test_an_unlabelled_source_line_with_a_date_to_the_minute_dates_a_gbk_portal_page():
    page = extracted("q15b-stamped-line.html", "http://ent.example.cn/a/festival-88.htm", "Asia/Shanghai")
    assert page.published is not None
    assert (page.published.isoformat(), page.date_source) == ("2012-03-15T09:45:00+08:00", "info-line")


def test_the_date_inside_a_forum_posts_heading_dates_the_thread():
    # The opening post's header is an <h3> holding the date in a <span> of its own; the
    # replies list the popular ones first, so no first-post order settles it.
    page = extracted("q15b-forum-heading-date.html", "https://group.example/topic/80211/", "Asia/Shanghai")
    assert page.published is not None
    assert (page.published.isoformat(), page.date_source) == ("2016-04-02T08:15:30+08:00", "dateline")


def test_a_chinese_month_name_in_an_english_date_format_is_read():
    page = extracted(
        "q15b-chinese-month.html", "http://jiejiao.example.cn/archives/318.html", "Asia/Shanghai"
    )
    assert page.published is not None
    assert (page.published.isoformat(), page.date_source) == ("2011-03-09T00:00:00+08:00", "info-line")


def script_page(replace: dict[str, str]) -> str:
    html = (CASES / "q15b-script-date.html").read_text(encoding="utf-8")
    for old, new in replace.items():
        assert old in html
        html = html.replace(old, new)
    return html


@pytest.mark.parametrize(
    ("replace", "published"),
    [
        ({}, "2024-03-09T16:00:00+00:00"),  # `var ct = "1710000000";`
        ({'var ct = "1710000000";': "var publish_time = '2024-03-09 16:00';"}, "2024-03-09T16:00:00+00:00"),
        ({'"1710000000"': '"1717200030"'}, None),  # the server's clock, not the publication
        ({'var ct = "1710000000";': ""}, None),  # `var ct = new Date()` is never read
        ({'var nickname = "小记";': 'var create_time = "1700000000";'}, None),  # two that disagree
        # A date the page shows wins over its scripts.
        (
            {'<em id="publish_time" class="media_meta_text"></em>': '<em id="publish_time">2024-03-08</em>'},
            "2024-03-08T00:00:00+00:00",
        ),
    ],
)
def test_a_publish_time_variable_in_an_inline_script_is_the_last_resort(replace, published):
    finding = find_page_date(
        parse_html(script_page(replace)),
        "https://mp.example/s?id=7",
        timezone="UTC",
        rules=SiteRules(),
        now=NOW,
    )
    assert (finding.when.isoformat() if finding else None) == published
    if finding is not None and not replace:
        assert finding.source == "script"


def test_the_articles_heading_beats_an_h1_in_the_nav_bar_and_loses_its_kicker():
    page = extracted("q15b-nav-h1-kicker.html", "https://stadtblatt.example/hamburg/faehren-a-1207.html")
    assert page.title == "Senat will alle Hafenfähren bis 2030 elektrisch betreiben"


def test_an_h1_in_the_nav_bar_stays_when_nothing_states_the_articles_heading():
    html = (CASES / "q15b-nav-h1-kicker.html").read_text(encoding="utf-8")
    start = html.index('<script type="application/ld+json">')
    html = html[:start] + html[html.index("</script>", start) + len("</script>") :]
    page = extract_article(
        html, "https://stadtblatt.example/hamburg/faehren-a-1207.html", timezone="UTC", now=NOW
    )
    assert page.title == "Hamburg: Stadt will Fähren bis 2030 elektrisch betreiben"

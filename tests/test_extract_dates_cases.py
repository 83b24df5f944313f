"""Date failure kinds seen on real pages, each on a hand-written page of its own
(tests/fixtures/extract-cases/dates/): German spelled and dotted dates, `<meta name="date">`,
visible Chinese datelines under an <h2> or a table headline, and a page's own UTC offset,
which `syndicator extract` must show as given and convert only for storage."""

# ruff: noqa: E501 — inline HTML test pages read better unwrapped

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from syndicator.cli_extract import as_json, as_text, render, run_extract
from syndicator.extract import extract_article
from syndicator.extract.dates import find_page_date, page_date
from syndicator.extract.document import parse_html
from syndicator.models import SiteRules

CASES = Path(__file__).parent / "fixtures" / "extract-cases" / "dates"
NOW = datetime(2024, 6, 1, 4, 0, tzinfo=UTC)
URL = "http://news.example.test/region/article.html"  # no date in the path


def dated(name: str, tz: str) -> tuple[str | None, str | None, str | None]:
    html = (CASES / name).read_text(encoding="utf-8")
    found, precision, where = page_date(parse_html(html), URL, timezone=tz, rules=SiteRules(), now=NOW)
    return (found.isoformat() if found else None), precision, where


@pytest.mark.parametrize(
    ("name", "tz", "expected"),
    [
        ("de-spelled.html", "Europe/Berlin", ("2009-08-06T14:30:00+02:00", "datetime", "info-line")),
        ("de-dotted.html", "Europe/Berlin", ("2009-08-06T14:30:00+02:00", "datetime", "info-line")),
        ("de-meta-date.html", "Europe/Berlin", ("2009-08-06T00:00:00+02:00", "date", "meta")),
        ("zh-h2-dateline.html", "Asia/Shanghai", ("2022-02-13T09:57:00+08:00", "datetime", "dateline")),
        ("zh-table-dateline.html", "Asia/Shanghai", ("2003-05-29T00:00:00+08:00", "date", "dateline")),
        ("zh-deep-dateline.html", "Asia/Shanghai", ("2003-05-29T09:30:00+08:00", "datetime", "dateline")),
        ("en-blog-postmetadata.html", "UTC", ("2020-07-23T01:42:00+00:00", "datetime", "info-line")),
    ],
)
def test_each_case_page_yields_its_date(name, tz, expected):
    assert dated(name, tz) == expected


def test_the_case_pages_still_extract_as_articles():
    for path in sorted(CASES.glob("*.html")):
        page = extract_article(path.read_bytes(), URL, timezone="UTC", now=NOW)
        assert page.published is not None, path.name
        assert len(page.paragraphs) >= 3, path.name


# ---------------------------------------------------------------- day-first and spelled dates


def info(line: str) -> str:
    return (
        "<html><head><title>Ein Titel für die Seite</title></head><body><div class='a'>"
        f"<h1>Ein Titel für die Seite</h1><p>{line}</p>"
        "<p>"
        + "Der Text des Artikels ist lang genug, um als Körper zu gelten. " * 4
        + "</p></div></body></html>"
    )


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("6. August 2009", "2009-08-06T00:00:00+02:00"),
        ("Veröffentlicht am 6. Aug. 2009 um 9:05 Uhr", "2009-08-06T09:05:00+02:00"),
        ("06.08.2009, 14.30 Uhr", "2009-08-06T14:30:00+02:00"),
        ("6.8.2009 14.30", "2009-08-06T00:00:00+02:00"),  # a dotted time without Uhr is no clear time
        ("Stand: 1. März 2009", "2009-03-01T00:00:00+01:00"),
        ("Published August 6, 2009 2:30 pm", "2009-08-06T14:30:00+02:00"),
        ("By Anna Smith, 6 August 2009", "2009-08-06T00:00:00+02:00"),
        (
            "Zuletzt aktualisiert am 7. August 2009 · Veröffentlicht am 6. August 2009",
            "2009-08-06T00:00:00+02:00",
        ),
        (
            "Dieses Thema im Forum „Recht und Gesellschaft“ wurde erstellt von Anna, 17. März 2020.",
            "2020-03-17T00:00:00+01:00",
        ),
    ],
)
def test_european_date_lines(line, expected):
    found, _precision, where = page_date(
        parse_html(info(line)), URL, timezone="Europe/Berlin", rules=SiteRules(), now=NOW
    )
    assert (found.isoformat() if found else None, where) == (expected, "info-line")


def test_slashed_numeric_dates_stay_unread_because_their_order_is_ambiguous():
    found, _, _ = page_date(parse_html(info("08/06/2009")), URL, timezone="UTC", rules=SiteRules(), now=NOW)
    assert found is None


def test_a_dotted_date_in_meta_is_read_day_first():
    html = '<html><head><meta name="date" content="06.08.2009"></head><body><h1>T</h1></body></html>'
    found, precision, where = page_date(parse_html(html), URL, timezone="UTC", rules=SiteRules(), now=NOW)
    assert (found.isoformat(), precision, where) == ("2009-08-06T00:00:00+00:00", "date", "meta")


def test_the_dateline_never_reads_the_masthead_above_the_headline():
    # The masthead's "today" (2003-06-02) is above the headline; the page's date is below it.
    html = (CASES / "zh-table-dateline.html").read_text(encoding="utf-8").replace("2003-5-29", "")
    found, _, where = page_date(parse_html(html), URL, timezone="Asia/Shanghai", rules=SiteRules(), now=NOW)
    assert where != "dateline"
    assert found is None or found.date().isoformat() != "2003-06-02"


def test_the_dateline_skips_a_lead_paragraph_with_a_story_date():
    lead = "2003年5月20日，记者从卫生部获悉，全国新增病例数连续多日下降，防治工作取得阶段性进展。"
    html = (
        "<html><head><title>站点</title></head><body><h2>非典防治工作取得新进展</h2>"
        f"<p>{lead}</p><p>{'各地继续加强对交通工具和公共场所的消毒工作，学校和工厂逐步恢复正常秩序。' * 3}</p></body></html>"
    )
    found, _, _ = page_date(parse_html(html), URL, timezone="Asia/Shanghai", rules=SiteRules(), now=NOW)
    assert found is None


def test_a_dateline_with_the_authors_link_is_no_related_list_entry():
    html = (
        "<html><head><title>Forum</title></head><body><h3>Refinance thread</h3>"
        "<p>by <a href='/u/61729'>AZAttorney11</a> » Sun Sep 01, 2019 8:05 pm</p>"
        "<div>"
        + "There are many reasons to refinance a mortgage when rates fall this far. " * 3
        + "</div></body></html>"
    )
    found, precision, where = page_date(parse_html(html), URL, timezone="UTC", rules=SiteRules(), now=NOW)
    assert (found.isoformat() if found else None, precision, where) == (
        "2019-09-01T20:05:00+00:00", "datetime", "dateline",
    )  # fmt: skip


def test_markup_only_htmldate_evidence_when_our_rules_find_nothing():
    html = (
        '<html><head><meta property="og:pubdate" content="2009-08-06"></head><body><h1>Title</h1>'
        "<p>" + "Plain body text that states no date at all. " * 5 + "</p></body></html>"
    )
    finding = find_page_date(parse_html(html), URL, timezone="UTC", rules=SiteRules(), now=NOW)
    assert finding is not None
    assert (finding.when.isoformat(), finding.precision, finding.source) == (
        "2009-08-06T00:00:00+00:00", "date", "htmldate",
    )  # fmt: skip


# ---------------------------------------------------------------- the page's own offset


def test_the_offset_the_page_states_is_kept_beside_the_zoned_instant():
    html = (CASES / "en-offset.html").read_text(encoding="utf-8")
    finding = find_page_date(parse_html(html), URL, timezone="UTC", rules=SiteRules(), now=NOW)

    assert finding is not None
    assert finding.when.isoformat() == "2022-05-08T01:06:00+00:00"  # in the source's zone, for storage
    assert finding.offset == timedelta(hours=-5)
    assert finding.as_given.isoformat() == "2022-05-07T20:06:00-05:00"


def test_extract_without_a_source_shows_the_pages_own_offset_and_converts_only_for_storage():
    page, categories = run_extract(
        str(CASES / "en-offset.html"), url=URL, source_id=None, config=None, now=NOW
    )
    shown = json.loads(render(page, categories, as_json_output=True))

    assert shown["published"] == "2022-05-07T20:06:00-05:00"
    assert shown["published_date"] == "2022-05-07"
    assert shown["published_offset"] == "-05:00"
    assert shown["published_offset_from"] == "page"
    assert shown["published_utc"] == "2022-05-08T01:06:00+00:00"
    assert (
        "published:  2022-05-07T20:06:00-05:00 (datetime, from meta); offset as the page states it"
        in as_text(page, categories)
    )


def test_a_page_without_an_offset_says_the_zone_was_assumed():
    page, categories = run_extract(
        str(CASES / "zh-h2-dateline.html"), url=URL, source_id=None, config=None, now=NOW
    )
    shown = as_json(page, categories)

    assert shown["published"] == "2022-02-13T09:57:00+08:00"
    assert shown["published_offset"] == "+08:00"
    assert shown["published_offset_from"] == "zone Asia/Shanghai (assumed: the page states no offset)"
    assert shown["published_utc"] == "2022-02-13T01:57:00+00:00"

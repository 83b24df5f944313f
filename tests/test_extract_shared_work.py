"""Extraction parses a page once and shares the work between its steps; none of that may
change what it reads. The speed itself is measured by bench/extract_quality.py.

- The body step asks trafilatura only when the density block leaves room for doubt; where it
  does not ask, asking would have given the same body (checked on every fixture page).
- The page's language picks the date zone in the same pass (no second extraction).
- Whole-page readings (texts, info block) are made once per tree and never leak to another.
- The parsed tree's elements are lxml.html elements, form controls included.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import syndicator.extract.body as body_step
from syndicator.extract import extract_article
from syndicator.extract.body import choose_body
from syndicator.extract.byline import element_texts, info_lines
from syndicator.extract.document import parse_html
from syndicator.extract.title import page_title
from tests.conftest import FIXTURES, SITE_ZHBF

URL = "https://news.example/2024/03/05/story.html"
NOW = datetime(2024, 3, 6, tzinfo=UTC)
PAGES = sorted(
    [
        *(FIXTURES / "extract-cases").glob("*.html"),
        *(FIXTURES / "extract-cases" / "dates").glob("*.html"),
        *(FIXTURES / "pages").glob("*.html"),
        *(FIXTURES / "discover").glob("*.html"),  # listing pages: where a wrong shortcut shows
        *SITE_ZHBF.glob("article-*.html"),
    ]
)
ENGLISH = " ".join(["The council approved the new harbour plan after a long debate on Tuesday."] * 4)
CHINESE = "市政府周二批准了新的港口规划，此前各方进行了长时间的讨论和反复的论证。" * 4


def _body(path: Path) -> tuple[str, tuple[str, ...]]:
    tree = parse_html(path.read_bytes().decode("utf-8", "replace"))
    choice = choose_body(tree, URL, title=page_title(tree))
    return choice.reason, choice.body.blocks if choice.body else ()


def test_where_trafilatura_is_not_asked_asking_gives_the_same_body(monkeypatch):
    shortcut = {path: _body(path) for path in PAGES}
    skipped = [path for path, (reason, _) in shortcut.items() if "trafilatura was not asked" in reason]
    monkeypatch.setattr(body_step, "_DENSITY_HOLDS_PAGE", 1.01)  # always ask

    assert len(skipped) >= 10  # the shortcut is taken on most article pages
    for path in skipped:
        reason, blocks = _body(path)
        assert "not asked" not in reason
        assert blocks == shortcut[path][1], path.name


def test_the_shortcut_is_said_in_the_reason():
    reason, blocks = _body(FIXTURES / "extract-cases" / "body-tail-en.html")

    assert reason.startswith("density's block holds ") and "trafilatura was not asked" in reason
    assert blocks


def test_a_block_holding_little_of_the_page_is_checked_against_trafilatura():
    """Text in <div> runs beside a bigger navigation: the density block holds well under most
    of the page, so trafilatura's candidate is weighed against it."""
    tree = parse_html((FIXTURES / "extract-cases" / "body-div-runs.html").read_text("utf-8"))
    choice = choose_body(tree, URL, title=page_title(tree))

    assert [c.name for c in choice.candidates] == ["trafilatura", "density"]
    assert "not asked" not in choice.reason


def _dated_page(text: str, lang: str) -> bytes:
    return (
        f'<html lang="{lang}"><head><title>Harbour plan</title>'
        '<meta property="article:published_time" content="2024-03-05T10:00:00"></head>'
        f"<body><h1>Harbour plan</h1><article><p>{text}</p><p>{text}</p></article></body></html>"
    ).encode()


def test_the_language_picks_the_date_zone_in_one_pass():
    zones = {"zh": "Asia/Shanghai"}
    chinese = extract_article(_dated_page(CHINESE, "zh"), URL, now=NOW, zone_by_language=zones)
    english = extract_article(_dated_page(ENGLISH, "en"), URL, now=NOW, zone_by_language=zones)

    assert chinese.language == "zh" and chinese.published == datetime(2024, 3, 5, 2, 0, tzinfo=UTC)
    assert chinese.published.utcoffset() == timedelta(hours=8)
    assert english.language == "en" and english.published == datetime(2024, 3, 5, 10, 0, tzinfo=UTC)


def test_whole_page_readings_are_made_once_per_tree_and_stay_with_it():
    page = "<html><body><h1>{}</h1><p>来源：{}</p><p>{}</p></body></html>"
    first = parse_html(page.format("Harbour plan", "港口日报", ENGLISH))
    second = parse_html(page.format("Bridge works", "桥梁周刊", ENGLISH))

    assert element_texts(first) is element_texts(first)  # shared by the steps that read it
    assert "港口日报" in element_texts(first)[first] and "港口日报" not in element_texts(second)[second]
    assert [text for _, text in info_lines(first)] == ["来源：港口日报"]
    assert [text for _, text in info_lines(second)] == ["来源：桥梁周刊"]


def test_form_controls_are_html_elements_too():
    tree = parse_html("<html><body><form><label>Name <input name='q'></label> Search</form></body></html>")

    form = tree.find(".//form")
    assert form.text_content() == "Name  Search"
    form.drop_tree()  # lxml.html's element methods work on every element
    assert tree.find(".//input") is None


def test_the_seed_page_reads_the_same_with_its_zone_guessed_or_given():
    """The CLI's path (zone by language, one pass) and an explicit China zone read alike."""
    data = (SITE_ZHBF / "article-8812.gbk.html").read_bytes()
    url = "http://www.zhbf.example/qinggan/gushi/20231123/8812.html"
    guessed = extract_article(data, url, now=NOW, zone_by_language={"zh": "Asia/Shanghai"})
    given = extract_article(data, url, now=NOW, timezone="Asia/Shanghai")

    assert guessed == given

"""Body failure kinds of issue 15, each shown by a hand-written page in extract-cases/.

Soft hyphens left in the text, text without <p> (div runs, <br> runs in layout tables, data
tables), tail boilerplate kept (topic teasers, "download as PDF", look-back lists, footer
link lines), the lead dropped while app/newsletter lines were kept, and pages with text that
gave no body (or crashed). Every empty result must say why.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from syndicator.extract import ExtractError, extract_article
from syndicator.extract.body import extract_body
from syndicator.extract.document import parse_html
from syndicator.models import SiteRules

CASES = Path(__file__).resolve().parent / "fixtures" / "extract-cases"
NAMES = sorted(
    p.name.removesuffix(".expected.json")
    for prefix in ("body-", "b15-", "d3-")  # b15-: dev2's losses; d3-: dev3's and the slideshow's
    for p in CASES.glob(f"{prefix}*.expected.json")
)
BASE = "https://news.example/a/1.html"
PROSE = "The committee met on Tuesday and agreed to publish its findings before the end of the month."


@pytest.mark.parametrize("name", NAMES)
def test_case_page(name: str) -> None:
    expected = json.loads((CASES / f"{name}.expected.json").read_text(encoding="utf-8"))
    article = extract_article((CASES / f"{name}.html").read_bytes(), expected["url"])
    if "title" in expected:
        assert article.title == expected["title"]
    for wanted in expected["must_contain"]:
        assert wanted in article.text, f"{wanted!r} missing from the body"
    for unwanted in expected["must_not_contain"]:
        for field in ("title", "text", "content_html", "summary"):
            assert unwanted not in getattr(article, field), f"{unwanted!r} leaked into {field}"
    if "first" in expected:
        assert article.paragraphs[0].startswith(expected["first"]), article.paragraphs[0]
    if "last" in expected:
        assert article.paragraphs[-1].startswith(expected["last"]), article.paragraphs[-1]


def test_table_rows_are_read_as_lines() -> None:
    """A data table that is part of the article keeps its rows, one line each, cells in order."""
    page = (CASES / "body-table-data.html").read_bytes()
    article = extract_article(page, "https://harbour.example/travel/ferry-spring-timetable")
    assert any("06:45" in p and "North Quay" in p and "07:30" in p for p in article.paragraphs)


def test_deeply_nested_page_does_not_crash() -> None:
    """Unclosed inline tags nest thousands deep on old pages; reading them must not recurse."""
    html = (
        "<html><body><div class='content'>" + "<font><span>" * 3000 + f"<p>{PROSE}</p>" * 3 + "</body></html>"
    )
    article = extract_article(html, BASE)
    assert PROSE in article.text


def test_empty_rule_container_falls_back_with_a_warning() -> None:
    """A site rule that selects an empty element yields no silent empty body."""
    html = (
        "<html><body><div class='empty'></div>"
        f"<div class='content'><p>{PROSE}</p><p>{PROSE}</p></div></body></html>"
    )
    article = extract_article(html, BASE, rules=SiteRules(body="div.empty"))
    assert PROSE in article.text
    assert any("body rule" in w for w in article.warnings)


@pytest.mark.parametrize(
    "html",
    [
        "<html><body><div></div></body></html>",
        "<html><body><div><img src='/a.gif'></div></body></html>",
        "<html><body>&nbsp;</body></html>",
    ],
)
def test_empty_result_always_has_a_reason(html: str) -> None:
    with pytest.raises(ExtractError, match=r"no article body found: \w+"):
        extract_article(html, BASE)


@pytest.mark.parametrize(
    "html",
    [
        f"<html><body>{PROSE}</body></html>",
        f"<html><body><span>{PROSE}</span><span>{PROSE}</span></body></html>",
        f"<html><body><table><tr><td><b>{PROSE}</b></td></tr></table></body></html>",
        f"<html><body><ul><li>{PROSE}</li><li>{PROSE}</li></ul></body></html>",
        f"<html><body><pre>{PROSE}</pre></body></html>",
    ],
)
def test_page_with_text_gives_a_body(html: str) -> None:
    body = extract_body(parse_html(html), BASE)
    assert PROSE in " ".join(body.paragraphs)


def test_unclosed_nav_around_the_article_keeps_the_article() -> None:
    """A <nav> left open swallows the page when parsed; the article inside it is not chrome."""
    html = (
        "<html><body><nav><ul><li><a href='/'>Home</a></li><li><a href='/news'>News</a></li></ul>"
        "<div class='breadcrumb'><a href='/'>Home</a> &gt; <a href='/news'>News</a>"
        f"<article><section class='content'>{f'<p>{PROSE}</p>' * 8}</section></article></body></html>"
    )
    assert PROSE in extract_article(html, BASE).text

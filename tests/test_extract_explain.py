"""`syndicator extract --explain`: why a page extracted as it did (syndicator/extract/explain.py).

The explanation is extraction's own record, not a second opinion: the chosen block is the
extracted body on every page here, and `extract_body` goes through the same `choose_body`.
Page text is hostile until shown safe: no control or bidi character reaches the terminal.
Pages: tests/fixtures/extract-cases/explain/ (hand-written for the project) and the seed page.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from syndicator.cli_extract import as_text, render_explain, run_explain, run_extract
from syndicator.extract import body as body_module
from syndicator.extract import extract_article
from syndicator.extract.body import _assemble, _walk, choose_body
from syndicator.extract.document import parse_html
from syndicator.extract.explain import explain_page, explanation_text, json_text, printable
from syndicator.models import SiteRules
from tests.conftest import FIXTURES, SITE_ZHBF
from tests.processes import run_cli

CASES = FIXTURES / "extract-cases" / "explain"
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
URL = "https://news.example/2026/03/14/harbour-bridge.html"
PAGES = [
    (str(CASES / "promo-and-article.html"), URL),
    (str(CASES / "hostile.html"), "https://evil.example/post"),
    (str(SITE_ZHBF / "article-8812.gbk.html"), "http://www.zhbf.example/qinggan/gushi/20231123/8812.html"),
]
# What a terminal acts on: C0 controls (newline aside), DEL, C1 controls, bidi controls.
_UNSAFE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


@pytest.mark.parametrize(("path", "url"), PAGES)
def test_the_chosen_block_is_the_extracted_body(path, url):
    page, _categories, explanation = run_explain(path, url=url, source_id=None, config=None, now=NOW)

    assert page is not None
    chosen = [b for b in explanation.blocks if b.chosen]
    assert len(chosen) == 1
    assert explanation.method in chosen[0].roles[0]
    assert explanation.paragraphs == len(page.paragraphs)
    assert printable(page.paragraphs[0]).startswith(explanation.starts.removesuffix("…"))


def test_the_chosen_element_reads_as_the_extracted_body():
    """The element explain marks chosen, read again, gives exactly the extracted paragraphs."""
    data = Path(CASES / "promo-and-article.html").read_bytes()
    article = extract_article(data, URL, now=NOW)
    choice = choose_body(parse_html(data.decode()), URL, title=article.title)

    assert choice.body is not None and choice.chosen is not None
    assert choice.body.paragraphs == article.paragraphs
    again = _assemble(_walk(choice.chosen.element, URL), article.title)
    assert tuple(b for b in again if isinstance(b, str)) == article.paragraphs


def test_extraction_goes_through_the_scoring_explain_shows(monkeypatch):
    """One scoring path: extract_body is choose_body's body, so explain cannot disagree."""
    calls = []
    real = body_module.choose_body

    def spy(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(body_module, "choose_body", spy)
    extract_article(Path(CASES / "promo-and-article.html").read_bytes(), URL, now=NOW)

    assert len(calls) == 1


def test_the_article_beats_the_most_read_list_and_the_promotion_and_says_why():
    page, _categories, explanation = run_explain(
        str(CASES / "promo-and-article.html"), url=URL, source_id=None, config=None, now=NOW
    )
    text = explanation_text(explanation)

    chosen = next(b for b in explanation.blocks if b.chosen)
    assert chosen.path.endswith("div.story-body")
    assert chosen.paragraphs == 5 and chosen.link_density == 0.0
    assert chosen.first_words.startswith("The old harbour bridge opened")
    assert chosen.density is not None and chosen.density.hinted  # "story" names content
    assert len(explanation.blocks) >= 2  # runners-up shown with their scores
    assert all(b.density is None or b.density.score <= chosen.density.score for b in explanation.blocks)
    assert re.search(
        r"^\* [a-z #0-9,]+: body > div#page > div.layout > div.col-main > div.story-body$", text, re.M
    )
    assert f"\nwhy: {explanation.reason}" in text
    assert re.search(
        r"density score [\d,]+ = paragraph text [\d,]+ x content hint 1.25 x furniture 1.0", text
    )
    assert "title:      Harbour bridge reopens after two years of repairs\n  from:     h1" in text
    assert "(from meta: a <meta> tag" in text
    assert "starts:   The old harbour bridge opened" in text
    body = "\n".join(page.paragraphs)
    assert "Storm warning" not in body and "Subscribe" not in body
    offer = next(b for b in explanation.blocks if b.path.endswith("div.box.offer"))  # a runner-up, shown
    assert not offer.chosen and offer.first_words.startswith("Subscribe to the Courier")


def test_a_body_rule_is_named_as_the_reason():
    data = Path(CASES / "promo-and-article.html").read_bytes()
    rules = SiteRules(body="div.col-main")
    article = extract_article(data, URL, rules=rules, now=NOW)

    explanation = explain_page(data, URL, rules=rules, article=article)

    assert explanation.method == "rule"
    assert explanation.reason == "the source's body rule 'div.col-main' matched"
    assert [b.roles[0] for b in explanation.blocks if b.chosen] == ["rule"]
    assert explanation.paragraphs == len(article.paragraphs)


def test_json_carries_the_article_and_the_explanation():
    result = run_cli("extract", "--explain", "--json", str(CASES / "promo-and-article.html"), "--url", URL)
    out = json.loads(result.stdout)

    assert result.returncode == 0, result.stderr
    assert out["title"] == "Harbour bridge reopens after two years of repairs"
    explain = out["explain"]
    assert explain["title"]["source"] == "h1"
    assert ["og:title", "Harbour bridge reopens after two years of repairs"] in explain["title"]["evidence"]
    assert explain["date"]["source"] == "meta"
    assert explain["body"]["method"] == "trafilatura"
    chosen = [b for b in explain["blocks"] if b["chosen"]]
    assert len(chosen) == 1 and chosen[0]["paragraphs"] == len(out["paragraphs"])
    assert set(chosen[0]["density"]) == {
        "score",
        "paragraph_text",
        "content_hint",
        "furniture",
        "link_density",
    }


def test_a_page_without_an_article_is_still_explained():
    path = str(CASES / "no-text.html")
    page, _categories, explanation = run_explain(path, url=URL, source_id=None, config=None, now=NOW)

    assert page is None
    assert explanation.reason == (
        "no article body found: the page has no text outside navigation, scripts and hidden parts"
    )
    text = explanation_text(explanation)
    assert "no article: " in text and "(none: no element holds paragraph text)" in text
    result = run_cli("extract", "--explain", path)
    assert result.returncode == 1
    assert "why: no article body found" in result.stdout


def test_hostile_page_text_cannot_drive_the_terminal():
    path = str(CASES / "hostile.html")
    page, categories, explanation = run_explain(
        path, url="https://evil.example/post", source_id=None, config=None, now=NOW
    )
    shown = [
        explanation_text(explanation),
        render_explain(page, categories, explanation, as_json_output=True),
        as_text(*run_extract(path, url="https://evil.example/post", source_id=None, config=None, now=NOW)),
        run_cli("extract", "--explain", path).stdout,
    ]

    assert "\x1b" in "".join(page.paragraphs) or "\u202e" in "".join(page.paragraphs)  # the page is hostile
    for out in shown:
        assert not _UNSAFE.search(out), _UNSAFE.search(out)
    assert "\\x1b[31mThis paragraph starts" in shown[0]
    assert "\\u202egnp.exe" in shown[0]  # the og:title's override, shown, not obeyed


def test_printable_escapes_what_a_terminal_would_act_on():
    assert printable("a\x1b[2Jb\x07c\x9bd\u202ee\u2066f") == "a\\x1b[2Jb\\x07c\\x9bd\\u202ee\\u2066f"
    assert printable("标题 — «ok» naïve") == "标题 — «ok» naïve"
    hostile = {"t": "a\x1b[2Jb\x9bc\u202ed"}
    assert not _UNSAFE.search(json_text(hostile).replace("\n", ""))
    assert json.loads(json_text(hostile)) == hostile  # the data itself unchanged


def test_lead_paragraphs_put_back_are_accounted_for():
    """On a page whose standfirst sits between the headline and the body container, the
    explanation says the lead was put back, and the chosen block plus that lead is exactly
    the extracted body: every paragraph shown is accounted for."""
    case = FIXTURES / "extract-cases" / "body-lead-cut"
    url = json.loads(case.with_suffix(".expected.json").read_text("utf-8"))["url"]
    page, _categories, explanation = run_explain(
        str(case.with_suffix(".html")), url=url, source_id=None, config=None, now=NOW
    )
    assert page is not None
    assert re.search(r"; (\d) lead paragraph\(s\) between the headline and it put back", explanation.reason)
    assert page.paragraphs[0].startswith("Strong winds brought down trees")
    assert "lead paragraph(s)" in explanation_text(explanation)

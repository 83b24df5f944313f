"""The seed page (UTF-8 and GBK copies) must give exactly the fields of its expected file."""

from __future__ import annotations

import json
from dataclasses import fields
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from syndicator.extract import extract_article
from syndicator.models import ExtractedArticle
from tests.conftest import SITE_ZHBF

SITE = SITE_ZHBF
EXPECTED = json.loads((SITE / "article-8812.expected.json").read_text(encoding="utf-8"))
URL = "http://www.zhbf.example/qinggan/gushi/20231123/8812.html"
NOW = datetime(2024, 1, 10, 12, 0, tzinfo=ZoneInfo("Asia/Shanghai"))

CASES = [
    ("article-8812.utf8.html", None),
    ("article-8812.gbk.html", None),
    ("article-8812.gbk.html", "text/html; charset=gbk"),
]


@pytest.fixture(scope="module", params=CASES, ids=lambda case: f"{case[0]}-{case[1] or 'no-header'}")
def article(request: pytest.FixtureRequest) -> ExtractedArticle:
    name, content_type = request.param
    page = (SITE / name).read_bytes()
    return extract_article(page, URL, content_type=content_type, timezone="Asia/Shanghai", now=NOW)


def test_title_has_no_site_suffix(article: ExtractedArticle) -> None:
    assert article.title == EXPECTED["title"]


def test_every_paragraph_in_order(article: ExtractedArticle) -> None:
    assert list(article.paragraphs) == EXPECTED["paragraphs"]
    assert article.text == "\n\n".join(EXPECTED["paragraphs"])


def test_every_image_with_its_caption(article: ExtractedArticle) -> None:
    got = [{"src": image.src, "caption": image.caption} for image in article.images]
    assert got == EXPECTED["images"]


def test_content_html_has_paragraphs_and_figures_in_order(article: ExtractedArticle) -> None:
    html = article.content_html
    assert html.count("<p>") == len(EXPECTED["paragraphs"])
    assert html.count("<figure>") == len(EXPECTED["images"])
    # Document order: the first image sits between the first and second paragraphs.
    first_image = EXPECTED["images"][0]
    assert (
        html.index(EXPECTED["paragraphs"][0][:20])
        < html.index(first_image["src"])
        < html.index(first_image["caption"])
        < html.index(EXPECTED["paragraphs"][1][:20])
    )
    assert "blank.gif" not in html


def test_metadata(article: ExtractedArticle) -> None:
    assert article.url == EXPECTED["url"]
    assert list(article.category_path) == EXPECTED["category_path"]
    assert article.source == EXPECTED["source"]
    assert article.author == EXPECTED["author"]
    assert article.language == EXPECTED["language"]
    assert article.published_precision == EXPECTED["published_precision"]
    assert article.published is not None
    assert article.published.isoformat() == f"{EXPECTED['published_date']}T00:00:00+08:00"


def test_summary_starts_the_body(article: ExtractedArticle) -> None:
    assert article.summary
    assert EXPECTED["paragraphs"][0].startswith(article.summary.rstrip("…")[:50])


def test_no_site_chrome_in_any_field(article: ExtractedArticle) -> None:
    for field in fields(article):
        value = getattr(article, field.name)
        rendered = (
            json.dumps(value, default=repr, ensure_ascii=False) if not isinstance(value, str) else value
        )
        for unwanted in EXPECTED["must_not_contain"]:
            assert unwanted not in rendered, f"{unwanted!r} leaked into {field.name}"

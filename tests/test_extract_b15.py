"""dev2's losses (issue 15): a page's cost must not explode on its shape, and a forum
thread, a teaser-led news page and a standfirst come out as the article a reader means."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from syndicator.extract import ExtractError, extract_article
from syndicator.extract.body import choose_body
from syndicator.extract.document import parse_html
from syndicator.extract.title import page_title

CASES = Path(__file__).resolve().parent / "fixtures" / "extract-cases"

BASE = "https://news.example/a/1.html"
PROSE = "The committee met on Tuesday and agreed to publish its findings before the end of the month."


def test_page_opening_with_many_comments_is_read_at_once() -> None:
    """Timing comments a CMS writes before <!DOCTYPE> (one per template part) must not make
    the feed check backtrack: 17 of them cost two seconds, 40 would never finish. A child
    process with a deadline, so a regression fails instead of hanging the suite."""
    program = (
        "from syndicator.extract import extract_article\n"
        f"page = '<!--part 0.0013 -->' * 40 + '<html><body><article>' + '<p>{PROSE}</p>' * 3\n"
        "print(extract_article(page, 'https://news.example/a/1.html').paragraphs[0])\n"
    )
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=20)
    assert done.stdout.strip() == PROSE, done.stderr


def test_feed_behind_comments_is_still_refused() -> None:
    page = '<?xml version="1.0"?><!-- built -- by x --><!--cache-->\n<rss version="2.0"><channel/></rss>'
    with pytest.raises(ExtractError, match="feed or a sitemap"):
        extract_article(page, BASE)


def test_a_thread_says_why_its_first_post_is_the_body() -> None:
    """`--explain` reads the same choice: the first post, the densest reply beside it, and why;
    trafilatura (which would keep the whole thread) is not read."""
    html = (CASES / "b15-forum-thread.html").read_text(encoding="utf-8")
    tree = parse_html(html)
    choice = choose_body(tree, "https://bakers.example/threads/4411/", title=page_title(tree))

    assert [c.name for c in choice.candidates] == ["first-post", "density"]
    assert "forum thread" in choice.reason and "first post" in choice.reason
    assert choice.body is not None and choice.body.paragraphs[0].startswith("My starter is three weeks old")

"""Failure kinds found on the third development set (issue 15: German blogs, Traditional
Chinese news), each on a hand-written page of its own (tests/fixtures/extract-cases/d3-*.html,
see README.d3.md): a German blog's date stated only in the post's footer sentence or in a
"Von <name> am <date>" byline under the post, a dateline "(07.11.2022)" opening the lead
paragraph, and a slideshow whose first slide stands apart from the others."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from syndicator.extract import extract_article

CASES = Path(__file__).parent / "fixtures" / "extract-cases"
NOW = datetime(2024, 6, 1, 4, 0, tzinfo=UTC)


def extracted(name: str, url: str, *, replace: tuple[str, str] | None = None):
    html = (CASES / name).read_text(encoding="utf-8")
    if replace:
        assert replace[0] in html
        html = html.replace(*replace)
    return extract_article(html, url, timezone="UTC", now=NOW)


@pytest.mark.parametrize(
    ("replace", "published"),
    [
        (None, "2019-03-03T18:20:00+00:00"),
        # WordPress's German theme, with its unfilled time pattern left in the sentence.
        (
            (
                "Dieser Artikel wurde am 3. März 2019 um 18:20 von",
                "Dieser Beitrag wurde vor am Sonntag, 3. März 2019 um %H:%M Uhr von",
            ),
            "2019-03-03T00:00:00+00:00",
        ),
    ],
)
def test_a_german_blog_is_dated_by_its_post_footer_sentence_not_by_its_comments(replace, published):
    page = extracted("d3-blog-footer-date.html", "https://bastelkeller.example/?p=318", replace=replace)
    assert page.published is not None
    assert (page.published.isoformat(), page.date_source) == (published, "info-line")


def test_a_comment_sentence_alone_gives_no_date():
    # Without the post's own footer line, the comments' dates are other people's.
    page = extracted(
        "d3-blog-footer-date.html",
        "https://bastelkeller.example/?p=318",
        replace=("Dieser Artikel wurde am 3. März 2019 um 18:20 von", "Geschrieben von"),
    )
    assert page.published is None


def test_a_von_name_am_byline_under_the_post_dates_it():
    page = extracted("d3-byline-von-am.html", "https://gruenewege.example/2021/09/lastenraeder.html")
    assert page.published is not None
    assert (page.published.isoformat(), page.date_source) == ("2021-09-14T08:45:00+00:00", "info-line")


def test_von_and_am_inside_a_sentence_are_no_byline():
    page = extracted(
        "d3-byline-von-am.html",
        "https://gruenewege.example/2021/09/lastenraeder.html",
        replace=(
            "Von Carola am 14.09.2021, 08:45 |",
            "Ein Beitrag, der zuerst im Stadtmagazin von Carola am 14.09.2021 erschien |",
        ),
    )
    assert page.published is None


@pytest.mark.parametrize("opening", ["(07.11.2022)", "07.11.2022 –", "[2022-11-07]"])
def test_a_date_opening_the_lead_paragraph_is_its_dateline(opening):
    page = extracted(
        "d3-dateline-in-lead.html",
        "https://agrarwissen.example/aktuell/apfelschorf.html",
        replace=("(07.11.2022)", opening),
    )
    assert page.published is not None
    assert (page.published.date().isoformat(), page.date_source) == ("2022-11-07", "dateline")


def test_a_date_inside_the_lead_paragraph_is_the_storys_not_the_pages():
    # "im Jahr 2005" and a full date later in the sentence are what the story tells.
    page = extracted(
        "d3-dateline-in-lead.html",
        "https://agrarwissen.example/aktuell/apfelschorf.html",
        replace=("(07.11.2022) Apfelschorf ist", "Apfelschorf ist seit dem 07.11.2022"),
    )
    assert page.published is None


def test_the_first_slide_standing_apart_opens_the_body():
    page = extracted("d3-slideshow-first-slide.html", "https://plotandpath.example/gardens/small-gardens")
    assert page.paragraphs[:2] == ("1 of 6", "A mirror on the back fence")
    assert [p for p in page.paragraphs if p.endswith("of 6")] == [f"{n} of 6" for n in range(1, 7)]
    assert page.images[0].src == "https://plotandpath.example/img/gardens/1.jpg"


def test_a_picture_with_its_caption_above_a_slideshow_is_not_a_slide():
    # A lead picture whose caption is no counter of the show stays out, as before.
    page = extracted(
        "d3-slideshow-first-slide.html",
        "https://plotandpath.example/gardens/small-gardens",
        replace=('<div class="slide-count">1 of 6</div>', '<div class="slide-count">Photo: R. Amsel</div>'),
    )
    assert page.paragraphs[0] == "2 of 6"


PROSE_DE = (
    "<p>Der DOW Jones befindet sich aktuell noch weit von seinen Jahreshöchstständen entfernt.</p>"
    "<p>Im Hauptszenario erwarten wir, dass der Index zunächst bis zur grünen Trendlinie fällt.</p>"
    "<p>Im Alternativszenario erwarten wir ebenfalls eine Abwärtsbewegung, doch weniger stark.</p>"
)


@pytest.mark.parametrize(
    ("links", "register"),
    [
        (
            "<a href='/login.php'>&raquo; Login </a> <a href='/anmelden.php'>&raquo; Registrierung </a>",
            "Registrierung",
        ),
        ("<a href='/login'>Log in</a> | <a href='/join'>Register</a>", "Register"),
        ("<a href='/login'>登入</a> · <a href='/join'>註冊</a>", "註冊"),
    ],
)
def test_the_headers_account_links_are_no_paragraph(links, register):
    # A portal's analysis page: the account links sit in the same block as the article.
    html = (
        "<html><head><title>DOW Jones – Jahresendrally adé?!</title></head><body><div id='page'>"
        f"{links}<h1>DOW Jones – Jahresendrally adé?!</h1>{PROSE_DE}</div></body></html>"
    )
    page = extract_article(html, "https://analysen.example/dow.html", timezone="UTC", now=NOW)
    assert page.paragraphs[0].startswith("Der DOW Jones befindet sich")
    assert register not in page.text


@pytest.mark.parametrize(
    ("h1", "title"),
    [
        # <title> rewords the headline for search engines: one word of the <h1> is not in it.
        ("Unser Kräutergarten auf der Wannenkopfhütte!", "Unser Kräutergarten auf der Wannenkopfhütte!"),
        # Two words of a short <h1> missing: <title> is taken, as before.
        ("Kräuter am Wannenkopf", "Unser frischer Kräutergarten der Wannenkopfhütte in den Allgäuer Alpen"),
    ],
)
def test_a_lone_h1_that_title_rewords_by_one_word_is_the_headline(h1, title):
    html = (
        "<html><head><title>Unser frischer Kräutergarten der Wannenkopfhütte in den Allgäuer Alpen</title>"
        f"</head><body><div id='inhalt'><h1>{h1}</h1>{PROSE_DE}</div></body></html>"
    )
    page = extract_article(html, "https://bergresort.example/blog/kraeuter", timezone="UTC", now=NOW)
    assert page.title == title

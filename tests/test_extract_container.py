"""Which element holds the article body (syndicator/extract/container.py).

Both finders must pick the element a reader would call "the article": not the link-heavy
navigation, not a long footer blurb, not a "breaking news" ticker that repeats the lead,
and not the whole page because one sidebar teaser also matched. Small hand-made pages,
each with one trap; the answer is checked by the element's id.
"""

from __future__ import annotations

import lxml.html

from syndicator.extract.container import density_container, trafilatura_container

LEAD = "The city council approved the new tram line on Tuesday after a long debate."
SECOND = "Construction starts in spring and the first trams should run within three years."
THIRD = "Opponents said the money would be better spent on buses and cycle lanes."


def page(body: str) -> lxml.html.HtmlElement:
    return lxml.html.document_fromstring(f"<html><body>{body}</body></html>")


NAV = (
    "<div id='nav'>"
    + "".join(f"<p><a href='/s{i}'>Section number {i} of the site</a></p>" for i in range(8))
    + "</div>"
)
ARTICLE = f"<div id='story'><p>{LEAD}</p><p>{SECOND}</p><p>{THIRD}</p></div>"


def test_density_prefers_unlinked_paragraphs_over_navigation():
    found = density_container(page(NAV + ARTICLE))
    assert found is not None and found.get("id") == "story"


def test_density_a_short_article_beats_a_longer_footer_blurb():
    footer = (
        "<div id='legal' class='footer-bottom-text'>"
        + "<p>All rights reserved. No part of this site may be reproduced without permission.</p>" * 3
        + "</div>"
    )
    short = f"<div id='story' class='article-content'><p>{LEAD}</p><p>{SECOND}</p></div>"
    layout = f"<div id='main'>{short}</div><div id='footer'>{footer}</div>"

    found = density_container(page(layout))
    assert found is not None and found.get("id") == "story"


def test_density_reads_text_split_by_br():
    brs = f"<td id='cell'>{LEAD}<br>{SECOND}<br>{THIRD}</td>"
    found = density_container(page(NAV + f"<table><tr>{brs}</tr></table>"))
    assert found is not None and found.get("id") == "cell"


def test_density_finds_nothing_on_a_page_without_text():
    assert density_container(page("<div><img src='/a.jpg'></div>")) is None


PARAGRAPHS = [(LEAD, False), (SECOND, False), (THIRD, False)]


def test_trafilatura_paragraphs_locate_their_element():
    found = trafilatura_container(page(NAV + ARTICLE), PARAGRAPHS)
    assert found is not None and found.get("id") == "story"


def test_one_stray_teaser_does_not_widen_the_container_to_the_page():
    more = [f"Paragraph {n} of the report adds detail on stops, timetables and the cost." for n in range(6)]
    article = ARTICLE.replace("</div>", "".join(f"<p>{p}</p>" for p in more) + "</div>")
    sidebar = f"<div id='sidebar'><p>{THIRD[:40]}</p></div>"  # a teaser sharing the third's start
    ticker = f"<div id='ticker'><span>{LEAD[:50]}…</span></div>"  # the lead, cut short
    paragraphs = PARAGRAPHS + [(p, False) for p in more]

    found = trafilatura_container(page(ticker + article + sidebar), paragraphs)
    assert found is not None and found.get("id") == "story"


def test_the_headline_outside_the_body_does_not_count():
    headline = "<header id='top'><h2>Council approves the new tram line after debate</h2></header>"
    paragraphs = [("Council approves the new tram line after debate", True), *PARAGRAPHS]

    found = trafilatura_container(page(headline + ARTICLE), paragraphs)
    assert found is not None and found.get("id") == "story"


def test_a_container_is_never_a_single_paragraph():
    found = trafilatura_container(page(f"<div id='only'><p>{LEAD}</p></div>"), [(LEAD, False)])
    assert found is not None and found.get("id") == "only"


def test_no_paragraphs_or_no_match_give_no_container():
    assert trafilatura_container(page(ARTICLE), []) is None
    assert trafilatura_container(page(ARTICLE), [("Text that is nowhere on this page at all", False)]) is None

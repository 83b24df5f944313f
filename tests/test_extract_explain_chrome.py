"""`--explain` names what the chrome cut removed and by which rule (syndicator/extract/chrome.py).

The page is written here: a nav menu, a hidden copy of a block, a related-posts list under
its label and a promotion the source's `rules.drop` cuts, around a plain article.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import lxml.html

from syndicator.extract import extract_article
from syndicator.extract.chrome import strip_chrome
from syndicator.extract.document import parse_html
from syndicator.extract.explain import REMOVED_SHOWN, explain_page, explanation_json, explanation_text
from syndicator.models import SiteRules

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
URL = "https://news.example/2026/03/14/ferry.html"
RULES = SiteRules(drop=("div.promo-strip",))
PROSE = "The ferry between the two islands runs again from Monday after the winter storms closed the pier."
PAGE = f"""<html><head><title>Ferry runs again</title></head><body>
<nav class="top"><a href="/">Home</a> <a href="/news">News \u202ered</a></nav>
<div class="promo-strip">Subscribe today for half price</div>
<div id="main"><h1>Ferry runs again</h1>
<div class="story">
<p>{PROSE}</p>
<p>Repairs to the pier took four months and cost the council more than it had planned for.</p>
<p>Timetables are posted at both harbours and on the council's site from this weekend on.</p>
</div>
<div style="display:none">Crawler copy of the teaser text</div>
<div class="box"><p>Related posts</p>
<ul><li><a href="/a">Bridge closed for repairs</a></li><li><a href="/b">New bus route opens</a></li></ul>
</div>
</div></body></html>"""


def _explained(page: str, rules: SiteRules = RULES):
    article = extract_article(page.encode(), URL, rules=rules, now=NOW)
    return article, explain_page(page.encode(), URL, rules=rules, article=article)


def test_each_removed_block_is_named_with_its_rule():
    article, explanation = _explained(PAGE)
    text = explanation_text(explanation)
    rules = {r.rule: r for r in explanation.removed}

    assert article.paragraphs[0] == PROSE
    assert rules["rules.drop 'div.promo-strip'"].path == "body > div.promo-strip"
    assert rules["rules.drop 'div.promo-strip'"].text.startswith("Subscribe today")
    assert rules["dropped tag <nav>"].path == "body > nav.top"
    hidden = next(r for r in explanation.removed if r.rule.startswith("hidden element"))
    assert hidden.path == "body > div#main > div" and hidden.text == "Crawler copy of the teaser text"
    label = next(r for r in explanation.removed if "chrome label" in r.rule)
    assert label.path.startswith("body > div#main > div.box")
    assert "Related posts" in label.text or "Bridge closed" in label.text
    assert "removed as page chrome before the body was looked for" in text
    assert "  dropped tag <nav>:\n    body > nav.top: Home News \\u202ered" in text  # escaped, not obeyed
    assert "\u202e" not in text
    body = "\n".join(article.paragraphs)
    for gone in ("Subscribe today", "Crawler copy", "Bridge closed", "Home News"):
        assert gone not in body


def test_json_groups_the_removed_blocks_by_rule():
    _article, explanation = _explained(PAGE)
    out = explanation_json(explanation)["removed"]

    assert out["total"] == explanation.removed_total >= 4
    groups = {g["rule"]: g["elements"] for g in out["shown"]}
    assert groups["dropped tag <nav>"] == [{"path": "body > nav.top", "text": "Home News \\u202ered"}]
    assert groups["rules.drop 'div.promo-strip'"][0]["path"] == "body > div.promo-strip"
    json.dumps(out)  # plain data


def test_a_long_list_is_capped_and_the_rest_counted():
    hidden = "".join(f"<div hidden>hidden block {i}</div>" for i in range(REMOVED_SHOWN + 5))
    page = PAGE.replace('<div id="main">', f'<div id="main">{hidden}')
    _article, explanation = _explained(page)
    text = explanation_text(explanation)

    assert len(explanation.removed) == REMOVED_SHOWN
    more = explanation.removed_total - REMOVED_SHOWN
    assert more >= 5 and f"\n  and {more} more" in text


def test_recording_removals_changes_nothing_the_extraction_reads():
    tree = parse_html(PAGE)
    removed: list = []

    plain = strip_chrome(tree, RULES)
    recorded = strip_chrome(tree, RULES, removed)

    assert removed
    assert lxml.html.tostring(plain) == lxml.html.tostring(recorded)
    assert extract_article(PAGE.encode(), URL, rules=RULES, now=NOW).paragraphs == (
        PROSE,
        "Repairs to the pier took four months and cost the council more than it had planned for.",
        "Timetables are posted at both harbours and on the council's site from this weekend on.",
    )

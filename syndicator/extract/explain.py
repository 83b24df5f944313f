"""Why extraction read a page as it did: `syndicator extract --explain`.

For an operator whose site's page comes out wrong. The body part is not a second opinion:
it is `choose_body`'s own record (body.py), the candidates and the reason that decided,
plus the density scores (container.py) the density candidate was picked by; explain only
adds features that describe each block (where it sits, its first words, its size, its
links, its paragraphs). The page is decoded and parsed again the way `extract_article`
does it, and a test checks that the chosen block's body is the extracted body.

Title and date: the date's source is the one extraction reports (`date_source`); the
title's source is found by comparing the extracted title with each title source in
title.py's order of trust (rule, <h1>, JSON-LD headline, og:title, <title>), so every
source is shown with its value and the operator sees which one it came from.

Everything taken from the page is passed through `printable` before it is shown: a
hostile page must not be able to move the cursor, recolour or retitle a terminal, or
reverse the text around it (bidi controls).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import lxml.html

from syndicator.models import ExtractedArticle, SiteRules
from syndicator.normalise.text import collapse_whitespace

from . import _base_url, _site_name, _text_of
from .body import NO_RULES, BodyChoice, _assemble, _body_text, _walk, choose_body
from .chrome import Removal, element_path, strip_chrome
from .container import DensityScore, _link_density, density_scores
from .document import parse_html
from .jsonld import json_ld_objects
from .title import _jsonld_headline, _meta, _select, _strip_site, _text, find_title

RUNNERS_UP = 5  # density-scored blocks shown besides the candidates
REMOVED_SHOWN = 20  # blocks the chrome cut removed, shown (the rest counted)
_FIRST_WORDS = 70  # characters of a block's first words shown

# C0 and C1 controls and DEL (escape sequences), bidi embeddings, overrides, isolates and
# marks (text shown reversed), zero-width and line/paragraph separators, lone surrogates.
UNPRINTABLE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb\ud800-\udfff]"
)

DATE_SOURCES = {
    "rule": "the source's date rule selector",
    "meta": "a <meta> tag (article:published_time, pubdate, date, …)",
    "json-ld": "JSON-LD datePublished",
    "time-element": "a <time> element by the headline",
    "info-line": "the info line under the headline (date, source, author)",
    "url": "a date in the URL path",
    "first-post": "the header of a forum thread's first post",
    "script": "a publish-time variable in the page's inline script (nothing visible gave a date)",
}


def printable(text: str) -> str:
    r"""`text` with every character a terminal would act on shown as an escape (`\x1b`)."""

    def escape(match: re.Match[str]) -> str:
        code = ord(match[0])
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"

    return UNPRINTABLE.sub(escape, text)


def json_text(value: Any) -> str:
    """`value` as indented JSON with the same characters escaped as JSON escapes (`\u001b`):
    the data is unchanged for a program, and a terminal showing it is not driven by it."""
    dumped = json.dumps(value, ensure_ascii=False, indent=1)  # its own newlines are layout
    return UNPRINTABLE.sub(lambda m: m[0] if m[0] == "\n" else f"\\u{ord(m[0]):04x}", dumped)


@dataclass(frozen=True)
class BlockReport:
    """One block considered for the body, and what describes it."""

    roles: tuple[str, ...]  # "rule", "trafilatura", "density #1", "density #3", …
    chosen: bool
    path: str  # `body > div#main > div.article-content`
    first_words: str
    text_chars: int  # all its text, whitespace collapsed
    body_chars: int  # paragraph-like text (what the choice between candidates compares)
    link_density: float
    paragraphs: int  # paragraphs its body would have
    density: DensityScore | None  # its density score's features, when it has one


@dataclass(frozen=True)
class Explanation:
    url: str
    title: str
    title_source: str
    title_evidence: tuple[tuple[str, str], ...]  # (source, value) in title.py's order of trust
    published: str | None
    date_source: str | None
    method: str | None  # the chosen candidate's name
    reason: str
    blocks: tuple[BlockReport, ...]
    paragraphs: int
    images: int
    starts: str  # the body's first words
    ends: str  # the body's last words
    error: str | None  # why extraction found no article
    warnings: tuple[str, ...]
    removed: tuple[Removal, ...]  # the first REMOVED_SHOWN blocks the chrome cut removed
    removed_total: int


def _path(el: lxml.html.HtmlElement) -> str:
    return printable(element_path(el))


def _first(text: str, limit: int = _FIRST_WORDS) -> str:
    text = collapse_whitespace(text)
    return printable(text if len(text) <= limit else text[: limit - 1] + "…")


def _last(text: str, limit: int = _FIRST_WORDS) -> str:
    text = collapse_whitespace(text)
    return printable(text if len(text) <= limit else "…" + text[-(limit - 1) :])


def _block(
    el: lxml.html.HtmlElement, roles: tuple[str, ...], chosen: bool, base_url: str, score: DensityScore | None
) -> BlockReport:
    blocks = _assemble(_walk(el, base_url), "")
    text = collapse_whitespace(el.text_content())
    return BlockReport(
        roles=roles,
        chosen=chosen,
        path=_path(el),
        first_words=_first(text),
        text_chars=len(text),
        body_chars=_body_text(el, base_url),
        link_density=round(_link_density(el), 3),
        paragraphs=sum(1 for b in blocks if isinstance(b, str)),
        density=score,
    )


def _blocks(choice: BodyChoice, base_url: str) -> tuple[BlockReport, ...]:
    """The candidates, then the best density-scored blocks not already among them."""
    scores = density_scores(choice.clean)
    ranked = sorted(scores, key=lambda node: scores[node].score, reverse=True)
    rank = {node: i + 1 for i, node in enumerate(ranked)}
    roles: dict[lxml.html.HtmlElement, list[str]] = {}
    for candidate in choice.candidates:
        name = candidate.name
        if name == "density" and candidate.element in rank:
            name = f"density #{rank[candidate.element]}"
        roles.setdefault(candidate.element, []).append(name)
    for node in ranked[:RUNNERS_UP]:
        roles.setdefault(node, []).append(f"density #{rank[node]}")
    chosen = choice.chosen.element if choice.chosen else None
    return tuple(
        _block(el, tuple(dict.fromkeys(names)), el is chosen, base_url, scores.get(el))
        for el, names in roles.items()
    )


def _title_evidence(
    tree: lxml.html.HtmlElement, rules: SiteRules, objects: list[dict]
) -> list[tuple[str, str]]:
    evidence: list[tuple[str, str]] = []
    if rules.title:
        found = next((t for el in _select(tree, rules.title) if (t := _text(el))), "")
        evidence.append(("rule", found))
    evidence.extend(("h1", t) for el in tree.iter("h1") if (t := _text(el)))
    evidence.append(("json-ld headline", _jsonld_headline(objects)))
    evidence.append(("og:title", _meta(tree, "og:title", "twitter:title")))
    title_el = tree.find(".//title")
    evidence.append(("<title>", _text(title_el) if title_el is not None else ""))
    return [(source, value) for source, value in evidence if value]


def _title_source(
    title: str, evidence: list[tuple[str, str]], names: set[str], warnings: tuple[str, ...], found: str
) -> str:
    if any(w.startswith("no title found") for w in warnings):
        return "the first paragraph (the page has no title)"
    for source, value in evidence:
        if value == title:
            return source
        if _strip_site(value, names) == title:
            return f"{source}, site name cut"
    return found  # a heading other than <h1> (title.find_title says which rule chose it)


def explain_page(
    page: bytes | str,
    url: str,
    *,
    content_type: str | None = None,
    rules: SiteRules = NO_RULES,
    encoding: str | None = None,
    article: ExtractedArticle | None = None,
    error: str | None = None,
) -> Explanation:
    """Why `page` extracts as `article` (or, with `error`, why it gave no article).

    Raises ExtractError when the page cannot even be decoded as HTML (extraction says the same)."""
    decode_warnings: list[str] = []
    tree = parse_html(_text_of(page, content_type, decode_warnings, encoding))
    base = _base_url(tree, url)
    objects = json_ld_objects(tree)
    site = _site_name(tree)
    # The headline as extraction handed it to the body step (before any first-paragraph stand-in).
    body_title, found = find_title(tree, rules=rules, json_ld=objects, site_name=site, url=base)
    title = article.title if article else body_title
    choice = choose_body(tree, base, rules=rules, title=body_title)
    evidence = _title_evidence(tree, rules, objects)
    names = {n for n in (site, _meta(tree, "og:site_name", "application-name")) if n}
    warnings = article.warnings if article else tuple(decode_warnings)
    paragraphs = choice.body.paragraphs if choice.body else ()
    removed: list[Removal] = []
    strip_chrome(tree, rules, removed)  # the cut choose_body made, again, recording what went
    return Explanation(
        url=printable(article.url if article else url),
        title=printable(title),
        title_source=_title_source(title, evidence, names, warnings, found) if title else "(none)",
        title_evidence=tuple((source, printable(value)) for source, value in evidence),
        published=article.published.isoformat() if article and article.published else None,
        date_source=article.date_source if article else None,
        method=choice.chosen.name if choice.chosen else None,
        reason=printable(choice.reason),
        blocks=_blocks(choice, base),
        paragraphs=len(paragraphs),
        images=len(choice.body.images) if choice.body else 0,
        starts=_first(paragraphs[0]) if paragraphs else "",
        ends=_last(paragraphs[-1]) if paragraphs else "",
        error=printable(error) if error else None,
        warnings=tuple(printable(w) for w in warnings),
        removed=tuple(
            Removal(printable(r.rule), printable(r.path), _first(r.text, 40)) for r in removed[:REMOVED_SHOWN]
        ),
        removed_total=len(removed),
    )


def _removed_groups(ex: Explanation) -> dict[str, list[Removal]]:
    """The shown removals grouped by the rule that cut them, in the order the rules ran."""
    groups: dict[str, list[Removal]] = {}
    for r in ex.removed:
        groups.setdefault(r.rule, []).append(r)
    return groups


def _density_line(score: DensityScore) -> str:
    return (
        f"density score {score.score:,.0f} = paragraph text {score.raw:,.0f}"
        f" x content hint {1.25 if score.hinted else 1.0}"
        f" x furniture {0.5 if score.furniture else 1.0}"
        f" x links {1.0 - 0.7 * score.link_density:.2f}"
    )


def explanation_text(ex: Explanation) -> str:
    """The human-readable view: title and date sources, the body's blocks, the decision."""
    date = f"{ex.published} (from {ex.date_source}: {DATE_SOURCES.get(ex.date_source or '', ex.date_source)})"
    lines = [
        f"url:        {ex.url}",
        f"title:      {ex.title or '(none)'}",
        f"  from:     {ex.title_source}",
        *(f"  {source + ':':<17} {value}" for source, value in ex.title_evidence),
        f"published:  {date if ex.published else 'no trustworthy date found'}",
    ]
    if ex.error:
        lines.append(f"no article: {ex.error}")
    else:
        lines += [
            f"body:       {ex.paragraphs} paragraphs, {ex.images} images, from the {ex.method} candidate",
            f"  starts:   {ex.starts}",
            f"  ends:     {ex.ends}",
        ]
    lines += ["", "blocks considered (* = chosen; candidates first, then the best density scores):"]
    if not ex.blocks:
        lines.append("  (none: no element holds paragraph text)")
    for block in ex.blocks:
        lines += [
            f"{'*' if block.chosen else ' '} {', '.join(block.roles)}: {block.path}",
            f"    {block.first_words or '(no text)'}",
            f"    text {block.text_chars:,} chars, paragraph text {block.body_chars:,}, "
            f"links {block.link_density:.0%}, {block.paragraphs} paragraphs",
        ]
        if block.density is not None:
            lines.append(f"    {_density_line(block.density)}")
    lines += ["", f"removed as page chrome before the body was looked for ({ex.removed_total} blocks):"]
    if not ex.removed_total:
        lines.append("  (nothing)")
    for rule, group in _removed_groups(ex).items():
        lines.append(f"  {rule}:")
        lines += [f"    {r.path}: {r.text or '(no text)'}" for r in group]
    if ex.removed_total > len(ex.removed):
        lines.append(f"  and {ex.removed_total - len(ex.removed)} more")
    lines += ["", f"why: {ex.reason}", *(f"warning: {w}" for w in ex.warnings)]
    return "\n".join(lines)


def explanation_json(ex: Explanation) -> dict[str, Any]:
    """The machine view: the same facts, with the density features spelled out."""

    def block(b: BlockReport) -> dict[str, Any]:
        density = None
        if b.density is not None:
            density = {
                "score": round(b.density.score, 1),
                "paragraph_text": round(b.density.raw, 1),
                "content_hint": b.density.hinted,
                "furniture": b.density.furniture,
                "link_density": round(b.density.link_density, 3),
            }
        return {
            "roles": list(b.roles),
            "chosen": b.chosen,
            "path": b.path,
            "first_words": b.first_words,
            "text_chars": b.text_chars,
            "paragraph_text_chars": b.body_chars,
            "link_density": b.link_density,
            "paragraphs": b.paragraphs,
            "density": density,
        }

    return {
        "title": {
            "value": ex.title,
            "source": ex.title_source,
            "evidence": [list(e) for e in ex.title_evidence],
        },
        "date": {"published": ex.published, "source": ex.date_source},
        "body": {
            "method": ex.method,
            "reason": ex.reason,
            "paragraphs": ex.paragraphs,
            "images": ex.images,
            "starts": ex.starts,
            "ends": ex.ends,
        },
        "blocks": [block(b) for b in ex.blocks],
        "error": ex.error,
        "warnings": list(ex.warnings),
        "removed": {
            "total": ex.removed_total,
            "shown": [
                {"rule": rule, "elements": [{"path": r.path, "text": r.text} for r in group]}
                for rule, group in _removed_groups(ex).items()
            ],
        },
    }

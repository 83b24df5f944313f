"""The article's headline, without the site name that <title> and og:title append.

Sources, most specific first: the `rules.title` selector; an <h1> whose text <title>
starts with (the page's own headline, confirmed by the document title); og:title or the
JSON-LD headline; <title>; any lone <h1>. Whatever is chosen loses a trailing (or leading)
site-name segment: `headline_智汇八方`, `headline - Site`, `headline | Section | Site`,
recognised because it equals og:site_name, or because it is what remains of <title> after
the confirmed headline.
"""

from __future__ import annotations

import re

import lxml.etree
import lxml.html
from lxml.cssselect import CSSSelector

from syndicator.models import SiteRules
from syndicator.normalise.text import clean_title, collapse_whitespace

from .body import NO_RULES

# After a confirmed headline any separator will do, a bare hyphen included (`标题-栏目-站名`).
_SUFFIX_START = re.compile(r"\s*[-_|｜–—:：·»]")
_TITLE_CLASS = re.compile(r"title|headline|biaoti", re.IGNORECASE)
_SEPARATORS = re.compile(r"(\s*(?:[_|｜–—]|\s-\s|-{2,}|::|»)\s*)")


def _text(el: lxml.html.HtmlElement) -> str:
    return clean_title(collapse_whitespace(el.text_content()))


def _meta(tree: lxml.html.HtmlElement, *names: str) -> str:
    for name in names:
        for el in tree.xpath(f"//meta[@property='{name}' or @name='{name}']"):
            value = clean_title(el.get("content") or "")
            if value:
                return value
    return ""


def _jsonld_headline(objects: list[dict]) -> str:
    for obj in objects:
        kind = obj.get("@type")
        kinds = kind if isinstance(kind, list) else [kind]
        if any(isinstance(k, str) and k.endswith(("Article", "Posting", "Report")) for k in kinds):
            headline = obj.get("headline") or obj.get("name")
            if isinstance(headline, str) and headline.strip():
                return clean_title(headline)
    return ""


def _strip_site(title: str, site_names: set[str]) -> str:
    """`title` without trailing/leading segments that are a site or section name.

    A segment goes when it equals a known name, or when it is short (≤ 20 characters) and
    what remains is at least twice as long: `headline_栏目_站名`, `Headline - BBC News`.
    """
    pieces = _SEPARATORS.split(title)  # [text, sep, text, sep, text …]
    names = {n.casefold() for n in site_names if n}

    def removable(part: str, rest: list[str]) -> bool:
        kept = "".join(rest)
        return part.casefold() in names or (len(part) <= 20 and len(kept) >= 2 * len(part))

    while len(pieces) >= 3 and removable(pieces[-1], pieces[:-2]):
        pieces = pieces[:-2]
    while len(pieces) >= 3 and pieces[0].casefold() in names:
        pieces = pieces[2:]
    return "".join(pieces).strip() or title


def _select(tree: lxml.html.HtmlElement, selector: str) -> list[lxml.html.HtmlElement]:
    try:
        return CSSSelector(selector)(tree)
    except Exception as exc:
        raise ValueError(f"title rule selector {selector!r} is not valid CSS: {exc}") from exc


def page_title(
    tree: lxml.html.HtmlElement,
    *,
    rules: SiteRules = NO_RULES,
    json_ld: list[dict] | None = None,
    site_name: str | None = None,
) -> str:
    """The article headline ("" when the page has none at all)."""
    if rules.title:
        for el in _select(tree, rules.title):
            if text := _text(el):
                return text
    doc_title = ""
    title_el = tree.find(".//title")
    if title_el is not None:
        doc_title = _text(title_el)
    og_title = _meta(tree, "og:title", "twitter:title")
    headline = _jsonld_headline(json_ld or [])
    names = {n for n in (site_name, _meta(tree, "og:site_name", "application-name")) if n}

    h1s = [t for el in tree.iter("h1") if (t := _text(el))]
    for h1 in h1s:
        rest = doc_title[len(h1) :] if doc_title.startswith(h1) else None
        # Confirmed when <title> is the h1, or the h1 followed by a separator and a suffix.
        if rest == "" or (rest and _SUFFIX_START.match(rest)):
            return h1
    # No <h1> (or an empty one): the headline block a CMS names "title" (`div.h-title`,
    # `span.Title`), confirmed the same way; the suffix may follow a bare space here
    # (`标题 栏目_站名`), so the suffix must be no longer than the headline itself.
    for el in tree.iter("div", "span", "p", "td", "h2", "h3", "strong", "b"):
        if not _TITLE_CLASS.search(f"{el.get('class') or ''} {el.get('id') or ''}"):
            continue
        text = _text(el)
        rest = doc_title[len(text) :] if len(text) >= 4 and doc_title.startswith(text) else None
        if rest and len(rest.strip()) <= len(text) and (_SUFFIX_START.match(rest) or rest[0].isspace()):
            return text
    for candidate in (headline, og_title):
        if candidate:
            return _strip_site(candidate, names)
    if doc_title:
        return _strip_site(doc_title, names)
    return h1s[0] if len(h1s) == 1 else ""

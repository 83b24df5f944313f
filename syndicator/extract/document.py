"""Lenient HTML parsing: every stage of extraction reads the same lxml tree.

Real article pages carry stray closing tags, unclosed elements, nested <p>, missing
</html>, NUL bytes and XML-illegal control characters. lxml's libxml2 HTML parser recovers
from all of these the way a browser roughly would; the work here is only to make sure it
never raises and always hands back an <html> element with a <body>. Soft hyphens go here,
before parsing, so no stage ever sees them.
"""

from __future__ import annotations

import functools
import re
import weakref
from collections.abc import Callable
from typing import TypeVar

import lxml.etree
import lxml.html

# XML 1.0 forbids these; libxml2 chokes or truncates on some of them.
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
# An XML declaration with an encoding makes lxml refuse a str input.
_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>", re.IGNORECASE)
# The soft hyphen (U+00AD) and its entities: an invisible line-break hint for justified text
# (German compounds), never part of a word; left in, it splits words for search, dedup and
# every reader that shows it. Removed from the markup once, so title and body are both clean.
_SOFT_HYPHENS = ("\u00ad", "&shy;", "&#173;", "&#xad;", "&#xAD;")


def _without_soft_hyphens(text: str) -> str:
    """`text` without soft hyphens; `in` tests first, as most pages have none."""
    for form in _SOFT_HYPHENS:
        if form in text:
            text = text.replace(form, "")
    return text


# Inline formatting tags: old pages leave hundreds of <font>/<span> unclosed, and libxml2
# drops everything nested deeper than 256 elements. They carry no structure, so the markup
# is parsed again without them when that happens.
_INLINE_TAG = re.compile(r"</?(?:font|span|b|i|u|s|em|strong|small|big|strike|tt)\b[^<>]*>", re.IGNORECASE)


# Every element an HtmlElement, chosen in C. lxml.html's own parser asks a Python method which
# class each element gets (<form>, <input> and <label> have their own) every time a stage
# reaches an element, and extraction walks the tree many times: that lookup was a tenth of
# extraction's time. Nothing here uses the form classes' extras.
_ELEMENT_CLASSES = lxml.etree.ElementDefaultClassLookup(
    element=lxml.html.HtmlElement,
    comment=lxml.html.HtmlComment,
    pi=lxml.html.HtmlProcessingInstruction,
    entity=lxml.html.HtmlEntity,
)


def _parser() -> lxml.html.HTMLParser:
    """A fresh parser (its error log is read per page) with the C-level element classes."""
    parser = lxml.html.HTMLParser()
    parser.set_element_class_lookup(_ELEMENT_CLASSES)
    return parser


def _document(text: str) -> lxml.html.HtmlElement | None:
    """`text` parsed; on libxml2's depth limit, parsed again without inline formatting tags."""
    parser = _parser()
    tree = lxml.html.document_fromstring(text, parser=parser)
    if any(e.type_name == "ERR_RESOURCE_LIMIT" for e in parser.error_log):
        tree = lxml.html.document_fromstring(_INLINE_TAG.sub("", text), parser=_parser())
    return tree


def parse_html(text: str) -> lxml.html.HtmlElement:
    """Parse `text` into an <html> element; never raises on bad markup.

    An empty or markup-free input gives an empty document (an <html> with an empty <body>),
    so callers can run their XPath without special cases.
    """
    cleaned = _XML_DECL.sub("", _ILLEGAL.sub("", _without_soft_hyphens(text or "")), count=1)
    tree: lxml.html.HtmlElement | None = None
    if cleaned.strip():
        try:
            tree = _document(cleaned)
        except (lxml.etree.ParserError, ValueError):
            tree = None
        if tree is None or not isinstance(tree, lxml.html.HtmlElement):
            # Fragment or garbage: wrap it so the parser has a document to recover.
            try:
                tree = lxml.html.document_fromstring(f"<html><body>{cleaned}</body></html>", parser=_parser())
            except (lxml.etree.ParserError, ValueError):
                tree = None
    if tree is None:
        tree = lxml.html.document_fromstring("<html><body></body></html>", parser=_parser())
    if tree.find("body") is None:
        tree.append(lxml.html.Element("body"))
    return tree


_Found = TypeVar("_Found")


def per_tree(compute: Callable[[lxml.html.HtmlElement], _Found]) -> Callable[[lxml.html.HtmlElement], _Found]:
    """`compute(tree)` done once per tree, for a reading of the whole page several steps share.

    The byline, date and title steps each want the page's texts and its info block; walking
    the page for each of them was a fifth of extraction's time. Safe because extraction never
    changes the parsed page (chrome is cut from a copy) and the result is not changed by its
    readers; an entry goes with its tree.
    """
    found: weakref.WeakKeyDictionary[lxml.html.HtmlElement, _Found] = weakref.WeakKeyDictionary()

    @functools.wraps(compute)
    def once(tree: lxml.html.HtmlElement) -> _Found:
        try:
            return found[tree]
        except KeyError:
            result = found[tree] = compute(tree)
            return result

    return once

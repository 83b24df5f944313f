"""Lenient HTML parsing: every stage of extraction reads the same lxml tree.

Real article pages carry stray closing tags, unclosed elements, nested <p>, missing
</html>, NUL bytes and XML-illegal control characters. lxml's libxml2 HTML parser recovers
from all of these the way a browser roughly would; the work here is only to make sure it
never raises and always hands back an <html> element with a <body>.
"""

from __future__ import annotations

import re

import lxml.etree
import lxml.html

# XML 1.0 forbids these; libxml2 chokes or truncates on some of them.
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
# An XML declaration with an encoding makes lxml refuse a str input.
_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>", re.IGNORECASE)


def parse_html(text: str) -> lxml.html.HtmlElement:
    """Parse `text` into an <html> element; never raises on bad markup.

    An empty or markup-free input gives an empty document (an <html> with an empty <body>),
    so callers can run their XPath without special cases.
    """
    cleaned = _XML_DECL.sub("", _ILLEGAL.sub("", text or ""), count=1)
    tree: lxml.html.HtmlElement | None = None
    if cleaned.strip():
        try:
            tree = lxml.html.document_fromstring(cleaned)
        except (lxml.etree.ParserError, ValueError):
            tree = None
        if tree is None or not isinstance(tree, lxml.html.HtmlElement):
            # Fragment or garbage: wrap it so the parser has a document to recover.
            try:
                tree = lxml.html.document_fromstring(f"<html><body>{cleaned}</body></html>")
            except (lxml.etree.ParserError, ValueError):
                tree = None
    if tree is None:
        tree = lxml.html.document_fromstring("<html><body></body></html>")
    if tree.find("body") is None:
        tree.append(lxml.html.Element("body"))
    return tree

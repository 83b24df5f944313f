"""OPML subscription lists (what feed readers export) → the feeds they name.

A pure function on bytes, for `syndicator import-opml`: every `<outline>` with an
`xmlUrl`, at any depth (readers nest them in folders), in document order, with its title.
Entities are never resolved and nothing is fetched while parsing.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from lxml import etree

from syndicator.discover.listing import DiscoverError


@dataclass(frozen=True)
class Outline:
    url: str  # the outline's xmlUrl
    title: str  # its title, else its text, else ""
    folder: str = ""  # the title of the outline it is nested in, if any


def parse_opml(body: bytes) -> list[Outline]:
    """The feeds of an OPML document; DiscoverError when it is not one."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        root = etree.fromstring(body, parser)
    except etree.XMLSyntaxError as exc:
        raise DiscoverError(f"not XML: {exc}") from None
    if root is None or etree.QName(root).localname.lower() != "opml":
        raise DiscoverError("not an OPML document (its root element is not <opml>)")
    found: list[Outline] = []
    for outline in root.iter("{*}outline"):
        url = (outline.get("xmlUrl") or outline.get("xmlurl") or "").strip()
        if not url:
            continue
        if urlsplit(url).scheme not in ("http", "https"):
            continue
        title = " ".join((outline.get("title") or outline.get("text") or "").split())
        parent = outline.getparent()
        folder = ""
        if parent is not None and etree.QName(parent).localname == "outline":
            folder = " ".join((parent.get("title") or parent.get("text") or "").split())
        found.append(Outline(url, title, folder))
    return found

"""Atom 1.0 with feedgen.

The feed has an `<author>` (the category title) so entries without one of their own stay
valid. Content is `type="html"` escaped text — feedgen's `type="CDATA"` writes invalid Atom —
and the summary is set with `summary()`, because `description()` would overwrite the
content. Every enclosure becomes a `<link rel="enclosure">` (Atom allows many); feedgen 1.0
drops rel/type/length from entry links (its loop rebinds the link dict to the new element),
so enclosure links are written by the small entry extension below instead.
"""

from __future__ import annotations

from feedgen.ext.base import BaseEntryExtension, BaseExtension
from feedgen.feed import FeedGenerator
from feedgen.util import xml_elem
from lxml import etree

from syndicator.models import Enclosure
from syndicator.render.document import (
    GENERATOR,
    FeedDocument,
    clean,
    entry_id,
    entry_terms,
    entry_title,
    media_type,
    self_url,
    source_title,
    utc,
    validate,
)
from syndicator.render.history import add_history

MEDIA_TYPE = "application/atom+xml; charset=utf-8"


class _EnclosureFeedExtension(BaseExtension):
    """Feed half of the extension: no namespace, nothing at feed level."""


class _EnclosureEntryExtension(BaseEntryExtension):
    """Writes one `<link rel="enclosure" href type length>` per enclosure of the entry."""

    def __init__(self) -> None:
        self.enclosures: list[Enclosure] = []

    def extend_atom(self, entry: etree._Element) -> etree._Element:
        for enclosure in self.enclosures:
            # Unqualified like feedgen's own elements: they inherit the feed's default xmlns.
            link = xml_elem("link", entry, rel="enclosure", href=clean(enclosure.url))
            kind = media_type(enclosure)
            if kind:
                link.set("type", kind)
            if enclosure.length > 0:
                link.set("length", str(enclosure.length))
        return entry


def render_atom(doc: FeedDocument) -> bytes:
    """The feed as Atom 1.0 bytes (UTF-8, with XML declaration)."""
    validate(doc, "atom")
    own_url = self_url(doc, "atom")
    fg = FeedGenerator()
    fg.load_extension("dc", atom=True, rss=False)
    fg.register_extension(
        "enclosures", _EnclosureFeedExtension, _EnclosureEntryExtension, atom=True, rss=False
    )
    fg.id(own_url)
    fg.title(clean(doc.category.title))
    fg.subtitle(doc.description)
    fg.author(name=clean(doc.category.title))
    fg.link(href=doc.site_url, rel="alternate", type="text/html")
    fg.link(href=own_url, rel="self", type="application/atom+xml")
    add_history(fg, doc, rss=False)
    fg.language(clean(doc.category.language) or "en")
    fg.generator(GENERATOR)
    fg.updated(utc(doc.updated))

    for article in doc.articles:
        entry = fg.add_entry(order="append")
        entry.id(entry_id(article))
        entry.title(entry_title(article))
        entry.updated(utc(article.updated))
        entry.published(utc(article.published))
        entry.link(href=clean(article.url), rel="alternate")
        author = clean(article.author).strip()
        if author:
            entry.author(name=author)
        content = clean(article.content_html)
        if content.strip():
            entry.content(content, type="html")
        summary = clean(article.summary).strip()
        if summary:
            entry.summary(summary)
        publisher = source_title(doc, article)
        if publisher:
            entry.dc.dc_publisher(publisher)
        for term in entry_terms(article):
            entry.category(term=term)
        entry.enclosures.enclosures = list(article.enclosures)
    return fg.atom_str(pretty=True, encoding="UTF-8", xml_declaration=True)

"""Atom 1.0 with feedgen.

RFC 4287 wants an author on the feed or on every entry, and an entry without one inherits
its `<source>`'s, else the feed's. So the feed's `<author>` is the publisher (`server.publisher`,
else our host) — never a category title, which an inheriting reader would credit with every
article — and an entry without an author of its own carries a `<source>` naming the feed it
came from (title, id, link and author, where known).

Content is `type="html"` escaped text — feedgen's `type="CDATA"` writes invalid Atom — and
the summary is set with `summary()`, because `description()` would overwrite the content.
Every enclosure, and every image of the content that no enclosure lists, becomes a
`<link rel="enclosure">` (Atom allows many); feedgen 1.0 drops rel/type/length from entry
links (its loop rebinds the link dict to the new element), so enclosure links are written
by the small entry extension below instead. Our categories are `term` = slug, `scheme` =
`{site_url}categories`, `label` = what readers see; the upstream's tags are bare terms.

Text constructs (titles, subtitle, summary) are `type="text"` unless the text itself looks
like HTML (an end tag or entity reference, see `looks_like_html`): then they are written
escaped with `type="html"`, so readers — and the W3C validator — do not take them for markup.
feedgen cannot set a title's type, so the extensions below set it. `&` and `<` are written as
hexadecimal references, which the validator expects of plain text.
"""

from __future__ import annotations

from feedgen.entry import FeedEntry
from feedgen.ext.base import BaseEntryExtension, BaseExtension
from feedgen.ext.dc import DcEntryExtension, DcExtension
from feedgen.feed import FeedGenerator
from feedgen.util import xml_elem
from lxml import etree

from syndicator.models import Article, Enclosure, Upstream
from syndicator.render.document import (
    GENERATOR,
    FeedDocument,
    advertised_hub,
    as_html,
    categories_scheme,
    clean,
    entry_categories,
    entry_id,
    entry_tags,
    entry_title,
    hex_references,
    home_url,
    images,
    looks_like_html,
    media_type,
    publisher,
    related_title,
    self_url,
    source_title,
    utc,
    validate,
    with_also_reported,
)
from syndicator.render.history import add_history
from syndicator.render.reuse import EntryCache, add_entries

MEDIA_TYPE = "application/atom+xml; charset=utf-8"


class _AtomFeedExtension(BaseExtension):
    """Feed half: marks the feed-level text constructs that carry escaped HTML."""

    def __init__(self) -> None:
        self.html_elements: tuple[str, ...] = ()

    def extend_atom(self, feed: etree._Element) -> etree._Element:
        _mark_html(feed, self.html_elements)
        return feed


class _AtomEntryExtension(BaseEntryExtension):
    """Writes one `<link rel="enclosure" href type length>` per enclosure of the entry, the
    entry's `<source>` if it has one, and marks an escaped-HTML title."""

    def __init__(self) -> None:
        self.enclosures: list[Enclosure] = []
        self.html_elements: tuple[str, ...] = ()
        self.source: Upstream | None = None
        self.source_updated = ""  # RFC 3339: what the source's <updated> says
        self.related: list[tuple[str, str]] = []  # (href, title) of near-duplicates

    def extend_atom(self, entry: etree._Element) -> etree._Element:
        _mark_html(entry, self.html_elements)
        if self.source is not None:
            _write_source(entry, self.source, self.source_updated)
        for href, title in self.related:
            xml_elem("link", entry, rel="related", href=href, title=title)
        for enclosure in self.enclosures:
            # Unqualified like feedgen's own elements: they inherit the feed's default xmlns.
            link = xml_elem("link", entry, rel="enclosure", href=clean(enclosure.url))
            kind = media_type(enclosure)
            if kind:
                link.set("type", kind)
            if enclosure.length > 0:
                link.set("length", str(enclosure.length))
        return entry


def _write_source(entry: etree._Element, upstream: Upstream, updated: str) -> None:
    """`<source>` (RFC 4287 §4.2.11) with the upstream feed's id, title, link and author, and
    `<updated>`: the entry's own, the latest instant the source feed is known to have
    changed. (The feed-level date the upstream sent moves at every poll; kept in the record
    it would rewrite every article of the source each time. The W3C validator warns when a
    `<source>` has no `<updated>`.)"""
    source = xml_elem("source", entry)
    if upstream.id:
        xml_elem("id", source).text = clean(upstream.id)
    if upstream.title:
        value, is_html = _text(clean(upstream.title))
        title = xml_elem("title", source)
        title.text = value
        if is_html:
            title.set("type", "html")
    if upstream.link:
        xml_elem("link", source, rel="alternate", type="text/html", href=clean(upstream.link))
    if upstream.author:
        xml_elem("name", xml_elem("author", source)).text = clean(upstream.author)
    xml_elem("updated", source).text = updated


def _entry_source(doc: FeedDocument, article: Article) -> Upstream | None:
    """The `<source>` of an entry without an author: its upstream feed, else (a page) at least
    the title of the source it came from; None when nothing is known."""
    upstream = article.upstream or Upstream(title=source_title(doc, article))
    return upstream if upstream != Upstream() else None


def _mark_html(parent: etree._Element, names: tuple[str, ...]) -> None:
    for name in names:
        element = parent.find(name)
        if element is not None:
            element.set("type", "html")


def _text(text: str) -> tuple[str, bool]:
    """Plain text as an Atom text construct: (value, is escaped html)."""
    return (as_html(text), True) if looks_like_html(text) else (text, False)


def render_atom(doc: FeedDocument, cache: EntryCache[FeedEntry] | None = None) -> bytes:
    """The feed as Atom 1.0 bytes (UTF-8, with XML declaration); `cache` keeps each
    article's filled entry for the next render (render/reuse.py)."""
    validate(doc, "atom")
    own_url = self_url(doc, "atom")
    fg = FeedGenerator()
    # load_extension("dc") without its import look-ups (see rss.py).
    fg.register_extension("dc", DcExtension, DcEntryExtension, atom=True, rss=False)
    fg.register_extension("syn", _AtomFeedExtension, _AtomEntryExtension, atom=True, rss=False)
    fg.id(own_url)
    title, title_html = _text(clean(doc.category.title))
    subtitle, subtitle_html = _text(doc.description)
    fg.title(title)
    fg.subtitle(subtitle)
    fg.syn.html_elements = ("title",) * title_html + ("subtitle",) * subtitle_html
    fg.author(name=publisher(doc))
    fg.link(href=home_url(doc), rel="alternate", type="text/html")
    fg.link(href=own_url, rel="self", type="application/atom+xml")
    if hub := advertised_hub(doc):
        fg.link(href=hub, rel="hub")
    add_history(fg, doc, rss=False)
    fg.language(clean(doc.category.language) or "en")
    fg.generator(GENERATOR)
    fg.updated(utc(doc.updated))

    add_entries(fg, doc, _fill_entry, cache)
    return hex_references(fg.atom_str(pretty=True, encoding="UTF-8", xml_declaration=True))


def _fill_entry(entry: FeedEntry, doc: FeedDocument, article: Article) -> None:
    """Everything `article` shows as an Atom entry; `entry` was just added to the feed (so
    it carries the feed's entry extensions) and is filled only here."""
    entry.id(entry_id(article))
    title, title_html = _text(entry_title(article))
    entry.title(title)
    entry.updated(utc(article.updated))
    entry.published(utc(article.published))
    entry.link(href=clean(article.url), rel="alternate")
    author = clean(article.author).strip()
    if author:
        entry.author(name=author)
    else:
        entry.syn.source = _entry_source(doc, article)
        entry.syn.source_updated = utc(article.updated).isoformat()
    content = clean(article.content_html)
    if content.strip():
        entry.content(with_also_reported(doc, article, content), type="html")
    summary = clean(article.summary).strip()
    if summary:
        value, summary_html = _text(summary)
        entry.summary(value, type="html" if summary_html else None)
    from_source = source_title(doc, article)
    if from_source:
        entry.dc.dc_publisher(from_source)
    scheme = categories_scheme(doc)
    for slug, label in entry_categories(doc, article):
        entry.category(term=slug, scheme=scheme, label=label)
    for tag in entry_tags(doc, article):
        entry.category(term=tag)
    # Every enclosure, then the content's images no enclosure lists (as pages have them).
    listed = {e.url for e in article.enclosures}
    entry.syn.enclosures = [*article.enclosures, *(i for i in images(article) if i.url not in listed)]
    entry.syn.html_elements = ("title",) * title_html
    entry.syn.related = [(clean(r.url), related_title(doc, r)) for r in article.related]

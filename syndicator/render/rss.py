"""RSS 2.0 with feedgen, plus Dublin Core (authors by name) and Media RSS (images).

feedgen traps handled here (see LIBRARY-NOTES): entries are appended, not prepended; every
date is tz-aware; a name-only author goes to `dc:creator` because RSS `<author>` wants an
email; `<description>` carries the plain-text summary and `content:encoded` the HTML. RSS
allows one `<enclosure>` per item, so only the first with a known length and type is used,
while every image — image enclosures and the images of the content alike — gets a
`<media:content>`. Our categories show their labels (`情感/故事`) with `domain`
`{site_url}categories`; the upstream's tags are plain `<category>`s.

Text: `<description>` is HTML in RSS (feedparser and readers treat it so), so the plain summary
is HTML-escaped into it; titles are plain text unless the text itself looks like HTML (then
escaped, see `looks_like_html`); `&` and `<` are written as hex references (RSS Profile).
"""

from __future__ import annotations

from feedgen.entry import FeedEntry
from feedgen.ext.base import BaseEntryExtension, BaseExtension
from feedgen.ext.dc import DcEntryExtension, DcExtension
from feedgen.ext.media import MediaEntryExtension, MediaExtension
from feedgen.feed import FeedGenerator
from feedgen.util import xml_elem
from lxml import etree

from syndicator.models import Article
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
    related_title,
    rss_enclosure,
    self_url,
    source_title,
    utc,
    validate,
    with_also_reported,
)
from syndicator.render.history import add_history
from syndicator.render.reuse import EntryCache, add_entries

MEDIA_TYPE = "application/rss+xml; charset=utf-8"
ATOM_NS = "http://www.w3.org/2005/Atom"


class _RssFeedExtension(BaseExtension):
    """Declares the Atom namespace (feedgen's, for its `atom:link` self) and writes the
    WebSub `<atom:link rel="hub">` right after feedgen's self link: feedgen writes only
    `rel="self"` as an atom:link in RSS."""

    def __init__(self) -> None:
        self.hub: str | None = None

    def extend_ns(self) -> dict[str, str]:
        return {"atom": ATOM_NS}

    def extend_rss(self, feed: etree._Element) -> etree._Element:
        channel = feed.find("channel")
        if self.hub and channel is not None:
            hub = etree.Element(f"{{{ATOM_NS}}}link", href=self.hub, rel="hub")
            own = channel.find(f"{{{ATOM_NS}}}link")
            if own is not None:
                own.addnext(hub)
            else:
                channel.append(hub)
        return feed


class _RssEntryExtension(BaseEntryExtension):
    """Writes `<atom:link rel="related" href title>` inside the item per near-duplicate
    (process/cluster.py); RSS `<source>` is not used for this."""

    def __init__(self) -> None:
        self.links: list[tuple[str, str]] = []

    def extend_rss(self, item: etree._Element) -> etree._Element:
        for href, title in self.links:
            xml_elem(f"{{{ATOM_NS}}}link", item, rel="related", href=href, title=title)
        return item


def render_rss(doc: FeedDocument, cache: EntryCache[FeedEntry] | None = None) -> bytes:
    """The feed as RSS 2.0 bytes (UTF-8, with XML declaration); `cache` keeps each
    article's filled entry for the next render (render/reuse.py)."""
    validate(doc, "rss")
    fg = FeedGenerator()
    # What load_extension("dc") and ("media") register, without their import look-ups
    # (each tries a `feedgen.ext.<name>_entry` module that does not exist: a stat per call).
    fg.register_extension("dc", DcExtension, DcEntryExtension)
    fg.register_extension("media", MediaExtension, MediaEntryExtension)
    fg.register_extension("related", _RssFeedExtension, _RssEntryExtension, atom=False, rss=True)
    fg.related.hub = advertised_hub(doc)
    add_history(fg, doc, rss=True)
    fg.title(_text(clean(doc.category.title)))
    # feedgen takes the channel <link> from the *last* link given: alternate goes last.
    fg.link(href=self_url(doc, "rss"), rel="self", type="application/rss+xml")
    fg.link(href=home_url(doc), rel="alternate")
    fg.description(_text(doc.description))
    fg.language(clean(doc.category.language) or "en")
    fg.generator(GENERATOR)
    fg.lastBuildDate(utc(doc.updated))
    fg.ttl(doc.ttl_minutes)

    add_entries(fg, doc, _fill_entry, cache)
    return hex_references(fg.rss_str(pretty=True, encoding="UTF-8", xml_declaration=True))


def _fill_entry(entry: FeedEntry, doc: FeedDocument, article: Article) -> None:
    """Everything `article` shows as an RSS item; `entry` was just added to the feed (so it
    carries the feed's entry extensions) and is filled only here."""
    entry.guid(entry_id(article), permalink=False)
    entry.title(_text(entry_title(article)))
    entry.link(href=clean(article.url), rel="alternate")
    entry.pubDate(utc(article.published))
    summary = clean(article.summary).strip()
    content = clean(article.content_html)
    if content.strip():
        entry.content(with_also_reported(doc, article, content))
    if summary:
        # After content(): summary() fills <description>, content stays content:encoded.
        entry.summary(as_html(summary))
    author = clean(article.author).strip()
    if author:
        entry.dc.dc_creator(author)
    publisher = source_title(doc, article)
    if publisher:
        entry.dc.dc_publisher(publisher)
    scheme = categories_scheme(doc)
    for slug, label in entry_categories(doc, article):
        # RSS shows the label as the category, with our scheme as its domain.
        entry.category(term=slug, scheme=scheme, label=label)
    for tag in entry_tags(doc, article):
        entry.category(term=tag)
    enclosure = rss_enclosure(article)
    if enclosure is not None:
        entry.enclosure(clean(enclosure.url), str(enclosure.length), media_type(enclosure))
    for image in images(article):
        attrs = {"url": clean(image.url), "type": media_type(image), "medium": "image"}
        if image.length > 0:
            attrs["fileSize"] = str(image.length)
        # group=None puts media:content straight into the item, not in a media:group.
        entry.media.content(attrs, group=None)
    entry.related.links = [(clean(r.url), related_title(doc, r)) for r in article.related]


def _text(text: str) -> str:
    """A plain-text title as RSS carries it: escaped as HTML only when it looks like HTML."""
    return as_html(text) if looks_like_html(text) else text

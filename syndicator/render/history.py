"""RFC 5005 (Feed Paging and Archiving) elements for the XML formats, as a feedgen extension.

feedgen writes only `rel="self"` as an `atom:link` in RSS and knows nothing of `fh:archive`,
so this feed-level extension adds, after feedgen's own channel/feed elements:
- one Atom `<link rel=… href=…>` per relation in `FeedDocument.links` (RSS: `atom:link` in the
  channel, as RFC 5005 Appendix B asks), in the fixed order of `XML_RELATIONS`;
- `<fh:archive/>` when the document is an archive document.
JSON Feed's `next` relation is not written here (see `document.RELATIONS`).
"""

from __future__ import annotations

from feedgen.ext.base import BaseExtension
from feedgen.feed import FeedGenerator
from lxml import etree

from syndicator.render.document import XML_RELATIONS, FeedDocument

FH_NS = "http://purl.org/syndication/history/1.0"
ATOM_NS = "http://www.w3.org/2005/Atom"


class _HistoryExtension(BaseExtension):
    def __init__(self) -> None:
        self.links: list[tuple[str, str]] = []
        self.archive = False

    def extend_ns(self) -> dict[str, str]:
        # Declared only when used, so subscription feeds carry no unused namespace.
        return {"fh": FH_NS} if self.archive else {}

    def extend_rss(self, feed: etree._Element) -> etree._Element:
        self._write(feed.find("channel"), f"{{{ATOM_NS}}}link")
        return feed

    def extend_atom(self, feed: etree._Element) -> etree._Element:
        # Unqualified, like feedgen's own Atom elements: they take the default namespace.
        self._write(feed, "link")
        return feed

    def _write(self, parent: etree._Element, link_tag: str) -> None:
        for rel, href in self.links:
            etree.SubElement(parent, link_tag, rel=rel, href=href)
        if self.archive:
            etree.SubElement(parent, f"{{{FH_NS}}}archive")


def add_history(fg: FeedGenerator, doc: FeedDocument, *, rss: bool) -> None:
    """Register the extension on `fg` when the document has links or is an archive."""
    links = [(rel, doc.links[rel]) for rel in XML_RELATIONS if rel in doc.links]
    if not links and not doc.archive:
        return
    fg.register_extension("history", _HistoryExtension, None, atom=not rss, rss=rss)
    ext: _HistoryExtension = fg.history
    ext.links = links
    ext.archive = doc.archive

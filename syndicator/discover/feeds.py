"""Feed autodiscovery, the way feed readers do it: pure functions on fetched bytes.

`feed_links` reads a page's `<link rel="alternate" type="application/rss+xml|atom+xml|
feed+json">` elements (RSS autodiscovery; JSON Feed's `application/feed+json`, and the
older `application/json` with a JSON Feed title); `COMMON_PATHS` are the addresses to try
when a page names none; `looks_like_feed` says whether fetched bytes are a feed at all
(so `add-source https://site/feed.xml` needs no page). Fetching belongs to the caller
(`syndicator.operate.addsource`), which runs these in the parse pool.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import lxml.html
from lxml import etree

from syndicator.discover.listing import DiscoverError

FEED_TYPES = {
    "application/rss+xml": "rss",
    "application/atom+xml": "atom",
    "application/feed+json": "json",
    "application/rdf+xml": "rss",
}

# Tried in this order on the page's own origin when it names no feed.
COMMON_PATHS = ("/feed", "/rss.xml", "/atom.xml", "/feed.json", "/index.xml", "/feed.xml", "/rss")

_XML_FEED = re.compile(rb"<(?:[A-Za-z0-9_-]+:)?(rss|feed|RDF)[\s>]")
_SNIFF_BYTES = 2048


@dataclass(frozen=True)
class FeedLink:
    url: str  # absolute
    format: str  # rss, atom or json
    title: str = ""


def feed_links(body: bytes, content_type: str | None, url: str) -> list[FeedLink]:
    """The feeds a page announces, in document order, deduplicated; [] when it names none.

    Raises DiscoverError for bytes that are not an HTML document at all.
    """
    del content_type  # lxml reads the document's own charset declaration
    if not body.strip():
        raise DiscoverError("empty page")
    try:
        doc = lxml.html.document_fromstring(body)
    except (etree.ParserError, ValueError) as exc:
        raise DiscoverError(f"not an HTML page: {exc}") from None
    base = url
    for element in doc.iter("base"):
        if element.get("href"):
            base = urljoin(url, element.get("href", ""))
            break
    found: dict[str, FeedLink] = {}
    for element in doc.iter("link"):
        rel = (element.get("rel") or "").lower().split()
        kind = (element.get("type") or "").split(";")[0].strip().lower()
        href = (element.get("href") or "").strip()
        if "alternate" not in rel or not href:
            continue
        title = " ".join((element.get("title") or "").split())
        fmt = FEED_TYPES.get(kind)
        if fmt is None and kind == "application/json" and "feed" in title.lower():
            fmt = "json"
        if fmt is None:
            continue
        absolute = urljoin(base, href)
        if urlsplit(absolute).scheme not in ("http", "https"):
            continue
        found.setdefault(absolute, FeedLink(absolute, fmt, title))
    return list(found.values())


def looks_like_feed(body: bytes, content_type: str | None) -> bool:
    """Whether fetched bytes are an RSS, Atom, RDF or JSON Feed document (by content, since
    servers label feeds text/xml, text/html or application/octet-stream alike)."""
    head = body[:_SNIFF_BYTES].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"{"):
        try:
            version = json.loads(body).get("version", "")
        except (ValueError, AttributeError, RecursionError):
            return False
        return isinstance(version, str) and version.startswith("https://jsonfeed.org/version/")
    if head.lower().startswith((b"<!doctype html", b"<html")):
        return False
    return _XML_FEED.search(head) is not None


def common_feed_urls(url: str) -> list[str]:
    """`COMMON_PATHS` on `url`'s origin."""
    parts = urlsplit(url)
    origin = f"{parts.scheme}://{parts.netloc}"
    return [origin + path for path in COMMON_PATHS]

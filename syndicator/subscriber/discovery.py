"""WebSub discovery (§4): the hub and the topic (`rel="self"`) a fetched feed advertises.

HTTP `Link` headers win over the document (§4: "Subscribers MUST use the headers when
present"; websub.rocks subscriber test 104). In the document: `<link rel="hub">` of Atom,
`<atom:link rel="hub">` of RSS, `<link rel="hub">` of an HTML page, and a JSON Feed's
`hubs` array. Only the document's head is read (the first `HEAD_BYTES`), with linear
regular expressions: these links sit before the entries, and discovery runs on the
worker's event loop, where a whole-document parse of untrusted bytes must not (the feed
itself is parsed in the parse pool).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

HEAD_BYTES = 64 * 1024

_LINK_TAG = re.compile(rb"<(?:[A-Za-z][\w.-]*:)?link\b([^<>]{0,2000}?)/?>", re.IGNORECASE)
_ATTR = re.compile(rb"""([A-Za-z_:][\w:.-]*)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_JSON_HUBS = re.compile(rb'"hubs"\s*:\s*(\[[^\[\]]{0,4000}\])')


@dataclass(frozen=True)
class Discovered:
    """What a feed advertises: its hub and its own canonical URL (`rel=self`), if any;
    `where` says which (`headers` or `document`) for source health and tests."""

    hub: str | None
    self_url: str | None
    where: str = ""


def parse_link_header(value: str) -> list[tuple[str, frozenset[str]]]:
    """`<url>; rel="hub self", <url2>; rel=x` → [(url, {rels})] (RFC 8288, enough of it)."""
    out: list[tuple[str, frozenset[str]]] = []
    for match in re.finditer(r"<([^>]*)>((?:\s*;\s*[^;,]+)*)", value):
        url, params = match.group(1).strip(), match.group(2)
        rels: set[str] = set()
        for param in params.split(";"):
            name, _, raw = param.partition("=")
            if name.strip().lower() == "rel":
                rels.update(raw.strip().strip('"').lower().split())
        out.append((url, frozenset(rels)))
    return out


def _http_url(url: str | None, base: str) -> str | None:
    """`url` made absolute against `base`, if it is http(s); anything else is no link."""
    if not url:
        return None
    absolute = urljoin(base, url.strip())
    parts = urlsplit(absolute)
    return absolute if parts.scheme in ("http", "https") and parts.hostname else None


def from_headers(headers: dict[str, str], base: str) -> Discovered:
    """The hub and self links of the HTTP `Link` header (repeats joined by ", ")."""
    hub = self_url = None
    for url, rels in parse_link_header(headers.get("link", "")):
        if "hub" in rels and hub is None:
            hub = _http_url(url, base)
        if "self" in rels and self_url is None:
            self_url = _http_url(url, base)
    return Discovered(hub, self_url, "headers" if hub else "")


def from_document(body: bytes, base: str) -> Discovered:
    """The hub and self links in the head of an XML/HTML document or a JSON Feed."""
    head = body[:HEAD_BYTES]
    if head.lstrip()[:1] == b"{":
        return _from_json(head, base)
    hub = self_url = None
    for tag in _LINK_TAG.finditer(head):
        attrs = {
            name.lower().split(b":")[-1]: (double if double is not None else single)
            for name, double, single in (m.groups() for m in _ATTR.finditer(tag.group(1)))
        }
        rels = (attrs.get(b"rel") or b"").decode("utf-8", "replace").lower().split()
        href = (attrs.get(b"href") or b"").decode("utf-8", "replace")
        href = href.replace("&amp;", "&")
        if "hub" in rels and hub is None:
            hub = _http_url(href, base)
        if "self" in rels and self_url is None:
            self_url = _http_url(href, base)
    return Discovered(hub, self_url, "document" if hub else "")


def _from_json(head: bytes, base: str) -> Discovered:
    hub = None
    match = _JSON_HUBS.search(head)
    if match:
        try:
            hubs = json.loads(match.group(1))
        except ValueError:
            hubs = []
        for entry in hubs if isinstance(hubs, list) else []:
            if isinstance(entry, dict) and str(entry.get("type", "")).lower() == "websub":
                hub = _http_url(str(entry.get("url", "")), base)
                if hub:
                    break
    feed_url = re.search(rb'"feed_url"\s*:\s*"([^"\\]{1,2000})"', head)
    self_url = _http_url(feed_url.group(1).decode("utf-8", "replace"), base) if feed_url else None
    return Discovered(hub, self_url, "document" if hub else "")


def discover(headers: dict[str, str], body: bytes, url: str) -> Discovered:
    """Hub and self of a fetched feed at `url` (its final URL after redirects): the headers'
    when they name a hub (their self too, else the document's), else the document's.
    A missing self is the fetched URL (§4: the topic is the URL the feed was fetched at)."""
    header = from_headers(headers, url)
    document = from_document(body, url)
    if header.hub:
        return Discovered(header.hub, header.self_url or document.self_url or url, "headers")
    if document.hub:
        return Discovered(document.hub, document.self_url or header.self_url or url, "document")
    return Discovered(None, None)

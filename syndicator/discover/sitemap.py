"""Sitemaps → article URLs with their lastmod, and child sitemaps of a sitemap index.

Reads the sitemaps.org protocol (<urlset>, <sitemapindex>) and Google News sitemaps
(<news:news> with publication date and title), plain or gzip-compressed, with or without
the standard namespace (many generators forget it).

Sitemaps are untrusted XML, so the parser never resolves entities, never loads a DTD and
never touches the network, and a document that declares entities is refused outright:
a sitemap has no use for them, and refusing names the attack instead of half-reading it.
The gzip stream is decompressed with a cap, so a small bomb cannot fill memory.
"""

from __future__ import annotations

import logging
import re
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

from lxml import etree

from syndicator.normalise import NormaliseError, canonical_url
from syndicator.redact import redact_url

from .listing import DiscoverError

log = logging.getLogger(__name__)

MAX_UNCOMPRESSED = 50 * 1024 * 1024  # the protocol's own limit for one sitemap file
_GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True)
class DiscoveredLink:
    url: str  # absolute, canonical (syndicator.normalise.canonical_url)
    lastmod: datetime | None = None  # <lastmod>, else <news:publication_date>; aware UTC
    title: str | None = None  # <news:title>


@dataclass(frozen=True)
class SitemapDocument:
    links: tuple[DiscoveredLink, ...]  # <urlset> entries (incl. Google News sitemaps)
    sitemaps: tuple[DiscoveredLink, ...]  # <sitemapindex> children


# W3C Datetime (the profile of ISO 8601 sitemaps use): YYYY, YYYY-MM, YYYY-MM-DD, and
# YYYY-MM-DDThh:mm[:ss[.s]]TZD. Real sitemaps also write a space for T and omit the zone;
# a missing zone is read as UTC, a date alone as midnight UTC.
_W3C_DATE = re.compile(
    r"(?P<y>\d{4})(?:-(?P<m>\d\d)(?:-(?P<d>\d\d)"
    r"(?:[T ](?P<H>\d\d):(?P<M>\d\d)(?::(?P<S>\d\d)(?:[.,](?P<f>\d+))?)?"
    r"\s*(?P<tz>Z|[+-]\d\d:?\d\d)?)?)?)?"
)


def parse_w3c_datetime(value: str) -> datetime | None:
    """An aware UTC datetime from a W3C Datetime string, or None when it is not one."""
    match = _W3C_DATE.fullmatch(value.strip())
    if not match:
        return None
    g = match.groupdict()
    tz: timezone = UTC
    if g["tz"] and g["tz"] != "Z":
        sign = -1 if g["tz"][0] == "-" else 1
        digits = g["tz"][1:].replace(":", "")
        tz = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    try:
        moment = datetime(
            int(g["y"]),
            int(g["m"] or 1),
            int(g["d"] or 1),
            int(g["H"] or 0),
            int(g["M"] or 0),
            int(g["S"] or 0),
            int((g["f"] or "0")[:6].ljust(6, "0")),
            tzinfo=tz,
        )
    except ValueError:  # 2024-02-30, 25:00, offsets of a day or more
        return None
    return moment.astimezone(UTC)


def _decompress(body: bytes) -> bytes:
    stream = zlib.decompressobj(wbits=31)  # 31: gzip header and trailer
    try:
        data = stream.decompress(body, MAX_UNCOMPRESSED)
    except zlib.error as exc:
        raise DiscoverError(f"sitemap is not valid gzip: {exc}") from exc
    if stream.unconsumed_tail:
        raise DiscoverError(f"gzip sitemap expands beyond {MAX_UNCOMPRESSED} bytes; refused")
    return data


def _parse_xml(body: bytes) -> etree._Element:
    # resolve_entities=False + load_dtd=False + no_network: no XXE, no external fetches;
    # huge_tree=False keeps libxml2's own depth and size limits.
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False, dtd_validation=False
    )
    if b"<!ENTITY" in body:  # checked before libxml2 sees it; the DTD check below covers UTF-16
        raise DiscoverError("sitemap declares XML entities; refused (entity expansion or XXE attempt?)")
    try:
        root = etree.fromstring(body.lstrip(), parser)
    except etree.XMLSyntaxError as exc:
        raise DiscoverError(f"sitemap is not well-formed XML: {exc}") from exc
    dtd = root.getroottree().docinfo.internalDTD
    if dtd is not None and any(True for _ in dtd.iterentities()):
        raise DiscoverError("sitemap declares XML entities; refused (entity expansion or XXE attempt?)")
    return root


def _local(el: etree._Element) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def _child_text(el: etree._Element, name: str) -> str | None:
    for child in el:
        if _local(child) == name:
            text = "".join(child.itertext()).strip()
            return text or None
    return None


def _entry(el: etree._Element, base: str) -> DiscoveredLink | None:
    """One <url> or <sitemap> element; None (logged) when its <loc> is not an http(s) URL."""
    loc = _child_text(el, "loc")
    if loc is None:
        log.warning("sitemap %s: <%s> without <loc> skipped", redact_url(base), _local(el))
        return None
    try:
        url = canonical_url(loc)
    except NormaliseError as exc:
        log.warning("sitemap %s: entry skipped: %s", redact_url(base), exc)
        return None
    lastmod = _date(_child_text(el, "lastmod"), base)
    title = None
    news = next((c for c in el if _local(c) == "news"), None)
    if news is not None:
        title = _child_text(news, "title")
        if lastmod is None:
            lastmod = _date(_child_text(news, "publication_date"), base)
    return DiscoveredLink(url=url, lastmod=lastmod, title=title)


def _date(raw: str | None, base: str) -> datetime | None:
    if raw is None:
        return None
    parsed = parse_w3c_datetime(raw)
    if parsed is None:
        log.warning("sitemap %s: unreadable date %r ignored", redact_url(base), raw)
    return parsed


def parse_sitemap(body: bytes, url: str, *, max_links: int = 50_000) -> SitemapDocument:
    """Read a sitemap, sitemap index or Google News sitemap (gzip-compressed or not).

    Keeps at most `max_links` entries, in document order. Entries whose <loc> is not an
    absolute http(s) URL are skipped and logged. Raises DiscoverError for an empty, malformed
    or non-sitemap document and for one that declares entities.
    """
    if max_links < 0:
        raise DiscoverError(f"max_links must be >= 0, not {max_links}")
    if body.startswith(_GZIP_MAGIC):
        body = _decompress(body)
    if not body.strip():
        raise DiscoverError(f"sitemap {url} is empty")
    root = _parse_xml(body)
    kind = _local(root)
    if kind not in ("urlset", "sitemapindex"):
        raise DiscoverError(f"{url} is not a sitemap: root element is <{kind}>, not <urlset>/<sitemapindex>")
    child_name = "url" if kind == "urlset" else "sitemap"
    entries: list[DiscoveredLink] = []
    for el in root:
        if _local(el) != child_name:
            continue
        if len(entries) >= max_links:
            log.warning("sitemap %s: more than %d entries; the rest are ignored", redact_url(url), max_links)
            break
        if (entry := _entry(el, url)) is not None:
            entries.append(entry)
    if kind == "urlset":
        return SitemapDocument(links=tuple(entries), sitemaps=())
    return SitemapDocument(links=(), sitemaps=tuple(entries))

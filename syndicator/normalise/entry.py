"""ParsedEntry → Article: the one place where an upstream item becomes our record.

Pure: no I/O, no clock (the caller passes `fetched_at`), so the same entry fetched twice
gives the same Article apart from the fetch-time fields the store reconciles.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from ..models import Article, Enclosure, ParsedEntry, Source, Upstream
from .dates import parse_date
from .errors import NormaliseError
from .ids import article_id
from .images import content_images, image_enclosure
from .sanitise import sanitise_html
from .text import (
    cap_title,
    clean_title,
    collapse_whitespace,
    sanitised_text_start,
    strip_xml_illegal,
    summarise,
    text_start,
)
from .urls import absolute_url, canonical_url

FUTURE_TOLERANCE = timedelta(minutes=10)  # clock skew we forgive before calling a date bogus
SUMMARY_CHARS = 280  # `summarise`'s default: an Article's summary
TITLE_FROM_SUMMARY_CHARS = 80
UNTITLED = "(untitled)"
# An id Atom can carry (an IRI: a scheme, then no spaces). Not `file:`: a sample feed's
# local path is nobody's business and identifies nothing outside this machine.
_IRI = re.compile(r"(?!file:)[a-z][a-z0-9+.-]*:\S+", re.IGNORECASE)


def _canonical_or_none(url: str | None, base: str | None) -> str | None:
    """The canonical http(s) URL, or None when there is no usable link (javascript:, …)."""
    if not url or not url.strip():
        return None
    try:
        return canonical_url(url, base)
    except NormaliseError:
        return None


def _text_or_none(raw: str | None) -> str | None:
    text = collapse_whitespace(strip_xml_illegal(raw)) if raw else ""
    return text or None


def _tags(raw: tuple[str, ...]) -> tuple[str, ...]:
    """Stripped, XML-safe, deduplicated case-insensitively (first spelling wins)."""
    seen: dict[str, str] = {}
    for tag in raw:
        text = clean_title(tag) if tag else ""
        if text and text.casefold() not in seen:
            seen[text.casefold()] = text
    return tuple(seen.values())


def _enclosures(raw: tuple[Enclosure, ...], base: str | None) -> tuple[Enclosure, ...]:
    """Absolute http(s) enclosures, first of each URL kept; others are not media we can link."""
    kept: dict[str, Enclosure] = {}
    for enclosure in raw:
        try:
            url = absolute_url(enclosure.url, base)
        except NormaliseError:
            continue
        if url not in kept:
            kind = collapse_whitespace(strip_xml_illegal(enclosure.type or ""))
            kept[url] = Enclosure(url=url, type=kind, length=max(0, enclosure.length or 0))
    return tuple(kept.values())


def _upstream(raw: Upstream | None) -> Upstream | None:
    """The upstream feed with clean text, an http(s) link and an IRI id; None if nothing is left."""
    if raw is None:
        return None
    link = _canonical_or_none(raw.link, None)
    ident = _text_or_none(raw.id)
    upstream = Upstream(
        title=cap_title(clean_title(raw.title or "")),
        id=ident if ident and _IRI.fullmatch(ident) else None,
        link=link,
        author=_author(raw.author),
    )
    return upstream if upstream != Upstream() else None


def _author(raw: str | None) -> str | None:
    return _text_or_none(clean_title(raw)) if raw else None


def _images(content_html: str, base: str, enclosures: tuple[Enclosure, ...]) -> tuple[Enclosure, ...]:
    """The content's images that the upstream did not already declare as enclosures."""
    declared = {e.url for e in enclosures}
    return tuple(
        image_enclosure(image) for image in content_images(content_html, base) if image.src not in declared
    )


def _dates(entry: ParsedEntry, tz: str, fetched_at: datetime) -> tuple[datetime, datetime, bool]:
    """(published, updated, estimated): future or missing dates become the fetch time."""
    latest = fetched_at + FUTURE_TOLERANCE

    def usable(raw: str | None) -> datetime | None:
        parsed = parse_date(raw, tz, now=fetched_at)
        return parsed if parsed is not None and parsed <= latest else None

    published_date = usable(entry.published_raw)
    updated_date = usable(entry.updated_raw)
    published = published_date or updated_date
    estimated = published is None
    if published is None:
        published = fetched_at
    updated = max(updated_date or published, published)
    return published, updated, estimated


def normalise_entry(
    entry: ParsedEntry,
    source: Source,
    *,
    feed_url: str,
    fetched_at: datetime,
    categories: tuple[str, ...],
) -> Article:
    """The normalised Article for one upstream entry.

    Raises NormaliseError when the entry cannot be identified (no guid and no http(s) link),
    has no http(s) link (neither `link` nor an http(s) guid), when `fetched_at` is naive,
    or when the source's time zone is unknown.
    """
    if fetched_at.tzinfo is None or fetched_at.utcoffset() is None:
        raise NormaliseError(f"fetched_at must be timezone-aware, got {fetched_at!r}")
    fetched_at = fetched_at.astimezone(UTC)
    base = entry.base_url or feed_url

    guid = _text_or_none(entry.guid)
    url = _canonical_or_none(entry.link, base)
    if url is None and guid is not None and guid.lower().startswith(("http://", "https://")):
        url = _canonical_or_none(guid, None)
    ident = article_id(source.id, guid, url)
    if url is None:
        # Every renderer needs an http(s) link per item (and rejects the whole feed without
        # one), so an identifiable entry without a usable link is still not an Article.
        raise NormaliseError(
            f"entry {guid!r} from source {source.id!r} has no http(s) link "
            f"(link {entry.link!r}, base {base!r})"
        )

    content_html = sanitise_html(entry.content_html or entry.summary_html, base)
    # Only the start of the text is read (a summary, or a title from it): `text_start`
    # parses only as much of a long article as that needs, once for both.
    summary_text = text_start(entry.summary_html, SUMMARY_CHARS) if entry.summary_html else ""
    text = summary_text or sanitised_text_start(content_html, SUMMARY_CHARS)
    summary = summarise(text, SUMMARY_CHARS)

    title = clean_title(entry.title or "")
    if not title:
        title = summarise(text, TITLE_FROM_SUMMARY_CHARS)
    title = cap_title(title or UNTITLED)

    published, updated, estimated = _dates(entry, source.timezone, fetched_at)
    published_raw = _text_or_none(entry.published_raw) or _text_or_none(entry.updated_raw)
    upstream = _upstream(entry.upstream)
    # RFC 4287 §4.2.1 (and the RSS/JSON Feed equivalents): an entry without an author of its
    # own has its feed's; readers given ours without it would credit nobody, or our publisher.
    author = _author(entry.author) or (upstream.author if upstream else None)
    tags = _tags(entry.tags)
    enclosures = _enclosures(entry.enclosures, base)

    return Article(
        id=ident,
        source_id=source.id,
        url=url,
        title=title,
        author=author,
        published=published,
        updated=updated,
        published_raw=published_raw,
        date_estimated=estimated,
        content_html=content_html,
        summary=summary,
        categories=tuple(dict.fromkeys(categories)),
        tags=tags,
        guid=guid,
        enclosures=enclosures,
        sources=(source.id,),
        first_seen=fetched_at,
        images=_images(content_html, base, enclosures),
        upstream=upstream,
    ).hashed()

"""ExtractedArticle (an article web page) → Article, the record feeds are built from.

The page's own date, when it has one, is the published time; otherwise the first-seen
time stands in and the record says so (`date_estimated`), and the store keeps that first
time on every later visit.
"""

from __future__ import annotations

from datetime import UTC, datetime

from syndicator.models import Article, ExtractedArticle, Source
from syndicator.normalise.ids import article_id
from syndicator.normalise.images import image_enclosure
from syndicator.normalise.text import cap_title, strip_xml_illegal


def published_raw(page: ExtractedArticle) -> str | None:
    """The page date as read: `2023-11-23` for date precision, the full instant otherwise."""
    if page.published is None:
        return None
    if page.published_precision == "date":
        return page.published.date().isoformat()
    return page.published.isoformat()


def normalise_page(
    page: ExtractedArticle, source: Source, *, fetched_at: datetime, categories: tuple[str, ...]
) -> Article:
    fetched_at = fetched_at.astimezone(UTC)
    published = page.published.astimezone(UTC) if page.published else fetched_at
    estimated = page.published is None or published > fetched_at
    if estimated:
        published = fetched_at
    path = "/".join(page.category_path)
    tags = (path,) if path else ()
    enclosures = tuple(image_enclosure(image) for image in page.images)
    author = page.author or page.source
    raw = published_raw(page)
    title = cap_title(strip_xml_illegal(page.title))
    return Article(
        id=article_id(source.id, None, page.url),
        source_id=source.id,
        url=page.url,
        title=title,
        author=author,
        published=published,
        updated=published,
        published_raw=raw,
        date_estimated=estimated,
        content_html=page.content_html,
        summary=page.summary,
        categories=categories,
        tags=tags,
        guid=None,
        enclosures=enclosures,
        sources=(source.id,),
        first_seen=fetched_at,
    ).hashed()

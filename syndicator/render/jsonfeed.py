"""JSON Feed 1.1, written by hand (no maintained generator exists).

Keys whose value would be empty are left out — the schema rejects some nulls and readers
treat "" as a value. Text is cleaned of control characters like the XML formats, so a
reader sees the same item whichever format it subscribes to.
"""

from __future__ import annotations

import json
from typing import Any

from syndicator.models import Article
from syndicator.render.document import (
    FeedDocument,
    advertised_hub,
    clean,
    entry_categories,
    entry_id,
    entry_tags,
    entry_title,
    images,
    media_type,
    related_title,
    rfc3339,
    self_url,
    source_title,
    validate,
    with_also_reported,
)

MEDIA_TYPE = "application/feed+json"
VERSION = "https://jsonfeed.org/version/1.1"

# An attachment must name a type (the schema requires mime_type); this is the honest one
# for a resource whose type neither the upstream nor its URL tells.
_UNKNOWN_TYPE = "application/octet-stream"


def render_json(doc: FeedDocument) -> bytes:
    """The feed as JSON Feed 1.1 bytes (UTF-8, non-ASCII kept as is)."""
    validate(doc, "json")
    feed: dict[str, Any] = {
        "version": VERSION,
        "title": clean(doc.category.title),
        "home_page_url": doc.site_url,
        "feed_url": self_url(doc, "json"),
        "description": doc.description,
        "language": clean(doc.category.language) or "en",
    }
    if hub := advertised_hub(doc):
        feed["hubs"] = [{"type": "WebSub", "url": hub}]
    # Older items (an archive page or the next page): validate() made sure it is not feed_url.
    if "next" in doc.links:
        feed["next_url"] = doc.links["next"]
    feed["items"] = [_item(doc, article) for article in doc.articles]
    text = json.dumps(feed, ensure_ascii=False, indent=2, sort_keys=False)
    return (text + "\n").encode("utf-8")


def _item(doc: FeedDocument, article: Article) -> dict[str, Any]:
    content = clean(article.content_html)
    item: dict[str, Any] = {
        "id": entry_id(article),
        "url": clean(article.url),
        "title": entry_title(article),
        "summary": clean(article.summary).strip(),
        "date_published": rfc3339(article.published),
        "date_modified": rfc3339(article.updated),
    }
    # The schema wants content_html or content_text: fall back to the plain summary.
    if content.strip():
        item["content_html"] = with_also_reported(doc, article, content)
    else:
        item["content_text"] = item["summary"]
    author = clean(article.author).strip()
    if author:
        item["authors"] = [{"name": author}]
    # Labels of our categories, then the upstream's tags: JSON Feed tags are plain strings.
    labels = [label for _, label in entry_categories(doc, article)]
    item["tags"] = list(dict.fromkeys([*labels, *entry_tags(doc, article)]))
    pictures = images(article)
    if pictures:
        item["image"] = clean(pictures[0].url)
    item["attachments"] = [_attachment(e.url, media_type(e), e.length) for e in article.enclosures]
    publisher = source_title(doc, article)
    extra: dict[str, Any] = {"source_title": publisher} if publisher else {}
    if article.related:
        extra["also_reported_by"] = [
            {"url": clean(r.url), "title": clean(r.title), "source": related_title(doc, r)}
            for r in article.related
        ]
        if article.related_more:  # copies beyond the listed ones (models.RELATED_SHOWN)
            extra["also_reported_by_more"] = article.related_more
    if extra:
        item["_syndicator"] = extra
    return {k: v for k, v in item.items() if v or k in ("content_text",)}


def _attachment(url: str, kind: str, length: int) -> dict[str, Any]:
    attachment: dict[str, Any] = {"url": clean(url), "mime_type": kind or _UNKNOWN_TYPE}
    if length > 0:
        attachment["size_in_bytes"] = length
    return attachment

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
    home_url,
    images,
    media_type,
    related_title,
    rfc3339,
    self_url,
    source_title,
    validate,
    with_also_reported,
)
from syndicator.render.reuse import EntryCache

MEDIA_TYPE = "application/feed+json"
VERSION = "https://jsonfeed.org/version/1.1"

# An attachment must name a type (the schema requires mime_type); this is the honest one
# for a resource whose type neither the upstream nor its URL tells.
_UNKNOWN_TYPE = "application/octet-stream"


def render_json(doc: FeedDocument, cache: EntryCache[str] | None = None) -> bytes:
    """The feed as JSON Feed 1.1 bytes (UTF-8, non-ASCII kept as is); `cache` keeps each
    article's item text for the next render (render/reuse.py)."""
    validate(doc, "json")
    feed: dict[str, Any] = {
        "version": VERSION,
        "title": clean(doc.category.title),
        "home_page_url": home_url(doc),
        "feed_url": self_url(doc, "json"),
        "description": doc.description,
        "language": clean(doc.category.language) or "en",
    }
    if hub := advertised_hub(doc):
        feed["hubs"] = [{"type": "WebSub", "url": hub}]
    # Older items (an archive page or the next page): validate() made sure it is not feed_url.
    if "next" in doc.links:
        feed["next_url"] = doc.links["next"]
    feed["items"] = []
    text = json.dumps(feed, ensure_ascii=False, indent=2, sort_keys=False)
    if doc.articles:
        # What json.dumps(feed) writes with the items in it: the items' own text, indented
        # two levels, in the place of the empty list.
        assert text.endswith(_NO_ITEMS)
        context = cache.context(doc) if cache is not None else 0
        items = ",\n    ".join(_item_text(doc, article, cache, context) for article in doc.articles)
        text = f"{text[: -len(_NO_ITEMS)]}[\n    {items}\n  ]\n}}"
    return (text + "\n").encode("utf-8")


_NO_ITEMS = "[]\n}"


def _item_text(doc: FeedDocument, article: Article, cache: EntryCache[str] | None, context: int) -> str:
    """One item as `json.dumps(..., indent=2)` writes it two levels down (inside the feed's
    `items`): its own text with every line after the first indented four more spaces.
    JSON strings hold no raw line breaks (json escapes them), so every newline is one
    the indentation wrote."""
    kept = cache.get(context, article) if cache is not None else None
    if kept is not None:
        return kept
    text = json.dumps(_item(doc, article), ensure_ascii=False, indent=2).replace("\n", "\n    ")
    if cache is not None:
        cache.put(context, article, text)
    return text


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

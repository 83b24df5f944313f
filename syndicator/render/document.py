"""The renderers' input (`FeedDocument`), its validation, and the helpers all formats share.

Everything here is pure: the same document always yields the same values, so the three
renderers produce the same bytes for the same input (the publisher compares bytes to decide
whether a feed changed). Nothing reads the clock; the build date is `FeedDocument.updated`.
"""

from __future__ import annotations

import html
import mimetypes
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import quote, urlsplit

from syndicator.chars import XML_ILLEGAL
from syndicator.errors import SyndicatorError
from syndicator.models import Article, Category, Enclosure, Related

GENERATOR = "Syndicator"

# fmt → file extension of the published feed; the web layer serves feeds/<slug>.<ext>.
EXTENSIONS: dict[str, str] = {"rss": "rss", "atom": "atom", "json": "json"}


class RenderError(SyndicatorError, ValueError):
    """A FeedDocument that cannot be rendered; the message names the field at fault."""


def clean(text: str | None) -> str:
    """Text with every XML-illegal and C1 control character removed.

    Normalise already did this, but feedgen accepts such characters and then crashes while
    serialising (or lxml refuses them), so every string is cleaned again on the way out.
    """
    return XML_ILLEGAL.sub("", text) if text else ""


# Plain text that readers would take for HTML: an end tag or an entity reference. feedparser
# guesses "text/html" for such RSS text and the W3C validator warns "should not contain HTML";
# such text is therefore written as escaped HTML (Atom type="html"), which every reader then
# displays as the original characters.
_HTML_LIKE = re.compile(r"</\w+>|&#?\w+;")


def looks_like_html(text: str) -> bool:
    """True when plain `text` would be read as HTML by a feed reader."""
    return _HTML_LIKE.search(text) is not None


def as_html(text: str) -> str:
    """Plain text as HTML that displays exactly that text."""
    return html.escape(text, quote=False)


def hex_references(body: bytes) -> bytes:
    """`&amp;` → `&#x26;` and `&lt;` → `&#x3C;` in serialised XML: the same characters.

    The RSS Profile asks plain text to encode `&` and `<` as hexadecimal references, and the
    W3C validator warns otherwise. lxml writes neither CDATA nor comments here, so these two
    entity references occur only as escapes in text and attribute values, where a character
    reference means the same thing.
    """
    return body.replace(b"&amp;", b"&#x26;").replace(b"&lt;", b"&#x3C;")


def feed_url(site_url: str, slug: str, fmt: str) -> str:
    """The public URL of one feed: `{site_url}feeds/{slug}.{ext}`.

    The slug is percent-encoded (keeping its `/` separators) so the result is a valid URI
    even for non-ASCII slugs — JSON Feed's schema checks `feed_url` as a URI.
    """
    try:
        ext = EXTENSIONS[fmt]
    except KeyError:
        raise RenderError(f"unknown feed format {fmt!r}; expected one of rss, atom, json") from None
    _check_site_url(site_url)
    if not slug or slug.startswith("/") or slug.endswith("/"):
        raise RenderError(f"category slug {slug!r} must be non-empty without leading/trailing '/'")
    return f"{site_url}feeds/{quote(slug, safe='/')}.{ext}"


def hub_url(site_url: str) -> str:
    """The URL of our WebSub hub (POST /hub), which every feed advertises (`rel="hub"`)."""
    return f"{site_url}hub"


def advertised_hub(doc: FeedDocument) -> str | None:
    """The hub a document names, or None for an archive page: an archive never changes,
    so it is no topic (the hub refuses it) and advertising a hub there would mislead."""
    return None if doc.archive else hub_url(doc.site_url)


def _check_site_url(site_url: str) -> None:
    parts = urlsplit(site_url)
    if parts.scheme not in ("http", "https") or not parts.netloc or not site_url.endswith("/"):
        raise RenderError(f"site_url {site_url!r} must be an absolute http(s) URL ending in '/'")


@dataclass(frozen=True)
class FeedDocument:
    """One version of one category's feed, as every format renders it.

    `articles` are already in feed order (store.articles.order_key) and are rendered in
    exactly this order.
    """

    category: Category
    articles: tuple[Article, ...]
    site_url: str
    updated: datetime
    ttl_minutes: int = 60
    source_titles: dict[str, str] = field(default_factory=dict)
    # The URL this document is served at (rel=self, Atom id, JSON feed_url), when it is not
    # the plain feed_url(site_url, slug, fmt): filtered/combined variants and archive pages.
    self_url: str | None = None
    # Extra link relations (RFC 5005 "prev-archive", "next-archive", "current"; "first",
    # "last"; "next" = JSON Feed next_url). Written in a fixed order, so bytes stay stable.
    links: dict[str, str] = field(default_factory=dict)
    # RFC 5005 archive document marker: <fh:archive/> in RSS and Atom.
    archive: bool = False
    # What readers see for each category slug (Config.category_labels()); a slug missing
    # here shows as itself.
    category_labels: dict[str, str] = field(default_factory=dict)
    # The feed's publisher (`server.publisher`): the Atom feed-level <author>. Empty: the
    # host of `site_url` (see `publisher`).
    publisher: str = ""

    @property
    def description(self) -> str:
        """The category description, or its title when it has none (RSS requires one)."""
        return clean(self.category.description).strip() or clean(self.category.title)


# RFC 5005 link relations, in the order they are written (a fixed order keeps bytes stable).
# "next" is JSON Feed's `next_url` only: RSS/Atom express older pages with prev-archive, and
# RFC 5005 paged-feed "next" must not be mixed into an archived feed.
XML_RELATIONS = ("current", "first", "last", "prev-archive", "next-archive")
RELATIONS = (*XML_RELATIONS, "next")


def self_url(doc: FeedDocument, fmt: str) -> str:
    """The URL the document is served at: `doc.self_url` if given, else the plain feed URL."""
    return doc.self_url or feed_url(doc.site_url, doc.category.slug, fmt)


def validate(doc: FeedDocument, fmt: str) -> None:
    """Reject a document that would render into an invalid or misleading `fmt` feed."""
    if not clean(doc.category.title).strip():
        raise RenderError(f"category {doc.category.slug!r} has an empty title")
    _check_site_url(doc.site_url)
    feed_url(doc.site_url, doc.category.slug, "rss")
    if doc.self_url is not None:
        _check_link("self_url", doc.self_url)
    own = self_url(doc, fmt)
    for rel, href in doc.links.items():
        if rel not in RELATIONS:
            raise RenderError(f"links: unknown relation {rel!r}; expected one of {', '.join(RELATIONS)}")
        _check_link(f"links[{rel!r}]", href)
        if href == own:
            # A reader following it would loop (JSON Feed: next_url must differ from feed_url).
            raise RenderError(f"links[{rel!r}] is the document's own URL {own!r}")
    _check_aware(doc.updated, "FeedDocument.updated")
    if doc.ttl_minutes < 1:
        raise RenderError(f"ttl_minutes must be at least 1, got {doc.ttl_minutes}")
    seen: set[str] = set()
    for article in doc.articles:
        guid = entry_id(article)
        if guid in seen:
            raise RenderError(f"article {article.id!r} appears twice in the feed")
        seen.add(guid)
        _check_aware(article.published, f"article {article.id!r}: published")
        _check_aware(article.updated, f"article {article.id!r}: updated")
        if urlsplit(article.url).scheme not in ("http", "https"):
            raise RenderError(f"article {article.id!r}: url {article.url!r} is not http(s)")


def _check_link(what: str, href: str) -> None:
    parts = urlsplit(href)
    if parts.scheme not in ("http", "https") or not parts.netloc or clean(href) != href or " " in href:
        raise RenderError(f"{what} {href!r} is not an absolute http(s) URL")


def _check_aware(value: datetime, what: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise RenderError(f"{what} is a naive datetime; renderers need tz-aware times")


def utc(value: datetime) -> datetime:
    """The time in UTC to whole seconds: every format shows the same instant the same way."""
    return value.astimezone(UTC).replace(microsecond=0)


def rfc3339(value: datetime) -> str:
    """`2024-05-01T08:30:00Z`: RFC 3339 as JSON Feed wants it."""
    return utc(value).strftime("%Y-%m-%dT%H:%M:%SZ")


def entry_id(article: Article) -> str:
    """The item's permanent id: `urn:uuid:<article id>`."""
    try:
        return f"urn:uuid:{uuid.UUID(article.id)}"
    except ValueError:
        raise RenderError(f"article id {article.id!r} is not a UUID") from None


def entry_title(article: Article) -> str:
    """The title, or — for untitled upstream items — the start of the summary, else the URL.

    Atom requires a non-empty title and RSS items need a title or description; a reader's
    list view is useless with blank rows.
    """
    title = clean(article.title).strip()
    if title:
        return title
    summary = clean(article.summary).strip()
    return summary[:80] if summary else clean(article.url)


def publisher(doc: FeedDocument) -> str:
    """Who publishes this feed: `server.publisher`, else the host (and port) of the site URL.

    Atom's feed-level `<author>`, which every entry without an author of its own (and without
    an upstream `<source>` naming one) inherits: so it names us, never a category.
    """
    name = clean(doc.publisher).strip()
    if name:
        return name
    parts = urlsplit(doc.site_url)
    return f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)


def categories_scheme(doc: FeedDocument) -> str:
    """The scheme/domain our category terms belong to: `{site_url}categories`."""
    return f"{doc.site_url}categories"


def entry_categories(doc: FeedDocument, article: Article) -> list[tuple[str, str]]:
    """The article's categories of ours as (slug, label), in order, without blanks or repeats.

    The label (`情感/故事`) is what a reader sees; the slug (`qinggan/gushi`) is the term
    where a format has room for both (Atom).
    """
    found: dict[str, str] = {}
    for raw in article.categories:
        slug = clean(raw).strip()
        if slug and slug not in found:
            found[slug] = clean(doc.category_labels.get(slug, slug)).strip() or slug
    return list(found.items())


def entry_tags(doc: FeedDocument, article: Article) -> list[str]:
    """The upstream's own tags, cleaned, without blanks or repeats, in their original order;
    a tag that names one of the article's categories (slug or label) is already shown."""
    shown = {name for pair in entry_categories(doc, article) for name in pair}
    tags = (tag for raw in article.tags if (tag := clean(raw).strip()) and tag not in shown)
    return list(dict.fromkeys(tags))


def media_type(enclosure: Enclosure) -> str:
    """The declared type, else one guessed from the URL's extension, else ''."""
    declared = clean(enclosure.type).strip().lower()
    if declared:
        return declared
    guessed, _ = mimetypes.guess_type(urlsplit(enclosure.url).path)
    return guessed or ""


def images(article: Article) -> list[Enclosure]:
    """Every image of the article, each URL once: its image enclosures (declared or guessed
    `image/*`) in order, then the images of its content that no enclosure lists."""
    found: dict[str, Enclosure] = {}
    for enclosure in (*article.enclosures, *article.images):
        if media_type(enclosure).startswith("image/"):
            found.setdefault(enclosure.url, enclosure)
    return list(found.values())


def rss_enclosure(article: Article) -> Enclosure | None:
    """The one enclosure RSS may carry: the first with a known length and type."""
    for enclosure in article.enclosures:
        if enclosure.length > 0 and media_type(enclosure):
            return enclosure
    return None


def source_title(doc: FeedDocument, article: Article) -> str:
    """The title of the article's source, if the publisher supplied one."""
    return clean(doc.source_titles.get(article.source_id, "")).strip()


def related_title(doc: FeedDocument, related: Related) -> str:
    """Who also reported an article: its source's title (the config's, else the copy's
    source's own name as stored), else the source id."""
    own = clean(doc.source_titles.get(related.source_id, "")).strip()
    return own or clean(related.source_title).strip() or related.source_id


def with_also_reported(doc: FeedDocument, article: Article, content: str) -> str:
    """`content` with a short "Also reported by" line naming the near-duplicates that
    joined the article's cluster (process/cluster.py), "… and N more" for those beyond the
    listed `RELATED_SHOWN` (models.py). Added when rendering, never stored:
    the content hash, and so `updated`, does not move when a copy joins."""
    if not article.related:
        return content
    links = ", ".join(
        f'<a href="{html.escape(clean(r.url))}">{html.escape(related_title(doc, r), quote=False)}</a>'
        for r in article.related
    )
    if article.related_more:
        links = f"{links} and {article.related_more} more"
    return f'{content}<p class="also-reported-by">Also reported by: {links}</p>'

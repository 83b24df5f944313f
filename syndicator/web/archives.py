"""GET/HEAD /archive/{slug}/{n}.{rss|atom|json}: RFC 5005 archive documents.

Page n of a category (n = 1 is the oldest) holds the items numbered [(n-1)·P+1, n·P]
(see syndicator/store/archive.py); only complete pages exist. An archive document is
stable, so it is served with `Cache-Control: public, max-age=2592000` (30 days).

Answers:
- 200 with the page (items newest first, `fh:archive`, rel=current/prev-archive/
  next-archive; JSON: next_url = page n-1), through the same `respond` as every feed
  (If-None-Match / If-Modified-Since → 304, HEAD, gzip/br from Accept-Encoding);
- 404 for a page that is not an archive (n < 1, not yet complete, not a plain decimal
  number, unknown category or format) — the message says which pages exist;
- 410 Gone when retention removed every item the page held.

Validators: the ETag names the page and the digest of its rendered bytes
(`"a{n}-{fmt}-{digest16}"`, plus `-gzip`/`-br`), so any web process gives the same one;
Last-Modified is the newest `updated` among the page's items. A page is rendered and
compressed once per (slug, n, format, digest of its stored records, whether page n+1
exists) in a bounded in-process RenderCache, never once per request.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from aiohttp import web

from syndicator.render import FORMATS, FeedDocument
from syndicator.render.document import utc
from syndicator.runtime import Runtime
from syndicator.store.archive import (
    ArchiveError,
    ArchiveState,
    archive_links,
    archive_state,
    archive_url,
    page_members,
)
from syndicator.store.articles import in_feed_order
from syndicator.store.atomic import get_many
from syndicator.store.codec import article_from_json
from syndicator.store.feeds import compress, content_digest
from syndicator.web.cache import RenderCache
from syndicator.web.errors import feed_route
from syndicator.web.feeds import RUNTIME
from syndicator.web.negotiation import choose_coding
from syndicator.web.representation import Representation, Validators, error_response, respond
from syndicator.web.target import EXTENSIONS, UnknownCategory, unknown_category_response

ARCHIVE_MAX_AGE = 30 * 24 * 3600
CACHE_CONTROL = f"public, max-age={ARCHIVE_MAX_AGE}"
CACHE_ENTRIES = 256
CACHE_BYTES = 32 * 1024 * 1024

ARCHIVE_CACHE = web.AppKey("archive_cache", RenderCache)


@dataclass(frozen=True)
class ArchivePage:
    """One rendered archive document in every content coding."""

    bodies: dict[str, bytes]
    media_type: str
    etag_base: str
    last_modified: datetime

    def etag(self, coding: str) -> str:
        suffix = "" if coding == "identity" else f"-{coding}"
        return f'"{self.etag_base}{suffix}"'


def install(app: web.Application) -> None:
    """Add the archive route and its render cache to `app`."""
    app[ARCHIVE_CACHE] = RenderCache(CACHE_ENTRIES, CACHE_BYTES)
    # Kept and replayed while Redis is down, like variants and deltas (lastgood.py).
    app.router.add_get("/archive/{path:.+}", feed_route(serve_archive))


def parse_archive_path(runtime: Runtime, path: str) -> tuple[str, int, str]:
    """`tech/python/3.atom` → ("tech/python", 3, "atom"); ArchiveError says what is wrong."""
    slug, slash, leaf = path.rpartition("/")
    number, dot, ext = leaf.rpartition(".")
    if not slash or not dot or ext not in EXTENSIONS:
        raise ArchiveError(
            f"{path!r} is not an archive page: use /archive/{{category}}/{{n}}.rss, .atom or .json"
        )
    if slug not in runtime.config.categories:
        raise UnknownCategory(runtime, slug)
    # Only the canonical spelling (1, 2, … — no sign, no leading zero), so one page has one URL.
    if not (number.isascii() and number.isdigit()) or number != str(int(number)):
        raise ArchiveError(f"archive page number {number!r} is not a positive whole number")
    return slug, int(number), ext


def render_page(runtime: Runtime, state: ArchiveState, n: int, fmt: str, raws: list[bytes]) -> ArchivePage:
    """Render archive page `n` from its stored records (pure but for the config it reads)."""
    category = runtime.config.categories[state.slug]
    articles = in_feed_order(article_from_json(raw)[0] for raw in raws)
    updated = utc(max(a.updated for a in articles))  # whole seconds: If-Modified-Since works
    document = FeedDocument(
        category=category,
        articles=tuple(articles),
        site_url=runtime.site_url,
        updated=updated,
        ttl_minutes=ARCHIVE_MAX_AGE // 60,
        source_titles={s.id: s.title for s in runtime.config.sources.values() if s.title},
        category_labels=runtime.config.category_labels(),
        publisher=runtime.config.settings.publisher or "",
        self_url=archive_url(runtime.site_url, state.slug, n, fmt),
        links=archive_links(runtime.site_url, state, n, fmt),
        archive=True,
    )
    renderer = FORMATS[fmt]
    body = renderer.render(document)
    return ArchivePage(
        bodies=compress(body),
        media_type=renderer.media_type,
        etag_base=f"a{n}-{fmt}-{content_digest(body)[:16]}",
        last_modified=document.updated,
    )


async def serve_archive(request: web.Request) -> web.StreamResponse:
    runtime = request.app[RUNTIME]
    try:
        slug, n, fmt = parse_archive_path(runtime, request.match_info["path"])
        state = await archive_state(
            runtime.redis, runtime.keys, slug, runtime.config.categories[slug].items_per_feed
        )
        ids = await page_members(runtime.redis, runtime.keys, state, n)
    except UnknownCategory as exc:
        return await unknown_category_response(runtime, exc)
    except ArchiveError as exc:
        return error_response(404, str(exc))
    raws = (
        [raw for raw in await get_many(runtime.redis, [runtime.keys.article(i) for i in ids]) if raw]
        if ids
        else []
    )
    if not raws:
        return error_response(
            410,
            f"archive page {n} of {slug!r} is gone: retention removed every item it held; {state.describe()}",
        )
    records = hashlib.sha256(b"\0".join(raws)).hexdigest()
    # The base URL too: a reload of public_url must not serve a page rendered for the old one.
    key = ("archive", runtime.site_url, slug, state.per_page, n, fmt, n < state.complete_pages, records)
    cache = request.app[ARCHIVE_CACHE]
    page: ArchivePage | None = cache.get(key)
    if page is None:
        page = render_page(runtime, state, n, fmt, raws)
        cache.put(key, page, sum(len(b) for b in page.bodies.values()))
    coding = choose_coding(request.headers.get("Accept-Encoding"))
    return respond(
        request,
        Representation(
            validators=Validators(page.etag(coding), page.last_modified),
            media_type=page.media_type,
            coding=coding,
            self_url=archive_url(runtime.site_url, slug, n, fmt),
            cache_control=CACHE_CONTROL,
            body=page.bodies[coding],
        ),
    )

"""GET/HEAD /categories/{slug}/: a category's page for people.

A browser cannot show a feed: it downloads `application/rss+xml`, and client-side XSLT
(`<?xml-stylesheet?>`) is being removed from Chromium. So every category gets an HTML page
that the feeds' home page links (RSS `<link>`, Atom `rel="alternate"`, JSON Feed
`home_page_url`) point to: its title, its latest items (title, date, source, summary and
"also reported by"), the addresses of its three feeds as fields to copy, autodiscovery
`<link rel="alternate">` tags, and links to its parent and child categories.

The items are read from the category's published JSON Feed (through the same two-level
cache as the feeds), so the page shows exactly what readers get and costs no extra Redis
work. The page is plain HTML with our own stylesheet and is complete without script; a
small script of ours adds one-click copy buttons. Nothing inline, so the strict
`CONTENT_SECURITY_POLICY` holds. The page's language (and its few fixed words) follow
the category's `language`.

A former slug (`aliases`) answers 301 to the current page; a removed category that was
published answers 410 (web/target.py).
"""

from __future__ import annotations

import hashlib
import html
import json
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from typing import Any
from urllib.parse import quote, urlsplit

from aiohttp import web

from syndicator.models import ALL_CATEGORY, Category
from syndicator.render import feed_url, page_url
from syndicator.runtime import Runtime
from syndicator.store.feeds import StoredFeed
from syndicator.web.errors import guarded
from syndicator.web.feeds import FEED_CACHE, RUNTIME
from syndicator.web.pages import FORMAT_LABELS
from syndicator.web.representation import Validators, is_not_modified
from syndicator.web.target import UnknownCategory, resolve_slug, unknown_category_response

# No inline script or style, nothing from elsewhere: only our stylesheet and script.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
PAGE_HEADERS: dict[str, str] = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
CACHE_CONTROL = "public, max-age=60"

# name → content type: the only files served (no path from the request reaches the disk).
STATIC_FILES: dict[str, str] = {
    "category.css": "text/css; charset=utf-8",
    "category.js": "text/javascript; charset=utf-8",
}


@dataclass(frozen=True)
class Words:
    """The page's fixed words in one language."""

    subscribe: str
    feed_line: str
    copy: str
    copied: str
    latest: str
    nothing_yet: str
    also_reported_by: str
    more: str  # "{n}" is the number of further copies
    part_of: str
    subcategories: str
    all_categories: str
    colon: str


ENGLISH = Words(
    subscribe="Subscribe",
    feed_line="This is a feed — copy its address into your reader.",
    copy="Copy",
    copied="Copied",
    latest="Latest articles",
    nothing_yet="No articles yet.",
    also_reported_by="Also reported by",
    more="and {n} more",
    part_of="Part of",
    subcategories="Subcategories",
    all_categories="All categories",
    colon=": ",
)
CHINESE = Words(
    subscribe="订阅",
    feed_line="这是一个订阅源——把它的地址复制到你的阅读器里。",
    copy="复制",
    copied="已复制",
    latest="最新文章",
    nothing_yet="还没有文章。",
    also_reported_by="其他来源的报道",
    more="另有 {n} 篇",
    part_of="上级分类",
    subcategories="子分类",
    all_categories="全部分类",
    colon="：",
)


def words_for(language: str) -> Words:
    """Chinese for a `zh…` category, English for every other language."""
    return CHINESE if language.split("-")[0].lower() == "zh" else ENGLISH


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _root(site_url: str) -> str:
    """The site's path (`/` or `/prefix/`): our static files are same-origin paths under it,
    so `'self'` in the CSP allows them whatever host the public URL names."""
    return urlsplit(site_url).path or "/"


def _date(value: str) -> str:
    """`2026-11-30T14:05:00Z` → `2026-11-30 14:05 UTC` (unchanged when not RFC 3339)."""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment.utcoffset() is not None else value


def _link(url: object, text: str, title: str = "") -> str:
    """`text` linked to `url` when it is an http(s) URL (never `javascript:` and the like,
    whatever an upstream sent), else `text` alone."""
    if not isinstance(url, str) or urlsplit(url).scheme.lower() not in ("http", "https"):
        return text
    extra = f' title="{_e(title)}"' if title else ""
    return f'<a href="{_e(url)}"{extra}>{text}</a>'


def _also(copy: dict[str, Any]) -> str:
    """One "also reported by" entry: its source's name, linked to its copy."""
    name = _e(copy.get("source") or copy.get("title") or copy.get("url", ""))
    return _link(copy.get("url"), name, copy.get("title", ""))


def children(runtime: Runtime, slug: str) -> list[Category]:
    """The categories directly below `slug` (for `all`: the top-level ones)."""
    found = []
    for category in runtime.config.categories.values():
        if category.slug == ALL_CATEGORY:
            continue
        parent = category.parents[0] if category.parents else ALL_CATEGORY
        if parent == slug:
            found.append(category)
    return found


def _item(item: dict[str, Any], words: Words) -> str:
    extra = item.get("_syndicator") or {}
    title = _e(item.get("title") or item.get("url") or "")
    url = item.get("url")
    heading = _link(url, title)
    meta = []
    published = item.get("date_published")
    if published:
        meta.append(f'<time datetime="{_e(published)}">{_e(_date(published))}</time>')
    source = extra.get("source_title") or (urlsplit(url).hostname if isinstance(url, str) else "")
    if source:
        meta.append(f'<span class="source">{_e(source)}</span>')
    parts = [f"<article><h3>{heading}</h3>"]
    if meta:
        parts.append(f'<p class="meta">{" · ".join(meta)}</p>')
    summary = (item.get("summary") or "").strip()
    if summary:
        parts.append(f'<p class="summary">{_e(summary)}</p>')
    copies = extra.get("also_reported_by") or []
    if copies:
        links = [f"<li>{_also(c)}</li>" for c in copies]
        more = extra.get("also_reported_by_more")
        if more:
            links.append(f"<li>{_e(words.more.format(n=more))}</li>")
        label = _e(words.also_reported_by + words.colon)
        parts.append(f'<div class="also"><span>{label}</span><ul>{"".join(links)}</ul></div>')
    parts.append("</article>")
    return "".join(parts)


def render_category_page(runtime: Runtime, slug: str, feed: dict[str, Any] | None) -> str:
    """The page of configured category `slug`; `feed` is its published JSON Feed (None:
    not published yet)."""
    config = runtime.config
    category = config.categories[slug]
    words = words_for(category.language)
    site, root = runtime.site_url, _root(runtime.site_url)
    title = _e(category.title)
    alternates, fields = [], []
    for ext, label, media_type in FORMAT_LABELS:
        url = _e(feed_url(site, slug, ext))
        alternates.append(
            f'<link rel="alternate" type="{media_type}" title="{title} ({label})" href="{url}">'
        )
        field_id = f"feed-{ext}"
        fields.append(
            f'<div class="feed"><label for="{field_id}">{label}</label>'
            f'<input id="{field_id}" type="url" readonly value="{url}">'
            f'<button type="button" data-copy="{field_id}" data-done="{_e(words.copied)}" hidden>'
            f"{_e(words.copy)}</button></div>"
        )
    trail = [*reversed(category.parents)]
    if slug != ALL_CATEGORY:
        trail.insert(0, ALL_CATEGORY)
    parents = " › ".join(
        f'<a href="{_e(page_url(site, p))}">{_e(config.categories[p].title)}</a>' for p in trail
    )
    below = children(runtime, slug)
    items = (feed or {}).get("items") or []
    listing = "\n".join(_item(item, words) for item in items) or f"<p>{_e(words.nothing_yet)}</p>"
    sections = [f"<h1>{title}</h1>"]
    if category.description:
        sections.append(f'<p class="description">{_e(category.description)}</p>')
    if parents:
        label = _e(words.part_of)
        sections.append(f'<nav class="parents" aria-label="{label}">{label}{_e(words.colon)}{parents}</nav>')
    if below:
        links = "".join(f'<li><a href="{_e(page_url(site, c.slug))}">{_e(c.title)}</a></li>' for c in below)
        sections.append(f'<nav class="children"><h2>{_e(words.subcategories)}</h2><ul>{links}</ul></nav>')
    sections.append(
        f'<section class="feeds"><h2>{_e(words.subscribe)}</h2>'
        f'<p class="feed-line">{_e(words.feed_line)}</p>{"".join(fields)}</section>'
    )
    sections.append(f'<section class="items"><h2>{_e(words.latest)}</h2>\n{listing}\n</section>')
    sections.append(f'<footer><a href="{_e(site)}">{_e(words.all_categories)}</a></footer>')
    body = "\n".join(sections)
    head = "\n".join(alternates)
    return f"""<!doctype html>
<html lang="{_e(category.language)}"><head><meta charset="utf-8">
<title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="{_e(root)}static/category.css">
{head}
<script src="{_e(root)}static/category.js" defer></script>
</head><body>
<main>
{body}
</main>
</body></html>
"""


def _etag(runtime: Runtime, slug: str, feed: StoredFeed | None) -> str:
    """Changes with the published feed version, the configuration and the site URL."""
    basis = "|".join([slug, feed.etag_base if feed else "-", runtime.config.digest, runtime.site_url])
    return f'"page-{hashlib.sha256(basis.encode()).hexdigest()[:20]}"'


async def serve_category_page(request: web.Request) -> web.StreamResponse:
    runtime = request.app[RUNTIME]
    named = request.match_info["slug"]
    try:
        slug = resolve_slug(runtime, named)
    except UnknownCategory as exc:
        response = await unknown_category_response(runtime, exc)
        response.headers.update(PAGE_HEADERS)
        return response
    if slug != named:  # a former slug (`aliases`): the page moved for good
        raise web.HTTPMovedPermanently(page_url(runtime.site_url, slug), headers=PAGE_HEADERS)
    stored, _ = await request.app[FEED_CACHE].lookup(slug, "json")
    validators = Validators(_etag(runtime, slug, stored), stored.last_modified if stored else None)
    headers = {**PAGE_HEADERS, "ETag": validators.etag, "Cache-Control": CACHE_CONTROL}
    if stored is not None:
        headers["Last-Modified"] = stored.last_modified_http
    if is_not_modified(request, validators):
        return web.Response(status=304, headers=headers)
    feed = json.loads(stored.bodies["identity"]) if stored else None
    text = render_category_page(runtime, slug, feed)
    return web.Response(text=text, content_type="text/html", charset="utf-8", headers=headers)


async def to_category_page(request: web.Request) -> web.StreamResponse:
    """`/categories/tech` → `/categories/tech/`: one URL per page."""
    slug = request.match_info["slug"]
    raise web.HTTPMovedPermanently(
        f"{_root(request.app[RUNTIME].site_url)}categories/{quote(slug, safe='/')}/"
    )


def read_static(name: str) -> bytes:
    return resources.files("syndicator.web").joinpath("static", name).read_bytes()


async def serve_static(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    if name not in STATIC_FILES:
        return web.Response(status=404, text="no such file\n")
    headers = {**PAGE_HEADERS, "Content-Type": STATIC_FILES[name], "Cache-Control": "public, max-age=3600"}
    return web.Response(body=read_static(name), headers=headers)


def install(app: web.Application) -> None:
    """Serve category pages and their stylesheet and script on `app`."""
    app.router.add_get("/categories/{slug:.+}/", guarded(serve_category_page))
    app.router.add_get("/categories/{slug:.+[^/]}", guarded(to_category_page))
    app.router.add_get("/static/{name}", guarded(serve_static))

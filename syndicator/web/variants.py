"""Filtered (`?limit ?since ?q ?tag ?own`) and combined (`/feeds/a+b.rss`) feeds.

A variant is computed from the category indexes, never stored in Redis: it is rendered
and compressed once per (format, state of every involved category, normalised query) and
kept in a bounded in-process LRU (`RenderCache`), so a thousand readers polling the same
filtered URL cost one render per change of the feed.

The state of a category is its published version plus its dirty counter (bumped after
every store that touches its index, including edits and evictions of items older than the
plain feed shows, which do not produce a new version). Both come from Redis in one round
trip, so the ETag — a digest of the cache key — is known before any article is read, and
a 304 never renders. Every web process derives the same key and renders the same bytes
from the same store, so a client may poll any of them.

Last-Modified is the newest Last-Modified of the involved categories' stored feeds, and
Cache-Control the smallest TTL among them (the variant changes when any of them does).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import quote

from aiohttp import web
from redis.asyncio import Redis

from syndicator.models import Article, Category
from syndicator.render import FORMATS, FeedDocument, hub_url
from syndicator.runtime import Runtime
from syndicator.store.articles import in_feed_order, load_articles
from syndicator.store.atomic import atomic
from syndicator.store.feeds import compress
from syndicator.store.keys import Keys
from syndicator.web.cache import RenderCache
from syndicator.web.negotiation import choose_coding
from syndicator.web.query import FeedQuery
from syndicator.web.ratelimit import EVERYONE, RenderLimiter, client_key
from syndicator.web.representation import (
    Representation,
    Validators,
    error_response,
    is_not_modified,
    not_modified_response,
    respond,
    ttl_cache_control,
)
from syndicator.web.target import FeedTarget

MAX_WINDOW = 5000  # candidates read per category at most (the index's retention caps it too)
CHUNK = 200  # article records read per round trip while filtering
CACHE_ENTRIES = 256
CACHE_BYTES = 64 * 1024 * 1024
LAST_STATES = 1024  # targets whose last-read states are remembered (see refuse_early)
REFUSAL_DELAY = 1.0  # seconds a 429/503 for a render budget is held back (see Variants.hold_refusal)
MAX_HELD = 256  # refusals held back at once at most; beyond, they are answered at once
# Renders (and their compression) run on this many threads of their own, not on asyncio's
# default executor (up to cpu_count + 4 threads). Each thread that ever compressed keeps a
# malloc arena of its own holding about 20 MB (brotli's window and hash tables; glibc then
# serves such sizes from the arena and keeps them resident), so every new peak of
# concurrent renders added a step of ~17 MB to the process for good: +70 MB in ten minutes
# of bench/soak.py (issue 16). One thread: the GIL serialises rendering anyway, and the
# render budget (`variant_renders_per_second`) keeps the queue short.
RENDER_THREADS = 1
_RENDERING = ThreadPoolExecutor(max_workers=RENDER_THREADS, thread_name_prefix="variant-render")


@dataclass(frozen=True)
class CategoryState:
    """What a variant of one category depends on, as read before rendering."""

    slug: str
    version: int
    dirty: int
    last_modified: datetime
    ttl_minutes: int


@dataclass(frozen=True)
class RenderedVariant:
    """One variant, rendered once, in every content coding."""

    bodies: dict[str, bytes]
    media_type: str


@dataclass
class Variants:
    """Per web process: the render cache, renders in flight, and a render counter.

    `renders` counts actual renders (not cache hits); tests and operators read it.
    Concurrent requests for the same key wait for the one render in flight. `limiter`
    caps how many renders each client may cause (`server.variant_renders_per_minute`),
    `budget` how many all clients together may cause in a second
    (`server.variant_renders_per_second`).
    """

    cache: RenderCache = field(default_factory=lambda: RenderCache(CACHE_ENTRIES, CACHE_BYTES))
    limiter: RenderLimiter = field(default_factory=RenderLimiter)
    budget: RenderLimiter = field(default_factory=lambda: RenderLimiter(window=1.0, max_clients=1))
    renders: int = 0
    _pending: dict[tuple, asyncio.Task[RenderedVariant]] = field(default_factory=dict)
    # The states last read per (slugs, format): lets a client over its render budget be
    # refused without a Redis round trip (`refuse_early`).
    _last_states: OrderedDict[tuple[tuple[str, ...], str], list[CategoryState]] = field(
        default_factory=OrderedDict
    )

    refusal_delay: float = REFUSAL_DELAY
    _held: int = 0

    async def hold_refusal(self) -> None:
        """Hold a refusal (429 or 503) back a moment before sending it.

        A refusal costs about what a plain feed costs, so a client that asks again at once
        (a closed loop of connections) would still take half the server from the plain
        feed's readers. Held back, each of its connections asks once a second at most. A
        held request is one sleeping coroutine; at most MAX_HELD are held at once, so the
        delay cannot be turned into a pile of open requests.
        """
        if self._held >= MAX_HELD or self.refusal_delay <= 0:
            return
        self._held += 1
        try:
            await asyncio.sleep(self.refusal_delay)
        finally:
            self._held -= 1

    def remember_states(self, target: FeedTarget, states: list[CategoryState]) -> None:
        self._last_states[(target.slugs, target.fmt)] = states
        self._last_states.move_to_end((target.slugs, target.fmt))
        while len(self._last_states) > LAST_STATES:
            self._last_states.popitem(last=False)


VARIANTS = web.AppKey("variants", Variants)


def self_url(site_url: str, target: FeedTarget, query: FeedQuery) -> str:
    """The variant's own URL, normalised: `+` between slugs kept, parameters canonical."""
    url = f"{site_url}feeds/{quote(target.name, safe='/+')}.{target.fmt}"
    query_string = query.query_string()
    return f"{url}?{query_string}" if query_string else url


def variant_key(target: FeedTarget, states: list[CategoryState], query: FeedQuery) -> tuple:
    return (target.fmt, tuple((s.slug, s.version, s.dirty) for s in states), query)


def variant_etag(key: tuple, coding: str) -> str:
    """A strong, coding-specific ETag that names the key (stable across processes)."""
    fmt, states, query = key
    text = "|".join([fmt, *(f"{slug}:{v}:{d}" for slug, v, d in states), query.query_string()])
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    suffix = "" if coding == "identity" else f"-{coding}"
    return f'"f{digest}-{fmt}{suffix}"'


async def read_states(redis: Redis, keys: Keys, target: FeedTarget) -> list[CategoryState] | None:
    """Every involved category's version and dirty mark in one round trip (None: unpublished)."""
    async with atomic(redis) as pipe:
        for slug in target.slugs:
            pipe.hmget(keys.feed(slug, target.fmt), ["version", "last_modified", "ttl"])
            pipe.get(keys.dirty(slug))
        replies = await pipe.execute()
    states = []
    for slug, (version, modified, ttl), dirty in zip(target.slugs, replies[::2], replies[1::2], strict=True):
        if version is None:
            return None
        states.append(
            CategoryState(
                slug=slug,
                version=int(version),
                dirty=int(dirty or 0),
                last_modified=datetime.fromisoformat(modified.decode()),
                ttl_minutes=int(ttl or 60),
            )
        )
    return states


async def candidates(
    redis: Redis, keys: Keys, category: Category, query: FeedQuery, limit: int
) -> list[Article]:
    """The first `limit` articles of one index, in feed order, that match `query`.

    Reads the index in its own order (which is the feed order, ties included: see
    store.articles.order_key) in chunks, and stops at the `limit`th match.
    """
    index = keys.category_index(category.slug)
    low = query.since.timestamp() if query.since is not None else "-inf"
    window = max(limit, min(category.retention_count, MAX_WINDOW))
    chunk = limit if not query.filters else CHUNK
    found: list[Article] = []
    read = 0
    slug = category.slug
    while read < window and len(found) < limit:
        members = await redis.zrevrangebyscore(index, "+inf", low, start=read, num=min(chunk, window - read))
        if not members:
            break
        read += len(members)
        loaded = in_feed_order(await load_articles(redis, keys, [m.decode() for m in members]))
        found.extend(a for a in loaded if query.selects(a, slug))
    return found[:limit]


def variant_category(runtime: Runtime, target: FeedTarget, query: FeedQuery) -> Category:
    """The category the document is labelled with: synthetic for `a+b`, titled by filters."""
    categories = [runtime.config.categories[s] for s in target.slugs]
    first = categories[0]
    if len(categories) == 1:
        title, description = first.title, first.description
    else:
        title = " + ".join(c.title for c in categories)
        description = "Combined feed: " + ", ".join(c.title for c in categories)
    label = query.describe()
    if label:
        title = f"{title} ({label})"
    return Category(slug=target.name, title=title, description=description, language=first.language)


def default_limit(runtime: Runtime, target: FeedTarget) -> int:
    """Without `limit`: the largest items_per_feed among the involved categories."""
    return max(runtime.config.categories[s].items_per_feed for s in target.slugs)


async def render_variant(
    runtime: Runtime, target: FeedTarget, query: FeedQuery, states: list[CategoryState]
) -> RenderedVariant:
    limit = query.limit or default_limit(runtime, target)
    merged: dict[str, Article] = {}
    for slug in target.slugs:
        category = runtime.config.categories[slug]
        for article in await candidates(runtime.redis, runtime.keys, category, query, limit):
            merged.setdefault(article.id, article)
    articles = in_feed_order(merged.values())[:limit]
    document = FeedDocument(
        category=variant_category(runtime, target, query),
        articles=tuple(articles),
        site_url=runtime.site_url,
        updated=max((a.updated for a in articles), default=datetime(2000, 1, 1, tzinfo=UTC)),
        ttl_minutes=min(s.ttl_minutes for s in states),
        source_titles={s.id: s.title for s in runtime.config.sources.values() if s.title},
        category_labels=runtime.config.category_labels(),
        publisher=runtime.config.settings.publisher or "",
        self_url=self_url(runtime.site_url, target, query),
        # A combined feed has no page of its own: the index lists its categories' pages.
        home_url=runtime.site_url if len(target.slugs) > 1 else None,
    )
    renderer = FORMATS[target.fmt]
    # Rendering and brotli are CPU work on pure inputs: off the event loop (RENDER_THREADS).
    bodies = await asyncio.get_running_loop().run_in_executor(
        _RENDERING, lambda: compress(renderer.render(document))
    )
    return RenderedVariant(bodies=bodies, media_type=renderer.media_type)


async def cached_render(
    variants: Variants,
    key: tuple,
    runtime: Runtime,
    target: FeedTarget,
    query: FeedQuery,
    states: list[CategoryState],
) -> RenderedVariant:
    """The variant from the cache, else rendered once even if many requests ask at once.

    The render runs as its own task, shielded: a reader that disconnects does not cancel
    the render the other readers of the same key are waiting for.
    """
    hit = variants.cache.get(key)
    if hit is not None:
        return hit
    task = variants._pending.get(key)
    if task is None:

        async def render_and_store() -> RenderedVariant:
            variants.renders += 1
            rendered = await render_variant(runtime, target, query, states)
            variants.cache.put(key, rendered, sum(len(b) for b in rendered.bodies.values()))
            return rendered

        task = asyncio.create_task(render_and_store())
        variants._pending[key] = task
        task.add_done_callback(lambda _: variants._pending.pop(key, None))
    return await asyncio.shield(task)


@dataclass(frozen=True)
class Refusal:
    """Why a render may not start now: 429 (this client's budget) or 503 (everyone's)."""

    status: int
    wait: int  # whole seconds, for Retry-After


def over_budget(request: web.Request, runtime: Runtime) -> Refusal | None:
    """The refusal a render for this request would get now, counting nothing.

    The client's own budget is asked first: a client over it gets the 429 that names its
    share, whatever the others do. Then everyone's: a render past it would take the event
    loop from the plain feed's readers, which is the server's state and not this client's
    fault, so 503 (temporarily unable), not 429 (you asked too often). Its Retry-After is
    short (the window is a second): a reader retries soon and finds room.
    """
    settings = runtime.config.settings
    variants = request.app[VARIANTS]
    wait = variants.limiter.retry_after(
        client_key(request, settings.trusted_proxies), settings.variant_renders_per_minute
    )
    if wait:
        return Refusal(429, wait)
    wait = variants.budget.retry_after(EVERYONE, settings.variant_renders_per_second)
    if wait:
        return Refusal(503, wait)
    return None


def count_render(request: web.Request, runtime: Runtime) -> None:
    """Count a render that `over_budget` let through just now, against both budgets."""
    settings = runtime.config.settings
    variants = request.app[VARIANTS]
    variants.limiter.count(client_key(request, settings.trusted_proxies), settings.variant_renders_per_minute)
    variants.budget.count(EVERYONE, settings.variant_renders_per_second)


def count_refusal(variants: Variants, refusal: Refusal) -> None:
    """Each limiter counts its own refusals, so an operator can tell which one binds."""
    (variants.limiter if refusal.status == 429 else variants.budget).refused += 1


def refuse_early(
    request: web.Request, runtime: Runtime, target: FeedTarget, query: FeedQuery
) -> Refusal | None:
    """The refusal if this request is surely a render there is no budget for (its client's
    or everyone's), judged without Redis; None when in doubt: the full check follows anyway.

    A flood of unique variants is answered at the cost of a plain feed, not of a store
    round trip. Judged on the states this process read last for the target: if the
    variant were in the cache under the current states, the request that rendered it
    read them, so they are the ones remembered (short of a race, whose cost is one 429).
    """
    variants = request.app[VARIANTS]
    refusal = over_budget(request, runtime)
    states = variants._last_states.get((target.slugs, target.fmt))
    if refusal is None or states is None:
        return None
    key = variant_key(target, states, query)
    if key in variants.cache or key in variants._pending:
        return None
    coding = choose_coding(request.headers.get("Accept-Encoding"))
    if is_not_modified(request, Validators(variant_etag(key, coding), max(s.last_modified for s in states))):
        return None
    count_refusal(variants, refusal)
    return refusal


def refused(runtime: Runtime, refusal: Refusal) -> web.Response:
    """The 429 (a client over its budget) or 503 (over everyone's): one line, Retry-After."""
    settings = runtime.config.settings
    if refusal.status == 429:
        text = (
            f"too many uncached feed variants from your address "
            f"(at most {settings.variant_renders_per_minute} a minute)"
        )
    else:
        text = (
            f"too many uncached feed variants are being asked for "
            f"(at most {settings.variant_renders_per_second} a second from all readers)"
        )
    return error_response(
        refusal.status, f"{text}; retry in {refusal.wait} s", **{"Retry-After": str(refusal.wait)}
    )


async def serve_variant(
    request: web.Request, runtime: Runtime, target: FeedTarget, query: FeedQuery
) -> web.StreamResponse:
    """A filtered and/or combined feed, with validators known before rendering."""
    variants = request.app[VARIANTS]
    refusal = refuse_early(request, runtime, target, query)
    if refusal is not None:
        await variants.hold_refusal()
        return refused(runtime, refusal)
    coding = choose_coding(request.headers.get("Accept-Encoding"))
    states = await read_states(runtime.redis, runtime.keys, target)
    if states is None:
        return error_response(
            503, f"feed {target.name!r} is not published yet; try again shortly", **{"Retry-After": "5"}
        )
    variants.remember_states(target, states)
    key = variant_key(target, states, query)
    validators = Validators(variant_etag(key, coding), max(s.last_modified for s in states))
    url = self_url(runtime.site_url, target, query)
    hub = hub_url(runtime.site_url)
    control = ttl_cache_control(min(s.ttl_minutes for s in states))
    media_type = FORMATS[target.fmt].media_type
    if is_not_modified(request, validators):
        return not_modified_response(
            validators, self_url=url, cache_control=control, media_type=media_type, hub_url=hub
        )
    if key not in variants.cache and key not in variants._pending:
        # This request would render: it counts against its client's budget and everyone's.
        refusal = over_budget(request, runtime)
        if refusal is not None:
            count_refusal(variants, refusal)
            await variants.hold_refusal()
            return refused(runtime, refusal)
        count_render(request, runtime)
    rendered = await cached_render(variants, key, runtime, target, query, states)
    return respond(
        request,
        Representation(
            validators=validators,
            media_type=rendered.media_type,
            coding=coding,
            self_url=url,
            cache_control=control,
            body=rendered.bodies[coding],
            hub_url=hub,
        ),
    )


def install(app: web.Application) -> None:
    """Give the app (one web process) its variant cache."""
    app[VARIANTS] = Variants()

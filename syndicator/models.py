"""Typed records that flow through the pipeline: config → fetch → parse → normalise → store.

Every stage takes and returns these plain, immutable values so that the middle of the
pipeline can be tested without a network or a Redis server.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Annotated, Literal, get_args

from syndicator import values as v

# ---------------------------------------------------------------- configuration
#
# The config records are the schema: each field of `Settings` (`[server]`), `FetchLimits`
# (`[fetch]`), `AdminSettings` (`[admin]`), `Category` (`[all]`, `[[categories]]`), `Source`
# (`[[sources]]`) and `SiteRules` (`[sources.rules]`) is a key of the TOML file, with the field's type (the
# `Annotated` value types of `syndicator.values`) and default. `syndicator.config.schema`
# derives the strict pydantic tables from these fields, so adding a key is one line here.
# Arrays in the file are tuples here. The records stay plain dataclasses: building one in
# Python validates nothing (the file is validated once, when it is loaded).

ALL_CATEGORY = "all"
"""The reserved slug of the feed that holds every article."""


@dataclass(frozen=True)
class Category:
    """One feed of the site. `slug` is a path (`qinggan/gushi`): its prefixes are parents.

    In the file, `title` may be left out (it is then derived from the slug) and `[all]`
    has no `slug`.
    """

    slug: v.Slug
    title: v.NonEmptyStr
    description: str = ""
    language: v.Language = "en"
    items_per_feed: v.PositiveInt = 50
    retention_count: v.PositiveInt = 1000
    # A full category keeps at most this fraction of retention_count from one source (the
    # article's first); a flood evicts its own oldest items, not other sources'.
    max_source_share: v.Share = 0.5
    retention_age: v.Duration | None = None
    # Near-duplicate clustering (process/cluster.py): a new article whose fingerprint is
    # at least this similar (estimated Jaccard of its shingles) to a stored one joins it.
    near_duplicates: bool = True
    near_duplicate_threshold: v.Share = 0.3
    # Former slugs of this category: their feed and page URLs answer 301 to this one's
    # (a rename keeps readers and WebSub subscriptions), see web/target.py.
    aliases: tuple[v.Slug, ...] = ()

    @property
    def parents(self) -> tuple[str, ...]:
        """Ancestor slugs, nearest first: `a/b/c` → (`a/b`, `a`)."""
        parts = self.slug.split("/")
        return tuple("/".join(parts[:i]) for i in range(len(parts) - 1, 0, -1))


SourceKind = Literal["feed", "page", "listing", "sitemap"]


@dataclass(frozen=True)
class SiteRules:
    """CSS selectors a source adds where the default extraction fails on its pages."""

    title: v.CssSelector | None = None
    body: v.CssSelector | None = None
    date: v.CssSelector | None = None
    category: v.CssSelector | None = None
    drop: tuple[v.CssSelector, ...] = ()


@dataclass(frozen=True)
class CategoryRule:
    """Maps an upstream category path (`情感/故事`) to one of ours (`qinggan/gushi`).

    `match` is "exact" (the whole path) or "prefix" (the path starts with `path`'s
    segments); the most specific matching rule wins. In the file, a source's rules are
    its `category_map` table: `"情感/故事" = "qinggan/gushi"`, `"情感/*" = "qinggan"`.
    """

    path: tuple[str, ...]
    category: str
    match: Literal["exact", "prefix"] = "exact"


FilterField = Literal["any", "title", "content", "author", "url", "category"]


@dataclass(frozen=True)
class FilterRule:
    """One `keep` or `block` rule (`[[filters.block]]`, a source's `[[sources.block]]`).

    Its conditions must all hold for the rule to match, and it has at least one:
    `words` (plain words as `?q=` takes them; the rule matches when any entry's words all
    occur), `regex` (compiled at load, matched with `filters.regex_timeout`), and
    `older_than` (published before that long ago). `field` is where `words` and `regex`
    look: the title, the content (body and summary, as text), the author, the URL, the
    category (upstream categories and ours), or `any` (what `?q=` searches). `name` is the
    rule's name in source health (default: its key, `filters.block[0]`, `block[1]`).
    """

    field: Annotated[FilterField, v.one_of("filter field", get_args(FilterField))] = "any"
    words: tuple[v.NonEmptyStr, ...] = ()
    regex: v.Regex | None = None
    older_than: v.Duration | None = None
    name: str = ""


@dataclass(frozen=True)
class Filters:
    """`[filters]`: keep/block rules for every source, and the regex time limit."""

    keep: tuple[FilterRule, ...] = ()
    block: tuple[FilterRule, ...] = ()
    # How long one regex rule may take on one article; over it the rule does not match.
    regex_timeout: v.Seconds = 0.05


@dataclass(frozen=True)
class Source:
    """An upstream the workers poll. `url` may be `file:` (resolved against the config).

    `feed`: an RSS/Atom/JSON feed. `page`: one article page. `listing`: a category or
    index page whose article links become page jobs (following "next page" links up to
    `max_depth` pages). `sitemap`: sitemap.xml, a sitemap index or a Google News sitemap.
    Categories named here are checked against the file's.
    """

    id: v.SourceId
    url: v.SourceUrl
    kind: Annotated[SourceKind, v.one_of("source kind", get_args(SourceKind))] = "feed"
    categories: tuple[str, ...] = ()
    title: str = ""
    poll_interval: v.Duration = timedelta(minutes=30)
    timezone: v.TimeZone = "UTC"
    enabled: bool = True
    allow_private_network: bool = False
    category_map: tuple[CategoryRule, ...] = ()  # in the file a table: see CategoryRule
    default_category: str | None = None  # for pages whose upstream path no rule maps
    rules: SiteRules = field(default_factory=SiteRules)
    max_depth: v.PositiveInt = 1  # listing pages followed per poll (1: the listing itself only)
    max_pages: v.PositiveInt = 100  # article pages enqueued per poll at most
    crawl_delay: v.Seconds = 1.0  # seconds between two requests to the same host
    host_concurrency: v.PositiveInt = 2  # requests in flight to one host across all workers
    # robots.txt (RFC 9309, product token `Syndicator`) is obeyed for every page this source
    # fetches (page kinds, full text); only `obey_robots = false` opts out (fetch/robots.py).
    obey_robots: bool = True
    # Extra request headers (in the file a table: `"User-Agent" = "…"`, `Cookie`, `Referer`).
    # Values may be secrets: never logged, shown as `***`; Cookie and Authorization are not
    # sent on past a redirect to another origin. Kept out of repr() for the same reason.
    headers: v.Headers = field(default=(), repr=False)
    # The charset to read this source's documents in, whatever they declare (a site whose
    # declaration lies): used by page/listing decoding and feed parsing. None: as declared.
    encoding: v.Encoding | None = None
    # Bounds of the adaptive poll interval (store/polling.py): None: the poll_interval
    # (never polled more often than asked) and 1 day or the poll_interval when longer.
    min_poll_interval: v.Duration | None = None
    max_poll_interval: v.Duration | None = None
    # Feed sources: fetch each new item's link as a page job and take the page's body when
    # it is clearly longer than the item's (syndicator/ingest/fulltext.py); an item waits
    # for it, out of every feed, at most `full_text_wait`.
    full_text: bool = False
    full_text_wait: v.Duration = timedelta(minutes=10)
    keep: tuple[FilterRule, ...] = ()  # this source's keep rules, besides [filters]'s
    block: tuple[FilterRule, ...] = ()  # this source's block rules, besides [filters]'s


@dataclass(frozen=True)
class FetchLimits:
    """Bounds on every upstream request; all configurable under `[fetch]`."""

    connect_timeout: v.Seconds = 10.0
    read_timeout: v.Seconds = 30.0
    total_timeout: v.Seconds = 60.0
    max_bytes: v.Size = 10 * 1024 * 1024
    max_redirects: v.NonNegativeInt = 5
    max_entries: v.PositiveInt = 500
    max_field_bytes: v.Size = 64 * 1024  # a longer field is cut before the parser sees it
    parse_timeout: v.Seconds = 10.0  # wall time of one parse/extraction in its child process
    parse_memory: v.Size = 1024 * 1024 * 1024  # address space of that child (RLIMIT_AS)
    allowed_networks: tuple[v.Cidr, ...] = ()  # CIDRs the address guard lets through anyway
    user_agent: v.UserAgent = "Syndicator/0.1 (+https://github.com/syndicator/syndicator)"
    # Longest Retry-After (429/503) honoured, for the source and its host's cool-down.
    max_retry_after: v.Seconds = 86400.0


@dataclass(frozen=True)
class Settings:
    """Process settings: `[server]` in the file, overridden by `SYNDICATOR_*` variables."""

    redis_url: v.RedisUrl = None
    redis_prefix: v.NonEmptyStr = "syn:"
    queue_name: v.NonEmptyStr = "syndicator:queue"
    public_url: v.PublicUrl = None
    data_dir: v.NonEmptyStr = ".syndicator-data"
    host: v.NonEmptyStr = "127.0.0.1"
    port: v.Port = 8080
    job_timeout: v.Seconds = 120.0
    max_tries: v.PositiveInt = 5
    schedule_every: v.WholeSeconds = 10
    evicted_memory: v.Duration = timedelta(days=30)
    # The raw input kept per article so `syndicator reprocess` can re-apply changed rules
    # without fetching (store/raw.py): at most this many articles and bytes (compressed)
    # per source, and this many bytes in all (or `raw_share` of Redis maxmemory, if that
    # is less); the oldest go first. 0 articles: keep none.
    raw_per_source: v.NonNegativeInt = 500
    raw_per_source_bytes: v.Size = 50 * 1024 * 1024
    raw_total_bytes: v.Size = 1024 * 1024 * 1024
    raw_share: v.Share = 0.2
    # Renders of filtered/combined feeds not in the render cache, per client and minute;
    # then 429 (web/ratelimit.py). 0: unlimited. Cache hits and plain feeds never count.
    variant_renders_per_minute: v.NonNegativeInt = 60
    # The same renders from all clients together, per second and web process; then 503.
    # Per-client budgets alone let many addresses (50 × 60 a minute) take the event loop
    # from the plain feed's readers. 0: unlimited.
    variant_renders_per_second: v.NonNegativeInt = 10
    # Reverse proxies whose X-Forwarded-For names the client (for that limit); from any
    # other peer the header is ignored. Empty: the peer address is the client.
    trusted_proxies: tuple[v.Cidr, ...] = ()
    # The name our Atom feeds give as their <author>: the publisher of the feed, not of each
    # article (those carry their own, or their upstream's). None: the host of the public URL.
    publisher: v.NonEmptyStr | None = None
    # Longest a client connection may sit idle, or take to send a request's headers or body,
    # before the server closes it: idle sockets must not hold file descriptors for ever.
    keepalive_timeout: v.Seconds = 15.0
    # WebSub subscriber (syndicator/subscriber/): feed sources whose upstream advertises a
    # hub are subscribed to and ingested as the hub pushes, when public_url is a public
    # address the hub can reach (or one fetch.allowed_networks lets through). `false`: never.
    websub_subscribe: bool = True
    # While a subscription is live, the source is still polled, at least this far apart, as
    # the safety net for pushes the hub never sent (within the source's max_poll_interval).
    websub_poll_interval: v.Duration = timedelta(days=1)
    # The lease asked of the hub (hub.lease_seconds); renewed before the granted one ends.
    websub_lease: v.Duration = timedelta(days=10)
    # The WebSub hub (POST /hub): (un)subscription requests per client and minute, then
    # 429; subscriptions whose callback is on one host; distinct filtered or combined
    # topics (each is a render per publish). Past a limit the request is refused (403
    # for the last two). 0: no limit.
    hub_requests_per_minute: v.NonNegativeInt = 30
    hub_subscriptions_per_host: v.NonNegativeInt = 1000
    hub_variant_topics: v.NonNegativeInt = 1000
    # The job queue's and the store's Redis, when they are two (store/connection.RedisUrls);
    # each falls back to redis_url.
    queue_url: v.RedisUrl = None
    store_url: v.RedisUrl = None


@dataclass(frozen=True)
class AdminSettings:
    """`[admin]`: who may read operators' endpoints."""

    # Client networks (CIDRs) that may read /metrics (web processes, `worker --metrics-port`)
    # without the admin token; from anywhere else /metrics needs `Authorization: Bearer`.
    metrics_networks: tuple[v.Cidr, ...] = ("127.0.0.0/8", "::1/128")


@dataclass(frozen=True)
class Config:
    """The whole validated configuration. Categories include the reserved `all`.

    `path` is the absolute file it came from, so a reload reads the same file again;
    `digest` is the sha256 (hex) of that file's bytes, so a reload can tell (and announce)
    which version of the file runs — the same value `sha256sum` prints for it.
    """

    path: str
    settings: Settings
    fetch: FetchLimits
    categories: dict[str, Category]
    sources: dict[str, Source]
    digest: str = ""
    admin: AdminSettings = field(default_factory=AdminSettings)
    filters: Filters = field(default_factory=Filters)

    def category_label(self, slug: str) -> str:
        """What readers see for category `slug`: its ancestors' titles and its own, joined by "/".

        `qinggan/gushi` → `情感/故事` when both are configured with those titles. A slug an
        article still carries but the file no longer has (a category removed since) shows its
        own segment rather than disappearing; an implied parent has the title derived from its
        segment (see `config.schema.derived_title`).
        """
        parts = slug.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        return "/".join(
            self.categories[prefix].title if prefix in self.categories else prefix.rsplit("/", 1)[-1]
            for prefix in prefixes
        )

    def category_labels(self) -> dict[str, str]:
        """`category_label` of every category, by slug: what a renderer needs (it has no Config)."""
        return {slug: self.category_label(slug) for slug in self.categories}

    def canonical_slug(self, slug: str) -> str | None:
        """The configured category `slug` names: itself, the category that lists it in
        `aliases` (a renamed one), or None (unknown or removed)."""
        if slug in self.categories:
            return slug
        for category in self.categories.values():
            if slug in category.aliases:
                return category.slug
        return None

    def category_with_ancestors(self, slug: str) -> tuple[str, ...]:
        """`slug`, its parents, and `all`: every feed an article in `slug` appears in."""
        cat = self.categories[slug]
        chain = (slug, *cat.parents)
        return chain if slug == ALL_CATEGORY else (*chain, ALL_CATEGORY)


# ---------------------------------------------------------------- fetch


@dataclass(frozen=True)
class Validators:
    """What a conditional GET sends back: the upstream's own ETag and Last-Modified."""

    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True)
class FetchResult:
    """A completed fetch. `status` is 200 (body present) or 304 (body empty)."""

    url: str
    final_url: str
    status: int
    body: bytes
    headers: dict[str, str]  # keys lowercase, as feedparser wants them
    validators: Validators
    fetched_at: datetime


# ---------------------------------------------------------------- parse


@dataclass(frozen=True)
class Enclosure:
    url: str
    type: str = ""
    length: int = 0


@dataclass(frozen=True)
class Related:
    """A near-duplicate copy of an article from another source (process/cluster.py): the
    copy's own link and title and the source that carried it. Shown as "also reported by";
    never part of the representative's content hash."""

    url: str
    title: str
    source_id: str
    source_title: str = ""
    id: str = ""  # the copy's own article id (its takedown removes this entry)
    # Where the copy is (its categories and the indexes they put it in: parents too), and
    # what of that the representative was not in before the copy joined (set by the store,
    # store/articles.py): taking the copy down takes the representative out of what it
    # brought unless a remaining copy is there too (store/clusters.py `without_copy`).
    categories: tuple[str, ...] = ()
    added: tuple[str, ...] = ()


RELATED_SHOWN = 20
"""The most near-duplicates an article lists in `related` (and feeds show as "also
reported by"). When more join, the oldest leave the list and are counted in the article's
`related_more` instead ("… and 12 more"), so a story copied by hundreds of portals keeps a
record, and an item, of bounded size. A copy beyond the list still counts as a member (its
source stays in `sources`, its categories stay the article's)."""


@dataclass(frozen=True)
class Upstream:
    """The feed an entry came in, as that feed describes itself: what Atom's `<source>` carries.

    `id` is the feed's own id (Atom `<id>`; a JSON Feed's `feed_url`; for RSS, which has none,
    the URL it was fetched from); `link` its home page; `author` its feed-level author (Atom
    `<feed><author>`, RSS `managingEditor`/`dc:creator`, JSON Feed top-level `authors`), which
    entries without an author of their own inherit (RFC 4287 §4.2.1).
    """

    title: str = ""
    id: str | None = None
    link: str | None = None
    author: str | None = None


@dataclass(frozen=True)
class ParsedEntry:
    """One upstream item as the upstream wrote it: raw strings, unsanitised HTML."""

    guid: str | None
    link: str | None
    title: str
    author: str | None
    published_raw: str | None
    updated_raw: str | None
    content_html: str
    summary_html: str
    tags: tuple[str, ...] = ()
    enclosures: tuple[Enclosure, ...] = ()
    base_url: str | None = None  # xml:base or feed URL for resolving relative links
    # The feed it came in (an Atom entry's own <source> when it has one): `author` here is
    # what the entry inherits when `author` above is None.
    upstream: Upstream | None = None


@dataclass(frozen=True)
class FeedRefresh:
    """How often a feed says it changes, as it wrote it (raw strings, read by fetch/hints.py):
    RSS `<ttl>` (minutes) and the Syndication module's `sy:updatePeriod`/`sy:updateFrequency`."""

    ttl: str | None = None
    update_period: str | None = None
    update_frequency: str | None = None


@dataclass(frozen=True)
class ParsedFeed:
    """A parsed upstream document. `warnings` records recovered flaws (feedparser bozo)."""

    format: str  # "rss20", "atom10", "json11", … as detected
    title: str
    link: str | None
    language: str | None
    entries: tuple[ParsedEntry, ...]
    warnings: tuple[str, ...] = ()
    id: str | None = None  # Atom <id>, JSON Feed feed_url
    author: str | None = None  # feed-level author: see Upstream
    refresh: FeedRefresh = field(default_factory=FeedRefresh)  # <ttl>, sy:update*


# ---------------------------------------------------------------- normalise / store


@dataclass(frozen=True)
class PageImage:
    src: str  # absolute URL (lazy-load attributes resolved)
    caption: str = ""
    alt: str = ""


@dataclass(frozen=True)
class ExtractedArticle:
    """What extraction reads off one article web page, before it becomes an Article.

    `published` is aware, in the source's time zone (its offset kept), with
    `published_precision` "date" (day only: midnight local) or "datetime"; None when the
    page carries no trustworthy date. `category_path` is the upstream breadcrumb without
    the home link (`("情感", "故事")`).
    """

    url: str  # canonical URL (rel=canonical, tracking parameters removed), else the page URL
    title: str
    category_path: tuple[str, ...]
    source: str | None
    author: str | None
    published: datetime | None
    published_precision: Literal["date", "datetime"] | None
    language: str | None
    paragraphs: tuple[str, ...]
    images: tuple[PageImage, ...]
    content_html: str  # sanitised body: paragraphs and figures in order
    text: str  # the body as plain text, paragraphs separated by blank lines
    summary: str
    date_source: str | None = None  # where the date came from: "meta", "json-ld", "info-line", "url", …
    warnings: tuple[str, ...] = ()
    # The UTC offset the page itself stated for `published` (`…T20:06-05:00`); None when it gave
    # a local time or a day and the source's zone was assumed. Displays show the page's offset.
    published_offset: timedelta | None = None


HASH_VERSION = 2
"""The definition of `Article.reader_hash` in force. Bump it whenever that definition changes
(a field added or dropped, another encoding): every record stores the version its
`content_hash` was computed under, and the store recomputes an older record's hash before
comparing, so a new definition never moves `updated` on content that did not change.
Version 1: feed entries hashed enclosures as url+type+length, pages as url only (each
normaliser had its own list). Version 2: one definition on the finished Article."""


@dataclass(frozen=True)
class Article:
    """A normalised article: what the store keeps and the renderers read.

    `published`/`updated` are tz-aware UTC. `date_estimated` is true when the upstream gave
    no usable date and `published` is the first-seen time. `content_hash` is
    `reader_hash()` under definition `hash_version` (see HASH_VERSION); normalisers set both
    with `hashed()`.
    """

    id: str
    source_id: str
    url: str
    title: str
    author: str | None
    published: datetime
    updated: datetime
    published_raw: str | None
    date_estimated: bool
    content_html: str
    summary: str
    categories: tuple[str, ...]
    tags: tuple[str, ...]
    content_hash: str = ""  # empty until hashed()
    guid: str | None = None
    enclosures: tuple[Enclosure, ...] = ()
    sources: tuple[str, ...] = field(default=())
    first_seen: datetime | None = None
    hash_version: int = HASH_VERSION
    # The images `content_html` shows that `enclosures` does not already list, as image
    # enclosures (feed items: the <img>s of the sanitised content; pages list theirs as
    # enclosures). Renderers publish them like image enclosures (Media RSS, JSON `image`).
    images: tuple[Enclosure, ...] = ()
    # The upstream feed of a feed item (None for pages): Atom's <source> for an entry without
    # an author of its own. `author` above already includes what the entry inherited from it.
    upstream: Upstream | None = None
    # The page `content_html` was read from when a `full_text` source's item got the body
    # of its linked page (None: the body is the upstream's). Not hashed: the body is.
    full_text_url: str | None = None
    # Near-duplicates from other sources that joined this article's cluster (it is their
    # representative). Not hashed: a copy joining never moves `updated`.
    related: tuple[Related, ...] = ()
    # Copies that joined beyond the `RELATED_SHOWN` listed in `related` (the oldest leave the
    # list): "also reported by A, B and 12 more". Not hashed either.
    related_more: int = 0

    def reader_hash(self) -> str:
        """sha256 hex of what a reader sees of this article, under definition HASH_VERSION.

        Covered: title, link, author, content, summary, tags, enclosures (url, type and
        length: a podcast re-encoded to another size is news to a subscriber) and the
        upstream's own date string. Not covered: our categories (config, not upstream
        content), fetch and first-seen times, and `published`/`updated` themselves, which
        are estimated when the upstream gives no date, so a re-fetch never looks like an edit.
        Nor `images`, read off `content_html` (covered), nor `upstream`: a feed retitling
        itself is no edit of each of its articles (an inherited author is in `author`).
        """
        fields = [
            self.title,
            self.url,
            self.author,
            self.content_html,
            self.summary,
            list(self.tags),
            [[e.url, e.type, e.length] for e in self.enclosures],
            self.published_raw,
        ]
        encoded = json.dumps(fields, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(encoded.encode("utf-8")).hexdigest()

    def hashed(self) -> Article:
        """This article with `content_hash` computed now, under the current definition."""
        return replace(self, content_hash=self.reader_hash(), hash_version=HASH_VERSION)


# ---------------------------------------------------------------- schedule


@dataclass(frozen=True)
class PollHint:
    """What the upstream asked about our next poll: not before `seconds` from now, because
    of `source` (`Cache-Control max-age`, `Expires`, `RSS <ttl>`, `sy:updatePeriod`,
    `Retry-After (HTTP 429)`)."""

    seconds: float
    source: str

    def describe(self) -> str:
        """`Cache-Control max-age 1h30m`: the hint as health shows it."""
        return f"{self.source} {v.format_duration(self.seconds)}"

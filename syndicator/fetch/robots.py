"""robots.txt (RFC 9309) for every page a source fetches: one check, `robots_allows`.

Page kinds (`page`, `listing`, `sitemap`: every article page, listing page and sitemap) and
the full-text fetches of a feed's items all fetch through `ingest.pages.fetch_politely`,
which asks `robots_allows` first, and again for every redirect's target before it is
requested (the target's own origin's robots.txt); a feed source's own feed document is not
a page and is not checked, nor are its redirects. A source opts out only with
`obey_robots = false`.

- Rules are parsed with protego for the product token `Syndicator` (a `User-agent:
  Syndicator` group if the file has one, else `*`), so longest match wins and `Allow`
  beats `Disallow` on a tie, as RFC 9309 says. `/robots.txt` itself is always allowed.
- What the fetch answered decides when there are no rules: a 4xx (404, 403, 410 …) means
  no rules, everything allowed; a 5xx, a 429 or a network error (refused, timed out, the
  address guard) means everything disallowed for now.
- One Redis hash per origin (`Keys.robots`) caches the answer for all workers: rules and
  4xx for `CACHE_TTL` (24 hours, the RFC's limit), an unreachable robots.txt for
  `UNREACHABLE_TTL`, so a site that recovers is read again soon without every page job
  of a crawl asking a failing server again.
- `Crawl-delay` (and `Request-rate`) for our token become the verdict's `crawl_delay`,
  which the page fetch passes to the host's politeness slot (the larger of it and the
  source's own `crawl_delay`), capped at `MAX_CRAWL_DELAY`. `Sitemap:` lines are read by
  `robots_sitemaps` for sitemap sources whose URL is a robots.txt.

The robots.txt request goes through the host's politeness slot and the fetcher like any
other (address guard, limits, redirects, the source's headers). Only the first
`MAX_ROBOTS_BYTES` are parsed (the RFC asks for at least 500 KiB).
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Protocol
from urllib.parse import urljoin, urlsplit

from protego import Protego
from redis.asyncio import Redis

from syndicator.fetch.client import Fetcher
from syndicator.fetch.errors import FetchError
from syndicator.models import Source, Validators
from syndicator.redact import redact_url
from syndicator.store.atomic import atomic
from syndicator.store.keys import Keys
from syndicator.store.politeness import host_slot

log = logging.getLogger(__name__)

PRODUCT_TOKEN = "Syndicator"
CACHE_TTL = 24 * 3600  # seconds: rules and 4xx answers (RFC 9309 §2.4: at most 24 hours)
UNREACHABLE_TTL = 10 * 60  # seconds: a 5xx, 429 or network error (everything disallowed)
MAX_ROBOTS_BYTES = 512 * 1024
MAX_CRAWL_DELAY = 30.0  # seconds; a longer Crawl-delay would stall page jobs past retrying

RULES, ALLOW_ALL, DISALLOW_ALL = "rules", "allow-all", "disallow-all"


class RobotsContext(Protocol):
    """What the check needs of a `syndicator.runtime.Runtime` (named here without importing
    it: the runtime imports the fetch package)."""

    redis: Redis
    keys: Keys
    fetcher: Fetcher


@dataclass(frozen=True)
class RobotsVerdict:
    """Whether a URL may be fetched, and why, in operators' words.

    `checked`: robots.txt was consulted (not for an opted-out source, a `file:` URL or a
    feed's own document). `crawl_delay`: seconds robots.txt asks between requests for our
    token (None: it says nothing). `sitemaps`: its `Sitemap:` lines, absolute.
    """

    allowed: bool
    reason: str
    robots_url: str | None = None
    checked: bool = True
    crawl_delay: float | None = None
    sitemaps: tuple[str, ...] = ()


@dataclass(frozen=True)
class RobotsFile:
    """An origin's robots.txt as fetched (or cached): `outcome` is RULES (`text` holds them),
    ALLOW_ALL (a 4xx) or DISALLOW_ALL (unreachable); `reason` says what was answered."""

    robots_url: str
    outcome: str
    text: str = ""
    reason: str = ""
    fetched_at: str = ""

    def verdict(self, url: str) -> RobotsVerdict:
        if self.outcome == DISALLOW_ALL:
            return RobotsVerdict(False, self.reason, self.robots_url)
        if self.outcome == ALLOW_ALL:
            return RobotsVerdict(True, self.reason, self.robots_url)
        rules = parsed(self.text)
        delay = crawl_delay_of(rules)
        sitemaps = sitemaps_of(rules, self.robots_url)
        if is_robots_url(url) or rules.can_fetch(url, PRODUCT_TOKEN):
            reason = f"allowed by {self.robots_url}"
            return RobotsVerdict(True, reason, self.robots_url, crawl_delay=delay, sitemaps=sitemaps)
        reason = f"disallowed by {self.robots_url} for {PRODUCT_TOKEN}"
        return RobotsVerdict(False, reason, self.robots_url, crawl_delay=delay, sitemaps=sitemaps)


def origin_of(url: str) -> str:
    """`scheme://host:port` (default port written out) of an http(s) URL."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    host = (parts.hostname or "").lower()
    host = f"[{host}]" if ":" in host else host
    return f"{parts.scheme}://{host}:{port}"


def robots_url_of(url: str) -> str:
    """The robots.txt governing `url`: `/robots.txt` at its scheme, host and port."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}/robots.txt"


def is_robots_url(url: str) -> bool:
    return urlsplit(url).path == "/robots.txt"


@functools.lru_cache(maxsize=64)
def parsed(text: str) -> Protego:
    """protego's reading of a robots.txt (cached: every page of a crawl asks the same file)."""
    return Protego.parse(text)


def crawl_delay_of(rules: Protego) -> float | None:
    """Seconds between requests the rules ask of us: the larger of `Crawl-delay` and what
    `Request-rate` (n/Ts) comes to, capped at MAX_CRAWL_DELAY; None when neither is given."""
    delays: list[float] = []
    delay = rules.crawl_delay(PRODUCT_TOKEN)
    if delay is not None and delay >= 0:
        delays.append(float(delay))
    rate = rules.request_rate(PRODUCT_TOKEN)
    if rate is not None and rate.requests:
        delays.append(rate.seconds / rate.requests)
    return min(max(delays), MAX_CRAWL_DELAY) if delays else None


def sitemaps_of(rules: Protego, robots_url: str) -> tuple[str, ...]:
    found: list[str] = []
    for line in rules.sitemaps:
        url = urljoin(robots_url, line.strip())
        if urlsplit(url).scheme in ("http", "https") and url not in found:
            found.append(url)
    return tuple(found)


def robots_sitemaps(body: bytes, url: str) -> tuple[str, ...]:
    """The `Sitemap:` URLs of robots.txt bytes fetched from `url`, absolute, in file order:
    what a sitemap source whose URL is a robots.txt reads."""
    return sitemaps_of(parsed(_text(body)), url)


def _text(body: bytes) -> str:
    return body[:MAX_ROBOTS_BYTES].decode("utf-8", "replace")


async def robots_allows(runtime: RobotsContext, source: Source, url: str) -> RobotsVerdict:
    """May `source` fetch `url`? The one robots.txt check of every page fetch.

    Fetches and caches the origin's robots.txt when no worker has it cached. Raises what
    the politeness slot raises (HostBusy) and Redis errors; never FetchError (a robots.txt
    that cannot be fetched is a verdict, see the module).
    """
    if not source.obey_robots:
        return RobotsVerdict(True, "robots.txt not consulted (obey_robots = false)", checked=False)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return RobotsVerdict(True, "no robots.txt for this URL", checked=False)
    if source.kind == "feed" and url == source.url:
        return RobotsVerdict(True, "a feed source's own feed is not a page", checked=False)
    robots_url = robots_url_of(url)
    if is_robots_url(url):  # always allowed; never fetched twice to find that out
        cached = await cached_robots(runtime, robots_url)
        if cached is not None:
            return cached.verdict(url)
        return RobotsVerdict(True, "robots.txt itself is always allowed", robots_url)
    robots = await cached_robots(runtime, robots_url) or await fetch_robots(runtime, source, robots_url)
    verdict = robots.verdict(url)
    if not verdict.allowed:
        log.info(
            "robots.txt: %s: %s",
            redact_url(url),
            verdict.reason,
            extra={"event": "robots", "source_id": source.id, "url": redact_url(url), "outcome": "refused"},
        )
    return verdict


async def cached_robots(runtime: RobotsContext, robots_url: str) -> RobotsFile | None:
    raw = await runtime.redis.hgetall(runtime.keys.robots(origin_of(robots_url)))
    fields = {k.decode(): v.decode("utf-8", "replace") for k, v in raw.items()}
    if fields.get("outcome") not in (RULES, ALLOW_ALL, DISALLOW_ALL):
        return None
    return RobotsFile(
        robots_url,
        fields["outcome"],
        text=fields.get("text", ""),
        reason=fields.get("reason", ""),
        fetched_at=fields.get("fetched_at", ""),
    )


async def fetch_robots(runtime: RobotsContext, source: Source, robots_url: str) -> RobotsFile:
    """Fetch an origin's robots.txt through the host's politeness slot and cache what it says."""
    shown = redact_url(robots_url)
    host = urlsplit(robots_url).hostname or ""
    probe = replace(source, url=robots_url, kind="page")
    try:
        async with host_slot(
            runtime.redis, runtime.keys, host, limit=source.host_concurrency, delay=source.crawl_delay
        ):
            fetched = await runtime.fetcher.fetch(probe, Validators())
    except FetchError as exc:
        status = exc.status
        if status is not None and 400 <= status < 500 and status != 429:
            robots = RobotsFile(
                robots_url, ALLOW_ALL, reason=f"{shown} answered {exc.reason}: no rules, everything allowed"
            )
        else:
            why = exc.reason if status is None else f"answered {exc.reason}"
            reason = f"{shown} unreachable ({why}): everything disallowed for now"
            robots = RobotsFile(robots_url, DISALLOW_ALL, reason=reason)
    else:
        return await remember_robots(runtime, robots_url, fetched.body)
    return await _cache(runtime, robots)


async def remember_robots(runtime: RobotsContext, robots_url: str, body: bytes) -> RobotsFile:
    """Cache robots.txt bytes fetched from `robots_url` some other way (a sitemap source
    whose URL it is), so the page checks that follow need not fetch it again."""
    shown = redact_url(robots_url)
    return await _cache(runtime, RobotsFile(robots_url, RULES, text=_text(body), reason=f"rules of {shown}"))


async def _cache(runtime: RobotsContext, robots: RobotsFile) -> RobotsFile:
    robots = replace(robots, fetched_at=datetime.now(UTC).isoformat(timespec="seconds"))
    robots_url = robots.robots_url
    ttl = UNREACHABLE_TTL if robots.outcome == DISALLOW_ALL else CACHE_TTL
    key = runtime.keys.robots(origin_of(robots_url))
    async with atomic(runtime.redis) as pipe:
        pipe.delete(key)
        pipe.hset(
            key,
            mapping={
                "outcome": robots.outcome,
                "text": robots.text,
                "reason": robots.reason,
                "fetched_at": robots.fetched_at,
            },
        )
        pipe.expire(key, ttl)
        await pipe.execute()
    return robots

"""Rendered feeds in Redis: bytes per content coding, with their validators.

Publish compresses once per version, so serving never compresses; every web process reads
the same bytes and the same ETag, so a client may poll any of them and still get a 304.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime

import brotli
from redis.asyncio import Redis
from redis.exceptions import WatchError

from syndicator.store.atomic import atomic
from syndicator.store.keys import Keys

CODINGS = ("identity", "gzip", "br")

# Callbacks run (with the slug) right after a new version is stored: a web process that
# publishes itself (`syndicator serve`) invalidates its feed cache at once, without
# waiting for its own announcement to come back through pub/sub.
local_publish_listeners: list[Callable[[str], None]] = []
VERSION_HISTORY = 10  # version times kept per category, for the TTL


@dataclass(frozen=True)
class StoredFeed:
    """One published version of one format of one category feed."""

    version: int
    media_type: str
    etag_base: str  # the version's name; ETags add the content coding
    last_modified: datetime
    bodies: dict[str, bytes]
    ttl_minutes: int = 60

    def etag(self, coding: str) -> str:
        """A strong ETag, distinct per content coding as RFC 9110 §8.8.3 requires."""
        suffix = "" if coding == "identity" else f"-{coding}"
        return f'"{self.etag_base}{suffix}"'

    @property
    def last_modified_http(self) -> str:
        return format_datetime(self.last_modified, usegmt=True)


def content_digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


GZIP_LEVEL = 6
BROTLI_QUALITY = 8


def compress(body: bytes) -> dict[str, bytes]:
    """Every coding we serve; gzip with mtime 0 so equal input gives equal bytes.

    Levels chosen by measurement (`bench/ingest.py`, a 50-item RSS page of 0.18 MB, one
    core of the 2-core EPYC): gzip 6 took 4.7 ms for 21.9 % of the size, gzip 9 6.4 ms
    for 21.7 %; brotli 8 took 4.5 ms for 20.3 %, brotli 9 13.9 ms for 20.1 % (and 11,
    160 ms for 18.6 %). Past these levels each 1 % of bytes saved costs 3-30 times the
    CPU, and a publish compresses three formats: 28 ms instead of 61 ms at 9/9, which kept
    a publish of the default page over its 50 ms budget; a 1,000-item page (3.5 MB) costs
    0.1 s a format instead of 0.3 s."""
    return {"identity": body, "gzip": _one("gzip", body), "br": _one("br", body)}


# A publish compresses three formats two ways: six jobs on pure inputs. zlib and brotli
# release the GIL while they work, so two threads finish them in about half the time of
# one, off the event loop (a publish in `syndicator serve` shares its loop with the web
# server), and before the store's transaction rather than inside its WATCH. Two threads,
# not one per job: each thread that allocates keeps a malloc arena (see
# web/variants.RENDER_THREADS), and two use both cores of a small machine.
COMPRESS_THREADS = 2
_COMPRESSING = ThreadPoolExecutor(max_workers=COMPRESS_THREADS, thread_name_prefix="publish-compress")

Encoded = dict[str, tuple[dict[str, bytes], str]]
"""format → (its body in every coding, its media type): what a version stores."""


def _one(coding: str, body: bytes) -> bytes:
    if coding == "gzip":
        return gzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0)
    return brotli.compress(body, quality=BROTLI_QUALITY)


Compressing = dict[str, "asyncio.Future[bytes]"]
"""coding → its compression of one body, under way on the publish threads."""


def start_compressing(body: bytes) -> Compressing:
    """Start `body`'s gzip and br on the publish threads and return at once: a publish
    compresses a format while it renders the next (publish.render_for_publish)."""
    loop = asyncio.get_running_loop()
    return {coding: loop.run_in_executor(_COMPRESSING, _one, coding, body) for coding in CODINGS[1:]}


async def compress_rendered(
    rendered: dict[str, tuple[bytes, str]], started: dict[str, Compressing] | None = None
) -> Encoded:
    """`compress` of every rendered format, the jobs spread over COMPRESS_THREADS; the
    formats in `started` (fmt → its `start_compressing`, of that same body) are not
    compressed again."""
    started = started or {}
    jobs = {
        (fmt, coding): job
        for fmt, (body, _media_type) in rendered.items()
        for coding, job in (started.get(fmt) or start_compressing(body)).items()
    }
    done = dict(zip(jobs, await asyncio.gather(*jobs.values()), strict=True))
    return {
        fmt: ({"identity": body, **{c: done[fmt, c] for c in CODINGS[1:]}}, media_type)
        for fmt, (body, media_type) in rendered.items()
    }


async def stored_digest(redis: Redis, keys: Keys, slug: str, fmt: str) -> str | None:
    raw = await redis.hget(keys.feed(slug, fmt), "digest")
    return raw.decode() if raw else None


@dataclass(frozen=True)
class PublishedState:
    """What is stored for a category, read at one instant: what a publish compares with."""

    version: int  # the feed version counter: 0 if never published
    digests: dict[str, str | None]  # format → digest of its stored body
    times: list[datetime]  # when recent versions were published, newest (the stored one) first


async def published_state(redis: Redis, keys: Keys, slug: str, fmts: Iterable[str]) -> PublishedState:
    """The stored version of `slug`, its digests and its version times, in one transaction."""
    fmts = list(fmts)
    async with atomic(redis) as pipe:
        pipe.get(keys.feed_version(slug))
        for fmt in fmts:
            pipe.hget(keys.feed(slug, fmt), "digest")
        pipe.lrange(keys.version_times(slug), 0, -1)
        version, *digests, times = await pipe.execute()
    return PublishedState(
        version=int(version or 0),
        digests={fmt: d.decode() if d else None for fmt, d in zip(fmts, digests, strict=True)},
        times=[datetime.fromisoformat(t.decode()) for t in times],
    )


async def save_version(
    redis: Redis,
    keys: Keys,
    slug: str,
    rendered: dict[str, tuple[bytes, str]],
    *,
    ttl_minutes: int,
    now: datetime,
    base_url: str,
    bus: Redis | None = None,
) -> int:
    """Store a new version of `slug` (fmt → (body, media type)) and announce it.

    `base_url` is the address the bodies' links were rendered with: a process started with
    another address compares it with its own and republishes (`publish.republish_moved`).
    The announcement goes out on `bus`, the queue's Redis (`Runtime.bus`), when that is
    another server than `redis`; on one server it is part of the store's transaction.
    """
    encoded = await compress_rendered(rendered)
    while True:
        version = await _save(redis, keys, slug, encoded, None, ttl_minutes, now, base_url, bus)
        if version is not None:
            return version


async def save_version_if(
    redis: Redis,
    keys: Keys,
    slug: str,
    rendered: dict[str, tuple[bytes, str]],
    *,
    based_on: int,
    ttl_minutes: int,
    now: datetime,
    base_url: str,
    bus: Redis | None = None,
    started: dict[str, Compressing] | None = None,
) -> int | None:
    """`save_version`, but only while version `based_on` (0: none) is still the stored one.

    None, storing nothing, when another publisher stored a version since: two processes
    that rendered the same change would otherwise store it twice, as two versions (a new
    ETag for the same bytes, and a burst in the version times that shortens the TTL).
    `started`: compressions the caller began as it rendered (see `compress_rendered`).
    """
    encoded = await compress_rendered(rendered, started)
    return await _save(redis, keys, slug, encoded, based_on, ttl_minutes, now, base_url, bus)


async def _save(
    redis: Redis,
    keys: Keys,
    slug: str,
    encoded: Encoded,
    based_on: int | None,
    ttl_minutes: int,
    now: datetime,
    base_url: str,
    bus: Redis | None = None,
) -> int | None:
    """Store `encoded` as the next version, atomically with checking the current one is
    `based_on` (None: any); None when it is not, or it changed while we were storing.

    On a separate queue Redis (`bus`) the announcement follows the transaction: a web
    process that hears it reads the version already stored."""
    announce_apart = bus is not None and bus is not redis
    modified = now.astimezone(UTC).replace(microsecond=0)
    async with atomic(redis) as pipe:
        await pipe.watch(keys.feed_version(slug))
        current = int(await pipe.get(keys.feed_version(slug)) or 0)
        if based_on is not None and current != based_on:
            return None
        version = current + 1
        pipe.multi()
        pipe.set(keys.feed_version(slug), version)
        pipe.lpush(keys.version_times(slug), modified.isoformat())
        pipe.ltrim(keys.version_times(slug), 0, VERSION_HISTORY - 1)
        for fmt, (bodies, media_type) in encoded.items():
            digest = content_digest(bodies["identity"])
            mapping: dict[str, str | bytes | int] = {
                "version": version,
                "media_type": media_type,
                "etag": f"v{version}-{fmt}-{digest[:12]}",
                "last_modified": modified.isoformat(),
                "digest": digest,
                "ttl": ttl_minutes,
                "base_url": base_url,
            }
            mapping.update({f"body:{c}": b for c, b in bodies.items()})
            pipe.hset(keys.feed(slug, fmt), mapping=mapping)
        if not announce_apart:
            pipe.publish(keys.published_channel, f"{slug} {version}")
        try:
            await pipe.execute()
        except WatchError:
            return None
    if announce_apart:
        assert bus is not None
        await bus.publish(keys.published_channel, f"{slug} {version}")
    for listener in local_publish_listeners:
        listener(slug)
    return version


_META = ("version", "media_type", "etag", "last_modified", "ttl")


def _stored_feed(values: list[bytes | None], codings: tuple[str, ...]) -> StoredFeed | None:
    """A StoredFeed from an HMGET of `_META` followed by the bodies of `codings`."""
    if values[0] is None:
        return None
    version, media_type, etag, modified, ttl = values[: len(_META)]
    bodies = values[len(_META) :]
    return StoredFeed(
        version=int(version),
        media_type=media_type.decode(),
        etag_base=etag.decode(),
        last_modified=datetime.fromisoformat(modified.decode()),
        bodies={coding: body or b"" for coding, body in zip(codings, bodies, strict=True)},
        ttl_minutes=int(ttl or 60),
    )


async def load_feed(redis: Redis, keys: Keys, slug: str, fmt: str, coding: str | None) -> StoredFeed | None:
    """The current version; with `coding`, also that body (None: validators only, for 304s)."""
    codings = (coding,) if coding else ()
    values = await redis.hmget(keys.feed(slug, fmt), [*_META, *(f"body:{c}" for c in codings)])
    return _stored_feed(values, codings)


async def load_feed_all(redis: Redis, keys: Keys, slug: str, fmt: str) -> StoredFeed | None:
    """The current version with its body in every coding, in one round trip (for caching)."""
    values = await redis.hmget(keys.feed(slug, fmt), [*_META, *(f"body:{c}" for c in CODINGS)])
    return _stored_feed(values, CODINGS)


FORMAT_NAMES = ("rss", "atom", "json")


async def stored_base_urls(redis: Redis, keys: Keys, slugs: list[str]) -> dict[str, str | None]:
    """The base URL each slug's stored feeds were rendered with.

    None when the slug was never published, was published before versions recorded their
    base URL, or (never by `save_version`, which writes all formats at once) its formats
    disagree: every case a process with a base URL of its own must republish.
    """
    async with redis.pipeline(transaction=False) as pipe:
        for slug in slugs:
            for fmt in FORMAT_NAMES:
                pipe.hget(keys.feed(slug, fmt), "base_url")
        values = await pipe.execute()
    stored: dict[str, str | None] = {}
    for i, slug in enumerate(slugs):
        urls = {
            v.decode() if v else None for v in values[i * len(FORMAT_NAMES) : (i + 1) * len(FORMAT_NAMES)]
        }
        stored[slug] = urls.pop() if len(urls) == 1 else None
    return stored


async def record_base_url(redis: Redis, keys: Keys, slug: str, base_url: str) -> None:
    """Record `base_url` on the stored version of `slug` whose bytes are already right for it
    (a version stored before versions recorded their base URL, rendered identically)."""
    async with atomic(redis) as pipe:
        for fmt in FORMAT_NAMES:
            pipe.hset(keys.feed(slug, fmt), "base_url", base_url)
        await pipe.execute()


async def version_times(redis: Redis, keys: Keys, slug: str) -> list[datetime]:
    """When the recent versions of `slug` were published, newest first."""
    return [datetime.fromisoformat(t.decode()) for t in await redis.lrange(keys.version_times(slug), 0, -1)]


async def was_published(redis: Redis, keys: Keys, slug: str) -> bool:
    """Whether any format of `slug` was ever stored: a slug no longer configured but once
    published is a removed category (410 Gone), not a mistyped one (404)."""
    return bool(await redis.exists(*(keys.feed(slug, fmt) for fmt in FORMAT_NAMES)))

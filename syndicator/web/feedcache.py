"""The first level of the two-level feed cache: published feeds in process memory.

Redis (the second level) holds what publish wrote. A web process keeps the feeds it has
served in memory and drops a category's entries when publish announces a new version on
the `published` channel, so a 304 or a 200 of an unchanged feed costs no Redis round
trip (bench/serve.py measures what that round trip costs).

Correctness rules:
- Feeds are *stored* in memory only while the subscription is live. While it is down
  (Redis stopped, restarting, failing over), the feeds already held keep being served
  with the same bytes, ETag and headers — Redis being down must not take every feed down
  (issue 9) — and `stale_since` says since when they may be stale; a feed never held is
  read from Redis, which fails (503 with Retry-After) while Redis is down.
- On every subscribe confirmation (also when redis-py re-subscribes by itself after a
  dropped connection) each held feed's version and ETag are compared with Redis and the
  changed ones dropped, so an announcement missed while disconnected cannot leave a stale
  entry behind for longer than the reconnection takes. Only then is the cache live again.
- A read from Redis is stored only if no announcement for that category arrived while
  the read was in flight (a per-category generation counter), so an old version read
  just before a publish never outlives the publish.
- A publish in this same process (`syndicator serve`) invalidates at once; one in
  another process is announced within milliseconds, and for that long this process may
  still answer with the previous version, as any cache would.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from datetime import UTC, datetime

from redis.asyncio import Redis
from redis.exceptions import RedisError

from syndicator.store.feeds import StoredFeed, load_feed_all, local_publish_listeners
from syndicator.store.keys import Keys

log = logging.getLogger(__name__)

RECONNECT_DELAY = 1.0


class FeedCache:
    def __init__(self, redis: Redis, keys: Keys, *, bus: Redis | None = None) -> None:
        self.redis = redis  # the store: the feeds themselves
        self.bus = bus or redis  # the queue's Redis: where publish announces (`Runtime.bus`)
        self.keys = keys
        self.live = False
        # (slug, format) → the feed held; read as it is by the feed route's hot path
        # (errors.feed_handler: one dict look-up, no call), written only here.
        self.feeds: dict[tuple[str, str], StoredFeed] = {}
        self._generation: defaultdict[str, int] = defaultdict(int)
        self._task: asyncio.Task[None] | None = None
        # Feeds looked up in `feeds` (errors.feed_handler counts its own look-ups too) and
        # read from Redis.
        self.hits = 0
        self.misses = 0
        self.subscriptions = 0  # subscribe confirmations seen: 1, then +1 per reconnection
        # When the subscription was lost while feeds were held: from then on they may be
        # stale (reported in /readyz); None while live or when nothing is held.
        self.stale_since: datetime | None = None

    @property
    def client_name(self) -> str:
        return "syndicator-feed-cache-" + "".join(c if c.isalnum() else "-" for c in self.keys.prefix)

    async def get(self, slug: str, fmt: str) -> StoredFeed | None:
        """The current published feed (all codings): from memory when held — while the
        subscription is down too (then possibly stale) — else from Redis."""
        return (await self.lookup(slug, fmt))[0]

    async def lookup(self, slug: str, fmt: str) -> tuple[StoredFeed | None, str]:
        """`get`, and where the feed came from: `memory`, `stale` (memory, while the
        subscription is down) or `redis` (the metrics' cache outcome)."""
        held = self.held(slug, fmt)
        if held is not None:
            return held
        self.misses += 1
        generation, live = self._generation[slug], self.live
        feed = await load_feed_all(self.redis, self.keys, slug, fmt)
        if feed is not None and live and self.live and self._generation[slug] == generation:
            self.feeds[(slug, fmt)] = feed
        return feed, "redis"

    def held(self, slug: str, fmt: str) -> tuple[StoredFeed, str] | None:
        """`lookup` when the feed is in memory, without a coroutine (the hot path awaits
        `lookup` only when this is None)."""
        cached = self.feeds.get((slug, fmt))
        if cached is None:
            return None
        self.hits += 1
        return cached, "memory" if self.live else "stale"

    def status(self) -> dict[str, object]:
        """For /readyz: how many feeds this process holds, whether they are known current
        (`live`), and since when they are served possibly stale (null: they are not)."""
        return {
            "held": len(self.feeds),
            "live": self.live,
            "served_stale_since": self.stale_since.isoformat() if self.stale_since else None,
        }

    def invalidate(self, slug: str) -> None:
        self._generation[slug] += 1
        for key in [k for k in self.feeds if k[0] == slug]:
            del self.feeds[key]

    def _reset(self) -> None:
        self.live = False
        self.feeds.clear()
        self.stale_since = None
        for slug in list(self._generation):
            self._generation[slug] += 1

    def _lost(self) -> None:
        """The subscription is gone: keep what is held, but no longer trust it as current."""
        if self.live and self.feeds and self.stale_since is None:
            self.stale_since = datetime.now(UTC)
        self.live = False

    async def _revalidate(self) -> None:
        """Drop every held feed whose stored version or ETag differs from the one held
        (publishes missed while the subscription was down), then go live.

        Runs after the subscribe confirmation, so a publish after this read is announced
        and one before it is seen here."""
        held = list(self.feeds.items())
        if held:
            async with self.redis.pipeline(transaction=False) as pipe:
                for (slug, fmt), _feed in held:
                    pipe.hmget(self.keys.feed(slug, fmt), ["version", "etag"])
                stored = await pipe.execute()
            for ((slug, fmt), feed), (version, etag) in zip(held, stored, strict=True):
                current = version is not None and etag is not None
                if not current or int(version) != feed.version or etag.decode() != feed.etag_base:
                    self.feeds.pop((slug, fmt), None)
                    self._generation[slug] += 1
        self.live = True
        self.stale_since = None

    async def start(self) -> None:
        local_publish_listeners.append(self.invalidate)
        self._task = asyncio.create_task(self._listen(), name="feed-cache-subscription")

    async def stop(self) -> None:
        if self.invalidate in local_publish_listeners:
            local_publish_listeners.remove(self.invalidate)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._reset()

    async def _listen(self) -> None:
        channel = self.keys.published_channel
        logged = False  # one warning per outage, not one per reconnection attempt
        while True:
            try:
                async with self.bus.pubsub() as pubsub:
                    # Named, so an operator (or a test) can tell this connection apart.
                    await pubsub.execute_command("CLIENT", "SETNAME", self.client_name)
                    await pubsub.subscribe(channel)
                    async for message in pubsub.listen():
                        if message["type"] == "subscribe":
                            self.subscriptions += 1
                            await self._revalidate()  # from here on, every publish reaches us
                            logged = False
                        elif message["type"] == "message":
                            slug, _, _version = message["data"].decode().rpartition(" ")
                            self.invalidate(slug)
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                self._lost()
                if not logged:
                    log.warning(
                        "feed cache subscription lost (%s); serving the %d feeds held until Redis is back",
                        exc,
                        len(self.feeds),
                    )
                logged = True
            finally:
                self._lost()
            await asyncio.sleep(RECONNECT_DELAY)

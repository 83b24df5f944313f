"""The first level of the two-level feed cache: published feeds in process memory.

Redis (the second level) holds what publish wrote. A web process keeps the feeds it has
served in memory and drops a category's entries when publish announces a new version on
the `published` channel, so a 304 or a 200 of an unchanged feed costs no Redis round
trip (bench/serve.py measures what that round trip costs).

Correctness rules:
- The cache is used only while the subscription is live. Before it is confirmed, after
  an error, and while reconnecting, every request reads Redis. The cache is emptied on
  every subscribe confirmation — also when redis-py re-subscribes by itself after a
  dropped connection — so an announcement missed while disconnected cannot leave a
  stale entry behind for longer than the reconnection takes.
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

from redis.asyncio import Redis
from redis.exceptions import RedisError

from syndicator.store.feeds import StoredFeed, load_feed_all, local_publish_listeners
from syndicator.store.keys import Keys

log = logging.getLogger(__name__)

RECONNECT_DELAY = 1.0


class FeedCache:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys
        self.live = False
        self._feeds: dict[tuple[str, str], StoredFeed] = {}
        self._generation: defaultdict[str, int] = defaultdict(int)
        self._task: asyncio.Task[None] | None = None
        self.hits = 0
        self.misses = 0
        self.subscriptions = 0  # subscribe confirmations seen: 1, then +1 per reconnection

    @property
    def client_name(self) -> str:
        return "syndicator-feed-cache-" + "".join(c if c.isalnum() else "-" for c in self.keys.prefix)

    async def get(self, slug: str, fmt: str) -> StoredFeed | None:
        """The current published feed (all codings), from memory when the cache is live."""
        if self.live:
            cached = self._feeds.get((slug, fmt))
            if cached is not None:
                self.hits += 1
                return cached
        self.misses += 1
        generation, live = self._generation[slug], self.live
        feed = await load_feed_all(self.redis, self.keys, slug, fmt)
        if feed is not None and live and self.live and self._generation[slug] == generation:
            self._feeds[(slug, fmt)] = feed
        return feed

    def invalidate(self, slug: str) -> None:
        self._generation[slug] += 1
        for key in [k for k in self._feeds if k[0] == slug]:
            del self._feeds[key]

    def _reset(self, live: bool) -> None:
        self.live = live
        self._feeds.clear()
        for slug in list(self._generation):
            self._generation[slug] += 1

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
        self._reset(False)

    async def _listen(self) -> None:
        channel = self.keys.published_channel
        while True:
            try:
                async with self.redis.pubsub() as pubsub:
                    # Named, so an operator (or a test) can tell this connection apart.
                    await pubsub.execute_command("CLIENT", "SETNAME", self.client_name)
                    await pubsub.subscribe(channel)
                    async for message in pubsub.listen():
                        if message["type"] == "subscribe":
                            self.subscriptions += 1
                            self._reset(True)  # from here on, every publish reaches us
                        elif message["type"] == "message":
                            slug, _, _version = message["data"].decode().rpartition(" ")
                            self.invalidate(slug)
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                log.warning("feed cache subscription lost (%s); reading Redis until it is back", exc)
            finally:
                self._reset(False)
            await asyncio.sleep(RECONNECT_DELAY)

"""What every job and request handler shares: config, Redis, keys, the fetcher, the queue.

Built once per process (worker start-up, web start-up, CLI command) and passed explicitly,
so nothing reaches for globals.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from arq.connections import ArqRedis
from redis.asyncio import Redis

from syndicator.fetch import Fetcher
from syndicator.isolate import ParsePool
from syndicator.models import Config, Settings
from syndicator.store.connection import RedisUrls, connect
from syndicator.store.keys import Keys

# Hosts that mean "every interface": a server listens there, but no reader can fetch from
# them, so they never become a base URL (their loopback stands in).
WILDCARD_HOSTS = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1", "[::]": "::1"}


def base_url(settings: Settings) -> str:
    """The public base URL (ends in "/") every link in the feeds, OPML and index starts with.

    `public_url` when set (behind a proxy, or whenever workers run apart from the web
    server); otherwise the address this process listens on, with a wildcard host replaced
    by loopback so that a feed never names `http://0.0.0.0:8080/` as its own address.
    """
    if settings.public_url:
        return settings.public_url if settings.public_url.endswith("/") else settings.public_url + "/"
    host = WILDCARD_HOSTS.get(settings.host, settings.host)
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 literal in a URL is bracketed
    return f"http://{host}:{settings.port}/"


def external_redis(settings: Settings) -> RedisUrls | None:
    """The configured queue and store Redis (`RedisUrls`), or None for the embedded one.

    `queue_url` and `store_url` each fall back to `redis_url` (the config refuses one of
    them alone without it)."""
    queue = settings.queue_url or settings.redis_url
    store = settings.store_url or settings.redis_url
    if queue is None or store is None:
        return None
    return RedisUrls(queue=queue, store=store)


PUBLIC_URL_NEEDED = "server.public_url (or SYNDICATOR_PUBLIC_URL) must be set with an external Redis"


def public_url_required(command: str, settings: Settings) -> str | None:
    """The one-line refusal for `web`, `worker` or `ingest` on an external Redis without a
    public URL.

    Workers (and `ingest`, which publishes inline) render the links (rel=self, archives)
    into the stored feeds, and on another machine cannot know the address readers reach
    the web servers at; guessing it from their own host and port would publish feeds
    naming an address nobody serves. `web` serves those feeds, so it must agree with them.
    (`serve` is exempt: its worker renders for the server in the same process.)
    """
    if external_redis(settings) is None or settings.public_url:
        return None
    reason = {
        "web": "workers render the feeds' links and cannot know this server's address",
        "ingest": "it renders the feeds' links and cannot know the web servers' address",
    }.get(command, "workers render the feeds' links and cannot know the web servers' address")
    return f"{command}: {PUBLIC_URL_NEEDED}: {reason}"


@dataclass
class Runtime:
    config: Config
    redis: Redis
    keys: Keys
    fetcher: Fetcher
    queue: ArqRedis | None = None  # None: publish runs inline (CLI ingest, tests)
    # Parsing and extraction run in its child processes (started on first use), never on
    # the event loop; `close()` ends them.
    pool: ParsePool = field(default_factory=ParsePool)
    # The queue's Redis when it is not the store's (`RedisUrls`); None: `redis` is both.
    queue_redis: Redis | None = None

    @classmethod
    def open(cls, config: Config, redis_url: str | RedisUrls, *, queue: ArqRedis | None = None) -> Runtime:
        """A runtime on one Redis (a URL) or on a separate queue and store (`RedisUrls`)."""
        urls = redis_url if isinstance(redis_url, RedisUrls) else RedisUrls.one(redis_url)
        return cls(
            config=config,
            redis=connect(urls.store),
            keys=Keys(config.settings.redis_prefix),
            fetcher=Fetcher(config.fetch),
            queue=queue,
            queue_redis=connect(urls.queue) if urls.split else None,
        )

    @property
    def bus(self) -> Redis:
        """The queue's Redis: publish and reload announcements, worker heartbeats, arq's
        queue depth (`RedisUrls` says why those live there); the store's on one server."""
        return self.queue_redis or self.redis

    @property
    def site_url(self) -> str:
        """The public base URL (ends in "/") used in every link the feeds carry (`base_url`)."""
        return base_url(self.config.settings)

    async def close(self) -> None:
        await self.pool.close()
        await self.fetcher.close()
        await self.redis.aclose()
        if self.queue_redis is not None:
            await self.queue_redis.aclose()

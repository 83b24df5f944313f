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
from syndicator.store.connection import connect
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
    if not settings.redis_url or settings.public_url:
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

    @classmethod
    def open(cls, config: Config, redis_url: str, *, queue: ArqRedis | None = None) -> Runtime:
        return cls(
            config=config,
            redis=connect(redis_url),
            keys=Keys(config.settings.redis_prefix),
            fetcher=Fetcher(config.fetch),
            queue=queue,
        )

    @property
    def site_url(self) -> str:
        """The public base URL (ends in "/") used in every link the feeds carry (`base_url`)."""
        return base_url(self.config.settings)

    async def close(self) -> None:
        await self.pool.close()
        await self.fetcher.close()
        await self.redis.aclose()

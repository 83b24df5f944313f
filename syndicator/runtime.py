"""What every job and request handler shares: config, Redis, keys, the fetcher, the queue.

Built once per process (worker start-up, web start-up, CLI command) and passed explicitly,
so nothing reaches for globals.
"""

from __future__ import annotations

from dataclasses import dataclass

from arq.connections import ArqRedis
from redis.asyncio import Redis

from syndicator.fetch import Fetcher
from syndicator.models import Config
from syndicator.store.connection import connect
from syndicator.store.keys import Keys


@dataclass
class Runtime:
    config: Config
    redis: Redis
    keys: Keys
    fetcher: Fetcher
    queue: ArqRedis | None = None  # None: publish runs inline (CLI ingest, tests)

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
        """The public base URL (ends in "/") used in every link the feeds carry."""
        settings = self.config.settings
        if settings.public_url:
            return settings.public_url if settings.public_url.endswith("/") else settings.public_url + "/"
        return f"http://{settings.host}:{settings.port}/"

    async def close(self) -> None:
        await self.fetcher.close()
        await self.redis.aclose()

"""Redis connections for the web process, the workers and arq, from one URL.

redis-py 5 retries nothing by default and a bounded plain pool raises under bursts, so
both are set here once (LIBRARY-NOTES, redis-py asyncio).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from arq.connections import RedisSettings
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

_RETRY_ON = [RedisConnectionError, RedisTimeoutError, ConnectionResetError]


def connect(url: str, *, max_connections: int = 32) -> Redis:
    """An asyncio client for `url` (redis://, rediss:// or unix://)."""
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=10,
        health_check_interval=30,
        retry=Retry(ExponentialBackoff(cap=2.0, base=0.05), retries=5),
        retry_on_error=_RETRY_ON,
    )
    return Redis(connection_pool=pool)


def arq_settings(url: str) -> RedisSettings:
    """The same server for arq, with retries turned on (arq passes them to redis-py)."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        settings = RedisSettings(unix_socket_path=parts.path)
        db = parts.query.partition("db=")[2].split("&")[0]
        if db:
            settings.database = int(db)
    else:
        settings = RedisSettings.from_dsn(url)
    settings.retry_on_timeout = True
    settings.retry_on_error = _RETRY_ON
    settings.retry = Retry(ExponentialBackoff(cap=2.0, base=0.05), retries=5)
    settings.conn_retries = 30
    settings.conn_retry_delay = 1
    return settings

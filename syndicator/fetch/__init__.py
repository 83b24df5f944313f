"""The fetch stage: get an upstream's bytes safely (limits, conditional GET, address guard).

`Fetcher.fetch(source, validators)` returns a `FetchResult` (200 with a body, or 304) or
raises `FetchError`, whose `retryable`/`retry_after` tell the scheduler what to do next.
"""

from syndicator.fetch.client import Fetcher, parse_retry_after
from syndicator.fetch.errors import AddressRefused, FetchError, RobotsRefused
from syndicator.fetch.guard import AddressGuard, parse_ip_literal, refusal_reason

__all__ = [
    "AddressGuard",
    "AddressRefused",
    "FetchError",
    "Fetcher",
    "RobotsRefused",
    "parse_ip_literal",
    "parse_retry_after",
    "refusal_reason",
]

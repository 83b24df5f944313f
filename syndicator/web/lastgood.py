"""The last good response per request, replayed while Redis is unreachable (issue 9).

Plain feeds are held by the FeedCache (feedcache.py). Everything else a feed URL can
answer — filtered and combined variants, RFC 3229 deltas, archive pages — is computed
from Redis on each request (or validated against it before a cached render is used), so
without this a Redis outage turned every such URL into a 503, even one this process
answered a second earlier.

One mechanism for all of them: `errors.feed_route` wraps a route's handler. A 200 or 226
that the handler produced (so Redis answered) is kept, keyed by the request's canonical
form; when the handler fails because Redis cannot be reached (RedisError or OSError), the
kept response for that key is sent again with the same status, bytes and headers — or a
304 when the request's validators match it — and `stale_since` says since when such
replays happen. A request this process never answered still gets the 503 with
Retry-After (`errors.error_response`). Errors, 304s and 429s are never kept: they carry no
representation to replay.

The key is (path, sorted query pairs, negotiated content coding), plus `If-None-Match`
for a delta request (`A-IM`), whose 226 depends on the version the client names. Two
spellings of the same query are two entries; that costs memory, never correctness.

Memory is bounded twice, like every render cache here (cache.py): MAX_ENTRIES responses
and MAX_BYTES of bodies, least recently used first out. The bounds are fixed: the store
only helps during an outage, and a web process already keeps up to 64 MiB of variant
renders and 32 MiB of archive pages; 32 MiB more for the responses readers fetched most
recently covers the feeds a reader population actually polls without letting a crawler
of unique URLs grow the process.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from aiohttp import web

from syndicator.web.cache import RenderCache
from syndicator.web.negotiation import choose_coding
from syndicator.web.representation import Validators, is_not_modified

log = logging.getLogger(__name__)

MAX_ENTRIES = 1024
MAX_BYTES = 32 * 1024 * 1024
KEPT_STATUSES = frozenset({200, 226})
# Sent again on a replayed 304 (what `representation.not_modified_response` sends).
NOT_MODIFIED_HEADERS = (
    "ETag",
    "Cache-Control",
    "Vary",
    "Link",
    "Last-Modified",
    "Access-Control-Allow-Origin",
)
# Set by aiohttp when it sends a response; a replay must not carry the old values.
TRANSPORT_HEADERS = frozenset({"Content-Length", "Date", "Server", "Transfer-Encoding"})


@dataclass(frozen=True)
class KeptResponse:
    """What was sent: enough to send it again byte for byte."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)


class LastGood:
    """Per web process: the last good response of each request key (bounded LRU)."""

    def __init__(self, max_entries: int = MAX_ENTRIES, max_bytes: int = MAX_BYTES) -> None:
        self.responses = RenderCache(max_entries, max_bytes)
        self.replays = 0
        # When the first replay since Redis last answered happened (null: none happened).
        self.stale_since: datetime | None = None

    def keep(self, key: tuple, response: web.Response) -> None:
        body = response.body
        if not isinstance(body, bytes):
            return  # a streamed or payload body: nothing here produces one
        headers = tuple((k, v) for k, v in response.headers.items() if k not in TRANSPORT_HEADERS)
        self.responses.put(key, KeptResponse(response.status, headers, body), len(body))
        self.stale_since = None  # Redis answered this request: what is kept is current again

    def holds(self, request: web.Request) -> bool:
        return request_key(request) in self.responses

    def replay(self, request: web.Request, key: tuple) -> web.Response | None:
        """The kept response for `key` (a 304 when the request's validators match), or None."""
        kept: KeptResponse | None = self.responses.get(key)
        if kept is None:
            return None
        self.replays += 1
        if self.stale_since is None:
            self.stale_since = datetime.now(UTC)
        if kept.status == 200 and is_not_modified(request, _validators(kept)):
            headers = {name: value for name in NOT_MODIFIED_HEADERS if (value := kept.header(name))}
            return web.Response(status=304, headers=headers)
        return web.Response(status=kept.status, headers=dict(kept.headers), body=kept.body)

    def status(self) -> dict[str, object]:
        """For /readyz (under `feeds`): how many responses are kept, and since when kept
        ones are replayed because Redis does not answer (null: they are not)."""
        return {
            "held": len(self.responses),
            "bytes": self.responses.total_bytes,
            "replayed": self.replays,
            "served_stale_since": self.stale_since.isoformat() if self.stale_since else None,
        }


LAST_GOOD = web.AppKey("last_good", LastGood)


def request_key(request: web.Request) -> tuple:
    """The canonical form of a request, as far as its response depends on it."""
    coding = choose_coding(request.headers.get("Accept-Encoding"))
    delta = request.headers.get("If-None-Match") if request.headers.get("A-IM") else None
    return (request.path, tuple(sorted(request.query.items())), coding, delta)


def _validators(kept: KeptResponse) -> Validators:
    modified = kept.header("Last-Modified")
    return Validators(kept.header("ETag") or "", parsedate_to_datetime(modified) if modified else None)

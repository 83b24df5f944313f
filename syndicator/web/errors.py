"""What a client sees when a handler fails, and the feed routes' one wrapper.

Unexpected errors become a short 500 text naming nothing internal, never a traceback; a
store that cannot be reached (RedisError) is a 503 with Retry-After. The operator's log
gets the details. HTTP exceptions (redirects, 404s) pass through as aiohttp answers them.

The app has no middleware: with any, aiohttp runs every request through a chain of
wrapper calls, and the feed URLs are the hot path (issue 16). So each route's handler is
wrapped once, when it is added: `guarded` for the pages, the API-less routes and the hub;
`feed_route` for /feeds/ and /archive/, which in one function also counts the request
(`syndicator_feed_requests_total{format,status,cache}`) and keeps and replays the last
good response while Redis is down (lastgood.py). /feeds/ answers a repeated request for
a held feed before any of that (`feed_handler`). The admin API, a sub-application,
composes its own middleware onto its handlers the same way, `errors_as_text` outermost:
aiohttp would run a chain for the whole app if any sub-application had middleware.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from redis.exceptions import RedisError

from syndicator import metrics
from syndicator.web.feeds import CACHE_OUTCOME, HELD_BY_FEED_CACHE, HotPath, serve_feed
from syndicator.web.lastgood import KEPT_STATUSES, LAST_GOOD, request_key

# The name these lines always had (they came from the app module's middleware).
log = logging.getLogger("syndicator.web.app")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

FEED_FORMATS = ("rss", "atom", "json")


def error_response(request: web.Request, exc: Exception) -> web.Response:
    """The answer to a handler's unexpected `exc` (not an HTTP exception), logged."""
    if isinstance(exc, RedisError):
        log.error("%s %s: store unavailable: %s", request.method, request.path, exc)
        return web.Response(
            status=503, text="store unavailable, try again shortly\n", headers={"Retry-After": "5"}
        )
    log.error("%s %s failed", request.method, request.path, exc_info=exc)
    return web.Response(status=500, text="internal error; the operator's log has the details\n")


async def errors_as_text(request: web.Request, handler: Handler) -> web.StreamResponse:
    """`handler(request)`, its unexpected errors answered by `error_response`: what
    `guarded` wraps a route in, and the outermost of the admin API's middleware
    (admin/api.py composes it onto its handlers)."""
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except Exception as exc:
        return error_response(request, exc)


def guarded(handler: Handler) -> Handler:
    """`handler`, its unexpected errors answered by `error_response`."""

    @functools.wraps(handler)
    async def wrapped(request: web.Request) -> web.StreamResponse:
        return await errors_as_text(request, handler)

    return wrapped


def feed_route(handler: Handler) -> Handler:
    """`handler` of a feed URL (/feeds/, /archive/): its good responses kept and replayed
    while Redis cannot be reached, its errors answered as `guarded` does, and the request
    counted by format, status and cache outcome — one call, not three layers."""

    @functools.wraps(handler)
    async def wrapped(request: web.Request) -> web.StreamResponse:
        status = 500  # what a request cancelled or failing in an unforeseen way counts as
        outcome: str | None = None  # CACHE_OUTCOME, read once
        try:
            try:
                response = await handler(request)
            except (RedisError, OSError) as exc:
                # The key is computed only when a response is kept or replayed: a plain
                # feed's request (held by the FeedCache, the common case) never needs it.
                # Never answered here (nothing to replay): the 503 (or 500) of `error_response`.
                replayed = request.app[LAST_GOOD].replay(request, request_key(request))
                response = error_response(request, exc) if replayed is None else replayed
            except web.HTTPException as exc:
                status = exc.status
                raise
            except Exception as exc:
                response = error_response(request, exc)
            else:
                outcome = request.get(CACHE_OUTCOME, "none")
                if (
                    outcome not in HELD_BY_FEED_CACHE
                    and response.status in KEPT_STATUSES
                    and isinstance(response, web.Response)
                ):
                    request.app[LAST_GOOD].keep(request_key(request), response)
            status = response.status
            return response
        finally:
            if outcome is None:
                outcome = request.get(CACHE_OUTCOME, "none")
            _FEED_REQUESTS.add((_format_of(request), status, outcome))

    return wrapped


def feed_handler(hot: HotPath, name: str | None = None) -> Handler:
    """The handler of the plain feed URL /feeds/`name` (None: of the route /feeds/{name},
    for the name it matched). A request `hot.targets` holds the answer to — the same name
    and Accept-Encoding, no query string and no A-IM, under the same configuration, its
    feed's version still the one held — is answered and counted here, in this one call:
    the same prepared headers and body, the same 304 test as `serve_feed`'s
    (tests/test_web.py compares them). Any other goes to `feed_route(serve_feed)`.

    Nothing here awaits or reaches Redis: no cancellation, no replay to consider."""
    general = feed_route(serve_feed if name is None else functools.partial(serve_feed, name=name))
    targets, runtime, cache = hot.targets, hot.runtime, hot.cache  # `targets` is cleared, never replaced

    async def answer(request: web.Request) -> web.StreamResponse:
        headers = request.headers
        routed = request.match_info["name"] if name is None else name
        target = targets.get((routed, headers.get("Accept-Encoding")))
        if (
            target is None
            or target.config is not runtime.config
            or cache.feeds.get(target.key) is not target.feed
            or "A-IM" in headers
            or "?" in request.raw_path
        ):
            return await general(request)
        cache.hits += 1
        response = target.answers.answer(request)
        _FEED_REQUESTS.add((target.key[1], response.status, "memory" if cache.live else "stale"))
        return response

    return answer


def _format_of(request: web.Request) -> str:
    ext = request.path.rpartition(".")[2]
    return ext if ext in FEED_FORMATS else "other"


# (format, status, cache outcome) counts of FEED_REQUESTS: a handful of combinations exist
# (3 formats + other, the statuses sent, 6 outcomes).
_FEED_REQUESTS = metrics.LoopTally(metrics.FEED_REQUESTS)

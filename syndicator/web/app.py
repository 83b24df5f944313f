"""The aiohttp application: routes and error handling, nothing else.

Unexpected errors become a short 500 text naming the request, never a traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from redis.exceptions import RedisError

from syndicator.config.reload import ConfigReloader
from syndicator.runtime import Runtime
from syndicator.web import archives, variants
from syndicator.web.cache import RenderCache
from syndicator.web.delta import DELTA_CACHE
from syndicator.web.feedcache import FeedCache
from syndicator.web.feeds import FEED_CACHE, RUNTIME, serve_feed
from syndicator.web.opml import serve_opml
from syndicator.web.pages import RELOADER, healthz, index

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def errors_as_text(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except RedisError as exc:
        log.error("%s %s: store unavailable: %s", request.method, request.path, exc)
        return web.Response(
            status=503, text="store unavailable, try again shortly\n", headers={"Retry-After": "5"}
        )
    except Exception:
        log.exception("%s %s failed", request.method, request.path)
        return web.Response(status=500, text="internal error; the operator's log has the details\n")


def create_app(runtime: Runtime, *, reloader: ConfigReloader | None = None) -> web.Application:
    """The app serving `runtime`; `reloader`, when the process follows config reloads,
    reports its status in /healthz."""
    app = web.Application(middlewares=[errors_as_text])
    app[RUNTIME] = runtime
    if reloader is not None:
        app[RELOADER] = reloader
    app[FEED_CACHE] = FeedCache(runtime.redis, runtime.keys)  # first level: this process's memory
    app[DELTA_CACHE] = RenderCache()  # per process: RFC 3229 feed deltas, cut once each
    app.router.add_get("/", index)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/opml.xml", serve_opml)
    app.router.add_get("/feeds/{name:.+}", serve_feed)
    variants.install(app)  # render cache of filtered and combined feeds
    archives.install(app)  # /archive/{slug}/{n}.{ext}: RFC 5005 archive pages
    app.on_startup.append(_start_feed_cache)
    app.on_cleanup.append(_stop_feed_cache)
    return app


async def _start_feed_cache(app: web.Application) -> None:
    await app[FEED_CACHE].start()


async def _stop_feed_cache(app: web.Application) -> None:
    await app[FEED_CACHE].stop()

"""The aiohttp application: routes, error handling and the limits put on clients.

Unexpected errors become a short 500 text, never a traceback (errors.py). A
request aiohttp cannot parse is a 400 and one INFO line naming the peer and the problem,
not an ERROR with a traceback: a client's garbage is not our failure, and a scanner would
otherwise write megabytes of tracebacks. Every wait on a client is bounded by
`server.keepalive_timeout`: an idle connection, one whose headers never complete, and a
request body that never ends are all closed (only POST /hub reads one: a small form).
"""

from __future__ import annotations

import logging

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from syndicator.config.reload import ConfigReloader
from syndicator.logs import AccessLogger
from syndicator.runtime import Runtime
from syndicator.web import archives, category_page, hub, subscriber, variants
from syndicator.web.admin import api as admin_api
from syndicator.web.admin import dashboard
from syndicator.web.cache import RenderCache
from syndicator.web.delta import DELTA_CACHE
from syndicator.web.errors import feed_handler, guarded
from syndicator.web.feedcache import FeedCache
from syndicator.web.feeds import FEED_CACHE, HOT, RUNTIME, HotPath, plain_feed_names
from syndicator.web.lastgood import LAST_GOOD, LastGood
from syndicator.web.opml import serve_opml
from syndicator.web.pages import RELOADER, healthz, index
from syndicator.web.readiness import install as install_readiness

log = logging.getLogger(__name__)


# Only POST /hub reads a body (a form of a few URLs); aiohttp refuses (413) a longer one.
MAX_REQUEST_BODY = 64 * 1024


class MalformedRequestAsInfo(logging.Filter):
    """Rewrites aiohttp's `Error handling request from PEER` + traceback for a request it
    could not parse (`HttpProcessingError`: bad request line, header, chunking, too long)
    into one INFO line: `malformed request from PEER: PROBLEM`.

    The line comes from `RequestHandler.handle_error` (aiohttp `web_protocol.py`), which
    logs every parse error with `logger.exception` on the `aiohttp.server` logger; the
    client still gets its 400. Other records pass untouched.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, HttpProcessingError):
            peer = record.args[0] if isinstance(record.args, tuple) and record.args else "?"
            problem = _one_line(str(exc.message or type(exc).__name__))
            record.levelno, record.levelname = logging.INFO, "INFO"
            record.msg, record.args = "malformed request from %s: %s", (peer, problem)
            record.exc_info, record.exc_text, record.stack_info = None, None, None
        return True


_MALFORMED_AS_INFO = MalformedRequestAsInfo()


def _one_line(message: str) -> str:
    """aiohttp's parser message on one line, without the line holding only a `^` marker."""
    parts = (part.strip() for part in message.splitlines())
    return " ".join(part for part in parts if part.strip("^ "))[:200]


def create_app(runtime: Runtime, *, reloader: ConfigReloader | None = None) -> web.Application:
    """The app serving `runtime`; `reloader`, when the process follows config reloads,
    reports its status in /readyz."""
    logging.getLogger("aiohttp.server").addFilter(_MALFORMED_AS_INFO)  # once: the same filter
    app = web.Application(client_max_size=MAX_REQUEST_BODY)
    app[RUNTIME] = runtime
    if reloader is not None:
        app[RELOADER] = reloader
    # First level: this process's memory, kept current by the announcements on the queue's Redis.
    app[FEED_CACHE] = FeedCache(runtime.redis, runtime.keys, bus=runtime.bus)
    # The held feeds' answers, headers and all, per version and coding, and the plain
    # feed URLs already answered (errors.feed_handler).
    app[HOT] = HotPath(runtime, app[FEED_CACHE], {}, {})
    app[DELTA_CACHE] = RenderCache()  # per process: RFC 3229 feed deltas, cut once each
    app[LAST_GOOD] = LastGood()  # variants, deltas, archive pages: replayed while Redis is down
    # No middleware: each handler is wrapped when added (errors.py says why).
    app.router.add_get("/", guarded(index))
    app.router.add_get("/healthz", guarded(healthz))
    install_readiness(app)  # /readyz, /metrics
    app.router.add_get("/opml.xml", guarded(serve_opml))
    # Counted, last good kept; a held feed answered without serve_feed's coroutines. Each
    # configured category's feed URLs are plain routes, found by one dict look-up in
    # aiohttp's router instead of a regex match (the hot path, issue 16); the pattern
    # answers everything else (combined, renamed, percent-encoded names, categories a
    # reload added), the same way.
    hot = app[HOT]
    for name in plain_feed_names(runtime.config):
        app.router.add_get(f"/feeds/{name}", feed_handler(hot, name))
    app.router.add_get("/feeds/{name:.+}", feed_handler(hot))
    variants.install(app)  # render cache of filtered and combined feeds
    archives.install(app)  # /archive/{slug}/{n}.{ext}: RFC 5005 archive pages
    category_page.install(app)  # /categories/{slug}/: a page for people per category
    hub.install(app)  # POST /hub: WebSub subscriptions to our feeds
    admin_api.install(app)  # /admin/api/: the admin API, behind the admin token
    dashboard.install(app)  # /admin/: the operators' dashboard; security headers on all of /admin/
    subscriber.install(app)  # /websub/callback/{path}: upstream hubs verify and push
    app.on_startup.append(_start_feed_cache)
    app.on_cleanup.append(_stop_feed_cache)
    return app


def create_runner(
    runtime: Runtime, *, reloader: ConfigReloader | None = None, access_log: logging.Logger | None = None
) -> web.AppRunner:
    """The runner serving `create_app(runtime)`, with the configured
    `server.keepalive_timeout` as the bound on every wait for a client.

    aiohttp 3.14.4 and later (aio-libs/aiohttp#13681) start the keep-alive timer when a
    connection opens and close it if no complete request has arrived by then, so the
    timeout also bounds a client that sends nothing or half a header. `lingering_time` bounds the reading and
    discarding of a request body the handler did not read; after it the connection closes.
    """
    timeout = runtime.config.settings.keepalive_timeout
    return web.AppRunner(
        create_app(runtime, reloader=reloader),
        access_log=access_log,  # None: none (logs.access_log gives the queued logger)
        access_log_class=AccessLogger,
        keepalive_timeout=timeout,
        lingering_time=timeout,
    )


async def _start_feed_cache(app: web.Application) -> None:
    await app[FEED_CACHE].start()


async def _stop_feed_cache(app: web.Application) -> None:
    await app[FEED_CACHE].stop()

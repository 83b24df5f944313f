"""Who may use the admin API: every request carries the bearer token, or gets nothing done.

In this order, before any handler runs:

1. No token configured: 404 with a one-line hint. The API is never open.
2. A client (its address, as `web/ratelimit.client_key` tells it: trusted proxies, IPv6
   per /64) with `MAX_FAILURES` failed attempts in the last minute: 429 with
   `Retry-After`, without looking at the token it sent, so a guess made then learns
   nothing, right or wrong.
3. A missing or wrong token: 401 with `WWW-Authenticate: Bearer`, counted as a failure.

Failures are logged at WARNING at most once a minute per client address (event
`admin_auth_failed`); the line names the address, method and path, never what was sent.
Both windows are `RenderLimiter`s: the failures one with a limit of `MAX_FAILURES`, the log
one with a limit of 1.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web

from syndicator.web.admin.responses import json_error
from syndicator.web.admin.token import TOKEN_FILE_VAR, TOKEN_VAR, bearer_ok
from syndicator.web.feeds import RUNTIME
from syndicator.web.ratelimit import RenderLimiter, client_key

log = logging.getLogger("syndicator.admin")

MAX_FAILURES = 10  # failed attempts per client address in any minute; then 429

OFF_HINT = (
    f"the admin API is off: set {TOKEN_VAR} (or {TOKEN_FILE_VAR}) to a token of 32 or more "
    "characters and restart"
)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class AdminGuard:
    """The token and the failure windows of one web process."""

    token: str | None
    failures: RenderLimiter = field(default_factory=RenderLimiter)
    logged: RenderLimiter = field(default_factory=RenderLimiter)

    def refusal(self, request: web.Request) -> web.Response | None:
        """The answer refusing `request`, or None when it may go on."""
        if self.token is None:
            return json_error(404, OFF_HINT)
        client = client_key(request, request.config_dict[RUNTIME].config.settings.trusted_proxies)
        wait = self.failures.retry_after(client, MAX_FAILURES)
        if wait:
            self._log(request, client, "429")
            return json_error(
                429,
                f"too many failed attempts from this address; try again in {wait} s",
                headers={"Retry-After": str(wait)},
            )
        if bearer_ok(request, self.token):
            return None
        self.failures.acquire(client, MAX_FAILURES)
        self._log(request, client, "401")
        given = "Authorization" in request.headers
        message = "wrong admin token" if given else "missing admin token: send Authorization: Bearer TOKEN"
        return json_error(401, message, headers={"WWW-Authenticate": 'Bearer realm="syndicator-admin"'})

    def _log(self, request: web.Request, client: str, outcome: str) -> None:
        if self.logged.acquire(client, 1):
            return  # already logged for this address within the minute
        log.warning(
            "admin API: failed authentication from %s (%s %s, answered %s); "
            "further failures from this address in the next minute are not logged",
            client,
            request.method,
            request.rel_url.path,
            outcome,
            extra={"event": "admin_auth_failed", "outcome": outcome},
        )


ADMIN_GUARD = web.AppKey("admin_guard", AdminGuard)


@web.middleware
async def require_token(request: web.Request, handler: Handler) -> web.StreamResponse:
    refusal = request.app[ADMIN_GUARD].refusal(request)
    if refusal is not None:
        return refusal
    return await handler(request)

"""`install(app)`: the admin API as a sub-application at `/admin/api/`.

Its middleware (`MIDDLEWARE`, composed onto each handler), outermost first:
`errors.errors_as_text` (what every other route's handler is wrapped in),
`record_actions` (every action, refused ones included, logged and recorded in the audit
log), `json_errors` (every error a JSON body `{"error": …}`, never a traceback: 400 for a
request the API cannot take, 404 for an unknown id — `routes.ERROR_STATUS` maps each
error we name —, 503 while Redis is unreachable, 500 for a bug, logged), then
`auth.require_token`. Its routes come
from `routes.OPERATIONS`, the table the OpenAPI document is built from, plus one catch-all
that answers any other path under the prefix 404 (or 405 with `Allow` for a known path
and another method) — after the token check, so without a token nothing about the API's
shape is learnt.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable

from aiohttp import web
from redis.exceptions import RedisError

from syndicator.errors import SyndicatorError
from syndicator.operate.audit import outcome_of_status, record_action
from syndicator.web.admin.auth import ADMIN_GUARD, AdminGuard, Handler, require_token
from syndicator.web.admin.params import read_body, read_params
from syndicator.web.admin.responses import json_error
from syndicator.web.admin.routes import ADMIN_STATE, OPERATIONS, AdminState, error_status
from syndicator.web.admin.security import secure
from syndicator.web.admin.table import PREFIX, Call, Operation
from syndicator.web.admin.token import load_admin_token
from syndicator.web.errors import errors_as_text
from syndicator.web.feeds import RUNTIME
from syndicator.web.ratelimit import client_key

log = logging.getLogger("syndicator.admin")


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except SyndicatorError as exc:
        status = error_status(exc)
        if status is None:  # one of ours the API does not expect here: a bug
            log.exception("admin API: %s %s failed", request.method, request.path)
            return json_error(500, "internal error; the operator's log has the details")
        return json_error(status, str(exc))
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return json_error(exc.status, exc.reason)  # aiohttp's own: 413 for a body too large
    except RedisError as exc:
        log.error("admin API: %s %s: store unavailable: %s", request.method, request.path, exc)
        return json_error(503, "store unavailable, try again shortly", headers={"Retry-After": "5"})
    except Exception:
        log.exception("admin API: %s %s failed", request.method, request.path)
        return json_error(500, "internal error; the operator's log has the details")


AUDITED = web.RequestKey("admin_audited", Operation)  # the operation a request reached
AUDITED_CALL = web.RequestKey("admin_audited_call", Call)  # …and its parameters, once read


def _bind(op: Operation) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle(request: web.Request) -> web.StreamResponse:
        request[AUDITED] = op  # past the token check: an action, whatever it answers
        params = read_params(op.params, request.match_info, request.query.items())
        raw = await request.read() if request.body_exists else b""
        body = read_body(raw, op.body)
        call = request[AUDITED_CALL] = Call(request, params, body)
        return await op.handler(call)

    handle.__name__ = op.operation_id
    return handle


def _target(op: Operation, request: web.Request) -> str:
    """What an action was done to: its path parameters (`a`, an article id), else its
    body as compact JSON (`{"all":true,"force":true}`), else `-`."""
    path = [request.match_info.get(p.name, "") for p in op.params if p.where == "path"]
    if path:
        return "/".join(path)
    call = request.get(AUDITED_CALL)
    if call is not None and call.body:
        return json.dumps(dict(call.body), ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return "-"


def _error_text(response: web.StreamResponse) -> str:
    """The `{"error": …}` line of a refusal, or empty."""
    body = response.body if isinstance(response, web.Response) else None
    if not isinstance(body, bytes):
        return ""
    try:
        error = json.loads(body).get("error")
    except (ValueError, AttributeError):
        return ""
    return error if isinstance(error, str) else ""


@web.middleware
async def record_actions(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every action — a POST or DELETE that passed the token check, refused ones too —
    logged at INFO (event `admin_action`) and recorded in the audit log (operate/audit.py).
    Outermost, so it sees the status `json_errors` answered with."""
    response = await handler(request)
    op = request.get(AUDITED)
    if op is None or op.method == "GET":
        return response
    runtime = request.config_dict[RUNTIME]
    client = client_key(request, runtime.config.settings.trusted_proxies)
    status = response.status
    log.info(
        "admin API: %s %s from %s: %d",
        op.method,
        request.rel_url.path,
        client,
        status,
        extra={"event": "admin_action", "outcome": str(status)},
    )
    error = _error_text(response)
    try:
        await record_action(
            runtime,
            who=client,
            action=op.action or op.operation_id,
            target=_target(op, request),
            outcome=outcome_of_status(status),
            detail=f"HTTP {status}" + (f": {error}" if error else ""),
        )
    except RedisError as exc:  # the answer stands; the operator's log has the action
        log.error("admin API: audit log unavailable: %s", exc, extra={"event": "audit_failed"})
    return response


def _template(path: str) -> re.Pattern[str]:
    """An OpenAPI path template as a regex over the request path (after the prefix)."""
    parts = re.split(r"(\{[^}]+\})", path)
    return re.compile("".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts) + "$")


_TEMPLATES = [(_template(op.path), op.method) for op in OPERATIONS]


async def no_such_endpoint(request: web.Request) -> web.Response:
    path = request.path[len(PREFIX) :]
    allowed = sorted({method for pattern, method in _TEMPLATES if pattern.match(path)})
    if allowed:
        return json_error(
            405,
            f"{request.method} is not allowed here; use {', '.join(allowed)}",
            headers={"Allow": ", ".join(allowed)},
        )
    return json_error(404, f"no such admin endpoint; the endpoints are listed at {PREFIX}/openapi.json")


# Outermost first. Composed onto each handler when it is added (`behind_middleware`), not
# given to aiohttp: a sub-application with middleware makes aiohttp run a middleware chain
# for every request to the whole app, the feeds' too (errors.py says why that matters).
Middleware = Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]
MIDDLEWARE: tuple[Middleware, ...] = (errors_as_text, record_actions, json_errors, require_token)


def behind_middleware(handler: Handler) -> Handler:
    """`handler` as the admin API's MIDDLEWARE would call it."""
    for middleware in reversed(MIDDLEWARE):
        handler = _through(middleware, handler)
    return handler


def _through(middleware: Middleware, handler: Handler) -> Handler:
    async def call(request: web.Request) -> web.StreamResponse:
        return await middleware(request, handler)

    return call


def install(app: web.Application) -> None:
    """Mount the admin API on `app`, with the token the environment configures
    (`token.load_admin_token`, which raises `AdminTokenError` for an unusable one)."""
    admin = web.Application()
    admin[ADMIN_GUARD] = guard = AdminGuard(load_admin_token())
    if guard.token is not None:  # off, it stays silent: its 404s carry the hint
        log.info("admin API at %s/ (bearer token required)", PREFIX, extra={"event": "admin_api_on"})
    admin[ADMIN_STATE] = state = AdminState()
    for op in OPERATIONS:
        admin.router.add_route(op.method, op.path, behind_middleware(_bind(op)))
    admin.router.add_route("*", "/{tail:.*}", behind_middleware(no_such_endpoint))

    async def close(_: web.Application) -> None:
        await state.close()

    admin.on_cleanup.append(close)
    secure(admin)
    app.add_subapp(PREFIX, admin)

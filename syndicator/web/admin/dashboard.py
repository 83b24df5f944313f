"""The operators' dashboard at `/admin/`: one HTML page, one plain script, one stylesheet.

The files are package data (`static/`), served as they are: no framework, no build step,
nothing loaded from elsewhere. The page asks for the admin token once and keeps it in the
tab's `sessionStorage`; the script sends it as `Authorization: Bearer` with `fetch()` to
the admin API. No cookie is ever set, so there is nothing for another site to ride on.
Every string that comes from an upstream or the configuration is inserted as text
(`textContent`), never parsed as HTML.

Off (404, with the admin API's hint) when no admin token is configured. Every response
under `/admin/` — the API's included, errors and 404s included — carries
`security.SECURITY_HEADERS` (added when the response is prepared, so no handler can forget
them): the dashboard is a sub-application at `/admin` for that reason.
"""

from __future__ import annotations

from importlib import resources

from aiohttp import web

from syndicator.web.admin.auth import OFF_HINT
from syndicator.web.admin.security import secure
from syndicator.web.admin.token import load_admin_token
from syndicator.web.errors import guarded

ROOT = "/admin"

# name → content type: the only files served (no path from the request reaches the disk).
FILES: dict[str, str] = {
    "index.html": "text/html; charset=utf-8",
    "dashboard.js": "text/javascript; charset=utf-8",
    "dashboard.css": "text/css; charset=utf-8",
}

DASHBOARD_ON = web.AppKey("dashboard_on", bool)


def read_file(name: str) -> bytes:
    return resources.files("syndicator.web.admin").joinpath("static", name).read_bytes()


def _off() -> web.Response:
    return web.Response(status=404, text=OFF_HINT.replace("admin API", "admin dashboard") + "\n")


def _file_response(name: str) -> web.Response:
    response = web.Response(body=read_file(name))
    response.headers["Content-Type"] = FILES[name]
    return response


async def dashboard_page(request: web.Request) -> web.Response:
    if not request.app[DASHBOARD_ON]:
        return _off()
    return _file_response("index.html")


async def dashboard_file(request: web.Request) -> web.Response:
    if not request.app[DASHBOARD_ON]:
        return _off()
    name = request.match_info["name"]
    if name not in FILES or name == "index.html":
        return web.Response(status=404, text="no such file\n")
    return _file_response(name)


async def to_dashboard(request: web.Request) -> web.Response:
    raise web.HTTPFound(f"{ROOT}/")


def install(app: web.Application) -> None:
    """Serve the dashboard on `app` at `/admin` (off without an admin token, as the API
    is): a sub-application, whose every response — its 404s and 405s too — carries the
    security headers."""
    dashboard = web.Application()
    dashboard[DASHBOARD_ON] = load_admin_token() is not None
    dashboard.router.add_get("", guarded(to_dashboard))
    dashboard.router.add_get("/", guarded(dashboard_page))
    dashboard.router.add_get("/static/{name}", guarded(dashboard_file))
    secure(dashboard)
    app.add_subapp(ROOT, dashboard)

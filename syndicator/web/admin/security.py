"""The headers every response under `/admin/` carries — the dashboard's and the admin
API's, errors and 404s included — and the hook that adds them.

The hook is on the two sub-applications that serve `/admin/` (dashboard.py, api.py), not
on the site: aiohttp runs an application's `on_response_prepare` for every response of
its own routes (and the 404s and 405s of its prefix), so the feeds never pay for it.
"""

from __future__ import annotations

from aiohttp import web

SECURITY_HEADERS: dict[str, str] = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


async def add_security_headers(_request: web.Request, response: web.StreamResponse) -> None:
    response.headers.update(SECURITY_HEADERS)


def secure(app: web.Application) -> None:
    """Put `SECURITY_HEADERS` on every response of `app` (a sub-application under /admin/)."""
    app.on_response_prepare.append(add_security_headers)

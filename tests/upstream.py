"""A real upstream site on loopback for the tests: it serves documents and checks validators.

It answers 304 only when the request's If-None-Match names the current ETag or its
If-Modified-Since is not older than the document, and records every request's headers so
tests can assert what the client actually sent.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime

from aiohttp import web


@dataclass
class Document:
    body: bytes
    content_type: str
    modified: datetime
    delay: float = 0.0
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha256(self.body).hexdigest()[:16] + '"'


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    status: int


class Upstream:
    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.documents: dict[str, Document] = {}
        self.requests: list[Seen] = []
        self._runner: web.AppRunner | None = None
        self.port = 0

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    def put(self, path: str, body: bytes, content_type: str, **kwargs: object) -> str:
        """Publish (or replace) a document; a new body gets a new ETag and Last-Modified."""
        previous = self.documents.get(path)
        modified = datetime.now(UTC).replace(microsecond=0)
        if previous is not None and previous.body != body and previous.modified >= modified:
            modified = previous.modified.replace(second=previous.modified.second)  # keep monotone
            modified = modified.fromtimestamp(previous.modified.timestamp() + 1, UTC)
        self.documents[path] = Document(body, content_type, modified, **kwargs)  # type: ignore[arg-type]
        return self.url(path)

    def seen(self, path: str) -> list[Seen]:
        return [r for r in self.requests if r.path == path]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        doc = self.documents.get(request.path)
        if doc is None:
            self.requests.append(Seen(request.path, dict(request.headers), 404))
            return web.Response(status=404, text="not here")
        if doc.delay:
            await asyncio.sleep(doc.delay)
        headers = {
            "ETag": doc.etag,
            "Last-Modified": format_datetime(doc.modified, usegmt=True),
            **doc.headers,
        }
        inm = request.headers.get("If-None-Match")
        ims = request.headers.get("If-Modified-Since")
        fresh = False
        if inm is not None:
            fresh = doc.etag in [t.strip() for t in inm.split(",")]
        elif ims:
            try:
                fresh = parsedate_to_datetime(ims) >= doc.modified
            except (TypeError, ValueError):
                fresh = False
        status = 304 if fresh and doc.status == 200 else doc.status
        self.requests.append(Seen(request.path, dict(request.headers), status))
        if status == 304:
            return web.Response(status=304, headers=headers)
        return web.Response(
            status=status, body=doc.body, headers={**headers, "Content-Type": doc.content_type}
        )

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("GET", "/{tail:.*}", self._handle)
        # At stop, a handler still sleeping out its `delay` (a slow upstream whose client
        # already timed out) is cancelled at once, not waited for (aiohttp's default: 60 s).
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

"""A WebSub subscriber's callback on loopback for the hub tests: confirms intent (echoes the
challenge of a GET), records every POST it is sent (headers, body, when) and answers the
statuses a test scripts."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field

from aiohttp import web


@dataclass(frozen=True)
class Push:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float  # time.monotonic() when received
    status: int  # what the callback answered


@dataclass
class Callback:
    """Answers `statuses.pop(0)` while any are scripted, then `status`."""

    host: str = "127.0.0.1"
    status: int = 200
    statuses: list[int] = field(default_factory=list)
    pushes: list[Push] = field(default_factory=list)
    verifications: list[dict[str, str]] = field(default_factory=list)
    port: int = 0
    _runner: web.AppRunner | None = None
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def url(self, path: str = "/cb") -> str:
        return f"http://{self.host}:{self.port}{path}"

    def ok(self) -> list[Push]:
        return [p for p in self.pushes if 200 <= p.status < 300]

    async def wait_for(self, count: int, within: float = 10.0, *, accepted: bool = True) -> list[Push]:
        """Wait until `count` pushes (accepted ones only, by default) have arrived."""
        deadline = time.monotonic() + within
        while len(self.ok() if accepted else self.pushes) < count:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{len(self.pushes)} pushes ({len(self.ok())} accepted), wanted {count}")
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), left)
        return self.ok() if accepted else self.pushes

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        status = self.statuses.pop(0) if self.statuses else self.status
        self.pushes.append(Push(request.path_qs, dict(request.headers), body, time.monotonic(), status))
        self._arrived.set()
        return web.Response(status=status, text="ok" if status < 300 else "no")

    async def _verify(self, request: web.Request) -> web.Response:
        """Intent verification (WebSub §5.3): confirm by echoing the challenge."""
        self.verifications.append(dict(request.query))
        return web.Response(text=request.query.get("hub.challenge", ""))

    async def start(self) -> Callback:
        app = web.Application()
        app.router.add_route("POST", "/{tail:.*}", self._handle)
        app.router.add_route("GET", "/{tail:.*}", self._verify)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

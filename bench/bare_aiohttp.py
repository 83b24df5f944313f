"""The reference for bench/serve.py: a bare aiohttp handler serving one feed from memory.

    python bench/bare_aiohttp.py PORT DIRECTORY

DIRECTORY holds `identity` and `gzip` (the bodies syndicator sent) and `headers.json`
(the headers syndicator sent with each coding's 200 and 304, without Date, Server and
Content-Length, which aiohttp sets). With `--reuse-port`, several copies share PORT.
The handler does the least a correct answer needs: a 304 when If-None-Match names the
ETag of the coding it would send, else the body in gzip when `gzip` appears in
Accept-Encoding, else identity — the same bytes and the same headers syndicator sends,
and no access log, no metrics, no middleware. It is what aiohttp itself costs for these
answers on this machine, in this run.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from aiohttp import web


def make_app(directory: Path) -> web.Application:
    # coding → status ("200", "304") → headers
    headers: dict[str, dict[str, dict[str, str]]] = json.loads((directory / "headers.json").read_text())
    bodies = {coding: (directory / coding).read_bytes() for coding in headers}

    async def feed(request: web.Request) -> web.Response:
        coding = "gzip" if "gzip" in request.headers.get("Accept-Encoding", "") else "identity"
        sent = headers[coding]
        if request.headers.get("If-None-Match") == sent["304"]["ETag"]:
            return web.Response(status=304, headers=sent["304"])
        return web.Response(body=bodies[coding], headers=sent["200"])

    app = web.Application()
    app.router.add_get("/feeds/all.rss", feed)
    return app


def main() -> None:
    port, directory = int(sys.argv[1]), Path(sys.argv[2])
    reuse_port = "--reuse-port" in sys.argv[3:]
    web.run_app(
        make_app(directory), host="127.0.0.1", port=port, access_log=None, print=None, reuse_port=reuse_port
    )


if __name__ == "__main__":
    main()

"""The fetch stage against a real aiohttp upstream on 127.0.0.2 (allowed_networks lets it in)."""

from __future__ import annotations

import asyncio
import gzip
import os
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, formatdate

import brotli
import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver

from syndicator.fetch import Fetcher, FetchError, parse_retry_after
from syndicator.models import FetchLimits, Source, Validators
from tests.conftest import JSONFEED_SCHEMA

PUBLIC = "127.0.0.2"
SAMPLE_JSON = JSONFEED_SCHEMA
BODY = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'
ETAG = '"v1"'
LAST_MODIFIED = "Wed, 01 Jan 2025 00:00:00 GMT"


class NoDNS(AbstractResolver):
    """A resolver that knows no names, like DNS answering NXDOMAIN."""

    async def resolve(self, host: str, port: int = 0, family: int = socket.AF_INET) -> list:
        raise socket.gaierror(socket.EAI_NONAME, f"Name or service not known: {host}")

    async def close(self) -> None:
        return None


@dataclass
class Upstream:
    base: str
    requests: list[web.Request] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    def paths(self) -> list[str]:
        return [r.path for r in self.requests]


def build_app(up: Upstream) -> web.Application:
    async def feed(request: web.Request) -> web.StreamResponse:
        # A real conditional GET: 304 only when the client's validators match.
        if request.headers.get("If-None-Match") == ETAG or (
            "If-None-Match" not in request.headers
            and request.headers.get("If-Modified-Since") == LAST_MODIFIED
        ):
            return web.Response(status=304, headers={"ETag": ETAG})
        return web.Response(
            body=BODY,
            content_type="application/rss+xml",
            charset="utf-8",
            headers={"ETag": ETAG, "Last-Modified": LAST_MODIFIED},
        )

    async def gz(request: web.Request) -> web.Response:
        return web.Response(
            body=gzip.compress(BODY), headers={"Content-Encoding": "gzip"}, content_type="text/xml"
        )

    async def br(request: web.Request) -> web.Response:
        return web.Response(
            body=brotli.compress(BODY), headers={"Content-Encoding": "br"}, content_type="text/xml"
        )

    async def big(request: web.Request) -> web.Response:
        return web.Response(body=b"x" * 5000)

    async def chunked(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse()
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        for _ in range(10):
            await resp.write(b"y" * 600)
        await resp.write_eof()
        return resp

    async def bomb(request: web.Request) -> web.Response:
        # 200 bytes on the wire, 1 MB once decoded: only the decoded count catches it.
        return web.Response(body=gzip.compress(b"\0" * 1_000_000), headers={"Content-Encoding": "gzip"})

    async def redirect(request: web.Request) -> web.Response:
        step = request.match_info["step"]
        # An absolute Location (302), then relative ones: a sibling (301), a parent (307).
        if step == "a":
            raise web.HTTPFound(f"{up.base}/redir/b")
        if step == "b":
            raise web.HTTPMovedPermanently("c")
        raise web.HTTPTemporaryRedirect("../feed")

    async def loop(request: web.Request) -> web.Response:
        raise web.HTTPFound(f"/loop/{int(request.match_info['n']) + 1}")

    async def unavailable(request: web.Request) -> web.Response:
        return web.Response(status=503, headers={"Retry-After": "120"})

    async def throttled(request: web.Request) -> web.Response:
        now = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
        later = now + timedelta(seconds=90)
        headers = {"Date": format_datetime(now, usegmt=True)}
        headers["Retry-After"] = format_datetime(later, usegmt=True)
        return web.Response(status=429, headers=headers)

    async def slow(request: web.Request) -> web.Response:
        await up.release.wait()  # never set while the client waits: its read timeout fires
        return web.Response(body=BODY)

    async def to_file(request: web.Request) -> web.Response:
        raise web.HTTPFound("file:///etc/passwd")

    app = web.Application()

    @web.middleware
    async def record(request: web.Request, handler):  # type: ignore[no-untyped-def]
        up.requests.append(request)
        return await handler(request)

    app.middlewares.append(record)
    app.router.add_get("/feed", feed)
    app.router.add_get("/gz", gz)
    app.router.add_get("/br", br)
    app.router.add_get("/big", big)
    app.router.add_get("/chunked", chunked)
    app.router.add_get("/bomb", bomb)
    app.router.add_get("/redir/{step}", redirect)
    app.router.add_get("/loop/{n}", loop)
    app.router.add_get("/503", unavailable)
    app.router.add_get("/429", throttled)
    app.router.add_get("/slow", slow)
    app.router.add_get("/to-file", to_file)
    return app


@pytest.fixture
async def upstream() -> AsyncIterator[Upstream]:
    up = Upstream(base="")
    runner = web.AppRunner(build_app(up))
    await runner.setup()
    site = web.TCPSite(runner, PUBLIC, 0)
    await site.start()
    port = runner.addresses[0][1]
    up.base = f"http://{PUBLIC}:{port}"
    yield up
    up.release.set()
    await runner.cleanup()


LIMITS = FetchLimits(allowed_networks=(f"{PUBLIC}/32",), user_agent="SyndicatorTest/1")


@pytest.fixture
async def fetcher() -> AsyncIterator[Fetcher]:
    async with Fetcher(LIMITS) as f:
        yield f


def src(url: str) -> Source:
    return Source(id="s1", url=url)


async def test_200_returns_body_validators_and_lowercase_headers(upstream, fetcher):
    result = await fetcher.fetch(src(f"{upstream.base}/feed"), Validators())
    assert result.status == 200
    assert result.body == BODY
    assert result.validators == Validators(etag=ETAG, last_modified=LAST_MODIFIED)
    assert result.headers["content-type"] == "application/rss+xml; charset=utf-8"
    assert all(k == k.lower() for k in result.headers)
    assert result.final_url == result.url == f"{upstream.base}/feed"
    sent = upstream.requests[0].headers
    assert sent["User-Agent"] == "SyndicatorTest/1"
    assert "application/atom+xml" in sent["Accept"]
    assert "If-None-Match" not in sent and "If-Modified-Since" not in sent


async def test_conditional_get_sends_validators_and_gets_304(upstream, fetcher):
    first = await fetcher.fetch(src(f"{upstream.base}/feed"), Validators())
    again = await fetcher.fetch(src(f"{upstream.base}/feed"), first.validators)
    assert upstream.requests[1].headers["If-None-Match"] == ETAG
    assert upstream.requests[1].headers["If-Modified-Since"] == LAST_MODIFIED
    assert (again.status, again.body) == (304, b"")
    assert again.validators == first.validators

    by_date = await fetcher.fetch(src(f"{upstream.base}/feed"), Validators(last_modified=LAST_MODIFIED))
    assert by_date.status == 304
    # The 304 carried an ETag: it becomes the new validator, the stored date stays.
    assert by_date.validators == Validators(etag=ETAG, last_modified=LAST_MODIFIED)

    stale = await fetcher.fetch(src(f"{upstream.base}/feed"), Validators(etag='"old"'))
    assert (stale.status, stale.body) == (200, BODY)


@pytest.mark.parametrize("path", ["/gz", "/br"])
async def test_compressed_bodies_are_decoded(upstream, fetcher, path):
    result = await fetcher.fetch(src(upstream.base + path), Validators())
    assert result.body == BODY
    assert "content-encoding" not in result.headers
    assert result.headers["content-length"] == str(len(BODY))
    assert upstream.requests[0].headers["Accept-Encoding"] == "gzip, deflate, br"


@pytest.mark.parametrize("path", ["/big", "/chunked", "/bomb"])
async def test_size_limit(upstream, path):
    async with Fetcher(FetchLimits(allowed_networks=(f"{PUBLIC}/32",), max_bytes=4000)) as f:
        with pytest.raises(FetchError) as info:
            await f.fetch(src(upstream.base + path), Validators())
    assert info.value.reason == "response larger than 4000 bytes"
    assert not info.value.retryable


async def test_redirect_chain_with_relative_locations(upstream, fetcher):
    result = await fetcher.fetch(src(f"{upstream.base}/redir/a"), Validators(etag='"old"'))
    assert upstream.paths() == ["/redir/a", "/redir/b", "/redir/c", "/feed"]
    assert result.final_url == f"{upstream.base}/feed"
    assert result.url == f"{upstream.base}/redir/a"
    assert result.body == BODY
    # Validators travel with every hop, so a moved feed can still answer 304.
    assert upstream.requests[-1].headers["If-None-Match"] == '"old"'


async def test_before_redirect_is_asked_each_target_before_it_is_requested(upstream):
    """The page-fetch path's hook (robots.txt, cool-down): asked with every redirect's
    target, in order, while the upstream has seen only the hops before it; its own wait
    (1 s here) does not count against the whole-fetch timeout (0.5 s)."""
    asked: list[tuple[str, list[str]]] = []

    async def before_redirect(target: str) -> None:
        asked.append((target, upstream.paths()))
        await asyncio.sleep(0.35)

    limits = FetchLimits(allowed_networks=(f"{PUBLIC}/32",), total_timeout=0.5)
    async with Fetcher(limits) as f:
        result = await f.fetch(src(f"{upstream.base}/redir/a"), Validators(), before_redirect=before_redirect)
    assert result.body == BODY
    assert asked == [
        (f"{upstream.base}/redir/b", ["/redir/a"]),
        (f"{upstream.base}/redir/c", ["/redir/a", "/redir/b"]),
        (f"{upstream.base}/feed", ["/redir/a", "/redir/b", "/redir/c"]),
    ]


async def test_before_redirect_refusing_a_target_ends_the_fetch_with_its_error(upstream, fetcher):
    async def before_redirect(target: str) -> None:
        if target.endswith("/redir/c"):
            raise FetchError("s1", target, "refused by the caller")

    with pytest.raises(FetchError) as info:
        await fetcher.fetch(src(f"{upstream.base}/redir/a"), Validators(), before_redirect=before_redirect)
    assert (info.value.url, info.value.reason) == (f"{upstream.base}/redir/c", "refused by the caller")
    assert upstream.paths() == ["/redir/a", "/redir/b"]


async def test_too_many_redirects(upstream):
    limits = FetchLimits(allowed_networks=(f"{PUBLIC}/32",), max_redirects=3)
    async with Fetcher(limits) as f:
        with pytest.raises(FetchError) as info:
            await f.fetch(src(f"{upstream.base}/loop/0"), Validators())
    assert "too many redirects (more than 3)" in info.value.reason
    assert upstream.paths() == ["/loop/0", "/loop/1", "/loop/2", "/loop/3"]
    assert not info.value.retryable


async def test_redirect_to_file_url_is_refused(upstream, fetcher):
    with pytest.raises(FetchError) as info:
        await fetcher.fetch(src(f"{upstream.base}/to-file"), Validators())
    assert "redirect to unsupported URL 'file:///etc/passwd' refused" in info.value.reason


async def test_503_with_retry_after_seconds(upstream, fetcher):
    with pytest.raises(FetchError) as info:
        await fetcher.fetch(src(f"{upstream.base}/503"), Validators())
    err = info.value
    assert (err.status, err.retryable, err.retry_after) == (503, True, 120.0)


async def test_429_with_retry_after_date(upstream, fetcher):
    with pytest.raises(FetchError) as info:
        await fetcher.fetch(src(f"{upstream.base}/429"), Validators())
    err = info.value
    assert (err.status, err.retryable, err.retry_after) == (429, True, 90.0)


def test_parse_retry_after_forms():
    assert parse_retry_after("0") == 0.0
    assert parse_retry_after("999999") == 86400.0  # capped at fetch.max_retry_after (1 day)
    assert parse_retry_after("999999", cap=600.0) == 600.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None
    past = formatdate(0, usegmt=True)
    assert parse_retry_after(past) == 0.0


async def test_404_is_not_retryable(upstream, fetcher):
    url = f"{upstream.base}/missing"
    with pytest.raises(FetchError) as info:
        await fetcher.fetch(src(url), Validators())
    err = info.value
    assert (err.status, err.retryable, err.reason) == (404, False, "HTTP 404 Not Found")
    assert str(err) == f"s1: {url}: HTTP 404 Not Found"


async def test_read_timeout_is_retryable(upstream):
    limits = FetchLimits(allowed_networks=(f"{PUBLIC}/32",), read_timeout=0.2)
    async with Fetcher(limits) as f:
        with pytest.raises(FetchError) as info:
            await f.fetch(src(f"{upstream.base}/slow"), Validators())
    assert info.value.retryable
    assert info.value.reason == "timed out after 0.2 s waiting for data"


async def test_connection_refused_is_retryable(fetcher):
    with socket.socket() as s:  # a port nobody listens on
        s.bind((PUBLIC, 0))
        port = s.getsockname()[1]
    with pytest.raises(FetchError) as info:
        await fetcher.fetch(src(f"http://{PUBLIC}:{port}/"), Validators())
    assert info.value.retryable
    assert info.value.reason == f"connection refused by {PUBLIC}:{port}"


async def test_dns_failure_is_retryable():
    async with Fetcher(LIMITS, resolver=NoDNS()) as f:
        with pytest.raises(FetchError) as info:
            await f.fetch(src("http://nowhere.test/feed"), Validators())
    assert info.value.retryable
    assert info.value.reason == "DNS lookup failed for host nowhere.test"


@pytest.mark.parametrize("url", ["ftp://example.com/feed", "gopher://x/", "not a url"])
async def test_unsupported_schemes(fetcher, url):
    with pytest.raises(FetchError) as info:
        await fetcher.fetch(src(url), Validators())
    assert "unsupported URL" in info.value.reason
    assert not info.value.retryable


# ---------------------------------------------------------------- file: URLs


async def test_file_url_200_then_304_by_mtime(fetcher, tmp_path):
    sample = SAMPLE_JSON
    path = tmp_path / "feed.json"
    path.write_bytes(sample.read_bytes())
    os.utime(path, (1_700_000_000, 1_700_000_000))
    source = src(path.as_uri())

    first = await fetcher.fetch(source, Validators())
    assert first.status == 200
    assert first.body == sample.read_bytes()
    assert first.headers["content-type"] == "application/json"
    assert first.validators.last_modified == "Tue, 14 Nov 2023 22:13:20 GMT"

    again = await fetcher.fetch(source, first.validators)
    assert (again.status, again.body) == (304, b"")
    # An operator's state from before (Last-Modified only) also gets the 304.
    dated = await fetcher.fetch(source, Validators(last_modified=first.validators.last_modified))
    assert dated.status == 304

    os.utime(path, (1_700_000_100, 1_700_000_100))
    changed = await fetcher.fetch(source, first.validators)
    assert changed.status == 200


async def test_file_url_content_types_and_limit(tmp_path):
    for name, ctype in [("a.xml", "application/xml"), ("a.html", "text/html")]:
        (tmp_path / name).write_bytes(b"<x/>")
        async with Fetcher(FetchLimits(max_bytes=10)) as f:
            result = await f.fetch(src((tmp_path / name).as_uri()), Validators())
        assert result.headers["content-type"] == ctype
    (tmp_path / "big.xml").write_bytes(b"<x>" + b"y" * 20 + b"</x>")
    async with Fetcher(FetchLimits(max_bytes=10)) as f:
        with pytest.raises(FetchError) as info:
            await f.fetch(src((tmp_path / "big.xml").as_uri()), Validators())
    assert info.value.reason == "response larger than 10 bytes"


async def test_missing_file(fetcher, tmp_path):
    url = (tmp_path / "gone.xml").as_uri()
    with pytest.raises(FetchError) as info:
        await fetcher.fetch(src(url), Validators())
    assert info.value.reason.startswith("no such file")
    assert not info.value.retryable
    assert str(info.value).startswith(f"s1: {url}: no such file")

"""HTTP fetching of upstream sources with aiohttp.

Why it is built this way:
* Conditional GET with the stored ETag/Last-Modified, so an unchanged feed costs a 304.
* Redirects are followed by hand, so the address guard sees every hop and a redirect
  can never lead to `file:` or an internal address; a caller with rules of its own for
  every URL (robots.txt and the host cool-down on the page-fetch path) passes
  `before_redirect`, asked before each redirect's target is requested.
* Every wait is bounded (connect, each read, the whole fetch) and the body is counted
  as it streams — after decompression, so a small gzip bomb cannot fill memory.
* Every failure becomes a `FetchError` that says whether retrying can help.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType

import aiohttp
from aiohttp.abc import AbstractResolver
from multidict import CIMultiDictProxy
from yarl import URL

from syndicator import metrics
from syndicator.fetch.body import read_at_most
from syndicator.fetch.errors import AddressRefused, FetchError
from syndicator.fetch.guard import ALLOW_NAME, AddressBlocked, AddressGuard, GuardedResolver
from syndicator.fetch.hints import parse_retry_after
from syndicator.fetch.local import read_file_url
from syndicator.models import FetchLimits, FetchResult, Source, Validators

ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, application/json, "
    "application/xml, text/xml, */*;q=0.8"
)
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# 408 is a timeout by another name; 429 and 5xx are the upstream asking us to come back.
RETRYABLE_STATUSES = frozenset({408, 429})

RedirectCheck = Callable[[str], Awaitable[None]]
"""Asked with a redirect's target URL before it is requested; refuses it by raising (a
FetchError, or anything the caller handles), which `Fetcher.fetch` lets through."""


def lowercase_headers(headers: CIMultiDictProxy[str]) -> dict[str, str]:
    """Response headers with lowercase keys (feedparser wants them); repeats joined by ', '."""
    out: dict[str, str] = {}
    for key, value in headers.items():
        key = key.lower()
        out[key] = f"{out[key]}, {value}" if key in out else value
    return out


CREDENTIAL_HEADERS = frozenset({"cookie", "authorization", "proxy-authorization"})
"""Request headers never sent on to another origin after a redirect."""


def same_origin(current: URL, target: URL) -> bool:
    """Whether a redirect from `current` to `target` stays on its origin (scheme, host, port).

    One exception, as browsers and requests make it: `http://host/` to `https://host/` on the
    default ports is the same site moving to TLS, not another origin.
    """
    here = (current.scheme, (current.host or "").lower(), current.port)
    there = (target.scheme, (target.host or "").lower(), target.port)
    if here == there:
        return True
    upgrade = (current.scheme, current.port, target.scheme, target.port) == ("http", 80, "https", 443)
    return upgrade and here[1] == there[1]


def without_credentials(headers: dict[str, str]) -> dict[str, str]:
    """`headers` less Cookie and Authorization (see CREDENTIAL_HEADERS): for another origin."""
    return {name: value for name, value in headers.items() if name.lower() not in CREDENTIAL_HEADERS}


def _shown(source: Source, hop: URL) -> str:
    """The URL to report: the source's own spelling until a redirect leads elsewhere."""
    try:
        if URL(source.url).with_fragment(None) == hop:
            return source.url
    except ValueError:
        pass
    return str(hop)


@dataclass(frozen=True)
class CallResult:
    """What a callback answered (`Fetcher.call`): status, lower-cased headers, body."""

    status: int
    headers: dict[str, str]
    body: bytes


class Fetcher:
    """Fetches sources; one per worker process, closed at shutdown.

    Two sessions: a guarded one (default) and an unguarded one only for sources that
    set `allow_private_network`, so a connection pooled for one can never serve the other.
    """

    def __init__(self, limits: FetchLimits, *, resolver: AbstractResolver | None = None) -> None:
        self._limits = limits
        self._guard = AddressGuard(limits.allowed_networks)
        self._given_resolver = resolver
        self._own_resolver: AbstractResolver | None = None
        self._sessions: dict[bool, aiohttp.ClientSession] = {}
        self._timeout = aiohttp.ClientTimeout(
            total=limits.total_timeout,
            connect=limits.connect_timeout,
            sock_connect=limits.connect_timeout,
            sock_read=limits.read_timeout,
        )

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        sessions, self._sessions = list(self._sessions.values()), {}
        for session in sessions:
            await session.close()
        if self._own_resolver is not None:
            await self._own_resolver.close()
            self._own_resolver = None

    def _session(self, guarded: bool) -> aiohttp.ClientSession:
        session = self._sessions.get(guarded)
        if session is None:
            resolver = self._given_resolver
            if resolver is None:
                if self._own_resolver is None:
                    self._own_resolver = aiohttp.DefaultResolver()
                resolver = self._own_resolver
            if guarded:
                resolver = GuardedResolver(resolver, self._guard)
            session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(resolver=resolver),
                timeout=self._timeout,
                cookie_jar=aiohttp.DummyCookieJar(),  # no state leaks between sources
                auto_decompress=True,
                trust_env=False,  # no proxy from the environment bypassing the guard
            )
            self._sessions[guarded] = session
        return session

    async def fetch(
        self, source: Source, validators: Validators, *, before_redirect: RedirectCheck | None = None
    ) -> FetchResult:
        """Fetch `source`: FetchResult with status 200 (body) or 304, else FetchError.

        `before_redirect` is awaited with each redirect's target before that is requested
        (once the address guard has let the target's host through); a FetchError or
        HostBusy it raises ends the fetch. Its time does not count against the whole-fetch
        timeout: it is our wait (robots.txt, a politeness slot), not the upstream's.
        Counted in `syndicator_fetches_total{source,outcome}` and timed."""
        start = time.perf_counter()
        try:
            result = await self._fetch(source, validators, before_redirect)
        except FetchError as exc:
            metrics.FETCHES.labels(source.id, metrics.fetch_outcome(exc.status, True)).inc()
            raise
        finally:
            metrics.FETCH_SECONDS.observe(time.perf_counter() - start)
        metrics.FETCHES.labels(source.id, metrics.fetch_outcome(result.status, False)).inc()
        return result

    async def _fetch(
        self, source: Source, validators: Validators, before_redirect: RedirectCheck | None
    ) -> FetchResult:
        try:
            url = URL(source.url)
        except (TypeError, ValueError) as exc:
            raise FetchError(source.id, source.url, f"invalid URL: {exc}") from None
        if url.scheme == "file":
            return await read_file_url(source, url, validators, self._limits.max_bytes)
        if url.scheme not in ("http", "https") or not url.host:
            raise FetchError(source.id, source.url, f"unsupported URL {source.url!r}: need http(s) or file")
        current = [url]  # the hop in flight, for the error raised by the overall timeout
        try:
            async with asyncio.timeout(self._limits.total_timeout) as deadline:
                return await self._fetch_http(source, url, validators, current, before_redirect, deadline)
        except TimeoutError:
            raise FetchError(
                source.id,
                _shown(source, current[0]),
                f"timed out after {self._limits.total_timeout:g} s (whole fetch)",
                retryable=True,
            ) from None

    async def call(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
        max_bytes: int = 64 * 1024,
    ) -> CallResult:
        """One request to a URL a third party gave us (a WebSub callback), through the
        address guard, with the fetch timeouts, following no redirect (a callback that
        redirects has not answered), reading at most `max_bytes` of the answer.

        Any status is returned; a refused address, a failed connection, a timeout or a
        longer answer raise `FetchError` (label `callback`), `retryable` as for a fetch."""
        label = "callback"
        try:
            target = URL(url)
        except (TypeError, ValueError) as exc:
            raise FetchError(label, url, f"invalid URL: {exc}") from None
        if target.scheme not in ("http", "https") or not target.host:
            raise FetchError(label, url, f"unsupported URL {url!r}: need http(s)")
        sent = {"User-Agent": self._limits.user_agent, **(headers or {})}
        try:
            async with asyncio.timeout(self._limits.total_timeout):
                self._guard.check_host(target.raw_host or "")
                async with self._session(True).request(
                    method, target, headers=sent, data=body, allow_redirects=False
                ) as resp:
                    answer = await read_at_most(resp.content, resp.content_length, max_bytes)
                    if answer is None:
                        raise FetchError(label, url, f"answer larger than {max_bytes} bytes")
                    return CallResult(resp.status, lowercase_headers(resp.headers), answer)
        except AddressBlocked as exc:
            raise AddressRefused(label, url, _callback_hint(exc.reason)) from None
        except aiohttp.ClientError as exc:
            error = self._client_error(Source(id=label, url=url, categories=()), target, exc)
            if isinstance(error, AddressRefused):  # refused at resolution: same advice
                error = AddressRefused(label, url, _callback_hint(error.reason))
            raise error from None
        except TimeoutError:
            raise FetchError(
                label, url, f"timed out after {self._limits.total_timeout:g} s", retryable=True
            ) from None

    def _request_headers(self, source: Source, validators: Validators) -> dict[str, str]:
        """Ours, then the source's own `headers` (which may replace User-Agent or Accept;
        the config refuses the ones we manage), then the conditional-GET validators."""
        headers = {
            "User-Agent": self._limits.user_agent,
            "Accept": ACCEPT,
            "Accept-Encoding": "gzip, deflate, br",
        }
        for name, value in source.headers:
            for ours in [key for key in headers if key.lower() == name.lower()]:
                del headers[ours]
            headers[name] = value
        if validators.etag:
            headers["If-None-Match"] = validators.etag
        if validators.last_modified:
            headers["If-Modified-Since"] = validators.last_modified
        return headers

    async def _fetch_http(
        self,
        source: Source,
        url: URL,
        validators: Validators,
        current: list[URL],
        before_redirect: RedirectCheck | None,
        deadline: asyncio.Timeout,
    ) -> FetchResult:
        guarded = not source.allow_private_network
        session = self._session(guarded)
        headers = self._request_headers(source, validators)
        hop = url.with_fragment(None)
        for redirects in range(self._limits.max_redirects + 1):
            current[0] = hop
            try:
                if guarded:
                    self._guard.check_host(hop.raw_host or "")
                if redirects and before_redirect is not None:  # a target the guard let through
                    await _paused(deadline, before_redirect(str(hop)))
                async with session.get(hop, headers=headers, allow_redirects=False) as resp:
                    if resp.status in REDIRECT_STATUSES:
                        target = self._next_hop(source, hop, resp)
                        if not same_origin(hop, target):
                            headers = without_credentials(headers)
                        hop = target
                        continue
                    return await self._complete(source, hop, resp, validators)
            except AddressBlocked as exc:
                raise AddressRefused(source.id, _shown(source, hop), exc.reason) from None
            except aiohttp.ClientError as exc:
                raise self._client_error(source, hop, exc) from None
            except TimeoutError as exc:
                raise self._timeout_error(source, hop, exc) from None
        raise FetchError(
            source.id,
            source.url,
            f"too many redirects (more than {self._limits.max_redirects}), last to {hop}",
        )

    def _next_hop(self, source: Source, hop: URL, resp: aiohttp.ClientResponse) -> URL:
        location = resp.headers.get("Location")
        if not location:
            raise FetchError(
                source.id, _shown(source, hop), f"redirect {resp.status} without a Location header"
            )
        try:
            target = hop.join(URL(location)).with_fragment(None)
        except (TypeError, ValueError) as exc:
            raise FetchError(
                source.id, _shown(source, hop), f"redirect to invalid Location {location!r}: {exc}"
            ) from None
        if target.scheme not in ("http", "https") or not target.host:
            raise FetchError(
                source.id, _shown(source, hop), f"redirect to unsupported URL {location!r} refused"
            )
        return target

    async def _complete(
        self, source: Source, hop: URL, resp: aiohttp.ClientResponse, validators: Validators
    ) -> FetchResult:
        status = resp.status
        fetched_at = datetime.now(UTC)
        headers = lowercase_headers(resp.headers)
        if status == 304:
            new = Validators(
                etag=headers.get("etag") or validators.etag,
                last_modified=headers.get("last-modified") or validators.last_modified,
            )
            return FetchResult(
                url=source.url,
                final_url=_shown(source, hop),
                status=304,
                body=b"",
                headers=headers,
                validators=new,
                fetched_at=fetched_at,
            )
        if status == 200:
            body = await self._read_body(source, hop, resp)
            # The body handed on is decoded: headers describing the wire form would lie.
            headers.pop("content-encoding", None)
            headers["content-length"] = str(len(body))
            return FetchResult(
                url=source.url,
                final_url=_shown(source, hop),
                status=200,
                body=body,
                headers=headers,
                validators=Validators(etag=headers.get("etag"), last_modified=headers.get("last-modified")),
                fetched_at=fetched_at,
            )
        reason = f"HTTP {status} {resp.reason or ''}".rstrip()
        if status >= 500 or status in RETRYABLE_STATUSES:
            raise FetchError(
                source.id,
                _shown(source, hop),
                reason,
                status=status,
                retryable=True,
                retry_after=parse_retry_after(
                    headers.get("retry-after"), headers.get("date"), cap=self._limits.max_retry_after
                ),
            )
        if 400 <= status < 500:
            raise FetchError(source.id, _shown(source, hop), reason, status=status)
        raise FetchError(source.id, _shown(source, hop), f"unexpected {reason}", status=status)

    async def _read_body(self, source: Source, hop: URL, resp: aiohttp.ClientResponse) -> bytes:
        limit = self._limits.max_bytes
        body = await read_at_most(resp.content, resp.content_length, limit)
        if body is None:
            raise FetchError(source.id, _shown(source, hop), f"response larger than {limit} bytes")
        return body

    def _client_error(self, source: Source, hop: URL, exc: aiohttp.ClientError) -> FetchError:
        host = hop.host or ""
        if isinstance(exc, aiohttp.ServerTimeoutError):
            return self._timeout_error(source, hop, exc)
        if isinstance(exc, aiohttp.ClientConnectorDNSError):
            reason, retry = f"DNS lookup failed for host {host}", True
        elif isinstance(exc, aiohttp.ClientConnectorCertificateError):
            reason = f"TLS certificate of {host} not accepted: {exc.certificate_error}"
            retry = False
        elif isinstance(exc, aiohttp.ClientSSLError):
            reason, retry = f"TLS handshake with {host} failed: {exc}", True
        elif isinstance(exc, aiohttp.ClientConnectorError):
            if isinstance(exc.os_error, ConnectionRefusedError):
                reason = f"connection refused by {host}:{hop.port}"
            else:
                reason = f"connection to {host}:{hop.port} failed: {exc.strerror or exc}"
            retry = True
        elif isinstance(exc, aiohttp.ServerDisconnectedError):
            reason, retry = "server closed the connection before responding", True
        elif isinstance(exc, aiohttp.ClientPayloadError):
            reason, retry = f"response body broken: {exc}", True
        elif isinstance(exc, aiohttp.InvalidURL):
            reason, retry = f"invalid URL: {exc}", False
        elif isinstance(exc, aiohttp.ClientResponseError):
            reason, retry = f"invalid HTTP response: {exc.message}", True
        else:
            reason, retry = f"HTTP client error: {exc!r}", True
        return FetchError(source.id, _shown(source, hop), reason, retryable=retry)

    def _timeout_error(self, source: Source, hop: URL, exc: BaseException) -> FetchError:
        limits = self._limits
        if isinstance(exc, aiohttp.ConnectionTimeoutError):
            reason = f"timed out after {limits.connect_timeout:g} s connecting to {hop.host}"
        elif isinstance(exc, aiohttp.SocketTimeoutError):
            reason = f"timed out after {limits.read_timeout:g} s waiting for data"
        else:
            reason = f"timed out after {limits.total_timeout:g} s"
        return FetchError(source.id, _shown(source, hop), reason, retryable=True)


async def _paused(deadline: asyncio.Timeout, wait: Awaitable[None]) -> None:
    """Await `wait` with `deadline` stopped, then moved on by the time it took: the
    whole-fetch timeout bounds the upstream, not a wait of our own between hops."""
    when = deadline.when()
    loop = asyncio.get_running_loop()
    began = loop.time()
    deadline.reschedule(None)
    try:
        await wait
    finally:
        deadline.reschedule(None if when is None else when + loop.time() - began)


def _callback_hint(reason: str) -> str:
    """A guard refusal told about a callback: the sources' switch (`allow_private_network`)
    does not apply to a URL a stranger gave us; only `fetch.allowed_networks` lets it through."""
    return reason.split(ALLOW_NAME, 1)[0] + "; a callback is let through only by fetch.allowed_networks"

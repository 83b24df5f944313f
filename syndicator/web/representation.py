"""One way to answer a feed request, whatever produced the bytes.

Stored feeds, filtered and combined variants, deltas and archive pages all end here:
the same validators, the same 304 rules, the same headers (RFC 9110), so a client sees
one consistent HTTP behaviour across every feed URL.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime

from aiohttp import web

from syndicator.web.negotiation import not_modified

VARY = "Accept-Encoding"


@dataclass(frozen=True)
class Validators:
    """What a representation is validated by: a coding-specific strong ETag, and a date."""

    etag: str  # quoted, e.g. '"v12-rss-0a1b2c3d-gzip"'
    last_modified: datetime | None


@dataclass(frozen=True)
class Representation:
    """A response body with everything needed to send it (or a 304 in its place)."""

    validators: Validators
    media_type: str
    coding: str  # identity, gzip or br: the coding `body` is already in
    self_url: str
    cache_control: str
    body: bytes
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    # Our WebSub hub (`render.hub_url`) for a feed that is a topic; None (archive pages):
    # no `rel="hub"` link.
    hub_url: str | None = None


def ttl_cache_control(ttl_minutes: int) -> str:
    """Shared caches and readers may keep a feed for its TTL (at most an hour)."""
    return f"public, max-age={min(60 * ttl_minutes, 3600)}"


def link_header(self_url: str, hub_url: str | None) -> str:
    """`Link` with the feed's own URL and, for a topic, our hub (WebSub §4: discovery)."""
    own = f'<{self_url}>; rel="self"'
    return f'<{hub_url}>; rel="hub", {own}' if hub_url else own


def common_headers(
    validators: Validators,
    *,
    self_url: str,
    cache_control: str,
    media_type: str,
    hub_url: str | None = None,
) -> dict[str, str]:
    """Headers a 200 and its 304 share (RFC 9110 §15.4.5: ETag, Cache-Control, Vary, …)."""
    headers = {
        "ETag": validators.etag,
        "Cache-Control": cache_control,
        "Vary": VARY,
        "Link": link_header(self_url, hub_url),
    }
    if validators.last_modified is not None:
        headers["Last-Modified"] = format_datetime(validators.last_modified, usegmt=True)
    if media_type.startswith("application/feed+json"):
        headers["Access-Control-Allow-Origin"] = "*"
    return headers


def is_not_modified(request: web.Request, validators: Validators) -> bool:
    if validators.last_modified is None and request.headers.get("If-None-Match") is None:
        return False
    return not_modified(
        if_none_match=request.headers.get("If-None-Match"),
        if_modified_since=request.headers.get("If-Modified-Since"),
        etag=validators.etag,
        last_modified=validators.last_modified or datetime.max,
    )


def not_modified_response(
    validators: Validators,
    *,
    self_url: str,
    cache_control: str,
    media_type: str,
    hub_url: str | None = None,
) -> web.Response:
    headers = common_headers(
        validators, self_url=self_url, cache_control=cache_control, media_type=media_type, hub_url=hub_url
    )
    return web.Response(status=304, headers=headers)


@dataclass(frozen=True)
class Prepared:
    """A representation's two possible answers, headers and all, computed once: a stored
    feed is prepared once per published version and coding (feeds.py), so a request only
    compares validators and hands aiohttp a finished header set."""

    rep: Representation
    headers: dict[str, str]  # of the full response (200, 226); aiohttp copies them
    not_modified_headers: dict[str, str]  # of its 304

    def answer(self, request: web.Request) -> web.Response:
        """A 304 when the request's validators match, else the body (headers only for HEAD)."""
        rep = self.rep
        if rep.status == 200:
            headers = request.headers
            sent = headers.get("If-None-Match")
            # The common revalidation first: a reader sends back the one ETag it was given;
            # then the full test, only for a request that is conditional at all.
            validators = rep.validators
            if sent == validators.etag or (
                (sent is not None or "If-Modified-Since" in headers) and is_not_modified(request, validators)
            ):
                return web.Response(status=304, headers=self.not_modified_headers)
        # aiohttp sends the headers of this body but not the body itself for HEAD.
        return web.Response(status=rep.status, headers=self.headers, body=rep.body)


def prepare(rep: Representation) -> Prepared:
    shared = dict(
        self_url=rep.self_url, cache_control=rep.cache_control, media_type=rep.media_type, hub_url=rep.hub_url
    )
    headers = common_headers(rep.validators, **shared)
    headers.update(rep.headers)
    headers["Content-Type"] = rep.media_type
    if rep.coding != "identity":
        headers["Content-Encoding"] = rep.coding
    return Prepared(rep, headers, common_headers(rep.validators, **shared))


def respond(request: web.Request, rep: Representation) -> web.Response:
    """A 304 when the request's validators match, else the body (headers only for HEAD)."""
    return prepare(rep).answer(request)


def error_response(status: int, message: str, **headers: str) -> web.Response:
    """A short plain-text error that says what was wrong (never a traceback)."""
    return web.Response(status=status, text=message + "\n", content_type="text/plain", headers=headers)

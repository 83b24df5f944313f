"""The hostile documents and the hostile upstream, shared by the chaos tests and by
`bench/chaos_table.py` (which runs each case once and measures it), so that the table in
the README measures exactly what the tests assert.

Fetch-level attacks (bombs, endless and trickled bodies, redirect loops) are upstream
behaviours: `HOSTILE_FETCHES` maps a name to a function that turns a `HostileUpstream`
hostile, and to the reason the source records. Document-level attacks are bytes:
`billion_laughs()`, `xxe()`, and the small malformed inputs `KEPT` (the flaw costs one
character or date, the feed is stored) and `REFUSED` (the document is refused with a reason).
"""

from __future__ import annotations

import asyncio
import gzip
import json
from dataclasses import replace
from functools import cache

import brotli
from aiohttp import web

from tests.builders import atom, items, json_feed, rss
from tests.upstream import Upstream

GOOD = items("good", 2)
MAX_BYTES = 1024 * 1024
TOTAL_TIMEOUT = 2.0
BOMB_BYTES = 64 * MAX_BYTES  # what a bomb inflates to: 64 times the limit
# The [fetch] limits of the known-attack cases (smaller than the defaults, so cases end fast).
FETCH = {"max_bytes": MAX_BYTES, "total_timeout": f'"{TOTAL_TIMEOUT:g}s"', "read_timeout": '"1s"'}
HOSTILE_LINK = "https://good.example/posts/hostile"


class HostileUpstream(Upstream):
    """The test upstream plus bodies no document can describe: endless, and a trickle."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        super().__init__(host)
        self.streams: dict[str, str] = {}

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        kind = self.streams.get(request.path)
        if kind is None:
            return await super()._handle(request)
        response = web.StreamResponse(headers={"Content-Type": "application/rss+xml"})
        await response.prepare(request)
        await response.write(b'<?xml version="1.0"?><rss version="2.0"><channel><title>')
        try:
            while True:  # until the client hangs up
                if kind == "endless":
                    await response.write(b"x" * 65536)
                else:  # "slow": one byte every 0.2 s, never idle long enough for read_timeout
                    await response.write(b"x")
                    await asyncio.sleep(0.2)
        except (ConnectionError, RuntimeError):
            pass
        return response


# ------------------------------------------------------------------ bombs, endless, slow, redirects


@cache
def bomb(encoding: str) -> bytes:
    """`BOMB_BYTES` of zeros, compressed (`gzip` or `br`): small on the wire, 64 times the
    limit once decoded. Cached: building it costs the builder 64 MB once."""
    zeros = b"\0" * BOMB_BYTES
    if encoding == "gzip":
        return gzip.compress(zeros, compresslevel=9)
    return brotli.compress(zeros, quality=5)


def _serve_bomb(server: Upstream, encoding: str) -> None:
    body = bomb(encoding)
    assert len(body) < MAX_BYTES // 4  # small on the wire: only the decoded size is over
    server.put("/feed", body, "application/rss+xml", headers={"Content-Encoding": encoding})


def _serve_redirect_loop(server: Upstream) -> None:
    server.put("/feed", b"", "text/plain", status=302, headers={"Location": "/loop"})
    server.put("/loop", b"", "text/plain", status=302, headers={"Location": "/feed"})


def _serve_redirect_chain(server: Upstream) -> None:
    """Ten hops to a good feed: twice the default `fetch.max_redirects` of 5."""
    server.put("/feed", b"", "text/plain", status=301, headers={"Location": "/hop1"})
    for n in range(1, 10):
        server.put(f"/hop{n}", b"", "text/plain", status=301, headers={"Location": f"/hop{n + 1}"})
    server.put("/hop10", rss(items("late", 1)), "application/rss+xml")


HOSTILE_FETCHES = {
    "gzip-bomb": (lambda s: _serve_bomb(s, "gzip"), f"response larger than {MAX_BYTES} bytes"),
    "brotli-bomb": (lambda s: _serve_bomb(s, "br"), f"response larger than {MAX_BYTES} bytes"),
    "endless-body": (lambda s: s.streams.update({"/feed": "endless"}), f"response larger than {MAX_BYTES}"),
    "slow-body": (
        lambda s: s.streams.update({"/feed": "slow"}),
        f"timed out after {TOTAL_TIMEOUT:g} s (whole fetch)",
    ),
    "redirect-loop": (_serve_redirect_loop, "too many redirects (more than 5)"),
    "too-many-redirects": (_serve_redirect_chain, "too many redirects (more than 5), last to"),
}


# ------------------------------------------------------------------ XML entities


def billion_laughs() -> bytes:
    """The good items plus one whose title and description are `&lol9;`: 10^9 "lol"s."""
    entities = '<!ENTITY lol0 "lol">' + "".join(
        f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">' for n in range(1, 10)
    )
    item = (
        "<item><guid>laughs</guid><title>&lol9;</title><link>https://good.example/laughs</link>"
        "<description>&lol9;</description></item>"
    )
    return rss(GOOD, extra=item).replace(b"<rss ", f"<!DOCTYPE rss [{entities}]><rss ".encode(), 1)


def xxe() -> bytes:
    """The good items plus one that names `file:///etc/passwd` as an external entity."""
    item = (
        "<item><guid>xxe</guid><title>before &xxe; after</title><link>https://good.example/xxe</link>"
        "<description>before &xxe; after</description><dc:creator>&xxe;</dc:creator></item>"
    )
    doctype = '<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    return rss(GOOD, extra=item).replace(b"<rss ", doctype.encode() + b"<rss ", 1)


# ------------------------------------------------------------------ the sanitiser

# Each vector carries a marker that must not survive anywhere: not in the stored fields,
# not in any served format (escaped or not).
VECTORS = {
    "XSS-script": "<script>alert('XSS-script')</script>",
    "XSS-onerror": '<img src="https://good.example/a.png" onerror="alert(\'XSS-onerror\')">',
    "XSS-onclick": "<p onclick=\"alert('XSS-onclick')\">click me</p>",
    "XSS-js": "<a href=\"javascript:alert('XSS-js')\">a link</a>",
    "XSS-svg": '<svg onload="alert(\'XSS-svg\')"><circle r="1"/></svg>',
    "XSS-form": '<form action="https://evil.example/XSS-form"><input name="pw" value="XSS-input"></form>',
    "XSS-iframe": '<iframe src="https://evil.example/XSS-iframe"></iframe>',
    "XSS-expression": "<div style=\"width: expression(alert('XSS-expression'))\">styled</div>",
    "XSS-css": "<style>body { background: url(\"javascript:alert('XSS-css')\") }</style>",
}
MARKERS = (*VECTORS, "XSS-input")


# ------------------------------------------------------------------ small malformed inputs


def _rss_item(*, title: str = "hostile", pub: str = "Mon, 06 Nov 2023 10:00:00 GMT") -> str:
    return (
        f"<item><guid>hostile</guid><title>{title}</title><link>{HOSTILE_LINK}</link>"
        f"<pubDate>{pub}</pubDate><description>hostile body</description></item>"
    )


def _atom_with_date(date: str) -> bytes:
    hostile = (
        f'<entry><id>urn:hostile</id><title>hostile</title><link rel="alternate" href="{HOSTILE_LINK}"/>'
        f"<published>{date}</published><updated>{date}</updated>"
        '<content type="html">hostile body</content></entry>'
    )
    return atom(GOOD).replace(b"</feed>", hostile.encode() + b"</feed>")


def _json_with(item: dict[str, object]) -> bytes:
    doc = json.loads(json_feed(GOOD))
    doc["items"].append({"id": "hostile", "url": HOSTILE_LINK, "content_html": "<p>hostile</p>", **item})
    return json.dumps(doc).encode()


def _json_attachment_size(raw: bytes) -> bytes:
    """A JSON Feed whose one attachment's size is `raw`, written as is (json.dumps cannot)."""
    body = _json_with({"attachments": [{"url": "https://good.example/a.mp3", "size_in_bytes": 1}]})
    return body.replace(b'"size_in_bytes": 1', b'"size_in_bytes": ' + raw)


def _deep_json() -> bytes:
    body = json_feed(GOOD)
    return body[:-1] + b', "_deep": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"


# Inputs whose flaw costs one character or one date: the whole feed is stored.
KEPT: dict[str, tuple[bytes, str]] = {
    "surrogate-ref": (rss(GOOD, extra=_rss_item(title="bad &#xD800; title")), "application/rss+xml"),
    "rss-9999": (rss(GOOD, extra=_rss_item(pub="Fri, 31 Dec 9999 23:00:00 -1200")), "application/rss+xml"),
    "rss-0001": (rss(GOOD, extra=_rss_item(pub="Mon, 01 Jan 0001 00:00:00 +1400")), "application/rss+xml"),
    "atom-9999": (_atom_with_date("9999-12-31T23:00:00-12:00"), "application/atom+xml"),
    "atom-0001": (_atom_with_date("0001-01-01T00:00:00+14:00"), "application/atom+xml"),
    "json-9999": (_json_with({"date_published": "9999-12-31T23:00:00-12:00"}), "application/feed+json"),
    "json-0001": (_json_with({"date_published": "0001-01-01T00:00:00+14:00"}), "application/feed+json"),
}
# Documents that are not JSON we can hold: refused with a reason, nothing stored.
REFUSED: dict[str, tuple[bytes, str]] = {
    "json-infinity": (_json_attachment_size(b"Infinity"), "invalid JSON: Infinity is not a JSON number"),
    "json-nan": (_json_attachment_size(b"NaN"), "invalid JSON: NaN is not a JSON number"),
    "json-deep": (_deep_json(), "JSON nested deeper than 64 levels"),
    "json-bigint": (_json_attachment_size(b"9" * 5000), "invalid JSON: an integer of 5000 digits"),
}


def two_out_of_range_dates() -> bytes:
    """Two entries with dates out of range in one feed: one warning with a count."""
    second = _rss_item(pub="Mon, 01 Jan 0001 00:00:00 +1400").replace("hostile", "hostile-2")
    return rss(GOOD, extra=_rss_item(pub="Fri, 31 Dec 9999 23:00:00 -1200") + second)


# ------------------------------------------------------------------ encodings

GBK_TITLE = "重庆人社持续深化人才领域国际交流合作"


def gbk_inside_utf8_feed() -> bytes:
    """A UTF-8 RSS whose fourth title was pasted in as GBK bytes."""
    entries = [replace(item, title=f"陆海新通道 {item.title}") for item in items("mix", 5)]
    return rss(entries).replace(b"mix title 3", GBK_TITLE.encode("gbk"))


def bad_utf8_feed() -> bytes:
    """A UTF-8 RSS with one byte that is not UTF-8 (`\\xff`) in its third title."""
    entries = [replace(item, title=f"陆海新通道 {item.title}") for item in items("bad", 5)]
    return rss(entries).replace(b"bad title 2", b"bad \xff title 2")

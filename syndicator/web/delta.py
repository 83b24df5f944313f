"""Delta responses: RFC 3229 with the `feed` instance-manipulation (`A-IM: feed`).

A reader that sends `A-IM: feed` and the ETag of a version it holds (`If-None-Match`) gets
`226 IM Used` with only the items added or changed since that version, as a complete, normal
feed document (same channel metadata, fewer items) — Bob Wyman's "feed" IM. Deletions are
not conveyed (the IM has no way to say so); readers keep what they have.

Decisions, in order (anything not answered here falls through to the plain feed):
- no `A-IM` naming `feed` with q > 0, or no `If-None-Match` → plain feed, unchanged;
- If-None-Match matches the current representation (exact coding, weak comparison, `*`)
  → the plain path answers 304, as without A-IM;
- else the newest version among the ETags of ours that we still keep a manifest for (and
  whose ETag is really the one we issued for it) → 226 with the items whose rendered form
  that version did not have, in feed order (newest first);
- otherwise (too old, unknown, another format's ETag) → the full feed, 200.

The delta document is cut from the stored bytes of the current version, not re-rendered
from the article store: the stored version is immutable, so every web process computes
identical bytes for (from-version, to-version), and an article edited but not yet
published cannot leak into a delta. Each delta is cut and compressed once per
(category, format, base ETag, current ETag) and then served from a bounded RenderCache.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass

from aiohttp import web
from lxml import etree

from syndicator.errors import SyndicatorError
from syndicator.render import feed_url, hub_url
from syndicator.runtime import Runtime
from syndicator.store.feeds import compress, load_feed
from syndicator.store.manifests import load_manifests
from syndicator.web.cache import RenderCache
from syndicator.web.negotiation import choose_coding
from syndicator.web.representation import Representation, Validators, is_not_modified, respond

log = logging.getLogger(__name__)

DELTA_CACHE = web.AppKey("delta_cache", RenderCache)

# RFC 3229 §10.8.2: `im` lets an IM-aware cache store the 226 despite `no-store`; every
# other cache must obey no-store, so a delta is never served to a client that did not ask.
DELTA_CACHE_CONTROL = "no-store, im"
# The 226 depends on both request headers besides the coding: a cache that does store it
# must key it on them.
DELTA_VARY = "Accept-Encoding, A-IM, If-None-Match"
# Plain 200/304 responses deliberately do NOT add A-IM to Vary: a request with A-IM gets
# either a 226 (no-store: never cached by a cache that does not understand IM) or exactly the
# plain representation, so a cache keyed without A-IM can only ever hand out a plain body,
# which is correct for every client. Adding it would only split shared caches in two.

_OUR_ETAG = re.compile(r'(?:W/)?"(v(\d+)-(rss|atom|json)-[0-9a-f]{12})(?:-(?:gzip|br))?"')
_ATOM = "{http://www.w3.org/2005/Atom}"


class DeltaError(SyndicatorError, ValueError):
    """A stored feed body that cannot be cut into a delta; the message says why."""


@dataclass(frozen=True)
class NamedVersion:
    """One entity tag from If-None-Match that is one of ours."""

    tag: str  # as the client sent it, without W/
    base: str  # our ETag base: v{version}-{fmt}-{digest12}
    version: int
    fmt: str


def accepts_feed_im(a_im: str | None) -> bool:
    """Whether an `A-IM` header (RFC 3229 §10.5.3) lists `feed` with q > 0 (case-insensitive)."""
    if not a_im:
        return False
    for part in a_im.split(","):
        token, _, params = part.partition(";")
        if token.strip().lower() != "feed":
            continue
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value.strip())
                except ValueError:
                    q = 0.0
        if q > 0:
            return True
    return False


def named_versions(if_none_match: str) -> list[NamedVersion]:
    """The entity tags in an If-None-Match list that have our ETag shape."""
    found = []
    for candidate in if_none_match.split(","):
        match = _OUR_ETAG.fullmatch(candidate.strip())
        if match:
            tag = candidate.strip().removeprefix("W/")
            found.append(NamedVersion(tag, match.group(1), int(match.group(2)), match.group(3)))
    return found


def cut_delta(fmt: str, body: bytes, keep: set[str]) -> bytes:
    """`body` (a full feed of format `fmt`) with only the items whose id is in `keep`.

    XML feeds are cut byte for byte: everything but the dropped items (and the indentation
    before each) stays exactly as publish stored it, so whatever the renderers chose —
    character references, namespaces, declaration — a delta carries it unchanged.
    """
    if fmt == "json":
        try:
            document = json.loads(body)
            document["items"] = [item for item in document["items"] if item.get("id") in keep]
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise DeltaError(f"stored JSON Feed has no readable items: {exc}") from exc
        return (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    if fmt not in _XML_ITEMS:
        raise DeltaError(f"unknown feed format {fmt!r}")
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    try:
        root = etree.fromstring(body, parser)
    except etree.XMLSyntaxError as exc:
        raise DeltaError(f"stored {fmt} feed is not well-formed XML: {exc}") from exc
    path, id_path, name, depth = _XML_ITEMS[fmt]
    ids = [(e.findtext(id_path) or "").strip() for e in root.iterfind(path)]
    spans = _element_spans(body, name, depth)
    if len(spans) != len(ids):
        raise DeltaError(f"stored {fmt} feed: found {len(spans)} item tags for {len(ids)} items")
    out, position = [], 0
    for (begin, end), item_id in zip(spans, ids, strict=True):
        if item_id in keep:
            continue
        while begin > position and body[begin - 1 : begin] in b" \t\r\n":
            begin -= 1  # the item's indentation goes with it
        out.append(body[position:begin])
        position = end
    out.append(body[position:])
    return b"".join(out)


# fmt → (lxml path to the items, path to an item's id, item tag's local name, its depth)
_XML_ITEMS = {
    "rss": ("channel/item", "guid", b"item", 2),
    "atom": (f"{_ATOM}entry", f"{_ATOM}id", b"entry", 1),
}
# Markup in a well-formed document: text never contains "<", and quoted attribute values
# may contain ">", so this finds every tag, comment, CDATA section and PI in order.
_MARKUP = re.compile(
    rb"<!--.*?-->|<!\[CDATA\[.*?\]\]>|<\?.*?\?>|<!DOCTYPE[^>]*>|</[^>]*>"
    rb"|<(?:[^>\"']|\"[^\"]*\"|'[^']*')*>",
    re.S,
)


def _element_spans(body: bytes, name: bytes, depth: int) -> list[tuple[int, int]]:
    """Byte spans (start tag to end tag) of the elements called `name` at `depth` (root: 0)."""
    spans: list[tuple[int, int]] = []
    level, start = 0, -1
    for match in _MARKUP.finditer(body):
        token = match.group()
        if token.startswith((b"<!", b"<?")):
            continue
        if token.startswith(b"</"):
            level -= 1
            if level == depth and start >= 0:
                spans.append((start, match.end()))
                start = -1
            continue
        local = re.split(rb"[\s/>]", token[1:], maxsplit=1)[0].rpartition(b":")[2]
        closed = token.endswith(b"/>")
        if level == depth and local == name:
            if closed:
                spans.append((match.start(), match.end()))
            else:
                start = match.start()
        if not closed:
            level += 1
    return spans


async def serve_delta(
    request: web.Request, runtime: Runtime, slug: str, fmt: str
) -> web.StreamResponse | None:
    """A 226 delta for a request that asks for one and names a version we keep; else None
    (the caller serves the plain feed: a 304, the full feed, or its own error)."""
    if_none_match = request.headers.get("If-None-Match")
    if not if_none_match or not accepts_feed_im(request.headers.get("A-IM")):
        return None
    named = [n for n in named_versions(if_none_match) if n.fmt == fmt]
    if not named:
        return None
    coding = choose_coding(request.headers.get("Accept-Encoding"))
    current = await load_feed(runtime.redis, runtime.keys, slug, fmt, None)
    if current is None:
        return None
    validators = Validators(current.etag(coding), current.last_modified)
    if is_not_modified(request, validators):
        return None  # the plain path answers 304, exactly as it does without A-IM
    manifests = await load_manifests(
        runtime.redis, runtime.keys, slug, sorted({n.version for n in named} | {current.version})
    )
    target = manifests.get(current.version)
    if target is None or target.etags.get(fmt) != current.etag_base:
        return None
    # Only ETags we really issued: a matching version number with another digest is unknown.
    kept = [n for n in named if n.version in manifests and manifests[n.version].etags.get(fmt) == n.base]
    if not kept:
        return None
    base = max(kept, key=lambda n: n.version)
    cache = request.app[DELTA_CACHE]
    key = ("delta", runtime.keys.prefix, slug, fmt, base.base, current.etag_base)
    bodies: dict[str, bytes] | None = cache.get(key)
    if bodies is None:
        full = await load_feed(runtime.redis, runtime.keys, slug, fmt, "identity")
        if full is None or full.etag_base != current.etag_base:
            return None  # a newer version landed meanwhile: the full feed is still right
        had = manifests[base.version].digests()
        keep = {item.id for item in target.items if had.get(item.id) != item.digest}
        try:
            bodies = compress(cut_delta(fmt, full.bodies["identity"], keep))
        except DeltaError as exc:  # our bug, not the client's: it still gets a correct feed
            log.error("delta of %s.%s from %s: %s; serving the full feed", slug, fmt, base.base, exc)
            return None
        cache.put(key, bodies, sum(len(b) for b in bodies.values()))
    return respond(
        request,
        Representation(
            validators=validators,
            media_type=current.media_type,
            coding=coding,
            self_url=feed_url(runtime.site_url, slug, fmt),
            cache_control=DELTA_CACHE_CONTROL,
            body=bodies[coding],
            status=226,
            headers={"IM": "feed", "Vary": DELTA_VARY, "Delta-Base": base.tag},
            hub_url=hub_url(runtime.site_url),
        ),
    )

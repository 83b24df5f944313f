"""Render stage: one category's articles → RSS 2.0, Atom 1.0 and JSON Feed 1.1 bytes.

The publisher calls these with a `FeedDocument` and stores the bytes; rendering is pure and
deterministic, so equal documents give equal bytes and an unchanged feed keeps its ETag.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Protocol

from syndicator.render import atom, jsonfeed, rss
from syndicator.render.atom import render_atom
from syndicator.render.document import EXTENSIONS, FeedDocument, RenderError, feed_url, hub_url, page_url
from syndicator.render.jsonfeed import render_json
from syndicator.render.reuse import EntryCache
from syndicator.render.rss import render_rss


class Render(Protocol):
    """A format's renderer: the document's bytes; with a `cache` (one per format), the
    per-article work of earlier renders is reused (render/reuse.py)."""

    def __call__(self, doc: FeedDocument, cache: EntryCache[Any] | None = None) -> bytes: ...


class Renderer(NamedTuple):
    """How to produce and serve one format."""

    render: Render
    media_type: str
    extension: str


FORMATS: dict[str, Renderer] = {
    "rss": Renderer(render_rss, rss.MEDIA_TYPE, EXTENSIONS["rss"]),
    "atom": Renderer(render_atom, atom.MEDIA_TYPE, EXTENSIONS["atom"]),
    "json": Renderer(render_json, jsonfeed.MEDIA_TYPE, EXTENSIONS["json"]),
}

__all__ = [
    "FORMATS",
    "EntryCache",
    "FeedDocument",
    "RenderError",
    "Renderer",
    "feed_url",
    "hub_url",
    "page_url",
    "render_atom",
    "render_json",
    "render_rss",
]

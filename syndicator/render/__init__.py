"""Render stage: one category's articles → RSS 2.0, Atom 1.0 and JSON Feed 1.1 bytes.

The publisher calls these with a `FeedDocument` and stores the bytes; rendering is pure and
deterministic, so equal documents give equal bytes and an unchanged feed keeps its ETag.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from syndicator.render import atom, jsonfeed, rss
from syndicator.render.atom import render_atom
from syndicator.render.document import EXTENSIONS, FeedDocument, RenderError, feed_url, hub_url
from syndicator.render.jsonfeed import render_json
from syndicator.render.rss import render_rss


class Renderer(NamedTuple):
    """How to produce and serve one format."""

    render: Callable[[FeedDocument], bytes]
    media_type: str
    extension: str


FORMATS: dict[str, Renderer] = {
    "rss": Renderer(render_rss, rss.MEDIA_TYPE, EXTENSIONS["rss"]),
    "atom": Renderer(render_atom, atom.MEDIA_TYPE, EXTENSIONS["atom"]),
    "json": Renderer(render_json, jsonfeed.MEDIA_TYPE, EXTENSIONS["json"]),
}

__all__ = [
    "FORMATS",
    "FeedDocument",
    "RenderError",
    "Renderer",
    "feed_url",
    "hub_url",
    "render_atom",
    "render_json",
    "render_rss",
]

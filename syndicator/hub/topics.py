"""What the hub knows of topic URLs without reading them the way the web routes do.

Normalising a topic and deciding whether it is still one of our feeds needs the feed
routes' parsing (web/topics.py); the hub package does not import the web package, so
its code is handed that decision as a `Served` function.
"""

from __future__ import annotations

from collections.abc import Callable

Served = Callable[[str], "str | None"]
"""For a stored topic URL: None while it is one of our feeds, else why not (one line)."""


def is_variant_url(url: str) -> bool:
    """Whether a normalised topic URL is filtered (`?…`) or combined (`a+b`): such
    topics are bounded in number, since each is rendered again on every publish."""
    path, _, query = url.partition("?")
    return bool(query) or "+" in path.rsplit("/feeds/", 1)[-1]

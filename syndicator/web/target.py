"""What a feed path names: `/feeds/{slug}[+{slug}…].{rss|atom|json}` → a `FeedTarget`.

A former slug (a category's `aliases`) names the renamed category: the target carries the
current slugs and says it was `renamed`, so the feed route answers 301 to the current URL
and the hub's topic normalisation (which parses topics here) follows the rename too.

Its own module because both the plain feed (`feeds.py`) and the filtered or combined
variants (`variants.py`) read it; `feeds.py` dispatches to `variants.py`, so the shared
piece lives below both and the dependency runs one way.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from syndicator.errors import SyndicatorError
from syndicator.runtime import Runtime
from syndicator.store.feeds import was_published
from syndicator.web.representation import error_response

EXTENSIONS = ("rss", "atom", "json")
MAX_COMBINED = 10
# Feed paths are parsed once per configuration and then looked up by their raw text:
# name → (the configuration it was parsed under, the target). A reload replaces
# `runtime.config`, so an entry of an older configuration is parsed again. Bounded: a
# crawler of unknown paths only costs the parse (and unknown ones are never kept).
MAX_REMEMBERED = 1024
_parsed: dict[str, tuple[object, FeedTarget]] = {}


class TargetError(SyndicatorError):
    """The path names no feed: unknown format or category. The message says which."""


class UnknownCategory(TargetError):
    """The path names a category the configuration does not have (any more)."""

    def __init__(self, runtime: Runtime, slug: str) -> None:
        self.slug = slug
        known = ", ".join(sorted(runtime.config.categories))
        super().__init__(f"no category {slug!r}; categories: {known}")


async def unknown_category_response(runtime: Runtime, exc: UnknownCategory) -> web.Response:
    """410 Gone for a category a reload removed (its feeds were published), else 404.

    Readers and caches drop a subscription on 410; a 404 may be a typo and is retried.
    """
    if await was_published(runtime.redis, runtime.keys, exc.slug):
        return error_response(
            410, f"category {exc.slug!r} was removed from the configuration; its feeds are no longer served"
        )
    return error_response(404, str(exc))


@dataclass(frozen=True)
class FeedTarget:
    """What a feed path asks for: one or more categories (`a+b`) in one format."""

    slugs: tuple[str, ...]
    fmt: str
    # The path named a category by a former slug (an alias): `slugs` are the current ones.
    renamed: bool = False

    @property
    def name(self) -> str:
        return "+".join(self.slugs)


def parse_target(runtime: Runtime, name: str) -> FeedTarget:
    config = runtime.config
    entry = _parsed.get(name)
    if entry is not None and entry[0] is config:
        return entry[1]
    target = _parse_target(runtime, name)
    if entry is not None or len(_parsed) < MAX_REMEMBERED:
        _parsed[name] = (config, target)
    return target


def _parse_target(runtime: Runtime, name: str) -> FeedTarget:
    slug_part, dot, ext = name.rpartition(".")
    if not dot:
        raise TargetError(f"unknown feed format: {name!r} has no extension; use .rss, .atom or .json")
    if ext not in EXTENSIONS:
        raise TargetError(f"unknown feed format {ext!r} in {name!r}: use .rss, .atom or .json")
    named = tuple(dict.fromkeys(slug_part.split("+")))
    if len(named) > MAX_COMBINED:
        raise TargetError(f"at most {MAX_COMBINED} categories can be combined, got {len(named)}")
    slugs = tuple(dict.fromkeys(resolve_slug(runtime, slug) for slug in named))
    return FeedTarget(slugs, ext, renamed=slugs != named)


def resolve_slug(runtime: Runtime, slug: str) -> str:
    """The current slug of the category `slug` names (itself, or the category that lists
    it as an alias); UnknownCategory when none does."""
    current = runtime.config.canonical_slug(slug)
    if current is None:
        raise UnknownCategory(runtime, slug)
    return current

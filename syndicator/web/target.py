"""What a feed path names: `/feeds/{slug}[+{slug}…].{rss|atom|json}` → a `FeedTarget`.

Its own module because both the plain feed (`feeds.py`) and the filtered or combined
variants (`variants.py`) read it; `feeds.py` dispatches to `variants.py`, so the shared
piece lives below both and the dependency runs one way.
"""

from __future__ import annotations

from dataclasses import dataclass

from syndicator.errors import SyndicatorError
from syndicator.runtime import Runtime

EXTENSIONS = ("rss", "atom", "json")
MAX_COMBINED = 10


class TargetError(SyndicatorError):
    """The path names no feed: unknown format or category. The message says which."""


@dataclass(frozen=True)
class FeedTarget:
    """What a feed path asks for: one or more categories (`a+b`) in one format."""

    slugs: tuple[str, ...]
    fmt: str

    @property
    def name(self) -> str:
        return "+".join(self.slugs)


def parse_target(runtime: Runtime, name: str) -> FeedTarget:
    slug_part, dot, ext = name.rpartition(".")
    if not dot or ext not in EXTENSIONS:
        raise TargetError(f"unknown feed format {ext!r} in {name!r}: use .rss, .atom or .json")
    slugs = tuple(dict.fromkeys(slug_part.split("+")))
    if len(slugs) > MAX_COMBINED:
        raise TargetError(f"at most {MAX_COMBINED} categories can be combined, got {len(slugs)}")
    for slug in slugs:
        if slug not in runtime.config.categories:
            known = ", ".join(sorted(runtime.config.categories))
            raise TargetError(f"no category {slug!r}; categories: {known}")
    return FeedTarget(slugs, ext)

"""What a source did, for the dashboard's source page: its last polls and its articles.

The timeline is the capped list `record_outcome` keeps (`store/sources.py`, the last 50
polls: time, status, bytes, new/changed counts); the articles are the newest of the
source's `all` index (the articles counted against it), as short records. URLs are
redacted (`syndicator.redact`) before they leave this module.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from syndicator.models import ALL_CATEGORY
from syndicator.operate.errors import UnknownSource
from syndicator.redact import redact_text, redact_url
from syndicator.runtime import Runtime
from syndicator.store.articles import in_feed_order, load_articles
from syndicator.store.sources import FETCH_LOG_SIZE, FetchEntry, fetch_log

MAX_ARTICLES = 200  # the most `source_articles` returns at once


@dataclass(frozen=True)
class ArticleSummary:
    """One stored article as the source page lists it (times ISO 8601, UTC)."""

    article_id: str
    title: str
    url: str  # redacted
    published: str
    updated: str
    categories: tuple[str, ...]

    def as_dict(self) -> dict[str, object]:
        out = asdict(self)
        out["categories"] = list(self.categories)
        return out


def _known(runtime: Runtime, source_id: str) -> None:
    if source_id not in runtime.config.sources:
        raise UnknownSource(source_id, list(runtime.config.sources))


async def source_fetches(
    runtime: Runtime, source_id: str, *, limit: int = FETCH_LOG_SIZE
) -> list[FetchEntry]:
    """`source_id`'s last polls, newest first (at most 50); UnknownSource when not configured."""
    _known(runtime, source_id)
    entries = await fetch_log(runtime.redis, runtime.keys, source_id, limit=limit)
    return [FetchEntry(**{**asdict(e), "error": redact_text(e.error) if e.error else None}) for e in entries]


async def source_articles(runtime: Runtime, source_id: str, *, limit: int = 50) -> list[ArticleSummary]:
    """The newest articles `source_id` produced (its `all` index), in feed order."""
    _known(runtime, source_id)
    limit = max(1, min(limit, MAX_ARTICLES))
    index = runtime.keys.source_index(ALL_CATEGORY, source_id)
    ids = [m.decode() for m in await runtime.redis.zrevrange(index, 0, limit - 1)]
    articles = in_feed_order(await load_articles(runtime.redis, runtime.keys, ids))
    return [
        ArticleSummary(
            article_id=a.id,
            title=a.title,
            url=redact_url(a.url),
            published=a.published.isoformat(timespec="seconds"),
            updated=a.updated.isoformat(timespec="seconds"),
            categories=a.categories,
        )
        for a in articles
    ]

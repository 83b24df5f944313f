"""A parsed feed → its normalised Articles, in the parse pool's child (after the parse).

Why in the child: normalising (sanitising HTML, canonical URLs, dates, hashing) costs
about 45 µs an entry, so the 100,000 entries a hostile feed may bring (`max_entries`
raised) held the event loop of `serve` for 4.6 s when it ran there after the parse, and
unpickling the parsed feed on the way back held it 0.5 s more. The child parses and
normalises in one job and sends the Articles back as pickled chunks of `CHUNK`, which the
caller unpickles one at a time as it stores them (`NormalisedFeed.articles`), letting the
loop answer between chunks and keeping at most a chunk of Articles alive: nothing on the
loop is proportional to the size of the feed at once.
"""

from __future__ import annotations

import json
import pickle
import zlib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from syndicator.models import Article, Enclosure, FeedRefresh, ParsedEntry, ParsedFeed, Source, Upstream
from syndicator.normalise.dates import out_of_range
from syndicator.normalise.entry import normalise_entry
from syndicator.normalise.errors import NormaliseError

CHUNK = 1000
"""Articles per pickled chunk: about 8 ms to unpickle on the loop, under a megabyte."""


@dataclass(frozen=True)
class NormalisedFeed:
    """What the child sends back: the Articles, pickled in chunks, and what went wrong.

    `warnings` are the parse's warnings, then one per skipped entry; `skipped` counts the
    entries that could not become Articles. `chunks` are in entry order."""

    chunks: tuple[bytes, ...]
    warnings: tuple[str, ...]
    skipped: int
    categories: frozenset[tuple[str, ...]]  # every Article's `categories`, without unpickling
    # What the job logged at WARNING or above in the child, as (logger, level, message), to
    # be logged again where the operator's log is configured; `unlogged` were left out.
    logged: tuple[tuple[str, int, str], ...] = ()
    unlogged: int = 0
    refresh: FeedRefresh = field(default_factory=FeedRefresh)  # the feed's <ttl>, sy:update*
    # The raw input of the first `keep_raw` Articles, as (article id, zlib-compressed JSON
    # of `raw_entry`), for `syndicator reprocess` (store/raw.py): compressed here, in the child.
    raw: tuple[tuple[str, bytes], ...] = ()

    def articles(self, index: int) -> list[Article]:
        """The Articles of chunk `index` (pickled by our own child, so safe to unpickle)."""
        articles: list[Article] = pickle.loads(self.chunks[index])
        return articles


def raw_entry(
    entry: ParsedEntry, feed: ParsedFeed, *, feed_url: str, headers: Mapping[str, str], fetched_at: datetime
) -> dict[str, Any]:
    """A feed item's raw input: the parsed entry as the parser produced it, and the
    feed-level context it was normalised with (feed URL, feed author, response headers)."""
    return {
        "entry": asdict(entry),
        "feed_url": feed_url,
        "feed_author": feed.author,
        "headers": dict(headers),
        "fetched_at": fetched_at.isoformat(),
    }


def compress_raw(data: Mapping[str, Any]) -> bytes:
    """The stored form of a raw input: zlib-compressed compact JSON."""
    return zlib.compress(json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode(), 6)


def entry_from_raw(data: Mapping[str, Any]) -> ParsedEntry:
    """The ParsedEntry a kept raw input holds (`raw_entry`'s `entry`)."""
    fields = dict(data["entry"])
    fields["tags"] = tuple(fields.get("tags") or ())
    fields["enclosures"] = tuple(Enclosure(**e) for e in fields.get("enclosures") or ())
    upstream = fields.get("upstream")
    fields["upstream"] = Upstream(**upstream) if upstream else None
    return ParsedEntry(**fields)


def renormalise_items(body: bytes, source: Source) -> list[tuple[str, Article | str]]:
    """In the parse pool's child: `body` is a JSON list of (article id, raw input) of one
    reprocess job; each becomes its Article again, or the reason it could not."""
    out: list[tuple[str, Article | str]] = []
    for article_id, data in json.loads(body):
        try:
            entry = entry_from_raw(data)
            article = normalise_entry(
                entry,
                source,
                feed_url=data["feed_url"],
                fetched_at=datetime.fromisoformat(data["fetched_at"]),
                categories=source.categories,
            )
        except (NormaliseError, KeyError, TypeError, ValueError) as exc:
            out.append((article_id, f"cannot normalise: {exc}"))
        else:
            out.append((article_id, article))
    return out


def normalise_feed(
    feed: ParsedFeed,
    source: Source,
    *,
    feed_url: str,
    fetched_at: datetime,
    headers: Mapping[str, str] | None = None,
    keep_raw: int = 0,
) -> NormalisedFeed:
    """Normalise every entry of `feed`, in order; an entry that cannot be is skipped with a warning.

    Run in the parse pool's child right after the parse (`ingest.bounded.parse_and_normalise`).
    """
    warnings = list(feed.warnings)
    chunks: list[bytes] = []
    pending: list[Article] = []
    skipped = 0
    categories: set[tuple[str, ...]] = set()
    beyond_range = 0
    raw: list[tuple[str, bytes]] = []
    for position, entry in enumerate(feed.entries):
        try:
            article = normalise_entry(
                entry, source, feed_url=feed_url, fetched_at=fetched_at, categories=source.categories
            )
        except NormaliseError as exc:
            skipped += 1
            warnings.append(f"entry {position} skipped: {exc}")
        else:
            pending.append(article)
            categories.add(article.categories)
            if len(raw) < keep_raw:
                context = raw_entry(
                    entry, feed, feed_url=feed_url, headers=headers or {}, fetched_at=fetched_at
                )
                raw.append((article.id, compress_raw(context)))
            if article.date_estimated and any(
                out_of_range(raw, source.timezone, now=fetched_at)
                for raw in (entry.published_raw, entry.updated_raw)
            ):
                beyond_range += 1
        if len(pending) == CHUNK:
            chunks.append(pickle.dumps(pending, protocol=pickle.HIGHEST_PROTOCOL))
            pending = []
    if beyond_range:
        # One line per run, not per entry: the feed's owner needs the fact and the count.
        noun = "entry had a date" if beyond_range == 1 else "entries had dates"
        warnings.append(f"{beyond_range} {noun} out of range; first-seen time used")
    if pending:
        chunks.append(pickle.dumps(pending, protocol=pickle.HIGHEST_PROTOCOL))
    return NormalisedFeed(
        tuple(chunks), tuple(warnings), skipped, frozenset(categories), refresh=feed.refresh, raw=tuple(raw)
    )

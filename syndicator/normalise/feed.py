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

import pickle
from dataclasses import dataclass, field
from datetime import datetime

from syndicator.models import Article, FeedRefresh, ParsedFeed, Source
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

    def articles(self, index: int) -> list[Article]:
        """The Articles of chunk `index` (pickled by our own child, so safe to unpickle)."""
        articles: list[Article] = pickle.loads(self.chunks[index])
        return articles


def normalise_feed(
    feed: ParsedFeed, source: Source, *, feed_url: str, fetched_at: datetime
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
        tuple(chunks), tuple(warnings), skipped, frozenset(categories), refresh=feed.refresh
    )

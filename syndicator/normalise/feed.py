"""A parsed feed's entries → their normalised Articles, in the parse pool's children.

Why in a child: normalising (sanitising HTML, canonical URLs, dates, hashing) costs
about 45 µs an entry, so the 100,000 entries a hostile feed may bring (`max_entries`
raised) held the event loop of `serve` for 4.6 s when it ran there after the parse.
The entries come in chunks of `CHUNK` (`ingest.pipeline`: the parse job sends them
pickled, never unpickled on the loop), each normalised by its own pool job, so the
chunks are normalised on every core while the ones before are stored, and the caller
holds at most a few chunks of Articles at once: nothing on the loop is proportional to
the size of the feed at once.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from syndicator.fingerprint import Computed
from syndicator.models import Article, Enclosure, ParsedEntry, ParsedFeed, Source, Upstream
from syndicator.normalise.dates import out_of_range
from syndicator.normalise.entry import normalise_entry
from syndicator.normalise.errors import NormaliseError

CHUNK = 100
"""Entries per normalise job (`ingest.pipeline`): small enough that the first chunk is
stored while the next ones are normalised, large enough that a job's fixed costs (a pool
round trip, a processing and a store pass) stay a few per cent of it."""


@dataclass(frozen=True)
class NormalisedChunk:
    """What one normalise job sends back for entries `start`… of a feed: their Articles in
    entry order, each Article's `Computed` fingerprint (or None when the ingest does not
    cluster), and what went wrong.

    `warnings`: one per skipped entry (`skipped` counts them); `beyond_range`: Articles
    whose upstream date was out of range (one warning per feed, made by the caller).
    `raw`: the raw input of the chunk's first `keep_raw` Articles, as (article id,
    zlib-compressed JSON of `raw_entry`), compressed here, in the child. `logged` and
    `unlogged`: what the job logged at WARNING or above in the child (see
    `ingest.bounded._Collected`)."""

    start: int
    articles: list[Article]
    computed: list[Computed | None]
    warnings: tuple[str, ...] = ()
    skipped: int = 0
    beyond_range: int = 0
    raw: tuple[tuple[str, bytes], ...] = ()
    logged: tuple[tuple[str, int, str], ...] = ()
    unlogged: int = 0
    pid: int = 0  # the child that normalised it (for logs and tests: which core did the work)


def raw_entry(
    entry: ParsedEntry, feed: ParsedFeed, *, feed_url: str, headers: Mapping[str, str], fetched_at: datetime
) -> dict[str, Any]:
    """A feed item's raw input: the parsed entry as the parser produced it, and the
    feed-level context it was normalised with (feed URL, feed author, response headers)."""
    return {
        "entry": entry_fields(entry),
        "feed_url": feed_url,
        "feed_author": feed.author,
        "headers": dict(headers),
        "fetched_at": fetched_at.isoformat(),
    }


_ENTRY_FIELDS = tuple(f.name for f in fields(ParsedEntry))
_ENCLOSURE_FIELDS = tuple(f.name for f in fields(Enclosure))
_UPSTREAM_FIELDS = tuple(f.name for f in fields(Upstream))


def entry_fields(entry: ParsedEntry) -> dict[str, Any]:
    """`dataclasses.asdict(entry)`, built field by field: the same dict (same keys in the
    same order, tuples as tuples), at a ninth of the cost: asdict recurses generically and
    deep-copies every value, 22 µs an entry of the bench feed against 2.4 µs here, in the
    normalise jobs (tests/test_ingest_cpu.py holds it to asdict)."""
    out = {name: getattr(entry, name) for name in _ENTRY_FIELDS}
    out["enclosures"] = tuple(
        {name: getattr(enclosure, name) for name in _ENCLOSURE_FIELDS} for enclosure in entry.enclosures
    )
    upstream = entry.upstream
    if upstream is not None:
        out["upstream"] = {name: getattr(upstream, name) for name in _UPSTREAM_FIELDS}
    return out


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


def normalise_chunk(
    entries: Sequence[ParsedEntry],
    feed: ParsedFeed,
    source: Source,
    *,
    start: int,
    feed_url: str,
    fetched_at: datetime,
    headers: Mapping[str, str] | None = None,
    keep_raw: int = 0,
    fingerprints: bool = False,
    stored: frozenset[str] = frozenset(),
) -> NormalisedChunk:
    """Normalise `entries` (entries `start`… of `feed`), in order; an entry that cannot be
    is skipped with a warning. With `fingerprints`, each Article's near-duplicate
    fingerprint is computed here too (`fingerprint.Computed`), so the clustering step on
    the event loop's process need not; except for the ids in `stored` (the source's
    articles stored already, which the clustering step leaves alone: a poll of a feed
    that did not change computes none).

    Run in the parse pool's child (`ingest.bounded.normalise_entries`).
    """
    warnings: list[str] = []
    articles: list[Article] = []
    computed: list[Computed | None] = []
    skipped = 0
    beyond_range = 0
    raw: list[tuple[str, bytes]] = []
    for position, entry in enumerate(entries, start):
        try:
            article = normalise_entry(
                entry, source, feed_url=feed_url, fetched_at=fetched_at, categories=source.categories
            )
        except NormaliseError as exc:
            skipped += 1
            warnings.append(f"entry {position} skipped: {exc}")
            continue
        articles.append(article)
        computed.append(Computed.of(article) if fingerprints and article.id not in stored else None)
        if len(raw) < keep_raw:
            context = raw_entry(entry, feed, feed_url=feed_url, headers=headers or {}, fetched_at=fetched_at)
            raw.append((article.id, compress_raw(context)))
        if article.date_estimated and any(
            out_of_range(given, source.timezone, now=fetched_at)
            for given in (entry.published_raw, entry.updated_raw)
        ):
            beyond_range += 1
    return NormalisedChunk(start, articles, computed, tuple(warnings), skipped, beyond_range, tuple(raw))


def out_of_range_warning(count: int) -> str:
    """The one warning a feed gets for its `count` entries with dates out of range: the
    feed's owner needs the fact and the count, not a line per entry."""
    noun = "entry had a date" if count == 1 else "entries had dates"
    return f"{count} {noun} out of range; first-seen time used"

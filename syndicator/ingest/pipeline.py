"""A feed document's way through the parse pool: parsed once, then normalised in chunks on
every child while the parent stores the chunks before.

Why: parsing and normalising a feed in one pool job, then processing and storing its
Articles, ran one stage after the other: the 500-entry bench feed kept one core busy in
the child (parse 400 ms, normalise 430 ms), then one in the parent (clustering,
storing: 950 ms), and the other core idle throughout.

The design, with the pool as it is (`syndicator.isolate`: children that run one job each
at a time, each job bounded in time and memory):

1. `read_feed` runs the parse job (`ingest.bounded.parse_entries`): the document is
   parsed once and its entries come back pickled in chunks of `normalise.feed.CHUNK`,
   which the parent passes on unopened (nothing proportional to the feed is unpickled
   on the loop). A ParseError or an over-limit parse is raised here, before any chunk
   is normalised: a parse failure still stores nothing.
2. `FeedDocument.chunks` runs one normalise job a chunk (`ingest.bounded.normalise_entries`:
   normalise, and fingerprint for the clustering step, `fingerprint.Computed`), at most
   one a pool child at once (`pool.size`, one a core), and yields the chunks in entry order
   as they come. The caller processes and stores chunk k while chunks k+1… are
   normalised on the children; chunks already normalised when it asks come as one
   (up to `MERGED`), so a store slower than the children pays its cost a chunk (a
   processing pass, a transaction, the clustering step's Redis calls) less often. It
   holds at most `pool.size + MERGED` chunks of Articles.

On the bench feed (500 entries, 2 cores) this took the parent's CPU from about 0.8-1.0 s
to 0.4-0.55 s (the children's grew by the fingerprints, about 0.35 s, now computed
there), and the two children and the parent work at once after the parse. The cost: the
work moved to the children runs at their lower priority (`isolate.NICENESS`), so on a
machine busy with other processes it waits longer than it did in the parent.

Why jobs and not a child streaming its chunks back: each job stays a plain bounded job of
the pool (its own time and memory limits, a kill that touches nothing else), the chunks
spread over every child, and another ingest's jobs interleave with them; a stream would
tie one child to the document for the whole normalise and need a new protocol in the pool.

Limits: every job is bounded by `fetch.parse_timeout` and `fetch.parse_memory` (a
document's work in all, by the parse's limit plus one a chunk: the chunks are bounded
in number by `max_entries`); a chunk is at most `CHUNK` entries of fields cut at
`max_field_bytes`, so its job's work is bounded too, and the loop takes at most
`MERGED` chunks at a time. A normalise job over a limit records the document as over the limit, like
its parse (`bounded.run_limited`), so the next poll of the same bytes is refused at once.

A normalise job that fails (over a limit, or an unexpected error) after earlier chunks
were stored: those stay stored and are published (`ingest.storing.CutShort`), the later
chunks are not normalised (the jobs under way are cancelled: their children are killed),
and the ingest fails with the reason and the counts of what was stored, so the source
shows the error: nothing is dropped silently.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import partial

from syndicator import metrics
from syndicator.errors import SyndicatorError
from syndicator.ingest.bounded import (
    OverParseLimit,
    ParsedDocument,
    Relogger,
    normalise_entries,
    parse_entries,
    refuse_known,
    run_limited,
)
from syndicator.models import ALL_CATEGORY, FeedRefresh, FetchResult, Source
from syndicator.normalise.feed import CHUNK, NormalisedChunk, out_of_range_warning
from syndicator.runtime import Runtime

log = logging.getLogger(__name__)


MERGED = 3
"""The most normalised chunks handed over as one (`FeedDocument.chunks`)."""


def joined(first: NormalisedChunk, then: NormalisedChunk) -> NormalisedChunk:
    """Two consecutive chunks as one (what the caller needs: the Articles and their
    fingerprints in order; the rest was taken from each already)."""
    return replace(first, articles=first.articles + then.articles, computed=first.computed + then.computed)


class NormaliseFailed(SyndicatorError):
    """A normalise job of a feed failed: `reason` says which entries and why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class FeedDocument:
    """A parsed feed document whose entries are normalised as `chunks` is iterated.

    `warnings`, `skipped` and `raw` grow as the chunks come (the parse's warnings first,
    then one per skipped entry, then the feed's one out-of-range line once every chunk
    came)."""

    runtime: Runtime
    source: Source
    digest: str
    parsed: ParsedDocument
    feed_url: str
    headers: dict[str, str]
    fetched_at: datetime
    keep_raw: int
    remember: bool
    fingerprints: bool
    stored: frozenset[str] = frozenset()  # ids the children need not fingerprint (`stored_ids`)
    relogger: Relogger = field(default_factory=Relogger)
    skipped: int = 0
    raw: list[tuple[str, bytes]] = field(default_factory=list)
    _warnings: list[str] = field(default_factory=list)
    _beyond_range: int = 0
    _complete: bool = False

    @property
    def refresh(self) -> FeedRefresh:
        return self.parsed.head.refresh

    @property
    def warnings(self) -> tuple[str, ...]:
        end = (out_of_range_warning(self._beyond_range),) if self._complete and self._beyond_range else ()
        return (*self.parsed.head.warnings, *self._warnings, *end)

    async def chunks(self) -> AsyncIterator[NormalisedChunk]:
        """The normalised chunks in entry order, normalised `pool.size` at a time ahead of
        the one the caller holds. Raises NormaliseFailed for a chunk that failed (the
        chunks before it were yielded). Use within `contextlib.aclosing`: leaving early
        cancels the jobs under way.

        Chunks that are already normalised when the caller asks are handed over as one,
        up to `MERGED` of them: the caller's cost a chunk (a processing pass, a store
        transaction, the clustering step's Redis calls) is then paid once for them, so a
        caller slower than the children catches up instead of falling further behind."""
        window = max(1, self.runtime.pool.size)
        pending: deque[asyncio.Task[NormalisedChunk]] = deque()
        count = len(self.parsed.chunks)
        following = 0

        def start_next() -> None:
            nonlocal following
            while following < count and len(pending) < window:
                pending.append(asyncio.create_task(self._normalise(following, len(pending))))
                following += 1

        try:
            while following < count or pending:
                start_next()
                chunk = await pending.popleft()
                self._take(chunk)
                start_next()  # the next job starts before the caller works on this chunk
                merged = 1
                while merged < MERGED and pending and pending[0].done() and not pending[0].exception():
                    more = pending.popleft().result()
                    self._take(more)
                    start_next()
                    chunk = joined(chunk, more)
                    merged += 1
                yield chunk
            self._complete = True
        finally:
            for task in pending:
                task.cancel()
            for task in pending:
                with contextlib.suppress(BaseException):
                    await task
            self.relogger.done()

    async def _normalise(self, index: int, ahead: int) -> NormalisedChunk:
        """Chunk `index` normalised; `ahead` chunks before it are still being normalised."""
        start = index * CHUNK
        # Raw input is kept for the feed's first `keep_raw` Articles: the chunk computes its
        # own unless the Articles before it are surely that many already (entries before
        # it, less those skipped so far and those of the chunks still under way).
        surely_before = start - self.skipped - ahead * CHUNK
        keep_raw = self.keep_raw if surely_before < self.keep_raw else 0
        end = min(start + CHUNK, self.parsed.entries) - 1
        job = partial(
            normalise_entries,
            self.parsed.chunks[index],  # only this chunk's entries go to the child
            self.parsed.head,
            self.source,
            start=start,
            feed_url=self.feed_url,
            fetched_at=self.fetched_at,
            headers=self.headers,
            keep_raw=keep_raw,
            fingerprints=self.fingerprints,
            stored=self.stored,
        )
        try:
            chunk = await run_limited(self.runtime, self.digest, job, remember=self.remember)
            log.debug("entries %d–%d of %s normalised in child %d", start, end, self.feed_url, chunk.pid)
            return chunk
        except OverParseLimit as exc:
            raise NormaliseFailed(f"entries {start}–{end} not normalised: {exc.reason}") from exc
        except (asyncio.CancelledError, NormaliseFailed):
            raise
        except Exception as exc:  # a bug: the entries before stay stored; say which failed
            log.exception("normalising entries %d–%d of %s failed", start, end, self.feed_url)
            raise NormaliseFailed(
                f"entries {start}–{end} not normalised: {type(exc).__name__}: {exc}"
            ) from exc

    def _take(self, chunk: NormalisedChunk) -> None:
        self.relogger.log(chunk.logged, chunk.unlogged)
        self._warnings.extend(chunk.warnings)
        self.skipped += chunk.skipped
        self._beyond_range += chunk.beyond_range
        self.raw.extend(chunk.raw[: max(0, self.keep_raw - len(self.raw))])


async def read_feed(
    runtime: Runtime,
    source: Source,
    fetched: FetchResult,
    *,
    now: datetime,
    remember: bool = True,
    fingerprints: bool | None = None,
) -> FeedDocument:
    """Parse fetched feed bytes in the parse pool (the stage ingest and preview share);
    the entries are normalised as the returned document's `chunks` are iterated.

    Raises ParseError (not a feed) or OverParseLimit; `remember=False` records nothing
    (see `bounded`) and keeps no raw input. `fingerprints` (default: when a category
    clusters near-duplicates) computes the clustering step's fingerprints in the
    children. What the child logged is logged again here.
    """
    limits = runtime.config.fetch
    digest = await refuse_known(runtime, fetched.body)
    job = partial(
        parse_entries,
        fetched.body,
        dict(fetched.headers),
        fetched.final_url,
        max_entries=limits.max_entries,
        max_field_bytes=limits.max_field_bytes,
        encoding=source.encoding,
        chunk=CHUNK,
    )
    with metrics.timed(metrics.PARSE_SECONDS):
        parsed = await run_limited(runtime, digest, job, remember=remember)
    if fingerprints is None:
        fingerprints = any(c.near_duplicates for c in runtime.config.categories.values())
    stored = await stored_ids(runtime, source) if fingerprints else frozenset()
    document = FeedDocument(
        runtime,
        source,
        digest,
        parsed,
        fetched.final_url,
        dict(fetched.headers),
        now,
        runtime.config.settings.raw_per_source if remember else 0,
        remember,
        fingerprints,
        stored,
    )
    document.relogger.log(parsed.logged, parsed.unlogged)
    return document


async def stored_ids(runtime: Runtime, source: Source) -> frozenset[str]:
    """The ids of the source's newest stored articles (`fetch.max_entries` of each of its
    categories' per-source indexes): their fingerprints are not computed again, since the
    clustering step leaves stored articles alone. A hint only: an id missing here costs a
    fingerprint, one stored no longer is fingerprinted by the clustering step itself."""
    limit = runtime.config.fetch.max_entries
    async with runtime.redis.pipeline(transaction=False) as pipe:
        for slug in dict.fromkeys(source.categories or (ALL_CATEGORY,)):
            pipe.zrevrange(runtime.keys.source_index(slug, source.id), 0, max(limit - 1, 0))
        replies = await pipe.execute()
    return frozenset(member.decode() for members in replies for member in members)

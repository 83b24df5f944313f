"""A feed source, one pass: fetch → parse (in the pool) → normalise in chunks (in the pool),
each chunk processed and stored as it comes (`ingest.pipeline`) → publish.

It never loses stored items: a fetch or parse failure stores nothing, and the articles
and feeds already published stay exactly as they were. A normalise job that fails after
earlier chunks were stored keeps those (stored and published) and fails the pass with
the reason and their counts. It returns what happened; the
caller (`syndicator.ingest.ingest_source`) records it on the source.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass, replace
from datetime import datetime

from syndicator.fetch import FetchError
from syndicator.fetch.hints import feed_hint, header_hint, strongest
from syndicator.ingest.bounded import OverParseLimit
from syndicator.ingest.fulltext import read_held_inline
from syndicator.ingest.pipeline import FeedDocument, read_feed
from syndicator.ingest.report import IngestReport, failed, not_modified, summarise_counts
from syndicator.ingest.storing import Chunk, CutShort, store_article_chunks
from syndicator.models import Source, Validators
from syndicator.parse import ParseError
from syndicator.process import Chain
from syndicator.process.fulltext import WAITING, note_of
from syndicator.runtime import Runtime
from syndicator.store.polling import check_host
from syndicator.store.raw import apply_bounds as apply_raw_bounds
from syndicator.store.raw import keep_raw_blobs
from syndicator.store.sources import load_state
from syndicator.subscriber.subscribe import consider_hub, safety_net_hint


async def ingest_feed(
    runtime: Runtime, source: Source, *, now: datetime, force: bool = False
) -> IngestReport:
    """`force`: fetch without the stored validators, so a 304 cannot skip the parse."""
    state = await load_state(runtime.redis, runtime.keys, source.id)
    await check_host(runtime.redis, runtime.keys, source.url, now=now)  # HostCoolingDown: deferred
    try:
        fetched = await runtime.fetcher.fetch(source, Validators() if force else state.validators)
    except FetchError as exc:
        return failed(source.id, source.url, exc.reason, fetch=exc)
    # Subscribed to the upstream's hub: pushes bring the changes, polls are the safety net.
    safety = await safety_net_hint(runtime, source, now)
    if fetched.status == 304:
        hint = strongest(header_hint(fetched.headers, now), state.doc_hint, safety)
        return not_modified(
            source.id, source.url, fetched.validators, kept_warnings=state.warnings, hint=hint
        )

    try:
        feed = await read_feed(runtime, source, fetched, now=now)
    except ParseError as exc:
        return failed(source.id, source.url, f"unusable feed: {exc}", at=fetched.final_url)
    except OverParseLimit as exc:
        return failed(source.id, source.url, exc.reason, at=fetched.final_url)

    try:
        stored = await store_feed(runtime, source, feed, now=now)
    except CutShort as exc:  # entries were stored before a normalise job failed: say both
        done = summarise_counts(dict(exc.counts))
        report = failed(source.id, source.url, f"{exc.reason} (before it: {done})", at=fetched.final_url)
        return replace(
            report, counts=dict(exc.counts), touched=tuple(sorted(exc.touched)), warnings=feed.warnings
        )
    counts, touched, chain, pages = stored.counts, stored.touched, stored.chain, stored.pages
    doc_hint = feed_hint(feed.refresh)
    if await consider_hub(runtime, source, fetched, now=now):  # it advertises a hub: subscribed
        safety = await safety_net_hint(runtime, source, now)
    return IngestReport(
        source.id,
        source.url,
        "updated",
        counts=dict(counts),
        warnings=(*feed.warnings, *chain.warnings),
        touched=tuple(sorted(touched)),
        http_status=fetched.status,
        validators=fetched.validators,
        body_bytes=len(fetched.body),
        hint=strongest(header_hint(fetched.headers, now), doc_hint, safety),
        doc_hint=doc_hint,
        pages=pages,
        rule_counts=chain.rule_counts,
    )


@dataclass(frozen=True)
class StoredFeed:
    """What storing one parsed feed document did: counts, touched indexes, the processing
    chain (its warnings and rule counts) and the pages read inline for held items."""

    counts: Counter[str]
    touched: set[str]
    chain: Chain
    pages: tuple[IngestReport, ...]


async def store_feed(
    runtime: Runtime, source: Source, feed: FeedDocument, *, now: datetime, run_key: str | None = None
) -> StoredFeed:
    """Process and store a parsed feed document's items, merged into what is stored.

    Shared by a poll and by a WebSub push (syndicator/subscriber/push.py): an item missing
    from the document is never removed for that, so a push of only the new items (a
    fragment, not the upstream's complete list) adds to the feed and takes nothing away.
    `run_key` names the run's publish marker (a push has its own, beside the poll's).
    Raises CutShort when a normalise job failed after earlier chunks were stored (those
    stay stored and published; see `ingest.pipeline`)."""
    # The chunks come from the parse pool's children as they are normalised
    # (ingest.pipeline): each is processed (syndicator.process) and stored while the
    # next ones are normalised; the loop answers requests in between.
    chain = Chain(runtime, source, now=now)
    cut_short: CutShort | None = None
    try:
        async with aclosing(_chunks(feed)) as chunks:  # leaving early cancels the jobs under way
            counts, touched = await store_article_chunks(
                runtime,
                run_key or f"feed:{source.id}",
                chunks,
                [tuple(dict.fromkeys(source.categories))],  # every feed item's (normalise_entry)
                now=now,
                chain=chain,
            )
    except CutShort as exc:  # stored and published what came before: keep its raw input too
        cut_short, counts, touched = exc, exc.counts, exc.touched
    # For `syndicator reprocess`; blocked items' too.
    await keep_raw_blobs(
        runtime.redis,
        runtime.keys,
        runtime.config.settings,
        [(article_id, blob, article_id in chain.blocked) for article_id, blob in feed.raw],
        source_id=source.id,
        kind="feed",
        now=now,
    )
    if feed.raw:
        await apply_raw_bounds(runtime.redis, runtime.keys, runtime.config.settings, source.id)
    if feed.skipped:
        counts["skipped"] += feed.skipped  # (the same Counter as cut_short's)
    if cut_short is not None:
        raise cut_short
    pages: tuple[IngestReport, ...] = ()
    fetching = note_of(chain.context).fetching
    if fetching and runtime.queue is None:  # the CLI: read the held items' pages now
        pages = tuple(await read_held_inline(runtime, source, tuple(fetching), now=now))
        for page in pages:
            touched.update(page.touched)
            counts.update(page.counts)
            if page.status == "error":
                counts["page errors"] += 1
        counts[WAITING] -= len(pages)
        if counts[WAITING] <= 0:
            del counts[WAITING]
    return StoredFeed(counts, touched, chain, pages)


async def _chunks(feed: FeedDocument) -> AsyncIterator[Chunk]:
    """The feed's normalised chunks as the store takes them: Articles, and the
    fingerprints computed beside them by article id."""
    async with aclosing(feed.chunks()) as chunks:
        async for chunk in chunks:
            computed = {a.id: c for a, c in zip(chunk.articles, chunk.computed, strict=True) if c is not None}
            yield chunk.articles, computed

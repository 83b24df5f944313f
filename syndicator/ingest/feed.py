"""A feed source, one pass: fetch → parse and normalise (in the pool) → process → store → publish.

It never loses stored items: a fetch or parse failure stores nothing, and the articles
and feeds already published stay exactly as they were. It returns what happened; the
caller (`syndicator.ingest.ingest_source`) records it on the source.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from syndicator.fetch import FetchError
from syndicator.fetch.hints import feed_hint, header_hint, strongest
from syndicator.ingest.bounded import OverParseLimit, bounded, log_again, parse_and_normalise
from syndicator.ingest.fulltext import read_held_inline
from syndicator.ingest.report import IngestReport, failed, not_modified
from syndicator.ingest.storing import store_article_chunks
from syndicator.models import FetchResult, Source, Validators
from syndicator.normalise.feed import NormalisedFeed
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

    stored = await store_feed(runtime, source, feed, now=now)
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


async def read_feed(
    runtime: Runtime, source: Source, fetched: FetchResult, *, now: datetime, remember: bool = True
) -> NormalisedFeed:
    """Parse and normalise fetched feed bytes in the parse pool (the stage ingest and preview share).

    Raises ParseError (not a feed) or OverParseLimit; `remember=False` records nothing
    (see `bounded`). What the child logged is logged again here.
    """
    limits = runtime.config.fetch
    feed = await bounded(
        runtime,
        fetched.body,
        parse_and_normalise,
        dict(fetched.headers),
        fetched.final_url,
        remember=remember,
        max_entries=limits.max_entries,
        max_field_bytes=limits.max_field_bytes,
        source=source,
        fetched_at=now,
        keep_raw=runtime.config.settings.raw_per_source if remember else 0,
    )
    log_again(feed)
    return feed


@dataclass(frozen=True)
class StoredFeed:
    """What storing one parsed feed document did: counts, touched indexes, the processing
    chain (its warnings and rule counts) and the pages read inline for held items."""

    counts: Counter[str]
    touched: set[str]
    chain: Chain
    pages: tuple[IngestReport, ...]


async def store_feed(
    runtime: Runtime, source: Source, feed: NormalisedFeed, *, now: datetime, run_key: str | None = None
) -> StoredFeed:
    """Process and store a parsed feed document's items, merged into what is stored.

    Shared by a poll and by a WebSub push (syndicator/subscriber/push.py): an item missing
    from the document is never removed for that, so a push of only the new items (a
    fragment, not the upstream's complete list) adds to the feed and takes nothing away.
    `run_key` names the run's publish marker (a push has its own, beside the poll's)."""
    # Unpickled one chunk at a time, as each is stored: the loop answers requests in
    # between, and at most one chunk of Articles is alive (see store_article_chunks).
    # The processing stage (syndicator.process) runs on each chunk before it is stored.
    chunks = (feed.articles(index) for index in range(len(feed.chunks)))
    chain = Chain(runtime, source, now=now)
    counts, touched = await store_article_chunks(
        runtime, run_key or f"feed:{source.id}", chunks, feed.categories, now=now, chain=chain
    )
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
        counts["skipped"] += feed.skipped
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

"""Step 2: full text for summary-only feeds — the feed side.

For a feed source with `full_text = true`, a NEW item (never listed by the feed before,
not stored, not held) is not stored by this ingest: it is held (store/held.py: in no
category index, so in no feed — plain, filtered, archived or as a delta) until
`full_text_wait` from now, and its page job is queued (`full_text`, one per item). An item
held already stays held, with no second job. Both leave the batch as dropped, counted as
`waiting for full text` rather than `filtered`. Every other item passes untouched: the
store keeps a body read from the page when the feed's summary of the item comes again.

The page job (ingest/fulltext.py) reads the link through the page-fetch path and stores
the item — with the page's body when clearly longer, else as it came; the scheduler
stores, as they came, items whose wait is over. Without a queue (`syndicator ingest`) the
held items' pages are read right after the poll (`ContextNote`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from syndicator.models import Article, Source
from syndicator.process.step import Batch, Dropped, ProcessContext
from syndicator.runtime import Runtime
from syndicator.store.held import hold, triage

JOB_NAME = "full_text"
"""The arq job name of an item's page job (`worker.jobs.full_text_job`)."""

WAITING = "waiting for full text"
"""The report's count of a poll's items held (or still held) for their page."""

RULE = "full_text"
"""The `rule` of a held item's Dropped (not a filter: nothing is counted per rule)."""


def job_id(runtime: Runtime, source_id: str, article_id: str) -> str:
    return runtime.keys.job_id("fulltext", f"{source_id}:{article_id}")


async def enqueue_full_text(runtime: Runtime, source_id: str, article_id: str) -> None:
    """Queue the page job of one item (one per item: the job id says which); nothing
    without a queue (the ingest then reads the page itself)."""
    if runtime.queue is None:
        return
    await runtime.queue.enqueue_job(
        JOB_NAME,
        source_id,
        article_id,
        _job_id=job_id(runtime, source_id, article_id),
        _queue_name=runtime.config.settings.queue_name,
    )


@dataclass(frozen=True)
class Holding:
    """What `hold_new_articles` did with one batch: the articles to store now, those
    held (new now, or held already), and the ids whose page it asked for."""

    kept: list[Article]
    held: list[Article]
    fetching: tuple[str, ...]


async def hold_new_articles(
    runtime: Runtime, source: Source, articles: list[Article], *, now: datetime
) -> Holding:
    """Hold the new items of one batch of a `full_text` source's articles (see above)."""
    if not source.full_text or not articles:
        return Holding(list(articles), [], ())
    redis, keys = runtime.redis, runtime.keys
    memory = runtime.config.settings.evicted_memory
    found = await triage(redis, keys, source.id, [a.id for a in articles], now=now, memory=memory)
    new = [a for a in articles if a.id in found.new]
    await hold(redis, keys, new, release_at=now + source.full_text_wait)
    for article in new:
        await enqueue_full_text(runtime, source.id, article.id)
    aside = found.new | found.waiting
    return Holding(
        [a for a in articles if a.id not in aside],
        [a for a in articles if a.id in aside],
        tuple(a.id for a in new),
    )


@dataclass
class ContextNote:
    """What the step leaves in the ingest's context (`notes["fulltext"]`): the ids whose
    page it asked for, for an ingest without a queue to read them itself."""

    fetching: list[str] = field(default_factory=list)


def note_of(context: ProcessContext) -> ContextNote:
    note = context.notes.get(FullTextStep.name)
    if not isinstance(note, ContextNote):
        note = context.notes[FullTextStep.name] = ContextNote()
    return note


class FullTextStep:
    """Step 2: hold new items of `full_text` feed sources for their page (see above)."""

    name = "fulltext"

    def applies(self, context: ProcessContext) -> bool:
        return context.source.full_text and context.source.kind == "feed"

    async def run(self, batch: Batch, context: ProcessContext) -> Batch:
        holding = await hold_new_articles(context.runtime, context.source, batch.articles, now=context.now)
        note_of(context).fetching.extend(holding.fetching)
        reason = f"held for its full text (at most {context.source.full_text_wait})"
        # Never withdrawn: a held item is not stored yet, or its page job just stored it.
        dropped = [Dropped(a, RULE, reason, withdraw=False, counted_as=WAITING) for a in holding.held]
        return Batch(holding.kept, dropped, batch.annotations)

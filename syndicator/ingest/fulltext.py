"""Full text for summary-only feeds: each new item's link read as a page job.

A feed source with `full_text = true` does not store a NEW item when its feed is read:
the processing stage's `fulltext` step (process/fulltext.py) holds it (store/held.py: out
of every feed) and queues its page job. The page job (`read_full_text`) fetches the
item's link the way page sources fetch theirs (`pages.fetch_politely`: robots.txt, the
host's politeness slot, the address guard, the size and time limits), extracts it in
the parse pool (`pages.read_page`), and stores the item:

- with the page's body and images when the page's text is clearly longer than the item's
  (at least `LONGER_RATIO` times and `LONGER_BY` characters more); the item's summary
  stays the upstream's;
- as it came (the feed's summary for a body) when the page is not clearly longer, when
  the fetch failed for good (a 404, a refusal, no article on the page): the failure is
  counted on the source with the page's URL and reason (`full_text_errors`,
  `last_full_text_error`, shown in source health).

An item still held when its `full_text_wait` is over is stored as it came by the
scheduler (`release_due`); a page read after that still gives it the page's body, as an
upstream edit would. Without a queue (`syndicator ingest`) the pages are read inline,
right after the poll. Items already listed by the feed are not new: their links are not
fetched again on later polls, and the store keeps a body read from the page when the
feed's summary of the item comes again (store/articles.py). The page's bytes are kept
beside the item's raw input (store/raw.py), so `syndicator reprocess` extracts them again.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import replace
from datetime import datetime

from syndicator.extract import ExtractError
from syndicator.fetch import FetchError
from syndicator.ingest.bounded import OverParseLimit
from syndicator.ingest.pages import fetch_politely, read_page
from syndicator.ingest.report import IngestReport, failed
from syndicator.ingest.storing import store_articles
from syndicator.models import ALL_CATEGORY, Article, Source
from syndicator.normalise.text import plain_text
from syndicator.process import Chain
from syndicator.process.cluster import ClusterStep
from syndicator.redact import redact_url
from syndicator.runtime import Runtime
from syndicator.store.codec import article_from_json
from syndicator.store.held import due, held_article, held_articles, unhold
from syndicator.store.raw import keep_full_text_page, page_input

log = logging.getLogger(__name__)

LONGER_RATIO = 1.5
LONGER_BY = 200
"""The page's body replaces the item's only when its text is at least LONGER_RATIO times
as long and LONGER_BY characters longer: a page that merely repeats the summary with a
few words of chrome around it does not."""


def clearly_longer(have_html: str, page_html: str) -> bool:
    """Whether `page_html`'s text is clearly longer than `have_html`'s (see LONGER_RATIO)."""
    have, got = len(plain_text(have_html)), len(plain_text(page_html))
    return got >= LONGER_RATIO * have and got - have >= LONGER_BY


def with_full_text(item: Article, page: Article, page_url: str) -> Article | None:
    """`item` with the body and images of its `page` (read from `page_url`), or None when
    the page is not clearly longer. Everything else (title, summary, dates, id, tags,
    enclosures) stays the feed item's."""
    if not clearly_longer(item.content_html, page.content_html):
        return None
    declared = {e.url for e in item.enclosures}
    # The page lists its images as enclosures; here they are the body's images.
    images = tuple(e for e in (*page.enclosures, *page.images) if e.url not in declared)
    images = tuple({e.url: e for e in images}.values())
    return replace(item, content_html=page.content_html, images=images, full_text_url=page_url).hashed()


def _storable(runtime: Runtime, article: Article) -> Article:
    """`article` in the categories still configured (a reload may have removed one while
    it was held); `all` when none is left."""
    configured = tuple(c for c in article.categories if c in runtime.config.categories)
    if configured == article.categories:
        return article
    return replace(article, categories=configured or (ALL_CATEGORY,))


async def _store(
    runtime: Runtime, source: Source, article: Article, now: datetime
) -> tuple[Counter[str], set[str]]:
    return await store_articles(
        runtime,
        f"fulltext:{source.id}:{article.id}",
        [_storable(runtime, article)],
        now=now,
        chain=_clustering(runtime, source, now),
    )


def _clustering(runtime: Runtime, source: Source, now: datetime) -> Chain:
    """The processing steps a held item still needs when it is stored: near-duplicate
    clustering (the filters and the hold ran when its feed was read)."""
    return Chain(runtime, source, now=now, steps=(ClusterStep(),))


async def read_full_text(
    runtime: Runtime, source: Source, article_id: str, *, now: datetime, last_try: bool = True
) -> IngestReport:
    """The page job of one item: fetch its link, extract it, store the item (recording
    nothing: `syndicator.ingest.ingest_full_text` records the report).

    The item is the held one; once released (the wait was over) it is the stored record,
    unless that has its page's body already, or is gone (evicted, taken down). A failure
    that a retry may mend (a timeout, a 5xx) keeps the item held unless `last_try`; any
    other stores it as it came.
    """
    redis, keys = runtime.redis, runtime.keys
    item = await held_article(redis, keys, source.id, article_id)
    held = item is not None
    if item is None:
        raw = await redis.get(keys.article(article_id))
        stored = article_from_json(raw)[0] if raw else None
        if stored is None or stored.full_text_url is not None or stored.source_id != source.id:
            url = stored.url if stored else source.url
            return IngestReport(source.id, url, "updated", counts={"page not needed": 1}, full_text=True)
        item = stored

    async def keep_summary(report: IngestReport) -> IngestReport:
        if held and item is not None and (last_try or not report.retryable):
            await _store(runtime, source, item, now)
            await unhold(redis, keys, source.id, [article_id])
        return report

    url = item.url
    try:
        fetched = await fetch_politely(runtime, source, url)
    except FetchError as exc:
        return await keep_summary(failed(source.id, url, exc.reason, fetch=exc, full_text=True))
    try:
        page = await read_page(runtime, source, fetched, now=now)
    except ExtractError as exc:
        reason = f"no article: {exc}"
        return await keep_summary(failed(source.id, url, reason, at=fetched.final_url, full_text=True))
    except OverParseLimit as exc:
        return await keep_summary(failed(source.id, url, exc.reason, at=fetched.final_url, full_text=True))

    await keep_full_text_page(  # for `syndicator reprocess`: it extracts this page again
        redis,
        keys,
        runtime.config.settings,
        article_id=article_id,
        data=page_input(fetched.body, fetched.headers, fetched.final_url, fetched.status),
    )
    full = with_full_text(item, page.article, fetched.final_url)
    counts: Counter[str] = Counter()
    touched: set[str] = set()
    if full is not None or held:
        counts, touched = await _store(runtime, source, full or item, now)
    if held:
        await unhold(redis, keys, source.id, [article_id])
    counts["full text" if full is not None else "page not longer"] += 1
    return IngestReport(
        source.id,
        url,
        "updated",
        counts=dict(counts),
        touched=tuple(sorted(touched)),
        http_status=fetched.status,
        body_bytes=len(fetched.body),
        full_text=True,
    )


async def release_due(runtime: Runtime, *, now: datetime) -> int:
    """Store, as they came, the held items whose `full_text_wait` is over at `now` (the
    scheduler's tick); returns how many. Items of a source no longer configured are
    forgotten."""
    redis, keys = runtime.redis, runtime.keys
    by_source: dict[str, list[str]] = {}
    for source_id, article_id in await due(redis, keys, now=now):
        by_source.setdefault(source_id, []).append(article_id)
    released = 0
    for source_id, ids in by_source.items():
        source = runtime.config.sources.get(source_id)
        articles = await held_articles(redis, keys, source_id, ids)
        if source is not None and articles:
            await store_articles(
                runtime,
                f"fulltext-wait:{source_id}",
                [_storable(runtime, a) for a in articles],
                now=now,
                chain=_clustering(runtime, source, now),
            )
            released += len(articles)
            for article in articles:
                log.info(
                    "%s: full text not read within %s: stored with its summary",
                    source_id,
                    source.full_text_wait,
                    extra={
                        "event": "full_text_wait_over",
                        "source_id": source_id,
                        "url": redact_url(article.url),
                        "outcome": "released",
                    },
                )
        await unhold(redis, keys, source_id, ids)
    return released


async def read_held_inline(
    runtime: Runtime, source: Source, ids: tuple[str, ...], *, now: datetime
) -> list[IngestReport]:
    """Without a queue (`syndicator ingest`): read the pages of `ids` now, in order."""
    return [await read_full_text(runtime, source, article_id, now=now) for article_id in ids]

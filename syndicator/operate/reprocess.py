"""Reprocess: re-apply changed rules to what is stored, from the kept raw input, without fetching.

For each selected source, the articles whose raw input is kept (store/raw.py) go through
extraction and normalisation again (in the parse pool, time- and memory-bounded, as
ingest), category mapping and the processing stage's filters (not full text: that would
fetch), in jobs of at most `JOB` articles. What changed is written and each affected
category is published once, at the end. `updated` moves only when the title or the text
changed (markup-only changes keep it). An article a filter now blocks is withdrawn from
the feeds (its raw input stays, marked blocked); one a loosened rule no longer blocks
comes back. `dry_run` computes the same and changes nothing: per article a field-by-field
diff and how many items readers would see as updated. Articles this source still shows
whose raw input has expired are listed: only a forced re-ingest refreshes them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from syndicator.extract import ExtractError
from syndicator.ingest.bounded import OverParseLimit, bounded
from syndicator.ingest.pages import read_page
from syndicator.ingest.storing import indexes_for
from syndicator.models import Article, FetchResult, Source, Validators
from syndicator.normalise.feed import renormalise_items
from syndicator.normalise.text import plain_text
from syndicator.operate.reingest import Selection, select_sources
from syndicator.process import PREVIEW_STEPS, Chain
from syndicator.publish import request_publish
from syndicator.runtime import Runtime
from syndicator.store.articles import rewrite_article, upsert_articles
from syndicator.store.codec import article_from_json
from syndicator.store.raw import RawInput, RawInputError, load_raw, mark_blocked, source_raw_ids
from syndicator.store.takedown import hide_article

JOB = 200
"""Articles per reprocessing job (one parse-pool call each, one filter pass)."""

COMPARED = ("title", "url", "author", "content_html", "summary", "categories", "tags", "updated")
"""The fields a diff compares, in this order."""

EXPIRED_ADVICE = "raw input expired: force a re-ingest (syndicator reingest --force --source {source})"


@dataclass(frozen=True)
class ArticleChange:
    """What reprocessing does (or would do) to one article.

    `action`: `changed` (rewritten), `restored` (a loosened rule: back in the feeds),
    `withdrawn` (a rule now blocks it). `fields` maps a field to [before, after], as text.
    `reader_update`: readers see it as updated (title or text changed, or it came back)."""

    article_id: str
    source_id: str
    url: str
    action: str
    fields: dict[str, list[str]]
    reader_update: bool


@dataclass(frozen=True)
class ReprocessResult:
    dry_run: bool
    changes: tuple[ArticleChange, ...] = ()
    unchanged: int = 0
    expired: tuple[tuple[str, str], ...] = ()  # (source id, article id) shown, no raw input
    errors: tuple[tuple[str, str], ...] = ()  # (article id, why it could not be reprocessed)
    published: tuple[str, ...] = ()  # categories published again (none on a dry run)
    sources: tuple[str, ...] = field(default=())

    @property
    def readers_see_updated(self) -> int:
        return sum(c.reader_update for c in self.changes)

    def as_dict(self) -> dict[str, object]:
        return {
            "dry_run": self.dry_run,
            "sources": list(self.sources),
            "changes": [
                {
                    "article_id": c.article_id,
                    "source_id": c.source_id,
                    "url": c.url,
                    "action": c.action,
                    "fields": c.fields,
                    "reader_update": c.reader_update,
                }
                for c in self.changes
            ],
            "unchanged": self.unchanged,
            "readers_see_updated": self.readers_see_updated,
            "expired": [
                {"source_id": s, "article_id": a, "advice": EXPIRED_ADVICE.format(source=s)}
                for s, a in self.expired
            ],
            "errors": [{"article_id": a, "reason": r} for a, r in self.errors],
            "published": list(self.published),
        }

    def summary(self) -> str:
        verb = "would change" if self.dry_run else "changed"
        return (
            f"{verb} {len(self.changes)} articles ({self.readers_see_updated} seen as updated by readers), "
            f"{self.unchanged} unchanged, {len(self.expired)} expired, {len(self.errors)} errors"
        )


@dataclass
class _Run:
    dry_run: bool
    now: datetime
    changes: list[ArticleChange] = field(default_factory=list)
    unchanged: int = 0
    expired: list[tuple[str, str]] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)
    touched: set[str] = field(default_factory=set)
    shown: set[str] = field(default_factory=set)  # the current source's ids in the feeds


async def reprocess(
    runtime: Runtime, selection: Selection, *, dry_run: bool = False, now: datetime | None = None
) -> ReprocessResult:
    """Re-apply the running configuration's rules to the selected sources' kept raw input."""
    run = _Run(dry_run, now or datetime.now(UTC))
    chosen = await select_sources(runtime, selection)
    for source_id in chosen:
        source = runtime.config.sources[source_id]
        ids = await source_raw_ids(runtime.redis, runtime.keys, source_id)
        kept = set(ids)
        shown = await _shown_ids(runtime, source_id)
        run.shown = set(shown)
        for article_id in shown:
            if article_id not in kept:
                run.expired.append((source_id, article_id))
        for start in range(0, len(ids), JOB):
            await _job(runtime, source, ids[start : start + JOB], run)
    published: tuple[str, ...] = ()
    if run.touched and not dry_run:
        published = tuple(sorted(run.touched))
        await request_publish(runtime, published)  # each affected category once
    return ReprocessResult(
        dry_run,
        tuple(run.changes),
        run.unchanged,
        tuple(run.expired),
        tuple(run.errors),
        published,
        tuple(chosen),
    )


async def _shown_ids(runtime: Runtime, source_id: str) -> list[str]:
    """The ids of the articles `source_id` owns in any category index."""
    ids: dict[str, None] = {}
    for slug in runtime.config.categories:
        for member in await runtime.redis.zrange(runtime.keys.source_index(slug, source_id), 0, -1):
            ids[member.decode()] = None
    return list(ids)


async def _job(runtime: Runtime, source: Source, ids: list[str], run: _Run) -> None:
    """One job: re-read up to JOB articles, filter them, and write (or diff) the result."""
    raws: list[RawInput] = []
    for article_id in ids:
        try:
            raw = await load_raw(runtime.redis, runtime.keys, article_id)
        except RawInputError as exc:
            run.errors.append((article_id, str(exc)))
            continue
        if raw is None:  # dropped by a bound since it was listed
            if article_id in run.shown:
                run.expired.append((source.id, article_id))
            continue
        raws.append(raw)
    fresh: list[tuple[RawInput, Article]] = []
    items = [raw for raw in raws if raw.kind == "feed"]
    if items:
        fresh.extend(await _feed_items(runtime, source, items, run))
    for raw in raws:
        if raw.kind == "page":
            article = await _page(runtime, source, raw, run)
            if article is not None:
                fresh.append((raw, article))
        elif raw.kind != "feed":
            run.errors.append((raw.article_id, f"raw input of unknown kind {raw.kind!r}"))
    if not fresh:
        return
    chain = Chain(runtime, source, now=run.now, steps=PREVIEW_STEPS)
    processed = await chain.process([a for _raw, a in fresh])
    kept = {a.id: a for a in processed.articles}
    for raw, article in fresh:
        await _apply(runtime, source, raw, kept.get(article.id), article, run)


async def _feed_items(
    runtime: Runtime, source: Source, raws: list[RawInput], run: _Run
) -> list[tuple[RawInput, Article]]:
    """Normalise a job's feed items again, in one call to the parse pool."""
    body = json.dumps([[raw.article_id, raw.data] for raw in raws], ensure_ascii=False).encode()
    try:
        results = await bounded(runtime, body, renormalise_items, source, remember=False)
    except OverParseLimit as exc:
        run.errors.extend((raw.article_id, exc.reason) for raw in raws)
        return []
    by_id = {raw.article_id: raw for raw in raws}
    fresh: list[tuple[RawInput, Article]] = []
    for article_id, outcome in results:
        if isinstance(outcome, str):
            run.errors.append((article_id, outcome))
        else:
            article = outcome if outcome.id == article_id else replace(outcome, id=article_id)
            fresh.append((by_id[article_id], article))
    return fresh


async def _page(runtime: Runtime, source: Source, raw: RawInput, run: _Run) -> Article | None:
    """Extract and normalise a kept page again (in the parse pool)."""
    fetched = FetchResult(
        url=str(raw.data["final_url"]),
        final_url=str(raw.data["final_url"]),
        status=int(raw.data.get("status", 200)),
        body=raw.body,
        headers={str(k): str(v) for k, v in dict(raw.data.get("headers", {})).items()},
        validators=Validators(),
        fetched_at=run.now,
    )
    try:
        read = await read_page(runtime, source, fetched, now=run.now, remember=False)
    except (ExtractError, OverParseLimit) as exc:
        run.errors.append((raw.article_id, f"no article: {exc}"))
        return None
    article = read.article
    return article if article.id == raw.article_id else replace(article, id=raw.article_id)


async def _apply(
    runtime: Runtime, source: Source, raw: RawInput, kept: Article | None, article: Article, run: _Run
) -> None:
    redis, keys = runtime.redis, runtime.keys
    stored_json = await redis.get(keys.article(raw.article_id))
    stored, old_indexes = article_from_json(stored_json) if stored_json else (None, ())
    if kept is None:  # a filter blocks it now
        if stored is None:
            run.unchanged += 1
            if not raw.blocked and not run.dry_run:
                await mark_blocked(redis, keys, raw.article_id, True)
            return
        run.changes.append(
            ArticleChange(raw.article_id, source.id, stored.url, "withdrawn", {"shown": ["yes", "no"]}, False)
        )
        if not run.dry_run:
            hidden = await hide_article(
                redis,
                keys,
                raw.article_id,
                slugs=runtime.config.categories,
                now=run.now,
                who="reprocess",
                tombstoned=False,
                only_source=source.id,
            )
            if hidden is not None:
                run.touched.update(s for s in hidden.categories if s in runtime.config.categories)
            await mark_blocked(redis, keys, raw.article_id, True)
        return
    if stored is None:
        if not raw.blocked:  # evicted by retention or taken down: left as it is
            run.unchanged += 1
            return
        indexes = indexes_for(runtime, kept.categories)
        run.changes.append(
            ArticleChange(
                raw.article_id,
                source.id,
                kept.url,
                "restored",
                {"shown": ["no", "yes"], "categories": ["", ", ".join(kept.categories)]},
                True,
            )
        )
        if not run.dry_run:
            results = await upsert_articles(redis, keys, [(kept, indexes)], now=run.now)
            run.touched.update(slug for r in results for slug in r.indexes)
            await mark_blocked(redis, keys, raw.article_id, False)
        return
    text_changed = reads_differently(stored, kept)
    record = replace(
        kept,
        published=stored.published,
        date_estimated=stored.date_estimated,
        first_seen=stored.first_seen,
        sources=stored.sources,
        updated=max(run.now, stored.updated) if text_changed else stored.updated,
    )
    if stored.full_text_url is not None and kept.full_text_url is None:  # keep the page's body
        record = replace(
            record, content_html=stored.content_html, images=stored.images, full_text_url=stored.full_text_url
        )
    record = record.hashed()
    if len(stored.sources) > 1:  # another source lists it too: keep the categories it brought
        record = replace(record, categories=tuple(dict.fromkeys((*kept.categories, *stored.categories))))
    diff = _diff(stored, record)
    if not diff:
        run.unchanged += 1
        return
    run.changes.append(ArticleChange(raw.article_id, source.id, record.url, "changed", diff, text_changed))
    if not run.dry_run:
        indexes = indexes_for(runtime, record.categories)
        await rewrite_article(redis, keys, record, indexes, old_indexes)
        run.touched.update(indexes)
        run.touched.update(s for s in old_indexes if s in runtime.config.categories)


def reads_differently(before: Article, after: Article) -> bool:
    """Whether a reader would read `after` as an edit of `before`: its title or the text of
    its body changed. Markup alone (a dropped picture, other tags) does not count."""
    return before.title != after.title or plain_text(before.content_html) != plain_text(after.content_html)


def _text(value: object) -> str:
    if isinstance(value, tuple):
        return ", ".join(str(v) for v in value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="seconds")
    return "" if value is None else str(value)


def _diff(before: Article, after: Article) -> dict[str, list[str]]:
    """Field → [before, after] for each compared field that differs."""
    diff: dict[str, list[str]] = {}
    for name in COMPARED:
        old, new = _text(getattr(before, name)), _text(getattr(after, name))
        if old != new:
            diff[name] = [old, new]
    return diff

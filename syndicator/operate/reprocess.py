"""Reprocess: re-apply changed rules to what is stored, from the kept raw input, without fetching.

For each selected source, the articles whose raw input is kept (store/raw.py) go through
extraction and normalisation again (in the parse pool, time- and memory-bounded, as
ingest), category mapping and the processing stage's filters, in jobs of at most `JOB`
articles. A feed item of a `full_text` source whose page was kept gets its body from that
page, extracted again (never fetched). `updated` moves only when the title or the text
changed (markup-only changes keep it). An article a filter now blocks is withdrawn from
the feeds (its raw input stays, marked blocked); one a loosened rule no longer blocks
comes back. Articles this source still shows whose raw input has expired are listed:
only a forced re-ingest refreshes them.

A real run is one *reprocess* (an id, recorded 7 days under `Keys.reprocess`) made of
jobs: `start_reprocess` records one run per job (store/runs.py, kind `reprocess`, followed
like an ingest's) and queues them for the workers (`JOB_NAME`); `reprocess` runs the same
jobs one after the other in this process (the CLI without a worker, tests). A job records
each article's outcome and the categories it is about to touch *before* it writes, and
writes only what differs from the store, so a job run again after a worker died neither
changes nor counts anything twice. The job that finishes last publishes every touched
category once, for the whole reprocess (`_finish`).

`dry_run` computes the same in this process and changes nothing: per article a
field-by-field diff and how many items readers would see as updated.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from arq.connections import ArqRedis

from syndicator.extract import ExtractError
from syndicator.ingest.bounded import OverParseLimit, bounded
from syndicator.ingest.fulltext import with_full_text
from syndicator.ingest.pages import read_page
from syndicator.ingest.storing import indexes_for
from syndicator.models import Article, FetchResult, Source, Validators
from syndicator.normalise.feed import renormalise_items
from syndicator.normalise.text import plain_text
from syndicator.operate.errors import NoQueue, UnknownRun
from syndicator.operate.reingest import Selection, select_sources
from syndicator.process import PREVIEW_STEPS, Chain
from syndicator.publish import request_publish
from syndicator.runtime import Runtime
from syndicator.store.articles import rewrite_article, upsert_articles
from syndicator.store.atomic import atomic
from syndicator.store.codec import article_from_json
from syndicator.store.raw import RawInput, RawInputError, load_raw, mark_blocked, page_body, source_raw_ids
from syndicator.store.runs import RUN_TTL, Run, create_run, finish_run, load_runs, mark_running, new_run_id
from syndicator.store.takedown import hide_article

JOB = 200
"""Articles per reprocessing job (one parse-pool call for its feed items, one filter pass)."""

JOB_NAME = "reprocess_articles"
"""The arq job name of one reprocess job (`worker.jobs.reprocess_job`)."""

COMPARED = ("title", "url", "author", "content_html", "summary", "categories", "tags", "updated")
"""The fields a diff compares, in this order."""

RECORDED_CHARS = 300
"""How much of each side of a field's diff a job records (the dry run shows it whole)."""

DEADLINE_MARGIN = 5.0
"""Seconds before the arq job timeout (at most a fifth of it) at which a job stops itself,
so that it can still record its run as failed and let the reprocess publish (arq would only
cancel it, and not run it again)."""

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

    def as_dict(self) -> dict[str, object]:
        return {
            "article_id": self.article_id,
            "source_id": self.source_id,
            "url": self.url,
            "action": self.action,
            "fields": self.fields,
            "reader_update": self.reader_update,
        }


@dataclass(frozen=True)
class ReprocessResult:
    dry_run: bool
    changes: tuple[ArticleChange, ...] = ()
    unchanged: int = 0
    expired: tuple[tuple[str, str], ...] = ()  # (source id, article id) shown, no raw input
    errors: tuple[tuple[str, str], ...] = ()  # (article id, why it could not be reprocessed)
    published: tuple[str, ...] = ()  # categories published again (none on a dry run)
    sources: tuple[str, ...] = field(default=())
    reprocess_id: str | None = None  # a real run's id (None on a dry run)

    @property
    def readers_see_updated(self) -> int:
        return sum(c.reader_update for c in self.changes)

    def as_dict(self) -> dict[str, object]:
        return {
            "dry_run": self.dry_run,
            "sources": list(self.sources),
            "changes": [c.as_dict() for c in self.changes],
            "unchanged": self.unchanged,
            "readers_see_updated": self.readers_see_updated,
            "expired": _expired_rows(self.expired),
            "errors": [{"article_id": a, "reason": r} for a, r in self.errors],
            "published": list(self.published),
            **({"reprocess_id": self.reprocess_id} if self.reprocess_id else {}),
        }

    def summary(self) -> str:
        verb = "would change" if self.dry_run else "changed"
        return (
            f"{verb} {len(self.changes)} articles ({self.readers_see_updated} seen as updated by readers), "
            f"{self.unchanged} unchanged, {len(self.expired)} expired, {len(self.errors)} errors"
        )


def _expired_rows(expired: Iterable[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"source_id": s, "article_id": a, "advice": EXPIRED_ADVICE.format(source=s)} for s, a in expired]


@dataclass(frozen=True)
class ReprocessStarted:
    """A real run as queued: its id, its jobs' runs as (source id, run id, articles), and
    the articles shown whose raw input has expired (nothing a job can do for them)."""

    reprocess_id: str
    runs: tuple[tuple[str, str, int], ...]
    expired: tuple[tuple[str, str], ...]
    sources: tuple[str, ...]

    def as_dict(self) -> dict[str, object]:
        return {
            "reprocess_id": self.reprocess_id,
            "sources": list(self.sources),
            "runs": [{"source_id": s, "run_id": r, "articles": n} for s, r, n in self.runs],
            "expired": _expired_rows(self.expired),
        }


@dataclass(frozen=True)
class ReprocessStatus:
    """Where a real run stands: its jobs' runs and what they did so far (`result`, the
    fields of each change cut to RECORDED_CHARS). `done` once every job ended and the
    touched categories were asked to publish."""

    reprocess_id: str
    done: bool
    runs: tuple[Run, ...]
    result: ReprocessResult

    @property
    def failed(self) -> int:
        return sum(r.state == "failed" for r in self.runs)


@dataclass
class _Run:
    """What one job (or a dry run) found; with `group`, each outcome is also recorded in
    the reprocess's record before anything is written (see the module)."""

    dry_run: bool
    now: datetime
    group: str | None = None
    changes: list[ArticleChange] = field(default_factory=list)
    unchanged: int = 0
    expired: list[tuple[str, str]] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)
    touched: set[str] = field(default_factory=set)
    quiet: dict[str, str] = field(default_factory=dict)  # article id → JSON outcome, recorded at the end

    def result(self, sources: Iterable[str], published: Iterable[str] = ()) -> ReprocessResult:
        return ReprocessResult(
            self.dry_run,
            tuple(self.changes),
            self.unchanged,
            tuple(self.expired),
            tuple(self.errors),
            tuple(published),
            tuple(sources),
            self.group,
        )

    def note_unchanged(self, article_id: str) -> None:
        self.unchanged += 1
        self.quiet[article_id] = json.dumps({"action": "unchanged"})

    def note_error(self, article_id: str, reason: str) -> None:
        self.errors.append((article_id, reason))
        self.quiet[article_id] = json.dumps({"action": "error", "reason": reason}, ensure_ascii=False)

    def note_expired(self, source_id: str, article_id: str) -> None:
        self.expired.append((source_id, article_id))
        self.quiet[article_id] = json.dumps({"action": "expired", "source_id": source_id})

    async def note_change(self, runtime: Runtime, change: ArticleChange, slugs: Iterable[str]) -> None:
        """Count a change; in a real run, record it and the categories it will touch first."""
        self.changes.append(change)
        slugs = {s for s in slugs if s in runtime.config.categories}
        self.touched.update(slugs)
        if self.group is None:
            return
        keys = runtime.keys
        recorded = {
            **change.as_dict(),
            "fields": {k: [_cut(v) for v in pair] for k, pair in change.fields.items()},
        }
        async with atomic(runtime.redis) as pipe:
            pipe.hset(keys.reprocess(self.group, "articles"), change.article_id, json.dumps(recorded))
            if slugs:
                pipe.sadd(keys.reprocess(self.group, "touched"), *slugs)
            await pipe.execute()

    async def flush(self, runtime: Runtime) -> None:
        """Record the quiet outcomes (unchanged, errors, expired) of a real run's job; an
        article a try before this one changed keeps that outcome."""
        if self.group is None or not self.quiet:
            return
        key = runtime.keys.reprocess(self.group, "articles")
        async with runtime.redis.pipeline(transaction=False) as pipe:
            for article_id, outcome in self.quiet.items():
                pipe.hsetnx(key, article_id, outcome)
            await pipe.execute()


def _cut(text: str) -> str:
    return text if len(text) <= RECORDED_CHARS else text[: RECORDED_CHARS - 1] + "…"


async def _plan(
    runtime: Runtime, selection: Selection
) -> tuple[list[str], list[tuple[str, list[str]]], list[tuple[str, str]]]:
    """The chosen sources, their kept inputs in jobs of at most JOB (source id, ids), and
    the articles they show whose input has expired."""
    chosen = await select_sources(runtime, selection)
    jobs: list[tuple[str, list[str]]] = []
    expired: list[tuple[str, str]] = []
    for source_id in chosen:
        ids = await source_raw_ids(runtime.redis, runtime.keys, source_id)
        kept = set(ids)
        expired.extend((source_id, a) for a in await _shown_ids(runtime, source_id) if a not in kept)
        jobs.extend((source_id, ids[start : start + JOB]) for start in range(0, len(ids), JOB))
    return chosen, jobs, expired


async def reprocess(
    runtime: Runtime, selection: Selection, *, dry_run: bool = False, now: datetime | None = None
) -> ReprocessResult:
    """Re-apply the running configuration's rules to the selected sources' kept raw input,
    in this process: a dry run, or a real run's jobs one after the other (recorded as
    `start_reprocess` records them, the last publishing)."""
    now = now or datetime.now(UTC)
    if dry_run:
        chosen, jobs, expired = await _plan(runtime, selection)
        run = _Run(True, now, expired=list(expired))
        for source_id, ids in jobs:
            await _job(runtime, runtime.config.sources[source_id], ids, run)
        return run.result(chosen)
    started, jobs = await _record(runtime, selection, now)
    total = _Run(False, now, group=started.reprocess_id, expired=list(started.expired))
    published: tuple[str, ...] = ()
    for (source_id, run_id, _count), ids in zip(started.runs, jobs, strict=True):
        done = await run_job(
            runtime, started.reprocess_id, run_id, source_id, ids, worker="inline", try_number=1
        )
        total.changes.extend(done.changes)
        total.unchanged += done.unchanged
        total.expired.extend(done.expired)
        total.errors.extend(done.errors)
        published = await _published(runtime, started.reprocess_id) or published
    return total.result(started.sources, published)


async def start_reprocess(
    runtime: Runtime, queue: ArqRedis | None, selection: Selection, *, now: datetime | None = None
) -> ReprocessStarted:
    """Record a real run and queue its jobs for the workers; returns at once."""
    if queue is None:
        raise NoQueue("reprocess queues jobs for the workers and needs the arq queue")
    started, jobs = await _record(runtime, selection, now or datetime.now(UTC))
    for (source_id, run_id, _count), ids in zip(started.runs, jobs, strict=True):
        await queue.enqueue_job(
            JOB_NAME,
            started.reprocess_id,
            run_id,
            source_id,
            ids,
            _job_id=runtime.keys.job_id("reprocess", run_id),
            _queue_name=runtime.config.settings.queue_name,
        )
    return started


async def _record(
    runtime: Runtime, selection: Selection, now: datetime
) -> tuple[ReprocessStarted, list[list[str]]]:
    """Plan a real run and record it: its hash, and one queued run per job."""
    chosen, jobs, expired = await _plan(runtime, selection)
    reprocess_id = new_run_id()
    runs: list[tuple[str, str, int]] = []
    for source_id, ids in jobs:
        run = await create_run(runtime.redis, runtime.keys, source_id, kind="reprocess", now=now)
        runs.append((source_id, run.run_id, len(ids)))
    started = ReprocessStarted(reprocess_id, tuple(runs), tuple(expired), tuple(chosen))
    key = runtime.keys.reprocess(reprocess_id)
    async with atomic(runtime.redis) as pipe:
        pipe.hset(
            key,
            mapping={
                "now": now.isoformat(),
                "jobs": len(jobs),
                "runs": json.dumps([r for _s, r, _n in runs]),
                "sources": json.dumps(chosen, ensure_ascii=False),
                "expired": json.dumps(expired, ensure_ascii=False),
            },
        )
        for part in ("", "articles", "touched", "finished"):
            pipe.expire(runtime.keys.reprocess(reprocess_id, part), int(RUN_TTL.total_seconds()))
        await pipe.execute()
    if not jobs:  # nothing kept to reprocess: done at once, nothing to publish
        await runtime.redis.hset(key, "published", "[]")
    return started, [ids for _s, ids in jobs]


async def run_job(
    runtime: Runtime,
    reprocess_id: str,
    run_id: str,
    source_id: str,
    ids: list[str],
    *,
    worker: str,
    try_number: int,
) -> _Run:
    """One job of a real run (a worker's, or `reprocess`'s in this process): its run
    recorded running, then done (or failed); the reprocess published if it is the last.

    Interrupted (the worker stopping: arq runs it again) it records the run failed and
    lets the cancellation through, unfinished, so the publish waits for its next try."""
    redis, keys = runtime.redis, runtime.keys
    group = await redis.hgetall(keys.reprocess(reprocess_id))
    now = datetime.fromisoformat(group[b"now"].decode()) if b"now" in group else datetime.now(UTC)
    run = _Run(False, now, group=reprocess_id)
    await mark_running(redis, keys, run_id, worker=worker, try_number=try_number)
    source = runtime.config.sources.get(source_id)
    ok, reason = True, None
    try:
        if not group:
            ok, reason = False, f"reprocess {reprocess_id} is no longer recorded (kept 7 days)"
        elif source is not None:
            limit = runtime.config.settings.job_timeout
            async with asyncio.timeout(max(limit - DEADLINE_MARGIN, 0.8 * limit)):
                await _job(runtime, source, ids, run)
    except TimeoutError:
        ok, reason = False, f"timed out after {len(run.changes) + len(run.quiet)} of {len(ids)} articles"
    except asyncio.CancelledError:
        await finish_run(redis, keys, run_id, ok=False, reason="interrupted (worker stopped); runs again")
        raise
    except Exception as exc:
        await finish_run(redis, keys, run_id, ok=False, reason=f"{type(exc).__name__}: {exc}")
        await _finish(runtime, reprocess_id, run_id)
        raise
    await run.flush(runtime)
    published = await _finish(runtime, reprocess_id, run_id)
    summary = f"reprocess {reprocess_id}: " + (
        "skipped: source removed" if source is None else run.result(()).summary()
    )
    if published:
        summary += f"; published {', '.join(published)}"
    await finish_run(redis, keys, run_id, ok=ok, summary=summary if ok else None, reason=reason)
    return run


async def _finish(runtime: Runtime, reprocess_id: str, run_id: str) -> tuple[str, ...]:
    """Count this job as ended; the one that ends the reprocess publishes every touched
    category once. Returns what it published (nothing for any other job)."""
    redis, keys = runtime.redis, runtime.keys
    group = keys.reprocess(reprocess_id)
    async with atomic(redis) as pipe:
        pipe.sadd(keys.reprocess(reprocess_id, "finished"), run_id)
        pipe.expire(keys.reprocess(reprocess_id, "finished"), int(RUN_TTL.total_seconds()))
        pipe.scard(keys.reprocess(reprocess_id, "finished"))
        pipe.hget(group, "jobs")
        _added, _ttl, finished, jobs = await pipe.execute()
    if jobs is None or finished < int(jobs):
        return ()
    # Two jobs may see the count complete at once: one claims the publish. A try of the
    # claimant run again (its worker died) publishes unless it had recorded that it did.
    await redis.hsetnx(group, "publisher", run_id)
    if (await redis.hget(group, "publisher")) != run_id.encode():
        return ()
    done = await _published(runtime, reprocess_id)
    if done is not None:
        return done
    touched = await redis.smembers(keys.reprocess(reprocess_id, "touched"))
    slugs = tuple(sorted(s for s in (t.decode() for t in touched) if s in runtime.config.categories))
    if slugs:
        await request_publish(runtime, slugs)  # each affected category once
    await redis.hset(group, "published", json.dumps(slugs))
    return slugs


async def _published(runtime: Runtime, reprocess_id: str) -> tuple[str, ...] | None:
    raw = await runtime.redis.hget(runtime.keys.reprocess(reprocess_id), "published")
    return None if raw is None else tuple(json.loads(raw))


async def reprocess_status(runtime: Runtime, reprocess_id: str) -> ReprocessStatus:
    """Where a real run stands (UnknownRun when it is not recorded, or expired)."""
    redis, keys = runtime.redis, runtime.keys
    group = await redis.hgetall(keys.reprocess(reprocess_id))
    if not group:
        raise UnknownRun(reprocess_id)
    runs = await load_runs(redis, keys, json.loads(group[b"runs"]))
    outcomes = await redis.hgetall(keys.reprocess(reprocess_id, "articles"))
    changes: list[ArticleChange] = []
    unchanged = 0
    expired = [tuple(e) for e in json.loads(group[b"expired"])]
    errors: list[tuple[str, str]] = []
    for raw_id, raw in sorted(outcomes.items()):
        article_id, outcome = raw_id.decode(), json.loads(raw)
        action = outcome["action"]
        if action == "unchanged":
            unchanged += 1
        elif action == "error":
            errors.append((article_id, outcome["reason"]))
        elif action == "expired":
            expired.append((outcome["source_id"], article_id))
        else:
            changes.append(
                ArticleChange(
                    article_id,
                    outcome["source_id"],
                    outcome["url"],
                    action,
                    outcome["fields"],
                    outcome["reader_update"],
                )
            )
    published = _decoded_list(group.get(b"published"))
    result = ReprocessResult(
        False,
        tuple(changes),
        unchanged,
        tuple((s, a) for s, a in expired),
        tuple(errors),
        tuple(published or ()),
        tuple(json.loads(group[b"sources"])),
        reprocess_id,
    )
    return ReprocessStatus(reprocess_id, published is not None, tuple(runs), result)


def _decoded_list(raw: bytes | None) -> list[str] | None:
    return None if raw is None else list(json.loads(raw))


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
            run.note_error(article_id, str(exc))
            continue
        if raw is None:  # dropped by a bound since it was listed
            if await runtime.redis.exists(runtime.keys.article(article_id)):
                run.note_expired(source.id, article_id)
            continue
        raws.append(raw)
    fresh: list[tuple[RawInput, Article]] = []
    items = [raw for raw in raws if raw.kind == "feed"]
    if items:
        fresh.extend(await _feed_items(runtime, source, items, run))
    for raw in raws:
        if raw.kind == "page":
            article = await _page(runtime, source, raw.data, raw.article_id, run)
            if article is not None:
                fresh.append((raw, article))
        elif raw.kind != "feed":
            run.note_error(raw.article_id, f"raw input of unknown kind {raw.kind!r}")
    if not fresh:
        return
    chain = Chain(runtime, source, now=run.now, steps=PREVIEW_STEPS)
    processed = await chain.process([a for _raw, a in fresh])
    kept = {a.id: a for a in processed.articles}
    for raw, article in fresh:
        after = kept.get(article.id)
        if after is not None and raw.page is not None:  # its full text, from the kept page
            after = await _with_kept_page(runtime, source, raw, after, run)
        await _apply(runtime, source, raw, after, run)


async def _feed_items(
    runtime: Runtime, source: Source, raws: list[RawInput], run: _Run
) -> list[tuple[RawInput, Article]]:
    """Normalise a job's feed items again, in one call to the parse pool."""
    body = json.dumps([[raw.article_id, raw.data] for raw in raws], ensure_ascii=False).encode()
    try:
        results = await bounded(runtime, body, renormalise_items, source, remember=False)
    except OverParseLimit as exc:
        for raw in raws:
            run.note_error(raw.article_id, exc.reason)
        return []
    by_id = {raw.article_id: raw for raw in raws}
    fresh: list[tuple[RawInput, Article]] = []
    for article_id, outcome in results:
        if isinstance(outcome, str):
            run.note_error(article_id, outcome)
        else:
            article = outcome if outcome.id == article_id else replace(outcome, id=article_id)
            fresh.append((by_id[article_id], article))
    return fresh


def _fetched(data: Mapping[str, Any], now: datetime) -> FetchResult:
    """A kept page (`store.raw.page_input`) as the fetch that brought it."""
    return FetchResult(
        url=str(data["final_url"]),
        final_url=str(data["final_url"]),
        status=int(data.get("status", 200)),
        body=page_body(data),
        headers={str(k): str(v) for k, v in dict(data.get("headers", {})).items()},
        validators=Validators(),
        fetched_at=now,
    )


async def _page(
    runtime: Runtime, source: Source, data: Mapping[str, Any], article_id: str, run: _Run
) -> Article | None:
    """Extract and normalise a kept page again (in the parse pool)."""
    try:
        read = await read_page(runtime, source, _fetched(data, run.now), now=run.now, remember=False)
    except (ExtractError, OverParseLimit) as exc:
        run.note_error(article_id, f"no article: {exc}")
        return None
    article = read.article
    return article if article.id == article_id else replace(article, id=article_id)


async def _with_kept_page(
    runtime: Runtime, source: Source, raw: RawInput, item: Article, run: _Run
) -> Article:
    """A full-text item with the body of its kept page, extracted again (as the page job
    does: only when the page is clearly longer). A page that no longer yields an article
    leaves the item as the feed gave it, as a failed page job would."""
    assert raw.page is not None
    try:
        read = await read_page(runtime, source, _fetched(raw.page, run.now), now=run.now, remember=False)
    except (ExtractError, OverParseLimit):
        return item
    return with_full_text(item, read.article, str(raw.page["final_url"])) or item


async def _apply(runtime: Runtime, source: Source, raw: RawInput, kept: Article | None, run: _Run) -> None:
    """Write (or, dry, only count) what changes for one article. A real run records each
    change, and the categories it touches, before it writes (see `_Run.note_change`)."""
    redis, keys = runtime.redis, runtime.keys
    stored_json = await redis.get(keys.article(raw.article_id))
    stored, old_indexes = article_from_json(stored_json) if stored_json else (None, ())
    if kept is None:  # a filter blocks it now
        if stored is None:
            run.note_unchanged(raw.article_id)
            if not raw.blocked and not run.dry_run:
                await mark_blocked(redis, keys, raw.article_id, True)
            return
        change = ArticleChange(
            raw.article_id, source.id, stored.url, "withdrawn", {"shown": ["yes", "no"]}, False
        )
        await run.note_change(runtime, change, old_indexes)
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
            run.note_unchanged(raw.article_id)
            return
        indexes = indexes_for(runtime, kept.categories)
        change = ArticleChange(
            raw.article_id,
            source.id,
            kept.url,
            "restored",
            {"shown": ["no", "yes"], "categories": ["", ", ".join(kept.categories)]},
            True,
        )
        await run.note_change(runtime, change, indexes)
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
    if stored.full_text_url is not None and kept.full_text_url is None and raw.page is None:
        # a body read from a page not kept (before pages were): keep it
        record = replace(
            record, content_html=stored.content_html, images=stored.images, full_text_url=stored.full_text_url
        )
        text_changed = reads_differently(stored, record)
        record = replace(record, updated=max(run.now, stored.updated) if text_changed else stored.updated)
    record = record.hashed()
    if len(stored.sources) > 1:  # another source lists it too: keep the categories it brought
        record = replace(record, categories=tuple(dict.fromkeys((*kept.categories, *stored.categories))))
    diff = _diff(stored, record)
    if not diff:
        run.note_unchanged(raw.article_id)
        return
    indexes = indexes_for(runtime, record.categories)
    change = ArticleChange(raw.article_id, source.id, record.url, "changed", diff, text_changed)
    await run.note_change(runtime, change, (*indexes, *old_indexes))
    if not run.dry_run:
        await rewrite_article(redis, keys, record, indexes, old_indexes)


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

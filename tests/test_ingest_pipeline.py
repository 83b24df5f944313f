"""A feed's entries are normalised in chunks on every parse child while the chunks before
are stored (syndicator/ingest/pipeline.py), through a real ingest: loopback upstream,
real Redis, the real parse pool with two children.

The pool is watched, not replaced: `Watched` records each job's answer and the order of
jobs and stores; one test swaps a chunk's job for one that kills its child, as a hostile
chunk would.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import replace
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest

import syndicator.fingerprint as fingerprint_module
from syndicator.fingerprint import Computed, fingerprint
from syndicator.ingest import ingest_source, storing
from syndicator.ingest.bounded import UNCHANGED
from syndicator.isolate import ParsePool
from syndicator.normalise.feed import CHUNK, NormalisedChunk
from syndicator.process.cluster import ClusterStep
from syndicator.process.step import Batch, ProcessContext
from syndicator.runtime import Runtime
from syndicator.store.articles import newest_articles
from syndicator.store.clusters import StoredPrint
from syndicator.store.raw import source_raw_ids
from syndicator.store.sources import load_state
from tests.builders import BASE_TIME, Item, make_article, one_feed_config, rss

ENTRIES = 4 * CHUNK + 50  # five normalise jobs
SKIPPED = (5, 2 * CHUNK + 7)  # entries without an http(s) link: skipped with a warning
WORDS = ["river", "stone", "market", "ledger", "harbour", "signal", "orchard", "lantern", "meadow", "copper"]


def story(i: int) -> Item:
    """An entry with text enough for a fingerprint, unlike any other entry's."""
    words = [WORDS[(i * 7 + k * (i % 5 + 1)) % len(WORDS)] + str(i * 31 + k) for k in range(40)]
    link = f"ftp://files.example/{i}" if i in SKIPPED else f"https://pipe.example/story/{i}"
    return Item(
        guid=f"story-{i}",
        title=f"Story {i}",
        link=link,
        published=BASE_TIME - timedelta(minutes=i),
        body=f"<p>{' '.join(words)}</p>",
    )


class Watched:
    """The runtime's real pool and store, with what happened in order: `("normalised",
    start, pid)` as each chunk's job answers, `("stored", n)` as a chunk is upserted."""

    def __init__(self, runtime: Runtime, monkeypatch: pytest.MonkeyPatch, fail_at: int | None = None) -> None:
        self.events: list[tuple[Any, ...]] = []
        pool_run = runtime.pool.run
        upsert = storing.upsert_articles

        async def run(fn: Any, *args: Any, **kwargs: Any) -> Any:
            if fail_at is not None and getattr(fn, "keywords", {}).get("start") == fail_at:
                fn = partial(os._exit, 3)  # the chunk's child dies, as over a memory limit
            answer = await pool_run(fn, *args, **kwargs)
            if isinstance(answer, NormalisedChunk):
                self.events.append(("normalised", answer.start, answer.pid))
            return answer

        async def upsert_articles(redis: Any, keys: Any, batch: Any, **kwargs: Any) -> Any:
            self.events.append(("stored", len(batch)))
            return await upsert(redis, keys, batch, **kwargs)

        monkeypatch.setattr(runtime.pool, "run", run)
        monkeypatch.setattr(storing, "upsert_articles", upsert_articles)

    def normalised(self) -> list[tuple[Any, ...]]:
        return [e for e in self.events if e[0] == "normalised"]


async def open_runtime(tmp_path: Path, upstream, redis_url: str, prefix: str) -> Runtime:
    upstream.put("/pipe.rss", rss([story(i) for i in range(ENTRIES)]), "application/rss+xml")
    config = one_feed_config(tmp_path, upstream, redis_url=redis_url, prefix=prefix, path="/pipe.rss")
    runtime = Runtime.open(config, redis_url)
    runtime.pool = ParsePool(size=2)  # two children, as on a two-core host, whatever this one has
    return runtime


async def test_chunks_are_normalised_on_both_children_while_the_first_are_stored(
    tmp_path, upstream, redis, redis_url, prefix, monkeypatch
) -> None:
    runtime = await open_runtime(tmp_path, upstream, redis_url, prefix)
    watched = Watched(runtime, monkeypatch)
    fingerprinted_here: list[str] = []

    def counted(article: Any) -> Any:
        fingerprinted_here.append(article.id)
        return fingerprint(article)

    monkeypatch.setattr(fingerprint_module, "fingerprint", counted)  # this process only
    try:
        report = await ingest_source(runtime, "feed")
    finally:
        await runtime.close()

    assert report.status == "updated", report.line()
    assert report.counts == {"new": ENTRIES - len(SKIPPED), "skipped": len(SKIPPED)}
    # In entry order, each skipped entry named by its position in the document.
    skipped = [w for w in report.warnings if " skipped: " in w]
    assert [w.split(":")[0] for w in skipped] == [f"entry {n} skipped" for n in SKIPPED], skipped
    assert all("has no http(s) link" in w for w in skipped)
    normalised = watched.normalised()
    assert sorted(start for _e, start, _pid in normalised) == list(range(0, ENTRIES, CHUNK))
    assert len({pid for _e, _start, pid in normalised}) == 2, normalised  # both children worked
    # The store had the first chunk before the last chunk was normalised.
    first_store = watched.events.index(next(e for e in watched.events if e[0] == "stored"))
    last_normalised = watched.events.index(normalised[-1])
    assert first_store < last_normalised, watched.events
    # The clustering step used the children's fingerprints: none computed in this process.
    assert fingerprinted_here == []
    stored = await newest_articles(redis, runtime.keys, "tech", ENTRIES)
    assert len(stored) == ENTRIES - len(SKIPPED)
    assert [a.title for a in stored[:3]] == ["Story 0", "Story 1", "Story 2"]  # newest first
    raw = await redis.get(runtime.keys.fingerprint(stored[0].id))
    assert raw is not None and StoredPrint.from_json(raw).signature == fingerprint(stored[0]).signature


async def test_raw_input_is_kept_for_the_first_articles_across_chunks(
    tmp_path, upstream, redis, redis_url, prefix
) -> None:
    runtime = await open_runtime(tmp_path, upstream, redis_url, prefix)
    settings = replace(runtime.config.settings, raw_per_source=CHUNK + 20)
    runtime.config = replace(runtime.config, settings=settings)
    try:
        report = await ingest_source(runtime, "feed")
    finally:
        await runtime.close()
    assert report.status == "updated", report.line()
    kept = await source_raw_ids(redis, runtime.keys, "feed")
    stored = await newest_articles(redis, runtime.keys, "tech", ENTRIES)
    assert [a.title for a in stored[:2]] == ["Story 0", "Story 1"]  # newest first: entry order
    assert sorted(kept) == sorted(a.id for a in stored[: CHUNK + 20])


async def test_a_failed_chunk_keeps_and_publishes_what_was_stored_and_fails_the_poll(
    tmp_path, upstream, redis, redis_url, prefix, monkeypatch
) -> None:
    runtime = await open_runtime(tmp_path, upstream, redis_url, prefix)
    Watched(runtime, monkeypatch, fail_at=2 * CHUNK)
    try:
        report = await ingest_source(runtime, "feed")
        stored = await newest_articles(redis, runtime.keys, "tech", ENTRIES)
        state = await load_state(redis, runtime.keys, "feed")
        pending = await redis.hgetall(runtime.keys.pending_publish)
        again = await ingest_source(runtime, "feed")  # the same bytes: refused, nothing lost
        after = await newest_articles(redis, runtime.keys, "tech", ENTRIES)
    finally:
        await runtime.close()

    reason = f"entries {2 * CHUNK}–{3 * CHUNK - 1} not normalised: parse went over the memory limit"
    assert report.status == "error"
    assert report.reason is not None and report.reason.startswith(reason), report.reason
    assert f"(before it: {2 * CHUNK - 1} new, 1 skipped)" in report.reason
    assert report.counts == {"new": 2 * CHUNK - 1, "skipped": 1}
    assert report.touched == ("all", "tech")
    assert len(stored) == 2 * CHUNK - 1  # the first two chunks, less the skipped entry
    assert state.last_error is not None and reason in state.last_error
    assert pending == {}  # published: no marker left for a later run to finish
    assert again.status == "error" and again.reason is not None and again.reason.startswith(UNCHANGED)
    assert len(after) == len(stored)


async def test_the_cluster_step_computes_anew_a_fingerprint_its_article_no_longer_matches(
    tmp_path, upstream, redis, redis_url, prefix
) -> None:
    runtime = await open_runtime(tmp_path, upstream, redis_url, prefix)
    try:
        body = " ".join(f"word{k}" for k in range(60))
        original = replace(make_article(1, "tech", source="feed"), content_html=f"<p>{body}</p>")
        rewritten = replace(original, content_html=f"<p>{body} and a rewritten ending of it</p>")
        ahead = Computed.of(original)  # computed in the child, before a step changed the text
        assert not ahead.matches(rewritten) and ahead.matches(original)
        context = ProcessContext(runtime, runtime.config.sources["feed"], BASE_TIME)
        await ClusterStep().run(Batch([rewritten], computed={rewritten.id: ahead}), context)
        raw = await redis.get(runtime.keys.fingerprint(rewritten.id))
    finally:
        await runtime.close()
    assert raw is not None
    fresh = fingerprint(rewritten)
    assert fresh is not None and ahead.fingerprint is not None
    assert fresh.signature != ahead.fingerprint.signature
    assert StoredPrint.from_json(raw).signature == fresh.signature


def test_fingerprint_values_are_those_stored_before() -> None:
    """Signatures stored by earlier versions must stay comparable: the digest of a mixed
    Latin and CJK article's signature and bands, as the code before this change made it."""
    article = replace(
        make_article(1, "tech"),
        title="Ein Titel — 标题",
        content_html="<p>" + " ".join(f"wort{k} 中文字符{k}" for k in range(40)) + "</p>",
    )
    found = fingerprint(article)
    assert found is not None
    digest = hashlib.sha256(repr((found.signature, found.bands)).encode()).hexdigest()
    assert digest == "8f7d2ecaafc03873594131fe57a8be9163da4d59a5a3c9f00d93d5fa46b8e6db"
    assert Computed.of(article).fingerprint == found  # what the child sends is the same


async def test_a_poll_of_an_unchanged_feed_fingerprints_nothing_again(
    tmp_path, upstream, redis, redis_url, prefix, monkeypatch
) -> None:
    runtime = await open_runtime(tmp_path, upstream, redis_url, prefix)
    computed: list[int] = []
    pool_run = runtime.pool.run

    async def run(fn: Any, *args: Any, **kwargs: Any) -> Any:
        answer = await pool_run(fn, *args, **kwargs)
        if isinstance(answer, NormalisedChunk):
            computed.append(sum(c is not None for c in answer.computed))
        return answer

    monkeypatch.setattr(runtime.pool, "run", run)
    try:
        first = await ingest_source(runtime, "feed")
        fingerprinted_first = sum(computed)
        computed.clear()
        again = await ingest_source(runtime, "feed", force=True)  # the same bytes, parsed again
    finally:
        await runtime.close()
    assert first.counts["new"] == ENTRIES - len(SKIPPED)
    assert fingerprinted_first == ENTRIES - len(SKIPPED)
    assert again.status == "updated" and again.counts == {"unchanged": ENTRIES - len(SKIPPED), "skipped": 2}
    assert len(computed) == 5 and sum(computed) == 0  # the children skipped every stored article

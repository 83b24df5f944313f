"""Reprocess: changed rules re-applied to stored articles from their kept raw input.

Real Redis, a real loopback upstream, the real parse pool; the page is the seed article of
tests/fixtures/site-zhbf. After the first ingest the upstream page is removed, so any
fetch would fail: reprocess reads only what was kept.
"""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import replace
from datetime import timedelta

import pytest
from arq.connections import create_pool

from syndicator.embedded import EmbeddedRedis
from syndicator.ingest import ingest_source
from syndicator.normalise.text import plain_text
from syndicator.operate.audit import audit_log
from syndicator.operate.reingest import Selection
from syndicator.operate.reprocess import (
    JOB_NAME,
    reads_differently,
    reprocess,
    reprocess_status,
    run_job,
    start_reprocess,
)
from syndicator.operate.runs import get_run
from syndicator.publish import publish_missing
from syndicator.runtime import Runtime
from syndicator.store.articles import newest_articles
from syndicator.store.codec import article_from_json
from syndicator.store.connection import arq_settings, connect
from syndicator.store.heartbeats import live_workers
from syndicator.store.keys import Keys
from syndicator.store.raw import global_limit, keep_raw, keep_raw_blobs, load_raw, page_input, source_raw_ids
from syndicator.store.schema import SCHEMA_VERSION
from tests.admin_helpers import TOKEN, admin_serving
from tests.builders import STORE_TIME, items, make_article, one_feed_config, rss, write_config
from tests.conftest import SITE_ZHBF
from tests.harness import run_burst_worker
from tests.processes import run_cli
from tests.test_cli_operate import eventually, worker_process
from tests.test_preview import store_state

ARTICLE_PATH = "/qinggan/gushi/20231123/8812.html"
EXPECTED = json.loads((SITE_ZHBF / "article-8812.expected.json").read_text())
CAPTION = "现场签订6个国际框架合作协议"  # a picture's caption (the text says it differently)
GUSHI = {"情感/故事": "qinggan/gushi", "情感/*": "qinggan"}


def page_config(tmp_path, upstream, redis_url, prefix, *, category_map=GUSHI, drop=(), block=()):
    source: dict[str, object] = {
        "id": "zhbf",
        "url": upstream.url(ARTICLE_PATH),
        "kind": "page",
        "timezone": "Asia/Shanghai",
        "allow_private_network": True,
        "default_category": "misc",
        "category_map": category_map,
        "block": list(block),
    }
    if drop:
        source["rules"] = {"drop": list(drop)}
    return write_config(
        tmp_path,
        redis_url=redis_url,
        prefix=prefix,
        categories=[
            {"slug": "qinggan", "title": "情感", "language": "zh"},
            {"slug": "qinggan/gushi", "title": "故事", "language": "zh"},
            {"slug": "misc", "title": "其他", "language": "zh"},
        ],
        sources=[source],
    )


async def ingest_once(config, redis_url, upstream) -> None:
    upstream.put(ARTICLE_PATH, (SITE_ZHBF / "article-8812.utf8.html").read_bytes(), "text/html")
    runtime = Runtime.open(config, redis_url)
    try:
        report = await ingest_source(runtime, "zhbf")
    finally:
        await runtime.close()
    assert report.status == "updated", report.line()
    upstream.put(ARTICLE_PATH, b"gone", "text/plain", status=404)  # no fetch may succeed now


async def data_state(redis, prefix) -> dict:
    """Every key under the prefix and its value, but for the politeness slot's next-start
    time of a host the ingest fetched from: a coordination key that expires by itself."""
    state = await store_state(redis, prefix)
    return {
        k: v
        for k, v in state.items()
        if not (k.startswith(f"{prefix}host:".encode()) and k.endswith(b":next"))
    }


async def stored(redis, prefix):
    keys = [k async for k in redis.scan_iter(match=f"{prefix}article:*")]
    assert len(keys) == 1, keys
    return article_from_json(await redis.get(keys[0]))


async def members(redis, prefix, slug):
    return [m.decode() for m in await redis.zrange(Keys(prefix).category_index(slug), 0, -1)]


async def test_dry_run_shows_the_diff_changes_nothing_and_the_run_moves_updated_only_for_text(
    tmp_path, upstream, redis, redis_url, prefix
):
    await ingest_once(page_config(tmp_path, upstream, redis_url, prefix), redis_url, upstream)
    first, indexes = await stored(redis, prefix)
    assert "qinggan/gushi" in indexes
    assert CAPTION in first.content_html

    # 1. A category mapping rule changes: 情感/故事 now goes to misc.
    config = page_config(tmp_path, upstream, redis_url, prefix, category_map={"情感/故事": "misc"})
    runtime = Runtime.open(config, redis_url)
    try:
        before = await data_state(redis, prefix)
        preview = await reprocess(runtime, Selection(source_ids=("zhbf",)), dry_run=True)
        assert await data_state(redis, prefix) == before  # every key, every value
        result = await reprocess(runtime, Selection(source_ids=("zhbf",)))
    finally:
        await runtime.close()
    assert [(c.action, c.fields) for c in preview.changes] == [
        ("changed", {"categories": ["qinggan/gushi", "misc"]})
    ]
    assert preview.readers_see_updated == 0 and preview.expired == () and preview.errors == ()
    assert result.as_dict()["changes"] == preview.as_dict()["changes"]
    moved, indexes = await stored(redis, prefix)
    assert moved.categories == ("misc",)
    assert moved.updated == first.updated  # no text changed: `updated` stays
    assert first.id in await members(redis, prefix, "misc")
    assert first.id not in await members(redis, prefix, "qinggan/gushi")
    assert set(result.published) >= {"misc", "qinggan/gushi", "all"}

    # 2. An extraction rule changes: the picture captions are dropped from the body.
    config = page_config(
        tmp_path, upstream, redis_url, prefix, category_map={"情感/故事": "misc"}, drop=(".pic-caption",)
    )
    runtime = Runtime.open(config, redis_url)
    try:
        before = await data_state(redis, prefix)
        preview = await reprocess(runtime, Selection(all=True), dry_run=True)
        assert await data_state(redis, prefix) == before
        result = await reprocess(runtime, Selection(all=True))
    finally:
        await runtime.close()
    (change,) = preview.changes
    assert sorted(change.fields) == ["content_html", "updated"]
    assert CAPTION in change.fields["content_html"][0]
    assert CAPTION not in change.fields["content_html"][1]
    assert preview.readers_see_updated == 1
    edited, _indexes = await stored(redis, prefix)
    assert CAPTION not in edited.content_html
    assert EXPECTED["title"] == edited.title
    assert edited.updated > first.updated  # the text changed: `updated` moves
    assert edited.published == first.published

    # 3. Nothing changed since: a second run changes nothing.
    runtime = Runtime.open(config, redis_url)
    try:
        again = await reprocess(runtime, Selection(source_ids=("zhbf",)))
        entries = await audit_log(runtime)
    finally:
        await runtime.close()
    assert again.changes == () and again.unchanged == 1 and again.published == ()
    assert entries == []  # the service does not audit itself: the CLI and the admin API do


async def test_a_loosened_block_rule_brings_a_blocked_article_back(
    tmp_path, upstream, redis, redis_url, prefix
):
    title_word = EXPECTED["title"][:4]
    blocking = page_config(
        tmp_path,
        upstream,
        redis_url,
        prefix,
        block=[{"name": "story", "field": "title", "words": [title_word]}],
    )
    await ingest_once(blocking, redis_url, upstream)
    assert [k async for k in redis.scan_iter(match=f"{prefix}article:*")] == []
    runtime = Runtime.open(blocking, redis_url)
    try:
        (raw_key,) = [k async for k in redis.scan_iter(match=f"{prefix}raw:*")]
        article_id = raw_key.decode().removeprefix(f"{prefix}raw:{{a:").removesuffix("}")
        raw = await load_raw(runtime.redis, runtime.keys, article_id)
        assert raw is not None and raw.blocked and raw.kind == "page"
        still = await reprocess(runtime, Selection(all=True))
    finally:
        await runtime.close()
    assert still.changes == () and still.unchanged == 1

    loosened = page_config(tmp_path, upstream, redis_url, prefix)
    runtime = Runtime.open(loosened, redis_url)
    try:
        before = await data_state(redis, prefix)
        preview = await reprocess(runtime, Selection(all=True), dry_run=True)
        assert await data_state(redis, prefix) == before
        result = await reprocess(runtime, Selection(all=True))
        raw = await load_raw(runtime.redis, runtime.keys, article_id)
    finally:
        await runtime.close()
    assert [c.action for c in preview.changes] == ["restored"]
    assert [c.action for c in result.changes] == ["restored"]
    back, _indexes = await stored(redis, prefix)
    assert back.title == EXPECTED["title"]
    assert back.id in await members(redis, prefix, "qinggan/gushi")
    assert raw is not None and not raw.blocked

    # Blocked again: withdrawn from the feeds, its raw input kept (marked blocked).
    runtime = Runtime.open(blocking, redis_url)
    try:
        result = await reprocess(runtime, Selection(all=True))
        raw = await load_raw(runtime.redis, runtime.keys, article_id)
    finally:
        await runtime.close()
    assert [c.action for c in result.changes] == ["withdrawn"]
    assert [k async for k in redis.scan_iter(match=f"{prefix}article:*")] == []
    assert raw is not None and raw.blocked


async def test_articles_without_raw_input_are_listed_as_expired(tmp_path, upstream, redis, redis_url, prefix):
    config = page_config(tmp_path, upstream, redis_url, prefix)
    await ingest_once(config, redis_url, upstream)
    runtime = Runtime.open(config, redis_url)
    try:
        for key in [k async for k in redis.scan_iter(match=f"{prefix}raw:*")]:
            await redis.delete(key)
        result = await reprocess(runtime, Selection(all=True), dry_run=True)
    finally:
        await runtime.close()
    (expired,) = result.as_dict()["expired"]
    assert expired["source_id"] == "zhbf"
    assert "force a re-ingest" in expired["advice"]


async def test_feed_items_keep_their_parsed_entry_and_a_loosened_rule_brings_one_back(
    tmp_path, upstream, redis, redis_url, prefix
):
    feed_items = items("rp", 3)
    feed_items[1] = replace(feed_items[1], title="Sponsored: buy now")
    upstream.put("/f.rss", rss(feed_items), "application/rss+xml")
    block = [{"field": "title", "words": ["sponsored"]}]
    blocking = one_feed_config(
        tmp_path, upstream, redis_url=redis_url, prefix=prefix, path="/f.rss", block=block
    )
    runtime = Runtime.open(blocking, redis_url)
    try:
        report = await ingest_source(runtime, "feed")
        ids = await source_raw_ids(runtime.redis, runtime.keys, "feed")
        raws = [await load_raw(runtime.redis, runtime.keys, i) for i in ids]
        shown_before = await newest_articles(runtime.redis, runtime.keys, "tech", 10)
    finally:
        await runtime.close()
    assert report.counts["new"] == 2 and report.counts["filtered"] == 1, report.counts
    assert len(raws) == 3
    by_title = {r.data["entry"]["title"]: r for r in raws if r is not None}
    assert by_title["Sponsored: buy now"].blocked and not by_title["rp title 0"].blocked
    kept = by_title["rp title 0"]
    assert kept.kind == "feed" and kept.data["feed_url"] == upstream.url("/f.rss")
    assert kept.data["entry"]["content_html"] or kept.data["entry"]["summary_html"]
    assert "content-type" in kept.data["headers"]
    upstream.put("/f.rss", b"gone", "text/plain", status=404)

    loosened = one_feed_config(tmp_path, upstream, redis_url=redis_url, prefix=prefix, path="/f.rss")
    runtime = Runtime.open(loosened, redis_url)
    try:
        before = await data_state(redis, prefix)
        preview = await reprocess(runtime, Selection(source_ids=("feed",)), dry_run=True)
        assert await data_state(redis, prefix) == before
        result = await reprocess(runtime, Selection(source_ids=("feed",)))
        shown = await newest_articles(runtime.redis, runtime.keys, "tech", 10)
    finally:
        await runtime.close()
    assert [(c.action, c.url) for c in preview.changes] == [("restored", feed_items[1].link)]
    assert preview.unchanged == 2 and preview.errors == ()
    assert [c.action for c in result.changes] == ["restored"]
    assert sorted(a.title for a in shown) == ["Sponsored: buy now", "rp title 0", "rp title 2"]
    unchanged = {a.id: a.updated for a in shown_before}
    assert all(a.updated == unchanged[a.id] for a in shown if a.id in unchanged)


async def test_raw_input_is_bounded_per_source_oldest_first(redis, prefix, tmp_path, upstream, redis_url):
    config = one_feed_config(tmp_path, upstream, redis_url=redis_url, prefix=prefix, path="/f.rss")
    runtime = Runtime.open(config, redis_url)
    settings, keys = replace(config.settings, raw_per_source=3), runtime.keys
    try:
        for n in range(5):
            await keep_raw(
                redis,
                keys,
                settings,
                article_id=f"a{n}",
                source_id="s",
                kind="page",
                data=page_input(b"x" * 100, {"content-type": "text/html"}, "http://h/", 200),
                blocked=False,
                now=STORE_TIME + timedelta(seconds=n),
            )
        kept = await source_raw_ids(redis, keys, "s")
        first = await load_raw(redis, keys, "a0")
        last = await load_raw(redis, keys, "a4")
        total = int(await redis.hget(keys.raw_bytes, "*"))
        sizes = [int(await redis.hget(keys.raw_input(i), "size")) for i in kept]
    finally:
        await runtime.close()
    assert kept == ["a2", "a3", "a4"]
    assert first is None and last is not None and last.body == b"x" * 100
    assert total == sum(sizes)


async def test_the_command_and_the_admin_api_reprocess_and_are_audited(
    tmp_path, upstream, redis, redis_url, prefix, monkeypatch
):
    monkeypatch.delenv("SYNDICATOR_ADMIN_TOKEN_FILE", raising=False)
    monkeypatch.setenv("SYNDICATOR_ADMIN_TOKEN", TOKEN)  # the admin API on, as in production
    await ingest_once(page_config(tmp_path, upstream, redis_url, prefix), redis_url, upstream)
    config = page_config(tmp_path, upstream, redis_url, prefix, category_map={"情感/故事": "misc"})
    await redis.set(f"{prefix}schema_version", SCHEMA_VERSION)  # as `serve` or `migrate` would

    before = await data_state(redis, prefix)
    dry = await asyncio.to_thread(run_cli, "reprocess", "--all", "--dry-run", "--config", config.path)
    assert dry.returncode == 0, dry.stderr
    assert "changed zhbf" in dry.stdout and "categories:" in dry.stdout
    assert "    - qinggan/gushi\n    + misc" in dry.stdout
    assert "would change 1 articles (0 seen as updated by readers)" in dry.stdout
    after = await data_state(redis, prefix)
    assert {k: v for k, v in after.items() if k != f"{prefix}audit".encode()} == before  # only audited

    async with admin_serving(config, redis_url) as (_runtime, client):
        missing = await client.call("POST", "/reprocess", json_body={"dry_run": True})
        answer = await client.call("POST", "/reprocess", json_body={"sources": ["zhbf"]})
        unknown = await client.call("POST", "/reprocess", json_body={"sources": ["nope"]})
        assert answer.status == 202, answer.text  # at once: the work is the workers'
        assert isinstance(answer.body, dict)
        (queued,) = answer.body["runs"]
        assert queued["articles"] == 1 and queued["follow"] == f"/admin/api/runs/{queued['run_id']}"
        waiting = await client.call("GET", f"/runs/{queued['run_id']}")
        assert isinstance(waiting.body, dict) and waiting.body["state"] == "queued"
        await run_burst_worker(config, redis_url)  # a real arq worker takes the job
        followed = await client.call("GET", queued["follow"].removeprefix("/admin/api"))
    assert missing.status == 400, missing.text
    assert unknown.status == 404
    assert isinstance(followed.body, dict), followed.text
    assert (followed.body["kind"], followed.body["state"], followed.body["tries"]) == ("reprocess", "done", 1)
    assert "changed 1 articles" in followed.body["summary"]
    assert "published" in followed.body["summary"] and "misc" in followed.body["summary"]
    moved, _indexes = await stored(redis, prefix)
    assert moved.categories == ("misc",)
    actions = [json.loads(raw) for raw in await redis.lrange(f"{prefix}audit", 0, -1)]
    assert [(a["action"], a["outcome"]) for a in actions] == [
        ("reprocess", "refused"),
        ("reprocess", "ok"),
        ("reprocess", "refused"),
        ("reprocess", "ok"),
    ]
    assert actions[-1]["target"] == '{"all":true,"dry_run":true}'


def test_markup_only_changes_do_not_count_as_an_edit():
    before = make_article(1, "tech")
    restyled = replace(before, content_html=f"<div><p><b>{plain_text(before.content_html)}</b></p></div>")
    assert not reads_differently(before, restyled)
    assert reads_differently(before, replace(before, content_html="<p>another text</p>"))
    assert reads_differently(before, replace(before, title="another title"))


async def test_a_picture_dropped_with_its_caption_is_an_edit(tmp_path, upstream, redis, redis_url, prefix):
    await ingest_once(page_config(tmp_path, upstream, redis_url, prefix), redis_url, upstream)
    first, _indexes = await stored(redis, prefix)
    assert "<img" in first.content_html
    config = page_config(tmp_path, upstream, redis_url, prefix, drop=("img",))
    runtime = Runtime.open(config, redis_url)
    try:
        result = await reprocess(runtime, Selection(all=True))
    finally:
        await runtime.close()
    (change,) = result.changes
    assert sorted(change.fields) == ["content_html", "updated"]  # the captions went with them
    edited, _indexes = await stored(redis, prefix)
    assert "<img" not in edited.content_html and edited.updated > first.updated


async def test_raw_input_is_bounded_in_bytes_per_source_and_in_all(
    redis, prefix, tmp_path, upstream, redis_url
):
    config = one_feed_config(tmp_path, upstream, redis_url=redis_url, prefix=prefix, path="/f.rss")
    runtime = Runtime.open(config, redis_url)
    keys = runtime.keys

    async def keep(settings, source_id: str, n: int) -> int:
        body = bytes(range(256)) * 40 + str(n).encode()  # ~10 KB that compress little
        await keep_raw(
            redis,
            keys,
            settings,
            article_id=f"{source_id}-{n}",
            source_id=source_id,
            kind="page",
            data=page_input(body, {}, "http://h/", 200),
            blocked=False,
            now=STORE_TIME + timedelta(seconds=n),
        )
        return int(await redis.hget(keys.raw_input(f"{source_id}-{n}"), "size"))

    try:
        size = await keep(config.settings, "probe", 0)
        per_source = replace(config.settings, raw_per_source_bytes=3 * size + size // 2)
        for n in range(1, 6):
            await keep(per_source, "a", n)
        by_bytes = await source_raw_ids(redis, keys, "a")
        in_all = replace(config.settings, raw_total_bytes=4 * size + size // 2)
        for n in range(6, 9):
            await keep(in_all, "b", n)
        left = {s: await source_raw_ids(redis, keys, s) for s in ("probe", "a", "b")}
    finally:
        await runtime.close()
    assert by_bytes == ["a-3", "a-4", "a-5"]
    # The global bound took the oldest of any source: the probe, then a's oldest.
    assert left == {"probe": [], "a": ["a-5"], "b": ["b-6", "b-7", "b-8"]}


def two_category_config(tmp_path, upstream, redis_url, prefix, slug: str):
    """A feed source whose items all go to `slug` (tech or science)."""
    return write_config(
        tmp_path,
        redis_url=redis_url,
        prefix=prefix,
        categories=[{"slug": "tech", "title": "Tech"}, {"slug": "science", "title": "Science"}],
        sources=[
            {
                "id": "big",
                "url": upstream.url("/big.rss"),
                "categories": [slug],
                "allow_private_network": True,
            }
        ],
    )


async def dirty_marks(redis, prefix, slugs) -> dict[str, int]:
    """How often each category was asked to publish (`request_publish` counts each ask)."""
    return {s: int(await redis.get(Keys(prefix).dirty(s)) or 0) for s in slugs}


def store_only(state: dict) -> dict:
    """The store's keys: not the runs, the reprocess's record, heartbeats or arq's keys."""
    skip = (b":run:", b":runs:", b":runs-active", b":reprocess:", b":worker:")
    return {k: v for k, v in state.items() if not k.startswith(b"arq:") and not any(p in k for p in skip)}


async def big_world(tmp_path, upstream, redis_url, prefix):
    """450 feed items ingested into tech, then the source moved to science (the config
    returned); the feed gone upstream, so nothing can be fetched again."""
    upstream.put("/big.rss", rss(items("big", 450)), "application/rss+xml")
    config = two_category_config(tmp_path, upstream, redis_url, prefix, "tech")
    runtime = Runtime.open(config, redis_url)
    try:
        report = await ingest_source(runtime, "big")
        await publish_missing(runtime)
    finally:
        await runtime.close()
    assert report.counts["new"] == 450, report.counts
    upstream.put("/big.rss", b"gone", "text/plain", status=404)
    moved = two_category_config(tmp_path, upstream, redis_url, prefix, "science")
    runtime = Runtime.open(moved, redis_url)
    try:
        await publish_missing(runtime)  # science exists before: the reprocess's publish is its first ask
    finally:
        await runtime.close()
    return moved


async def test_450_articles_run_as_3_jobs_publish_each_category_once_and_a_killed_job_runs_again_cleanly(
    tmp_path, upstream, redis, redis_url, prefix
):
    moved = await big_world(tmp_path, upstream, redis_url, prefix)
    queue = await create_pool(arq_settings(redis_url), default_queue_name=moved.settings.queue_name)
    runtime = Runtime.open(moved, redis_url, queue=queue)
    try:
        marks = await dirty_marks(redis, prefix, ("tech", "science", "all"))
        started = await start_reprocess(runtime, queue, Selection(all=True))
        assert [n for _s, _r, n in started.runs] == [200, 200, 50]

        # A worker takes the first job and dies in the middle of it: its try is cancelled
        # once it has rewritten some articles (arq then runs the job again).
        first_source, first_run, _n = started.runs[0]
        ids = (await source_raw_ids(redis, runtime.keys, "big"))[:200]
        dying = asyncio.create_task(
            run_job(runtime, started.reprocess_id, first_run, first_source, ids, worker="dies", try_number=1)
        )
        outcomes = runtime.keys.reprocess(started.reprocess_id, "articles")
        while await redis.hlen(outcomes) < 50:  # noqa: ASYNC110 (the signal is in Redis)
            await asyncio.sleep(0)
        dying.cancel()
        with pytest.raises(asyncio.CancelledError):
            await dying
        assert 50 <= await redis.hlen(outcomes) < 200  # cut in the middle
        interrupted = await get_run(runtime, first_run)
        assert interrupted.state == "failed" and "interrupted" in (interrupted.reason or "")
        assert (await reprocess_status(runtime, started.reprocess_id)).done is False

        await run_burst_worker(moved, redis_url)  # runs the 3 queued jobs, the first one again
        status = await reprocess_status(runtime, started.reprocess_id)
        after = await dirty_marks(redis, prefix, ("tech", "science", "all"))
        tech = await newest_articles(redis, runtime.keys, "tech", 500)
        science = await newest_articles(redis, runtime.keys, "science", 500)
    finally:
        await runtime.close()
        await queue.aclose()
    assert status.done and [r.state for r in status.runs] == ["done", "done", "done"]
    assert [r.kind for r in status.runs] == ["reprocess"] * 3
    assert len(status.result.changes) == 450  # each article counted once, across both tries
    assert {tuple(c.fields) for c in status.result.changes} == {("categories",)}
    assert status.result.unchanged == 0 and status.result.errors == ()
    assert status.result.published == ("all", "science", "tech")
    assert {s: after[s] - marks[s] for s in after} == {"tech": 1, "science": 1, "all": 1}  # once each
    assert sum("published" in (r.summary or "") for r in status.runs) == 1  # by the last job only
    assert tech == [] and len(science) == 450

    # arq runs a finished job again (its worker died before arq recorded the end): nothing
    # in the store changes, no category is asked to publish again.
    before = store_only(await data_state(redis, prefix))
    last_source, last_run, _n = started.runs[-1]
    queue = await create_pool(arq_settings(redis_url), default_queue_name=moved.settings.queue_name)
    runtime = Runtime.open(moved, redis_url, queue=queue)
    try:
        last_ids = (await source_raw_ids(redis, runtime.keys, "big"))[400:]
        job = await queue.enqueue_job(
            JOB_NAME,
            started.reprocess_id,
            last_run,
            last_source,
            last_ids,
            _job_id=runtime.keys.job_id("reprocess", last_run),
            _queue_name=moved.settings.queue_name,
        )
        assert job is not None
        await run_burst_worker(moved, redis_url)
        again = await reprocess_status(runtime, started.reprocess_id)
        rerun = await get_run(runtime, last_run)
    finally:
        await runtime.close()
        await queue.aclose()
    assert store_only(await data_state(redis, prefix)) == before
    assert await dirty_marks(redis, prefix, ("tech", "science", "all")) == after
    assert len(again.result.changes) == 450 and again.result.published == status.result.published
    assert rerun.state == "done" and "changed 0 articles" in (rerun.summary or "")


async def test_full_text_items_are_extracted_again_from_their_kept_page(
    tmp_path, upstream, redis, redis_url, prefix
):
    page_url = upstream.put(ARTICLE_PATH, (SITE_ZHBF / "article-8812.utf8.html").read_bytes(), "text/html")
    summary = EXPECTED["paragraphs"][0]
    feed = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
        f"<link>{upstream.url('/')}</link><description>d</description>"
        f"<item><title>full</title><guid>full</guid><link>{page_url}</link>"
        f"<description>{summary}</description></item></channel></rss>"
    )
    upstream.put("/summary.rss", feed.encode(), "application/rss+xml")

    def config(drop: tuple[str, ...] = ()):
        source: dict[str, object] = {
            "id": "zhaiyao",
            "url": upstream.url("/summary.rss"),
            "categories": ["qinggan"],
            "timezone": "Asia/Shanghai",
            "allow_private_network": True,
            "full_text": True,
        }
        if drop:
            source["rules"] = {"drop": list(drop)}
        return write_config(
            tmp_path,
            redis_url=redis_url,
            prefix=prefix,
            categories=[{"slug": "qinggan", "title": "情感", "language": "zh"}],
            sources=[source],
        )

    runtime = Runtime.open(config(), redis_url)  # no queue: the page is read inline
    try:
        await ingest_source(runtime, "zhaiyao")
        first, _indexes = await stored(redis, prefix)
        raw = await load_raw(runtime.redis, runtime.keys, first.id)
    finally:
        await runtime.close()
    assert first.full_text_url is not None and CAPTION in first.content_html
    assert raw is not None and raw.kind == "feed" and raw.page is not None
    assert raw.page["final_url"] == page_url
    size = int(await redis.hget(Keys(prefix).raw_input(first.id), "size"))
    assert int(await redis.hget(f"{prefix}raw-bytes", "*")) == size  # the page counts in the bounds
    upstream.put(ARTICLE_PATH, b"gone", "text/plain", status=404)  # no fetch may succeed now

    runtime = Runtime.open(config(), redis_url)  # the feed read again: the item's input renewed
    try:
        await ingest_source(runtime, "zhaiyao", force=True)
        renewed = await load_raw(runtime.redis, runtime.keys, first.id)
    finally:
        await runtime.close()
    assert renewed is not None and renewed.at > raw.at and renewed.page == raw.page  # the page stays
    size = int(await redis.hget(Keys(prefix).raw_input(first.id), "size"))
    assert int(await redis.hget(f"{prefix}raw-bytes", "*")) == size  # counted once

    runtime = Runtime.open(config(drop=(".pic-caption",)), redis_url)
    try:
        result = await reprocess(runtime, Selection(all=True))
    finally:
        await runtime.close()
    (change,) = result.changes
    assert "content_html" in change.fields and change.reader_update
    edited, _indexes = await stored(redis, prefix)
    assert CAPTION not in edited.content_html  # the new rule, applied to the kept page
    assert len(plain_text(edited.content_html)) > 3 * len(summary)  # still the page's body
    assert edited.full_text_url == page_url and edited.summary == first.summary


async def test_the_global_bound_is_20_percent_of_maxmemory_or_raw_total_bytes_whichever_is_less(
    tmp_path, prefix
):
    """On a private Redis of this test's own, whose maxmemory it sets."""
    with EmbeddedRedis(tmp_path / "own-redis", appendonly=False) as server:
        client = connect(server.url)
        keys = Keys(prefix)
        config = write_config(tmp_path, redis_url=server.url, prefix=prefix, sources=[], categories=[])
        settings = config.settings
        assert (settings.raw_total_bytes, settings.raw_share) == (1024**3, 0.2)  # the defaults
        try:
            assert await global_limit(client, settings) == settings.raw_total_bytes  # no maxmemory
            await client.config_set("maxmemory", 20 * 1024 * 1024)
            share = int(20 * 1024 * 1024 * 0.2)
            assert await global_limit(client, settings) == share  # 4 MiB < 1 GB

            async def keep(n: int, bound) -> None:
                await keep_raw(
                    client,
                    keys,
                    bound,
                    article_id=f"a{n}",
                    source_id=f"s{n % 10}",  # ten sources: the per-source bounds never bite
                    kind="page",
                    data=page_input(os.urandom(48 * 1024), {}, "http://h/", 200),  # incompressible
                    blocked=False,
                    now=STORE_TIME + timedelta(seconds=n),
                )

            for n in range(150):  # ~9.6 MB of base64 (~6.5 MB compressed): more than 4 MiB
                await keep(n, settings)
            total = int(await client.hget(keys.raw_bytes, "*"))
            kept = [m.decode() for m in await client.zrange(keys.raw_sizes, 0, -1)]
            one = int(await client.hget(keys.raw_input("a149"), "size"))
            assert share - one < total <= share
            assert kept == [f"s{n % 10} a{n}" for n in range(150 - len(kept), 150)]  # the oldest went
            assert await client.exists(keys.raw_input("a0")) == 0

            # raw_total_bytes below the share: it is the bound.
            smaller = replace(settings, raw_total_bytes=1024 * 1024)
            assert await global_limit(client, smaller) == 1024 * 1024
            await keep(150, smaller)
            total = int(await client.hget(keys.raw_bytes, "*"))
            assert 1024 * 1024 - one < total <= 1024 * 1024
            kept = [m.decode() for m in await client.zrange(keys.raw_sizes, 0, -1)]
            assert kept[-1] == "s0 a150" and kept == [f"s{n % 10} a{n}" for n in range(151 - len(kept), 151)]
        finally:
            await client.aclose()


@pytest.mark.slow  # real processes for 25-60 s: out of the fast lane, in CI
async def test_the_command_waits_for_a_real_worker_and_without_one_reprocesses_in_process(
    tmp_path, upstream, redis, redis_url, prefix
):
    await ingest_once(page_config(tmp_path, upstream, redis_url, prefix), redis_url, upstream)
    await redis.set(f"{prefix}schema_version", SCHEMA_VERSION)
    config = page_config(tmp_path, upstream, redis_url, prefix, category_map={"情感/故事": "misc"})
    before = await data_state(redis, prefix)

    nothing = await asyncio.to_thread(run_cli, "reprocess", "--all", "--no-wait", "--config", config.path)
    assert nothing.returncode == 3, nothing.stderr  # no worker would take the jobs
    assert "no worker is running" in nothing.stderr and "--inline" in nothing.stderr
    after = await data_state(redis, prefix)
    assert {k: v for k, v in after.items() if k != f"{prefix}audit".encode()} == before

    inline = await asyncio.to_thread(run_cli, "reprocess", "--all", "--config", config.path)
    assert inline.returncode == 0, inline.stderr
    assert "no worker is running: reprocessing in this process" in inline.stderr
    assert "changed 1 articles" in inline.stdout and "published " in inline.stdout
    assert (await stored(redis, prefix))[0].categories == ("misc",)

    back = page_config(tmp_path, upstream, redis_url, prefix)
    async with worker_process(back.path):
        runtime = Runtime.open(back, redis_url)
        try:
            await eventually(lambda: live_workers(runtime.redis, runtime.keys), "a worker's heartbeat")
        finally:
            await runtime.close()
        queued = await asyncio.to_thread(run_cli, "reprocess", "--all", "--config", back.path)
    assert queued.returncode == 0, queued.stderr
    lines = queued.stdout.splitlines()
    assert lines[0].startswith("queued zhbf: run ") and lines[0].endswith("(1 articles)")
    assert any(li.startswith("[1/1] zhbf: done: reprocess ") for li in lines)
    assert "changed 1 articles (0 seen as updated by readers)" in queued.stdout
    assert "    - misc\n    + qinggan/gushi" in queued.stdout
    assert (await stored(redis, prefix))[0].categories == ("qinggan/gushi",)


@pytest.mark.slow  # waits out arq's in-progress key of the killed worker's jobs (timeout + 10 s)
async def test_jobs_a_killed_worker_process_held_run_again_on_another_and_change_nothing_twice(
    tmp_path, upstream, redis, redis_url, prefix
):
    moved = await big_world(tmp_path, upstream, redis_url, prefix)
    await redis.set(f"{prefix}schema_version", SCHEMA_VERSION)  # as `migrate` would: a worker checks
    slugs = ("tech", "science", "all")
    marks = await dirty_marks(redis, prefix, slugs)
    queue = await create_pool(arq_settings(redis_url), default_queue_name=moved.settings.queue_name)
    runtime = Runtime.open(moved, redis_url, queue=queue)
    try:
        async with worker_process(moved.path) as worker:
            await eventually(lambda: live_workers(runtime.redis, runtime.keys), "a worker's heartbeat")
            started = await start_reprocess(runtime, queue, Selection(all=True))
            outcomes = runtime.keys.reprocess(started.reprocess_id, "articles")
            while await redis.hlen(outcomes) < 50:  # noqa: ASYNC110 (the signal is in Redis)
                await asyncio.sleep(0)
            worker.kill()  # SIGKILL: no run recorded as ended, arq's in-progress keys stay
            await worker.wait()
        cut = await reprocess_status(runtime, started.reprocess_id)
        assert not cut.done and 50 <= await redis.hlen(outcomes) < 450
        killed = [r.run_id for r in cut.runs if r.state == "running"]
        assert killed, [r.state for r in cut.runs]

        await run_burst_worker(moved, redis_url)  # takes the killed jobs once arq lets it
        status = await reprocess_status(runtime, started.reprocess_id)
        science = await newest_articles(redis, runtime.keys, "science", 500)
        tech = await newest_articles(redis, runtime.keys, "tech", 500)
    finally:
        await runtime.close()
        await queue.aclose()
    assert status.done and [r.state for r in status.runs] == ["done"] * 3
    assert all(r.tries == 2 for r in status.runs if r.run_id in killed)  # arq's second try
    assert len(status.result.changes) == 450 and status.result.unchanged == 0
    assert status.result.published == ("all", "science", "tech")
    after = await dirty_marks(redis, prefix, slugs)
    assert {s: after[s] - marks[s] for s in slugs} == {"tech": 1, "science": 1, "all": 1}
    assert tech == [] and len(science) == 450


async def test_a_feeds_inputs_kept_in_one_batch_replace_the_old_and_count_once(
    redis, prefix, tmp_path, upstream, redis_url
):
    """A feed's inputs are kept in one batch (`keep_raw_blobs`): an input kept before is
    replaced, an item the feed repeats is kept once (its last copy), and the byte counts
    the bounds read add up to what is stored."""
    config = one_feed_config(tmp_path, upstream, redis_url=redis_url, prefix=prefix, path="/f.rss")
    runtime = Runtime.open(config, redis_url)
    keys = runtime.keys
    try:
        await keep_raw_blobs(redis, keys, config.settings, [("a0", b"old" * 50, False)], source_id="s",
                             kind="feed", now=STORE_TIME)  # fmt: skip
        batch = [("a0", b"new" * 40, True), ("a1", b"first" * 10, False), ("a1", b"last" * 10, False)]
        await keep_raw_blobs(redis, keys, config.settings, batch, source_id="s", kind="feed", now=STORE_TIME)
        kept = await source_raw_ids(redis, keys, "s")
        stored = {i: await redis.hgetall(keys.raw_input(i)) for i in kept}
        total = int(await redis.hget(keys.raw_bytes, "*"))
        per_source = int(await redis.hget(keys.raw_bytes, "s"))
    finally:
        await runtime.close()
    assert sorted(kept) == ["a0", "a1"]
    assert stored["a0"][b"blob"] == b"new" * 40 and stored["a0"][b"blocked"] == b"1"
    assert stored["a1"][b"blob"] == b"last" * 10
    assert total == per_source == 120 + 40

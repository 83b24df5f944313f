"""An ingest returns its outcome and one place records it: the source hash an operator
reads says what the returned report says, for every kind of pass."""

from __future__ import annotations

from datetime import UTC, datetime

from syndicator.ingest import IngestReport, ingest_page, ingest_source
from syndicator.runtime import Runtime
from syndicator.store.sources import load_state
from tests.builders import items, one_feed_config, rss, write_config

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)

ARTICLE = """<!doctype html><html lang="zh"><head><meta charset="utf-8"><title>{title}</title></head>
<body><div class="breadcrumb"><a href="/">首页</a> › <a href="/sport/">体育</a> ›
<a href="/sport/football/">足球</a> › 正文</div>
<article><h1>{title}</h1><p class="date">2026-11-20 08:00</p>
<p>{text}</p><p>{text}</p><p>{text}</p><p>{text}</p></article></body></html>"""
TEXT = "本场比赛双方都踢得非常积极，上半场第三十分钟主队率先破门，下半场客队扳平比分，最终战成平局。"
LISTING = """<!doctype html><html><head><title>足球</title></head><body>
<nav><a href="/">首页</a> <a href="/sport/">体育</a></nav>
<ul class="list">{links}</ul></body></html>"""


def article(title: str) -> bytes:
    return ARTICLE.format(title=title, text=TEXT).encode()


async def source_hash(redis, prefix: str, source_id: str) -> dict[str, str]:
    raw = await redis.hgetall(f"{prefix}source:{source_id}".encode())
    return {k.decode(): v.decode() for k, v in raw.items()}


async def assert_recorded_as_reported(redis, prefix: str, runtime: Runtime, report: IngestReport) -> None:
    """What the source's own poll reported is what its hash and the due set hold."""
    stored = await source_hash(redis, prefix, report.source_id)
    state = await load_state(runtime.redis, runtime.keys, report.source_id)
    assert stored["last_status"] == report.last_status
    assert stored["last_attempt"] == NOW.isoformat(timespec="seconds")
    due = await redis.zscore(f"{prefix}due", report.source_id)
    assert abs(datetime.fromisoformat(stored["next_due"]).timestamp() - due) < 1
    if report.status == "error":
        assert state.last_error == report.error
        assert state.last_error_at == stored["last_attempt"]
    else:
        assert state.last_error is None and state.consecutive_errors == 0
        assert state.last_success == stored["last_attempt"]
        assert state.validators == report.validators
        assert state.warnings == report.warnings


async def test_feed_ok_304_unusable_and_fetch_error(tmp_path, upstream, redis, redis_url, prefix):
    # One entry without a usable link: skipped, with a warning the source keeps.
    linkless = '<item><title>no link</title><guid isPermaLink="false">x</guid></item>'
    body = rss(items("news", 3), extra=linkless)
    upstream.put("/news.rss", body, "application/rss+xml")
    config = one_feed_config(tmp_path, upstream, redis_url=redis_url, prefix=prefix, path="/news.rss")
    runtime = Runtime.open(config, redis_url)
    try:
        ok = await ingest_source(runtime, "feed", now=NOW)
        assert ok.status == "updated" and ok.last_status == "200 ok: 3 new, 1 skipped"
        assert ok.validators.etag and len(ok.warnings) == 1
        await assert_recorded_as_reported(redis, prefix, runtime, ok)

        unchanged = await ingest_source(runtime, "feed", now=NOW)
        assert unchanged.status == "not-modified" and unchanged.last_status == "304 not modified"
        assert unchanged.validators == ok.validators and unchanged.warnings == ok.warnings
        await assert_recorded_as_reported(redis, prefix, runtime, unchanged)

        upstream.put("/news.rss", b"<html><body>moved</body></html>", "application/rss+xml")
        unusable = await ingest_source(runtime, "feed", now=NOW)
        assert unusable.status == "error" and "unusable feed" in unusable.error
        await assert_recorded_as_reported(redis, prefix, runtime, unusable)

        del upstream.documents["/news.rss"]
        lost = await ingest_source(runtime, "feed", now=NOW)
        assert lost.status == "error" and "404" in lost.error and not lost.retryable
        await assert_recorded_as_reported(redis, prefix, runtime, lost)
    finally:
        await runtime.close()
    stored = await source_hash(redis, prefix, "feed")
    # Failures keep what the last good read learned, and back off.
    assert stored["consecutive_errors"] == "2"
    assert stored["etag"] == ok.validators.etag and stored["warnings"] == ok.warnings[0]
    assert datetime.fromisoformat(stored["next_due"]) - NOW > config.sources["feed"].poll_interval * 3


def page_config(tmp_path, upstream, redis_url, prefix, *, kind: str, path: str):
    return write_config(
        tmp_path,
        redis_url=redis_url,
        prefix=prefix,
        categories=[{"slug": "misc", "title": "其他", "language": "zh"}],
        sources=[
            {
                "id": "site",
                "url": upstream.url(path),
                "kind": kind,
                "allow_private_network": True,
                "crawl_delay": "10ms",
                "default_category": "misc",
                "category_map": {"情感/*": "misc"},
            }
        ],
    )


async def test_page_ok_with_an_unmapped_category(tmp_path, upstream, redis, redis_url, prefix):
    upstream.put("/sport/football/1001.html", article("平局收场"), "text/html; charset=utf-8")
    config = page_config(tmp_path, upstream, redis_url, prefix, kind="page", path="/sport/football/1001.html")
    runtime = Runtime.open(config, redis_url)
    try:
        report = await ingest_source(runtime, "site", now=NOW)
    finally:
        await runtime.close()
    assert report.status == "updated" and report.last_status == "200 ok: 1 new"
    assert report.unmapped == "体育/足球" and not report.from_listing
    await assert_recorded_as_reported(redis, prefix, runtime, report)
    stored = await source_hash(redis, prefix, "site")
    assert stored["unmapped"] == "1" and stored["last_unmapped"] == report.unmapped


async def test_page_error_from_a_listing(tmp_path, upstream, redis, redis_url, prefix):
    links = "".join(f'<li><a href="/sport/football/20261120/{n}.html">第{n}篇</a></li>' for n in (1001, 1002))
    upstream.put("/sport/football/", LISTING.format(links=links).encode(), "text/html; charset=utf-8")
    upstream.put("/sport/football/20261120/1001.html", article("平局收场"), "text/html; charset=utf-8")
    missing = upstream.url("/sport/football/20261120/1002.html")
    config = page_config(tmp_path, upstream, redis_url, prefix, kind="listing", path="/sport/football/")
    seen = f"{prefix}seen:site"
    runtime = Runtime.open(config, redis_url)
    try:
        # The CLI's way: without a queue the poll ingests its pages inline and returns them.
        poll = await ingest_source(runtime, "site", now=NOW)
        assert poll.counts == {"found": 2, "new pages": 2, "new": 1, "page errors": 1}
        assert [(p.url, p.status, p.from_listing) for p in poll.pages] == [
            (upstream.url("/sport/football/20261120/1001.html"), "updated", True),
            (missing, "error", True),
        ]
        await assert_recorded_as_reported(redis, prefix, runtime, poll)
        stored = await source_hash(redis, prefix, "site")
        assert stored["page_errors"] == "1" and stored["last_page_error"] == poll.pages[1].error
        assert stored["unmapped"] == "1" and stored["last_unmapped"] == poll.pages[0].unmapped == "体育/足球"
        assert stored["warnings"] == poll.pages[1].error
        assert await redis.hexists(seen, missing) == 0  # tried again on the next poll

        # The worker's way: one page job. Its failure counts on the listing, whose own
        # fetch state stays as the poll left it.
        before = await source_hash(redis, prefix, "site")
        job = await ingest_page(runtime, config.sources["site"], missing, now=NOW)
    finally:
        await runtime.close()
    assert job.status == "error" and job.from_listing and "404" in job.error
    after = await source_hash(redis, prefix, "site")
    assert after.pop("page_errors") == "2" and after.pop("last_page_error") == job.error
    before.pop("page_errors"), before.pop("last_page_error")
    assert after == before

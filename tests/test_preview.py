"""Source preview (`syndicator.operate.preview`, `POST /admin/api/preview`): the whole
pipeline against loopback upstreams, its limits, and that it stores nothing."""

from __future__ import annotations

import asyncio
import json

import pytest

from syndicator.operate.audit import audit_log
from syndicator.operate.errors import UnknownSource
from syndicator.operate.preview import InvalidSource, configured_source, preview_source, source_from_table
from syndicator.runtime import Runtime
from tests.admin_helpers import TOKEN, admin_serving, store_state
from tests.builders import items, one_feed_config, rss
from tests.chaos.helpers import many_entries_feed, wait_gone
from tests.chaos.test_parse_limits import hostile_config
from tests.test_cli_operate import cli, eventually
from tests.test_pages_e2e import ARTICLE_PATH, EXPECTED, zhbf_config, zhbf_site


@pytest.fixture
def token_env(monkeypatch):
    monkeypatch.delenv("SYNDICATOR_ADMIN_TOKEN_FILE", raising=False)
    monkeypatch.setenv("SYNDICATOR_ADMIN_TOKEN", TOKEN)


async def assert_nothing_stored(redis, prefix: str, before: dict, *, audited: bool = False) -> None:
    """Every key under the prefix is as it was, but for the politeness slot's next-start
    time of a host it fetched from: a coordination key that expires (crawl_delay + 1 s),
    and the robots.txt cache of an origin whose pages it fetched (the upstream's rules,
    expiring within a day).
    `audited`: the admin API also recorded each call in the audit log (and nothing else)."""
    after = await store_state(redis, prefix)
    changed = {key for key in before.keys() | after.keys() if before.get(key) != after.get(key)}
    if audited:
        changed.discard(f"{prefix}audit".encode())
    for key in changed:
        assert key not in before
        if key.decode().startswith(f"{prefix}robots:"):
            assert 0 < await redis.ttl(key) <= 24 * 3600  # the upstream's rules, never our data
            continue
        assert key.decode().startswith(f"{prefix}host:") and key.decode().endswith(":next"), key
        assert 0 < await redis.pttl(key) <= 60_000  # an expiring slot marker, never data


def politeness_key_shape(runtime: Runtime) -> None:
    # Layout 5: the host in a hash tag, one Redis Cluster slot with its leases.
    assert runtime.keys.host_next("h") == f"{runtime.keys.prefix}host:{{p:h}}:next"


async def test_feed_preview_shows_the_articles_with_their_categories_and_stores_nothing(
    tmp_path, upstream, redis, redis_url, prefix
):
    upstream.put("/feed.rss", rss(items("pv", 3)), "application/rss+xml")
    config = one_feed_config(tmp_path, upstream, redis_url=redis_url, prefix=prefix, path="/feed.rss")
    runtime = Runtime.open(config, redis_url)
    try:
        politeness_key_shape(runtime)
        before = await store_state(redis, prefix)
        result = await preview_source(runtime, config.sources["feed"])
        await assert_nothing_stored(redis, prefix, before)
    finally:
        await runtime.close()
    assert result.ok and result.error is None and result.stopped == []
    assert [a.title for a in result.articles] == ["pv title 0", "pv title 1", "pv title 2"]
    assert [a.url for a in result.articles] == [f"https://pv.example/posts/{i}" for i in range(3)]
    assert all(a.categories == ("tech",) for a in result.articles)
    assert result.articles[0].published == "2026-11-20T08:00:00+00:00"
    assert "pv body 0" in result.articles[0].summary
    assert result.documents == 1


async def test_listing_preview_of_the_seed_site_extracts_and_maps_categories(
    tmp_path, upstream, redis, redis_url, prefix
):
    zhbf_site(upstream)
    config = zhbf_config(tmp_path, upstream, redis_url, prefix)
    runtime = Runtime.open(config, redis_url)
    try:
        before = await store_state(redis, prefix)
        result = await preview_source(runtime, config.sources["zhbf"])
        await assert_nothing_stored(redis, prefix, before)
    finally:
        await runtime.close()
    assert result.ok, result.error
    [article] = [a for a in result.articles if a.url.endswith(ARTICLE_PATH)]
    assert article.title == EXPECTED["title"]
    assert article.categories == ("qinggan/gushi",)  # 情感/故事 mapped by the category_map
    assert article.summary
    assert result.documents >= 2  # the listing, then the article page


async def test_a_source_the_address_guard_refuses_says_why_and_stores_nothing(
    tmp_path, upstream, redis, redis_url, prefix
):
    upstream.put("/feed.rss", rss(items("pv", 3)), "application/rss+xml")
    config = one_feed_config(tmp_path, upstream, redis_url=redis_url, prefix=prefix, path="/feed.rss")
    runtime = Runtime.open(config, redis_url)
    try:
        before = await store_state(redis, prefix)
        source = source_from_table(runtime, {"url": upstream.url("/feed.rss")}, allow_file=False)
        assert source.id == "preview" and not source.allow_private_network
        result = await preview_source(runtime, source)
        await assert_nothing_stored(redis, prefix, before)
    finally:
        await runtime.close()
    assert not result.ok and result.articles == []
    assert "127.0.0.1" in result.error and "allow_private_network" in result.error, result.error
    assert upstream.requests == []  # refused before connecting


async def test_a_feed_preview_stops_at_20_items(tmp_path, upstream, redis, redis_url, prefix):
    upstream.put("/feed.rss", rss(items("many", 30)), "application/rss+xml")
    config = one_feed_config(tmp_path, upstream, redis_url=redis_url, prefix=prefix, path="/feed.rss")
    runtime = Runtime.open(config, redis_url)
    try:
        result = await preview_source(runtime, config.sources["feed"])
    finally:
        await runtime.close()
    assert [a.title for a in result.articles] == [f"many title {i}" for i in range(20)]
    assert result.stopped == ["20 items"]


ARTICLE_HTML = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Story {n}</title>
<meta property="article:published_time" content="2026-11-2{d}T08:00:00+00:00"></head>
<body><main><article><h1>Story {n}</h1>
<p>This is the first paragraph of story number {n}, long enough to be the body of an article page.</p>
<p>A second paragraph of story {n} follows, with more words so that extraction finds a dense block.</p>
<p>And a third paragraph closes story {n}, again with plenty of ordinary text in it for the reader.</p>
</article></main></body></html>"""


def listing_html(page: int, per_page: int, pages: int) -> str:
    links = "".join(
        f'<li><a href="/news/2026/11/{page * 100 + i}.html">Story {page * 100 + i}</a></li>'
        for i in range(per_page)
    )
    more = f'<a rel="next" href="/news/list_{page + 1}.html">next</a>' if page + 1 < pages else ""
    return f"<html><body><main><ul class='list'>{links}</ul>{more}</main></body></html>"


async def test_a_listing_preview_stops_at_3_pages_and_20_items(tmp_path, upstream, redis, redis_url, prefix):
    pages, per_page = 5, 8
    for page in range(pages):
        upstream.put(f"/news/list_{page}.html", listing_html(page, per_page, pages).encode(), "text/html")
        for i in range(per_page):
            n = page * 100 + i
            upstream.put(f"/news/2026/11/{n}.html", ARTICLE_HTML.format(n=n, d=i % 9).encode(), "text/html")
    config = one_feed_config(
        tmp_path,
        upstream,
        redis_url=redis_url,
        prefix=prefix,
        path="/news/list_0.html",
        kind="listing",
        max_depth=10,
        crawl_delay="1ms",
        host_concurrency=4,
    )
    runtime = Runtime.open(config, redis_url)
    try:
        before = await store_state(redis, prefix)
        result = await preview_source(runtime, config.sources["feed"])
        await assert_nothing_stored(redis, prefix, before)
    finally:
        await runtime.close()
    assert result.ok, result.error
    listings = [r.path for r in upstream.requests if "/list_" in r.path]
    assert listings == ["/news/list_0.html", "/news/list_1.html", "/news/list_2.html"]  # 3 pages
    assert len(result.articles) == 20  # of the 24 links the 3 pages hold
    assert sorted(result.stopped) == ["20 items", "3 pages"]
    assert result.articles[0].title == "Story 0" and result.articles[0].categories == ("tech",)
    fetched = [r.path for r in upstream.requests if "/news/2026/" in r.path]
    assert len(fetched) == 20 and result.documents == 23


async def test_the_admin_api_previews_configured_sources_and_tables(
    tmp_path, upstream, redis, redis_url, prefix, token_env
):
    upstream.put("/feed.rss", rss(items("api", 2)), "application/rss+xml")
    config = one_feed_config(tmp_path, upstream, redis_url=redis_url, prefix=prefix, path="/feed.rss")
    async with admin_serving(config, redis_url) as (_runtime, client):
        before = await store_state(redis, prefix)
        by_id = await client.call("POST", "/preview", json_body={"source_id": "feed"})
        table = {"url": upstream.url("/feed.rss"), "categories": ["tech"], "allow_private_network": True}
        by_table = await client.call("POST", "/preview", json_body={"source": table})
        refused = await client.call("POST", "/preview", json_body={"source": {"url": upstream.url("/")}})
        file_url = await client.call("POST", "/preview", json_body={"source": {"url": "file:/etc/passwd"}})
        bad_key = await client.call(
            "POST", "/preview", json_body={"source": {"url": "https://a.example/", "pol": 1}}
        )
        both = await client.call("POST", "/preview", json_body={"source_id": "feed", "source": table})
        unknown = await client.call("POST", "/preview", json_body={"source_id": "nope"})
        await assert_nothing_stored(redis, prefix, before, audited=True)
        audit = await client.call("GET", "/audit", params={"limit": "10"})
    assert by_id.status == 200 and by_id.body["ok"] is True
    assert [a["title"] for a in by_id.body["articles"]] == ["api title 0", "api title 1"]
    assert by_id.body["articles"][0]["categories"] == ["tech"]
    assert set(by_id.body["articles"][0]) == {
        "title",
        "url",
        "published",
        "categories",
        "summary",
        "warnings",
    }
    assert by_table.status == 200 and by_table.body["source_id"] == "preview"
    assert [a["title"] for a in by_table.body["articles"]] == ["api title 0", "api title 1"]
    assert refused.status == 200 and refused.body["ok"] is False
    assert "allow_private_network" in refused.body["error"]
    assert file_url.status == 400 and "file: URLs are refused over HTTP" in file_url.body["error"]
    assert bad_key.status == 400 and bad_key.body["error"].startswith("source.pol: unknown key")
    assert both.status == 400 and unknown.status == 404
    entries = audit.body["entries"]
    assert [e["action"] for e in entries] == ["preview"] * 7
    assert entries[-1]["target"] == '{"source_id":"feed"}' and entries[-1]["outcome"] == "ok"


async def test_tables_are_validated_like_the_config(tmp_path, upstream, redis, redis_url, prefix):
    upstream.put("/feed.rss", rss(items("v", 1)), "application/rss+xml")
    config = one_feed_config(tmp_path, upstream, redis_url=redis_url, prefix=prefix, path="/feed.rss")
    runtime = Runtime.open(config, redis_url)
    try:
        with pytest.raises(InvalidSource, match=r"source.categories\[0\]: unknown category 'tec'"):
            source_from_table(runtime, {"url": "https://a.example/", "categories": ["tec"]}, allow_file=True)
        with pytest.raises(InvalidSource, match=r"source\.poll_interval"):
            source_from_table(
                runtime, {"url": "https://a.example/", "poll_interval": "soon"}, allow_file=True
            )
        (tmp_path / "feed.xml").write_bytes(rss(items("local", 2)))
        local = source_from_table(runtime, {"url": "file:feed.xml"}, allow_file=True)  # the CLI may
        assert [a.title for a in (await preview_source(runtime, local)).articles] == [
            "local title 0",
            "local title 1",
        ]
        with pytest.raises(UnknownSource):
            configured_source(runtime, "nope")
    finally:
        await runtime.close()


async def test_a_preview_stops_at_its_time_limit(tmp_path, upstream, redis, redis_url, prefix):
    upstream.put("/slow.rss", rss(items("slow", 2)), "application/rss+xml", delay=3.0)
    config = one_feed_config(tmp_path, upstream, redis_url=redis_url, prefix=prefix, path="/slow.rss")
    runtime = Runtime.open(config, redis_url)
    try:
        result = await preview_source(runtime, config.sources["feed"], time_limit=0.5)
    finally:
        await runtime.close()
    assert result.articles == [] and result.stopped == ["time limit of 0.5 s"]


async def test_a_document_over_the_parse_time_limit_is_contained_and_the_preview_says_so(
    tmp_path, upstream, redis, redis_url, prefix, token_env
):
    """20,000 entries let in by the entry limit: feedparser needs seconds, the limit is 1 s.
    The parse child is killed while the server keeps answering; the preview is a clear
    `error`, and nothing is stored — not even the over-limit record ingest would keep."""
    upstream.put("/hostile.xml", many_entries_feed(20_000), "application/rss+xml")
    config = hostile_config(tmp_path, upstream, redis_url, prefix, parse_timeout='"1s"', max_entries="100000")
    async with admin_serving(config, redis_url) as (runtime, client):
        before = await store_state(redis, prefix)
        previewing = asyncio.create_task(client.call("POST", "/preview", json_body={"source_id": "hostile"}))

        async def fetched() -> bool:
            return bool(upstream.seen("/hostile.xml"))

        await eventually(fetched, "the preview fetching the document")
        meanwhile = await client.call("GET", "/sources/hostile")  # the event loop is not parsing
        assert meanwhile.status == 200 and not previewing.done()
        answer = await previewing
        assert answer.status == 200, answer.text
        assert answer.body["ok"] is False and answer.body["articles"] == []
        assert answer.body["error"] == "parse took longer than 1 s and was stopped"
        killed = runtime.pool.killed[-1]
        assert wait_gone(killed), f"child {killed} still runs"
        await assert_nothing_stored(redis, prefix, before, audited=True)
        [entry] = (await client.call("GET", "/audit", params={"limit": "1"})).body["entries"]
        assert (entry["action"], entry["outcome"]) == ("preview", "ok")  # answered; the upstream failed

        upstream.put("/hostile.xml", many_entries_feed(3), "application/rss+xml")  # a fresh child parses
        fixed = await client.call("POST", "/preview", json_body={"source_id": "hostile"})
        assert [a["title"] for a in fixed.body["articles"]] == ["t0", "t1", "t2"]
        assert runtime.pool.last_pid != killed


@pytest.mark.slow  # real processes for 25-60 s: out of the fast lane, in CI
async def test_the_preview_command(tmp_path, upstream, redis, redis_url, prefix):
    upstream.put("/feed.rss", rss(items("cli", 2)), "application/rss+xml")
    config = one_feed_config(tmp_path, upstream, redis_url=redis_url, prefix=prefix, path="/feed.rss")
    before = await store_state(redis, prefix)
    by_id = await cli("preview", "feed", "--config", config.path)
    assert by_id.returncode == 0, by_id.stderr
    assert by_id.stdout.splitlines()[0] == (
        f"preview of feed (feed {upstream.url('/feed.rss')}): 2 articles from 1 document"
    )
    assert "  1. cli title 0" in by_id.stdout and "categories tech" in by_id.stdout

    toml_file = tmp_path / "source.toml"
    toml_file.write_text(f'[[sources]]\nid = "try"\nurl = "{upstream.url("/feed.rss")}"\n', encoding="utf-8")
    refused = await cli("preview", "--source-file", str(toml_file), "--json", "--config", config.path)
    assert refused.returncode == 1
    answer = json.loads(refused.stdout)
    assert answer["ok"] is False and "allow_private_network" in answer["error"]

    json_file = tmp_path / "source.json"
    (tmp_path / "local.xml").write_bytes(rss(items("local", 1)))
    json_file.write_text(json.dumps({"url": "file:local.xml", "categories": ["tech"]}), encoding="utf-8")
    local = await cli("preview", "--source-file", str(json_file), "--json", "--config", config.path)
    assert local.returncode == 0, local.stderr
    assert [a["title"] for a in json.loads(local.stdout)["articles"]] == ["local title 0"]

    json_file.write_text(json.dumps({"url": "file:local.xml", "categories": ["tec"]}), encoding="utf-8")
    invalid = await cli("preview", "--source-file", str(json_file), "--config", config.path)
    assert invalid.returncode == 2
    assert "source.categories[0]: unknown category 'tec' (did you mean 'tech'?)" in invalid.stderr
    unknown = await cli("preview", "nope", "--config", config.path)
    assert unknown.returncode == 2 and "unknown source 'nope'" in unknown.stderr

    after = await store_state(redis, prefix)
    changed = {
        k.decode()[len(prefix) :] for k in before.keys() | after.keys() if before.get(k) != after.get(k)
    }
    assert changed <= {"audit", "schema_version"} | {k for k in changed if k.startswith("host:")}
    runtime = Runtime.open(config, redis_url)
    try:
        actions = [(e.action, e.outcome) for e in await audit_log(runtime, limit=10)]
    finally:
        await runtime.close()
    assert actions == [("preview", "ok"), ("preview", "failed"), ("preview", "ok")]

"""Adding sources like feed-reader users: `syndicator add-source URL` (autodiscovery, preview,
a commented [[sources]] table appended with the file's comments kept, a reload every
process follows) and `syndicator import-opml FILE`, against loopback sites and a real
worker."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from syndicator.config import load_config
from syndicator.config.append import NewSource, appended_text
from syndicator.config.errors import ConfigError
from syndicator.discover import DiscoverError
from syndicator.discover.feeds import COMMON_PATHS, feed_links, looks_like_feed
from syndicator.discover.opml import parse_opml
from syndicator.operate.addsource import derived_id, discover_source
from syndicator.operate.audit import audit_log
from syndicator.operate.health import source_health
from syndicator.runtime import Runtime
from syndicator.store.heartbeats import live_workers
from tests.builders import items, json_feed, rss
from tests.test_cli_operate import cli, eventually, worker_process
from tests.test_pages_e2e import zhbf_site

HTML_WITH_LINK = b"""<!doctype html><html><head><title>Blog</title>
<link rel="stylesheet" href="/style.css">
<link rel="alternate" type="application/rss+xml" title="The Blog" href="/blog/feed.xml">
<link rel="alternate" type="application/atom+xml" href="/blog/atom.xml">
</head><body><p>Hello</p></body></html>"""


def commented_config(tmp_path, upstream, redis_url: str, prefix: str) -> tuple[str, str]:
    """A config file an operator wrote, comments and all: (path, text)."""
    text = f"""# Syndicator configuration for the test site.
# Comments like this one must survive add-source.

[server]
redis_url = "{redis_url}"
redis_prefix = "{prefix}"  # the test's own keys
queue_name = "{prefix}queue"
public_url = "http://feeds.test/"
schedule_every = 1  # poll due sources every second
job_timeout = "5s"

[[categories]]
slug = "tech"  # technology
title = "Technology"

# The one source we had before.
[[sources]]
id = "old"
url = "{upstream.url("/old.rss")}"
categories = ["tech"]
allow_private_network = true  # loopback upstream

[fetch]
# a fetch setting after the sources, so the new table goes in the middle of the file
max_entries = 500
"""
    path = tmp_path / "syndicator.toml"
    path.write_text(text, encoding="utf-8")
    return str(path), text


async def read(path: str) -> str:
    return await asyncio.to_thread(Path(path).read_text, encoding="utf-8")


@contextlib.asynccontextmanager
async def live_worker(path: str, runtime: Runtime) -> AsyncIterator[None]:
    """A real `syndicator worker` on the config file, its heartbeat seen: running before the
    command under test, so the new sources reach it only through the announced reload."""
    async with worker_process(path):
        await eventually(lambda: live_workers(runtime.redis, runtime.keys), "a worker heartbeat")
        yield


async def polled_after_the_reload(runtime: Runtime, source_id: str, articles: int) -> None:
    """Wait for the worker to store the added source's `articles` (this runtime re-reads
    the file only to know the source; the worker found it by itself)."""
    runtime.config = load_config(runtime.config.path, environ={})

    async def stored() -> bool:
        return (await source_health(runtime, source_id)).articles_stored == articles

    await eventually(stored, f"the worker polling {source_id} after the reload")


async def assert_reload_announced(runtime: Runtime, path: str) -> None:
    """The command announced the reload on Redis: the generation every process follows,
    with the digest of the file as it now is."""
    announced = await runtime.redis.hgetall(runtime.keys.config_reload)
    assert announced[b"generation"] == b"1"
    assert announced[b"digest"] == load_config(path, environ={}).digest.encode()


# --- pure parts -----------------------------------------------------------------------------


def test_feed_links_are_read_from_link_alternate_in_order():
    links = feed_links(HTML_WITH_LINK, "text/html", "http://site.test/about/")
    assert [(link.url, link.format, link.title) for link in links] == [
        ("http://site.test/blog/feed.xml", "rss", "The Blog"),
        ("http://site.test/blog/atom.xml", "atom", ""),
    ]
    json_link = b'<html><head><link rel="alternate" type="application/feed+json" href="f.json"></head></html>'
    assert feed_links(json_link, None, "http://s.test/x/")[0].url == "http://s.test/x/f.json"
    assert feed_links(b"<html><body>no feeds</body></html>", None, "http://s.test/") == []
    with pytest.raises(DiscoverError):
        feed_links(b"  ", None, "http://s.test/")


def test_feeds_are_recognised_by_their_content():
    assert looks_like_feed(rss(items("x", 1)), "text/html")
    assert looks_like_feed(json_feed(items("x", 1)), "application/json")
    assert looks_like_feed(b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"></feed>', None)
    assert not looks_like_feed(HTML_WITH_LINK, "application/rss+xml")
    assert not looks_like_feed(b'{"version": 1}', None)


def test_opml_outlines_at_any_depth_without_entities():
    opml = b"""<?xml version="1.0"?>
    <opml version="2.0"><head><title>subs</title></head><body>
      <outline text="Tech"><outline type="rss" text="Alpha" xmlUrl="https://a.test/feed"/></outline>
      <outline type="rss" title="Beta" xmlUrl="https://b.test/rss.xml"/>
      <outline text="no feed" htmlUrl="https://c.test/"/>
    </body></opml>"""
    outlines = parse_opml(opml)
    assert [(o.url, o.title, o.folder) for o in outlines] == [
        ("https://a.test/feed", "Alpha", "Tech"),
        ("https://b.test/rss.xml", "Beta", ""),
    ]
    with pytest.raises(DiscoverError, match="not an OPML document"):
        parse_opml(b"<rss/>")
    external = b"""<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY x SYSTEM "file:///etc/passwd">]>
    <opml><body><outline title="&x;" xmlUrl="https://a.test/"/></body></opml>"""
    with pytest.raises(DiscoverError, match="external entity"):  # refused, never read
        parse_opml(external)


def test_appending_keeps_every_comment_and_refuses_a_sources_array(tmp_path):
    text = "# top\n[server]\nport = 8080  # port\n\n# sources\n[[sources]]\nid = 'a'  # A\nurl = 'https://a.test/'\n"
    new = appended_text(text, [NewSource({"id": "b", "url": "https://b.test/"}, ("added by a test",))])
    assert new.startswith(text)
    assert new[len(text) :] == '\n[[sources]]\n# added by a test\nid = "b"\nurl = "https://b.test/"\n'
    with pytest.raises(ConfigError, match="cannot append"):
        appended_text("sources = []\n", [NewSource({"id": "b", "url": "https://b.test/"})])


def test_derived_ids():
    assert derived_id("https://www.example.com/feed", []) == "example-com"
    assert derived_id("https://www.example.com/feed", ["example-com"]) == "example-com-2"
    assert derived_id("https://x.test/", [], "Alpha News!") == "alpha-news"
    assert derived_id("https://x.test/", [], "情感") == "x-test"


# --- discovery against loopback -------------------------------------------------------------


@pytest.mark.slow  # seven probes, each after a 1 s crawl delay: ~11 s; CI runs it
async def test_discovery_tries_common_paths_then_reads_a_listing(
    tmp_path, upstream, redis, redis_url, prefix
):
    path, _ = commented_config(tmp_path, upstream, redis_url, prefix)
    upstream.put("/site/", b"<html><head><title>x</title></head><body>hi</body></html>", "text/html")
    upstream.put("/atom.xml", rss(items("common", 2)), "application/xml")
    zhbf_site(upstream)
    runtime = Runtime.open(load_config(path, environ={}), redis_url)
    try:
        found = await discover_source(runtime, upstream.url("/site/"), allow_private_network=True)
        assert (found.url, found.kind) == (upstream.url("/atom.xml"), "feed")
        assert "common path /atom.xml" in found.how
        tried = [r.path for r in upstream.requests]
        assert tried == ["/site/", "/feed", "/rss.xml", "/atom.xml"]
        upstream.documents.pop("/atom.xml")
        listing = await discover_source(runtime, upstream.url("/qinggan/gushi/"), allow_private_network=True)
        assert (listing.url, listing.kind) == (upstream.url("/qinggan/gushi/"), "listing")
    finally:
        await runtime.close()


@pytest.mark.slow  # the page, then the seven common paths, each after a 1 s crawl delay: ~8 s
async def test_discovery_takes_a_page_without_a_feed_and_with_few_links_as_one_article(
    tmp_path, upstream, redis, redis_url, prefix
):
    article = b"""<!doctype html><html><head><title>One post</title></head><body><article>
    <h1>One post</h1><p>A long enough paragraph of the one article this page is.</p>
    <p><a href="/posts/1.html">the previous post</a> and <a href="/posts/2.html">the next</a></p>
    </article></body></html>"""
    upstream.put("/posts/3.html", article, "text/html")
    path, _ = commented_config(tmp_path, upstream, redis_url, prefix)
    runtime = Runtime.open(load_config(path, environ={}), redis_url)
    try:
        found = await discover_source(runtime, upstream.url("/posts/3.html"), allow_private_network=True)
    finally:
        await runtime.close()
    assert (found.url, found.kind) == (upstream.url("/posts/3.html"), "page")
    assert found.how == f"no feed found: {upstream.url('/posts/3.html')} read as one article page"
    tried = [r.path for r in upstream.requests]
    assert tried == ["/posts/3.html", *COMMON_PATHS]  # every common path tried, none a feed


# --- the commands -----------------------------------------------------------------------------


@pytest.mark.slow  # real processes for 25-60 s: out of the fast lane, in CI
async def test_add_source_discovers_keeps_comments_and_a_running_worker_polls_it(
    tmp_path, upstream, redis, redis_url, prefix
):
    upstream.put("/old.rss", rss(items("old", 2)), "application/rss+xml")
    upstream.put("/", HTML_WITH_LINK, "text/html")
    upstream.put("/blog/feed.xml", rss(items("blog", 3)), "application/rss+xml")
    path, original = commented_config(tmp_path, upstream, redis_url, prefix)
    runtime = Runtime.open(load_config(path, environ={}), redis_url)
    try:
        # Refused by the address guard without --allow-private-network: nothing written.
        refused = await cli("add-source", upstream.url("/"), "--yes", "--config", path)
        assert refused.returncode == 1
        assert "not added" in refused.stderr and "allow_private_network" in refused.stderr
        # Without --yes and without a terminal to ask on: shown, not added.
        args = ("add-source", upstream.url("/"), "--category", "tech", "--allow-private-network")
        unasked = await cli(*args, "--config", path)
        assert unasked.returncode == 1 and "--yes" in unasked.stderr
        assert "blog title 0" in unasked.stdout
        assert await read(path) == original

        async with live_worker(path, runtime):
            added = await cli(*args, "--id", "blog", "--yes", "--config", path)
            assert added.returncode == 0, added.stderr
            assert 'found by <link rel="alternate" type="rss">' in added.stdout
            assert "preview of blog (feed " in added.stdout and "3 articles" in added.stdout
            assert "added blog to" in added.stdout

            text = await read(path)
            for line in original.splitlines():
                assert line in text.splitlines()  # every comment and line kept, in place
            assert text.index('id = "blog"') < text.index("[fetch]")  # after the last [[sources]]
            assert "# added by `syndicator add-source` on " in text
            new = load_config(path, environ={}).sources["blog"]
            assert (new.url, new.kind, new.categories) == (upstream.url("/blog/feed.xml"), "feed", ("tech",))
            assert new.title == "The Blog" and new.allow_private_network
            await assert_reload_announced(runtime, path)
            await polled_after_the_reload(runtime, "blog", 3)
        entries = await audit_log(runtime, limit=10)
        assert (entries[0].action, entries[0].target, entries[0].outcome) == ("add-source", "blog", "ok")
        assert entries[1].outcome == "failed" and "allow_private_network" in entries[1].detail
    finally:
        await runtime.close()


@pytest.mark.slow  # real processes for 25-60 s: out of the fast lane, in CI
async def test_import_opml_adds_new_feeds_and_skips_configured_ones(
    tmp_path, upstream, redis, redis_url, prefix
):
    upstream.put("/old.rss", rss(items("old", 2)), "application/rss+xml")
    upstream.put("/alpha.rss", rss(items("alpha", 2)), "application/rss+xml")
    upstream.put("/beta.json", json_feed(items("beta", 2)), "application/feed+json")
    path, _ = commented_config(tmp_path, upstream, redis_url, prefix)
    opml = tmp_path / "subs.opml"
    opml.write_text(
        f"""<?xml version="1.0" encoding="utf-8"?>
<opml version="2.0"><head><title>my feeds</title></head><body>
  <outline text="News">
    <outline type="rss" text="Alpha News" xmlUrl="{upstream.url("/alpha.rss")}"/>
    <outline type="rss" text="The old one" xmlUrl="{upstream.url("/old.rss")}"/>
  </outline>
  <outline type="rss" title="Beta" text="Beta" xmlUrl="{upstream.url("/beta.json")}"/>
</body></opml>""",
        encoding="utf-8",
    )
    runtime = Runtime.open(load_config(path, environ={}), redis_url)
    try:
        async with live_worker(path, runtime):
            done = await cli(
                *("import-opml", str(opml), "--category", "tech", "--allow-private-network", "--yes"),
                *("--config", path),
            )
            assert done.returncode == 0, done.stderr
            lines = done.stdout.splitlines()
            assert f"[2/3] skipped {upstream.url('/old.rss')}: already configured as old" in lines
            assert "[1/3] alpha-news: " + upstream.url("/alpha.rss") + " is a feed" in lines
            assert "added alpha-news, beta to" in done.stdout
            assert "announced to every process" in done.stdout
            config = load_config(path, environ={})
            assert list(config.sources) == ["old", "alpha-news", "beta"]
            assert config.sources["beta"].url == upstream.url("/beta.json")
            assert config.sources["alpha-news"].title == "Alpha News"
            assert (await read(path)).count("# added by `syndicator import-opml` on ") == 2
            await assert_reload_announced(runtime, path)
            await polled_after_the_reload(runtime, "beta", 2)
        [entry] = await audit_log(runtime, limit=10)
        assert (entry.action, entry.target, entry.outcome) == ("import-opml", str(opml), "ok")
        assert "already old" in entry.detail
    finally:
        await runtime.close()

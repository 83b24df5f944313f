"""Near-duplicate clustering (process/cluster.py): fingerprints, the issue's end-to-end
case on the Chinese seed article, rendering, per-category config and takedown."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from lxml import etree

from syndicator.fingerprint import BANDS, fingerprint, similarity
from syndicator.ingest import ingest_source
from syndicator.models import Article
from syndicator.operate.takedown import hide
from syndicator.runtime import Runtime
from syndicator.store.articles import newest_articles
from syndicator.store.clusters import StoredPrint, band_members
from syndicator.store.feeds import load_feed
from tests.builders import Item, make_article, rss, write_config
from tests.conftest import FIXTURES, SITE_ZHBF

ORIGINAL = (SITE_ZHBF / "article-8812.utf8.html").read_text(encoding="utf-8")
CANONICAL = "http://www.zhbf.example/qinggan/gushi/20231123/8812.html"
CHANGED_FROM = "本次活动围绕共建“一带一路”倡议和西部陆海新通道建设重大战略需求"
CHANGED_TO = "据主办方介绍,这次活动紧扣服务国家战略与区域协调发展的现实需要"
ATOM = "{http://www.w3.org/2005/Atom}"

OTHER_STORY = (FIXTURES / "cluster" / "zh-other-story.html").read_text(encoding="utf-8")


def copy_page(host: str, header: str, footer: str) -> str:
    """The seed page as a portal that copied it: its own canonical URL and branding, a
    header and a footer of its own inside the article, and one sentence reworded."""
    body_start = '<div class="content" id="article-content">\n'
    page = ORIGINAL.replace(CANONICAL, f"http://{host}/news/2023/1123/a1.html")
    page = page.replace("智汇八方", host.split(".")[1])
    page = page.replace(body_start, f"{body_start}<p>{header}</p>\n", 1)
    end = page.index('<div class="share">')
    page = page[:end].rstrip()
    assert page.endswith("</div>")
    page = (
        page[: -len("</div>")]
        + f"<p>{footer}</p>\n</div>\n"
        + ORIGINAL[ORIGINAL.index('<div class="share">') :]
    )
    assert CHANGED_FROM in page
    return page.replace(CHANGED_FROM, CHANGED_TO, 1)


def other_story_page() -> str:
    """A different story on the same event: the same headline phrases, its own text."""
    start = ORIGINAL.index('<div class="content" id="article-content">')
    end = ORIGINAL.index('<div class="share">')
    page = (
        ORIGINAL[:start] + f'<div class="content" id="article-content">{OTHER_STORY}</div>\n' + ORIGINAL[end:]
    )
    page = page.replace(CANONICAL, "http://www.other.example/cq/1123/b7.html")
    return page.replace("携手共商高技能合作 同心共谋新通道发展 ", "企业盼订单班 ")


def config(tmp_path: Path, upstream, redis_url: str, prefix: str, **world: object):
    sources = [
        ("zhbf", "/zhbf.html", "world"),
        ("portal", "/portal.html", "tech"),
        ("other", "/other.html", "world"),
    ]
    return write_config(
        tmp_path,
        redis_url=redis_url,
        prefix=prefix,
        categories=[
            {"slug": "world", "title": "World", "language": "zh", **world},
            {"slug": "tech", "title": "Tech", "language": "zh"},
        ],
        sources=[
            {
                "id": sid,
                "title": f"Source {sid}",
                "url": upstream.url(path),
                "kind": "page",
                "categories": [slug],
                "timezone": "Asia/Shanghai",
                "allow_private_network": True,
            }
            for sid, path, slug in sources
        ],
    )


def put_pages(upstream) -> None:
    upstream.put("/zhbf.html", ORIGINAL.encode(), "text/html; charset=utf-8")
    header = "本文转载自东方门户网,原标题为《重庆成立人才国际发展联盟》,转载请注明出处。"
    footer = (
        "责任编辑:李明 版权声明:凡注明来源东方门户网的作品,未经授权不得转载。扫码关注公众号获取更多资讯。"
    )
    upstream.put(
        "/portal.html", copy_page("www.dongfang.example", header, footer).encode(), "text/html; charset=utf-8"
    )
    upstream.put("/other.html", other_story_page().encode(), "text/html; charset=utf-8")


def entries(body: bytes) -> list[etree._Element]:
    return etree.fromstring(body).findall(f"{ATOM}entry")


async def test_a_copy_joins_the_first_article_and_a_different_story_stays_apart(
    tmp_path, upstream, redis, redis_url, prefix
):
    put_pages(upstream)
    runtime = Runtime.open(config(tmp_path, upstream, redis_url, prefix), redis_url)
    try:
        first = await ingest_source(runtime, "zhbf", now=datetime.now(UTC))
        [rep] = await newest_articles(runtime.redis, runtime.keys, "world", 10)
        before = await load_feed(runtime.redis, runtime.keys, "world", "atom", "identity")
        copy = await ingest_source(runtime, "portal", now=datetime.now(UTC))
        other = await ingest_source(runtime, "other", now=datetime.now(UTC))
        world = await newest_articles(runtime.redis, runtime.keys, "world", 10)
        tech = await newest_articles(runtime.redis, runtime.keys, "tech", 10)
        everything = await newest_articles(runtime.redis, runtime.keys, "all", 10)
        atom = await load_feed(runtime.redis, runtime.keys, "tech", "atom", "identity")
        rss = await load_feed(runtime.redis, runtime.keys, "tech", "rss", "identity")
        jsonfeed = await load_feed(runtime.redis, runtime.keys, "world", "json", "identity")
        world_atom = await load_feed(runtime.redis, runtime.keys, "world", "atom", "identity")
        again = await ingest_source(runtime, "portal", force=True, now=datetime.now(UTC))
    finally:
        await runtime.close()
    assert first.counts["new"] == 1 and copy.counts == {"merged": 1}, copy.counts
    assert other.counts["new"] == 1
    assert again.counts.get("new", 0) == 0  # the copy's next poll goes straight to its cluster
    joined = next(a for a in world if a.id == rep.id)
    # One item for the story, in both sources' categories; the other story is separate.
    assert len(everything) == 2
    assert [a.id for a in tech] == [rep.id]
    assert {a.id for a in world} == {rep.id, next(a.id for a in world if a.id != rep.id)}
    # Joining never changes the representative's content, content hash or `updated`.
    assert (joined.content_hash, joined.updated, joined.content_html) == (
        rep.content_hash,
        rep.updated,
        rep.content_html,
    )
    assert [r.source_id for r in joined.related] == ["portal"]
    assert joined.related[0].url == "http://www.dongfang.example/news/2023/1123/a1.html"
    # Atom: <link rel="related" title=…>, the "also reported by" line in the content.
    assert atom is not None and rss is not None and jsonfeed is not None
    [entry] = entries(atom.bodies["identity"])
    [link] = entry.findall(f"{ATOM}link[@rel='related']")
    assert (link.get("href"), link.get("title")) == (joined.related[0].url, "Source portal")
    assert "Also reported by" in (entry.findtext(f"{ATOM}content") or "")
    # RSS: <atom:link rel="related"> inside the item, never <source>.
    [item] = etree.fromstring(rss.bodies["identity"]).iter("item")
    assert item.find(f"{ATOM}link[@rel='related']") is not None and item.find("source") is None
    # JSON Feed: _syndicator.also_reported_by.
    items = json.loads(jsonfeed.bodies["identity"])["items"]
    [shown] = [i for i in items if i.get("_syndicator", {}).get("also_reported_by")]
    assert shown["_syndicator"]["also_reported_by"][0]["source"] == "Source portal"
    # A reader of `world` holding the ETag from before: the feed's bytes did change (the
    # related link), so a conditional GET gets 200 with a new ETag — but the story's entry
    # keeps its id, `published` and `updated`, so no reader shows it as new or updated.
    assert before is not None and world_atom is not None
    assert world_atom.etag("identity") != before.etag("identity")
    old = {e.findtext(f"{ATOM}id"): e.findtext(f"{ATOM}updated") for e in entries(before.bodies["identity"])}
    new = {
        e.findtext(f"{ATOM}id"): e.findtext(f"{ATOM}updated") for e in entries(world_atom.bodies["identity"])
    }
    assert all(new[i] == old[i] for i in old)


async def test_the_threshold_is_per_category_and_clustering_can_be_turned_off(
    tmp_path, upstream, redis, redis_url, prefix
):
    put_pages(upstream)
    runtime = Runtime.open(config(tmp_path, upstream, redis_url, prefix, near_duplicates=False), redis_url)
    try:
        await ingest_source(runtime, "zhbf", now=datetime.now(UTC))
        copy = await ingest_source(runtime, "portal", now=datetime.now(UTC))
        everything = await newest_articles(runtime.redis, runtime.keys, "all", 10)
    finally:
        await runtime.close()
    # `world` does not cluster, so the first article has no fingerprint to be found by.
    assert copy.counts == {"new": 1} and len(everything) == 2


async def test_taking_down_a_copy_removes_it_from_its_cluster(tmp_path, upstream, redis, redis_url, prefix):
    put_pages(upstream)
    runtime = Runtime.open(config(tmp_path, upstream, redis_url, prefix), redis_url)
    try:
        await ingest_source(runtime, "zhbf", now=datetime.now(UTC))
        await ingest_source(runtime, "portal", now=datetime.now(UTC))
        [rep] = await newest_articles(runtime.redis, runtime.keys, "tech", 10)
        result = await hide(runtime, rep.related[0].id, who="test")
        [after] = await newest_articles(runtime.redis, runtime.keys, "world", 10)
        again = await ingest_source(runtime, "portal", force=True, now=datetime.now(UTC))
        [still] = await newest_articles(runtime.redis, runtime.keys, "world", 10)
        # Taking down the representative removes its fingerprint and band entries: nothing
        # finds it again.
        stored = StoredPrint.from_json(await runtime.redis.get(runtime.keys.fingerprint(rep.id)))
        indexed = await band_members(runtime.redis, runtime.keys, enumerate(stored.bands))
        await hide(runtime, rep.id, who="test")
        left = await runtime.redis.exists(runtime.keys.fingerprint(rep.id))
        unindexed = await band_members(runtime.redis, runtime.keys, enumerate(stored.bands))
        buckets = [k async for k in runtime.redis.scan_iter(match=runtime.keys.match("bands:*"))]
    finally:
        await runtime.close()
    assert result.url == "http://www.dongfang.example/news/2023/1123/a1.html"
    assert after.related == () and after.content_hash == rep.content_hash and after.updated == rep.updated
    assert again.counts == {"hidden": 1} and still.related == ()
    assert left == 0
    assert len(indexed) == BANDS and all(ids == [rep.id] for ids in indexed.values())
    assert all(ids == [] for ids in unindexed.values()) and buckets == []


async def test_taking_down_the_representative_sets_its_copies_apart(
    tmp_path, upstream, redis, redis_url, prefix
):
    """The copy had no record of its own: it goes with the representative, is not tombstoned
    (another site's text), and comes back alone when its item is read again."""
    put_pages(upstream)
    runtime = Runtime.open(config(tmp_path, upstream, redis_url, prefix), redis_url)
    try:
        await ingest_source(runtime, "zhbf", now=datetime.now(UTC))
        await ingest_source(runtime, "portal", now=datetime.now(UTC))
        [rep] = await newest_articles(runtime.redis, runtime.keys, "all", 10)
        [copy] = rep.related
        await hide(runtime, rep.id, who="test")
        gone = await newest_articles(runtime.redis, runtime.keys, "all", 10)
        in_cluster = await runtime.redis.hget(runtime.keys.cluster_of, copy.id)
        again = await ingest_source(runtime, "portal", force=True, now=datetime.now(UTC))
        alone = await newest_articles(runtime.redis, runtime.keys, "all", 10)
        original = await ingest_source(runtime, "zhbf", force=True, now=datetime.now(UTC))
    finally:
        await runtime.close()
    assert (copy.source_id, gone, in_cluster) == ("portal", [], None)
    assert again.counts == {"new": 1}
    assert [(a.id, a.source_id, a.related) for a in alone] == [(copy.id, "portal", ())]
    assert original.counts == {"hidden": 1}  # the representative itself stays out


def article(n: int, text: str) -> Article:

    return replace(make_article(n, "tech"), content_html=f"<p>{text}</p>").hashed()


def test_fingerprints_use_character_shingles_for_cjk_and_words_otherwise():
    english = " ".join(f"word{i}" for i in range(60))
    changed = english.replace("word30", "other")
    a, b = fingerprint(article(1, english)), fingerprint(article(2, changed))
    assert a is not None and b is not None and similarity(a.signature, b.signature) > 0.8
    chinese = ORIGINAL[ORIGINAL.index("11月22日,陆海") : ORIGINAL.index("活动现场")]
    c = fingerprint(article(3, chinese))
    d = fingerprint(article(4, chinese.replace("重庆人社", "当地人社")))
    assert c is not None and d is not None and similarity(c.signature, d.signature) > 0.7
    assert fingerprint(article(5, "too short")) is None


async def test_one_sources_templated_items_stay_apart_and_a_repost_under_a_new_guid_does_not(
    tmp_path, upstream, redis, redis_url, prefix
):

    template = " ".join(f"Standard notice sentence {i} about this show and its sponsors." for i in range(12))
    when = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    episodes = [
        Item(f"ep-{i}", f"Episode {i}", f"https://pod.example/{i}", when, f"<p>{template}</p>")
        for i in range(2)
    ]
    upstream.put("/f.rss", rss(episodes), "application/rss+xml")
    runtime = Runtime.open(
        write_config(
            tmp_path,
            redis_url=redis_url,
            prefix=prefix,
            categories=[{"slug": "world"}],
            sources=[
                {
                    "id": "pod",
                    "url": upstream.url("/f.rss"),
                    "categories": ["world"],
                    "allow_private_network": True,
                }
            ],
        ),
        redis_url,
    )
    try:
        first = await ingest_source(runtime, "pod", now=datetime.now(UTC))
        repost = Item("ep-0-again", "Episode 0", "https://pod.example/0-again", when, f"<p>{template}</p>")
        upstream.put("/f.rss", rss([*episodes, repost]), "application/rss+xml")
        second = await ingest_source(runtime, "pod", force=True, now=datetime.now(UTC))
        shown = await newest_articles(runtime.redis, runtime.keys, "world", 10)
    finally:
        await runtime.close()
    assert first.counts == {"new": 2}  # different titles from one source: not copies
    assert second.counts.get("new", 0) == 0  # the same story again under a new GUID
    assert sorted(a.title for a in shown) == ["Episode 0", "Episode 1"]
    assert all(a.related == () for a in shown)  # its own source: not "also reported by"

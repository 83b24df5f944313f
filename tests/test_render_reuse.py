"""Rendering with an `EntryCache` (render/reuse.py) gives exactly the bytes rendering without
one gives: whatever the cache kept from earlier documents (other articles, an article before
its edit, other source titles, labels or base URL), and however small it is. And the JSON
Feed the renderer splices from item texts is what `json.dumps` writes for the whole feed.
The decoded records publish reuses (`newest_articles`) follow the stored record.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from redis.asyncio import Redis

from syndicator.models import Enclosure, Related
from syndicator.render import FORMATS, EntryCache, FeedDocument, render_json
from syndicator.store.articles import newest_articles, upsert_article
from syndicator.store.keys import Keys
from tests.render_helpers import ARTICLES, _archive_doc, _article, _doc

MORE = tuple(_article(n) for n in range(4, 9))


def _documents(fmt: str) -> list[FeedDocument]:
    """Documents in an order where a cache keyed too loosely would hand a later one an
    entry made for an earlier one: the same articles under another context, edited, joined
    by a near-duplicate, on another page."""
    base = _doc(articles=(*ARTICLES, *MORE))
    first = base.articles[0]
    edited = replace(first, title="情感故事：改过的标题", updated=first.updated + timedelta(hours=1))
    joined = replace(
        first,
        related=(
            Related(
                source_id="src-b", url="https://b.example/x?a=1&b=2", title="B <i>", source_title="B & co"
            ),
        ),
        related_more=3,
    )
    pictured = replace(
        base.articles[1], images=(Enclosure("https://img.example.cn/new.png", "image/png", 10),)
    )
    return [
        _doc(articles=()),
        base,
        replace(base, source_titles={"src-a": "Source A & Sons", "src-b": "Bee </b>"}),
        replace(base, category_labels={"qinggan/gushi": "情感/故事", "news": "新闻", "标签3": "x"}),
        replace(base, site_url="http://other.example:8081/"),
        replace(base, articles=(edited, *base.articles[1:])),
        replace(base, articles=(joined, *base.articles[1:]), source_titles={"src-b": "Bee"}),
        replace(base, articles=(first, pictured, *base.articles[2:])),
        replace(base, articles=base.articles[3:], updated=datetime(2024, 6, 1, tzinfo=UTC)),
        _archive_doc(fmt),
        base,
    ]


@pytest.mark.parametrize("size", [1, 4, 1024])
@pytest.mark.parametrize("fmt", ["rss", "atom", "json"])
def test_cached_renders_are_the_fresh_bytes(fmt: str, size: int) -> None:
    render = FORMATS[fmt].render
    cache: EntryCache[object] = EntryCache(size=size)
    for doc in _documents(fmt):
        fresh = render(doc)
        assert render(doc, cache) == fresh
        assert render(doc, cache) == fresh  # every entry kept now (when it fits)
    assert 0 < len(cache) <= size


def _as_json_dumps_writes(body: bytes) -> bytes:
    return (json.dumps(json.loads(body), ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def test_json_feed_is_what_json_dumps_writes() -> None:
    cache: EntryCache[str] = EntryCache()
    for doc in _documents("json"):
        for body in (render_json(doc), render_json(doc, cache)):
            assert body == _as_json_dumps_writes(body)


_TEXT = st.text(
    st.characters(blacklist_categories=("Cs",))
    | st.sampled_from(["\n", "\r", "\u2028", "\t", "&", "<", '"']),
    min_size=1,
    max_size=40,
)


@settings(max_examples=100, deadline=None, derandomize=True)
@given(title=_TEXT, summary=_TEXT, author=_TEXT, tag=_TEXT, source=_TEXT)
def test_any_text_renders_the_same_from_the_cache(
    title: str, summary: str, author: str, tag: str, source: str
) -> None:
    article = _article(1, title=title, summary=summary, author=author, tags=(tag,))
    doc = _doc(articles=(article, *MORE), source_titles={"src-a": source})
    for fmt, renderer in FORMATS.items():
        cache: EntryCache[object] = EntryCache()
        fresh = renderer.render(doc)
        assert renderer.render(doc, cache) == fresh
        assert renderer.render(doc, cache) == fresh
        if fmt == "json":
            assert fresh == _as_json_dumps_writes(fresh)


async def test_newest_articles_follow_the_stored_record(redis: Redis, prefix: str) -> None:
    keys = Keys(prefix)
    now = datetime(2024, 5, 11, tzinfo=UTC)
    stored = _article(1, categories=("news",)).hashed()
    await upsert_article(redis, keys, stored, ("news",), now=now)
    [first] = await newest_articles(redis, keys, "news", 10)
    [again] = await newest_articles(redis, keys, "news", 10)
    assert again is first  # the same record: decoded once
    await upsert_article(redis, keys, replace(stored, title="Edited").hashed(), ("news",), now=now)
    [edited] = await newest_articles(redis, keys, "news", 10)
    assert edited.title == "Edited"
    assert first.title == "Article 1"


@pytest.mark.parametrize("fmt", ["rss", "atom", "json"])
def test_an_article_that_cannot_be_hashed_is_rendered_not_kept(fmt: str) -> None:
    listed = replace(ARTICLES[0], tags=["a", "b"])  # a list, where the store gives a tuple
    doc = _doc(articles=(listed, *MORE))
    cache: EntryCache[object] = EntryCache()
    assert FORMATS[fmt].render(doc, cache) == FORMATS[fmt].render(doc)
    assert len(cache) == len(MORE)

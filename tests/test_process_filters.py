"""Keep/block filters at ingest: words (CJK-aware, as `?q=`), regexes bounded by their
timeout, `older_than`, global and per-source rules, and the config errors they give."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from syndicator.config import ConfigError, load_config
from syndicator.config.changes import plan_change
from syndicator.ingest import ingest_source
from syndicator.models import Article, FilterRule, Filters
from syndicator.operate.health import source_health
from syndicator.process import Chain
from syndicator.runtime import Runtime
from syndicator.store.articles import newest_articles
from tests.builders import STORE_TIME, Item, items, make_article, rss
from tests.conftest import REPO

NOW = STORE_TIME


def config_text(redis_url: str, prefix: str, url: str, *, filters: str = "", source: str = "") -> str:
    return "\n".join(
        [
            "[server]",
            f'redis_url = "{redis_url}"',
            f'redis_prefix = "{prefix}"',
            f'queue_name = "{prefix}queue"',
            'public_url = "http://feeds.test/"',
            filters,
            "[[categories]]",
            'slug = "tech"',
            "[[sources]]",
            'id = "s1"',
            f'url = "{url}"',
            'categories = ["tech"]',
            "allow_private_network = true",
            source,
            "",
        ]
    )


def load(tmp_path: Path, text: str):
    path = tmp_path / "syndicator.toml"
    path.write_text(text, encoding="utf-8")
    return load_config(path, environ={})


def article(n: int, title: str, **changes: object) -> Article:
    return replace(make_article(n, "tech"), title=title, **changes).hashed()


async def run_chain(
    tmp_path, redis_url, prefix, articles: list[Article], *, filters: str = "", source: str = ""
):
    config = load(
        tmp_path, config_text(redis_url, prefix, "https://up.example/f.rss", filters=filters, source=source)
    )
    runtime = Runtime.open(config, redis_url)
    try:
        chain = Chain(runtime, config.sources["s1"], now=NOW)
        batch = await chain.process(articles)
    finally:
        await runtime.close()
    return chain, batch


def titles(batch) -> list[str]:
    return [a.title for a in batch.articles]


async def test_block_words_match_whole_words_in_the_field_named(tmp_path, redis, redis_url, prefix):
    articles = [
        article(1, "Sponsored: buy now"),
        article(2, "Unsponsored thoughts"),  # not the whole word
        article(3, "A SPONSORED post"),  # case-folded
        article(4, "Plain news", content_html="<p>sponsored by nobody</p>"),  # content, not title
    ]
    filters = '[filters]\nblock = [{ field = "title", words = ["sponsored"] }]'
    chain, batch = await run_chain(tmp_path, redis_url, prefix, articles, filters=filters)
    assert titles(batch) == ["Unsponsored thoughts", "Plain news"]
    assert [d.reason for d in batch.dropped] == ["blocked by filters.block[0] (title words “sponsored”)"] * 2
    assert chain.rule_counts == {"blocked: filters.block[0]": 2}


async def test_each_field(tmp_path, redis, redis_url, prefix):
    articles = [
        article(1, "by url", url="https://up.example/promo/1"),
        article(2, "by author", author="Spam Bot"),
        article(3, "by category", tags=("Advertorial",)),
        article(4, "by content", content_html="<p>Limited <b>offer</b> inside</p>"),
        article(5, "kept", url="https://up.example/news/5", author="Jane"),
    ]
    source = "\n".join(
        [
            "block = [",
            '  { field = "url", regex = "/promo/" },',
            '  { field = "author", words = ["spam bot"] },',
            '  { field = "category", words = ["advertorial"] },',
            '  { field = "content", words = ["limited offer"] },',
            "]",
        ]
    )
    chain, batch = await run_chain(tmp_path, redis_url, prefix, articles, source=source)
    assert titles(batch) == ["kept"]
    assert chain.rule_counts == {f"blocked: block[{i}]": 1 for i in range(4)}


async def test_keep_rules_global_and_per_source_must_both_hold(tmp_path, redis, redis_url, prefix):
    articles = [
        article(1, "Python 3.14 released"),
        article(2, "Rust and Python together"),
        article(3, "Cooking tips"),
    ]
    filters = '[filters]\nkeep = [{ words = ["python"] }]'
    source = 'keep = [{ field = "title", words = ["rust", "release"] }]'
    chain, batch = await run_chain(tmp_path, redis_url, prefix, articles, filters=filters)
    assert titles(batch) == ["Python 3.14 released", "Rust and Python together"]
    assert chain.rule_counts == {"not kept: filters.keep": 1}
    chain, batch = await run_chain(tmp_path, redis_url, prefix, articles, filters=filters, source=source)
    # "release" is a whole word: "released" does not have it.
    assert titles(batch) == ["Rust and Python together"]
    assert chain.rule_counts == {"not kept: filters.keep": 1, "not kept: keep": 1}


async def test_cjk_words_match_as_substrings_like_q(tmp_path, redis, redis_url, prefix):
    articles = [
        article(1, "关于中文输入法的报道"),
        article(2, "日本語のニュース"),
        article(3, "ＣＨＩＮＥＳＥ input"),  # full-width Latin folds to ASCII
        article(4, "Trust and safety"),
    ]
    filters = '[filters]\nblock = [{ words = ["中文", "ニュース", "chinese", "rust"] }]'
    chain, batch = await run_chain(tmp_path, redis_url, prefix, articles, filters=filters)
    assert titles(batch) == ["Trust and safety"]  # "rust" is not a word of "Trust"
    assert chain.rule_counts == {"blocked: filters.block[0]": 3}


async def test_older_than_drops_old_articles_and_combines_with_words(tmp_path, redis, redis_url, prefix):
    articles = [
        article(72, "Old news"),  # make_article(n): n hours before NOW
        article(24, "Yesterday's news"),
        article(1, "Fresh news"),
        article(100, "Old but pinned"),
    ]
    source = "\n".join(
        [
            "block = [",
            '  { older_than = "2d", name = "too-old" },',
            "]",
            'keep = [{ words = ["news"] }, { field = "title", words = ["pinned"], older_than = "3d" }]',
        ]
    )
    chain, batch = await run_chain(tmp_path, redis_url, prefix, articles, source=source)
    assert titles(batch) == ["Yesterday's news", "Fresh news"]
    assert chain.rule_counts == {"blocked: too-old": 2}
    assert batch.dropped[0].reason == "blocked by too-old (older than 2d)"


async def test_a_catastrophic_regex_is_bounded_by_its_timeout_and_counted(
    tmp_path, upstream, redis, redis_url, prefix
):
    # (a+)+$ backtracks on it: unbounded, about 2 s here (titles are capped at 1000 chars).
    hostile = "a" * 990 + "b"
    feed = [
        Item("g0", hostile, "https://up.example/0", NOW, "<p>one</p>"),
        Item("g1", hostile + "b", "https://up.example/1", NOW - timedelta(hours=1), "<p>two</p>"),
        Item("g2", "aaaa", "https://up.example/2", NOW - timedelta(hours=2), "<p>three</p>"),
        Item("g3", "plain", "https://up.example/3", NOW - timedelta(hours=3), "<p>four</p>"),
    ]
    upstream.put("/f.rss", rss(feed), "application/rss+xml")
    filters = '[filters]\nblock = [{ field = "title", regex = "(a+)+$" }]'
    config = load(tmp_path, config_text(redis_url, prefix, upstream.url("/f.rss"), filters=filters))
    assert config.filters.regex_timeout == 0.05  # the default: 50 ms per rule and article
    runtime = Runtime.open(config, redis_url)
    try:
        report = await ingest_source(runtime, "s1", now=NOW)
        stored = await newest_articles(runtime.redis, runtime.keys, "tech", 10)
        health = await source_health(runtime, "s1", now=NOW)
    finally:
        await runtime.close()
    # A timeout is no match: both hostile titles are kept; "aaaa" matches quickly and is blocked.
    assert sorted(a.title for a in stored) == sorted([hostile, hostile + "b", "plain"])
    assert report.counts["filtered"] == 1
    assert report.rule_counts == {"blocked: filters.block[0]": 1, "regex timeout: filters.block[0]": 2}
    assert health.rule_counts == report.rule_counts
    timeouts = [w for w in health.warnings if "regex" in w]
    assert timeouts == ["filters.block[0]: regex /(a+)+$/ took over 50 ms on an article; counted as no match"]


async def test_regex_timeout_is_configurable_and_a_keep_rule_timing_out_does_not_keep(
    tmp_path, redis, redis_url, prefix
):
    filters = '[filters]\nregex_timeout = "10ms"\nkeep = [{ field = "title", regex = "(a+)+$" }]'
    articles = [article(1, "a" * 990 + "b"), article(2, "aaa")]
    chain, batch = await run_chain(tmp_path, redis_url, prefix, articles, filters=filters)
    assert titles(batch) == ["aaa"]
    assert chain.rule_counts == {"not kept: filters.keep": 1, "regex timeout: filters.keep[0]": 1}


async def test_no_rules_no_filter_step(tmp_path, redis, redis_url, prefix):
    chain, batch = await run_chain(tmp_path, redis_url, prefix, [article(1, "anything")])
    assert [step.name for step in chain.steps] == ["cluster"]  # only clustering, on by default
    assert titles(batch) == ["anything"]


@pytest.mark.parametrize(
    ("filters", "source", "key", "problem"),
    [
        (
            '[filters]\nblock = [{ regex = "(a" }]',
            "",
            "filters.block[0].regex",
            "bad regular expression '(a'",
        ),
        (
            "",
            'block = [{ words = ["x"] }, { field = "url", regex = "[promo" }]',
            "sources[0].block[1].regex",
            "bad regular expression '[promo'",
        ),
        ('[filters]\nkeep = [{ field = "title" }]', "", "filters.keep[0]", "needs at least one of words"),
        (
            "",
            'keep = [{ field = "body", words = ["x"] }]',
            "sources[0].keep[0].field",
            "unknown filter field",
        ),
        ("", 'block = [{ words = [" "] }]', "sources[0].block[0].words[0]", "must not be empty"),
        ('[filters]\nregex_timeout = "soon"', "", "filters.regex_timeout", "bad duration"),
        ("", 'block = [{ older_than = "-1d" }]', "sources[0].block[0].older_than", "bad duration"),
    ],
)
def test_bad_rules_are_one_line_config_errors_naming_the_key(tmp_path, filters, source, key, problem):
    with pytest.raises(ConfigError) as caught:
        load(
            tmp_path,
            config_text(
                "redis://127.0.0.1:6379/0", "t:", "https://up.example/f", filters=filters, source=source
            ),
        )
    assert caught.value.key == key
    assert problem in caught.value.problem
    assert "\n" not in str(caught.value)


def test_every_filter_key_is_documented_in_the_reference_config():
    """config/syndicator.toml is the commented reference: each new key appears there."""
    text = (REPO / "config" / "syndicator.toml").read_text(encoding="utf-8")
    assert "[filters]" in text
    for record in (Filters, FilterRule):
        for f in dataclasses.fields(record):
            assert re.search(rf"\b{f.name}\b", text), f"{record.__name__}.{f.name} is not documented"
    for key in ("keep", "block"):
        assert re.search(rf"^#?\s*{key}\s+", text, re.MULTILINE) or f"{key} =" in text, key
    assert load_config(REPO / "config" / "syndicator.toml", environ={}).filters == Filters()


async def test_regex_filters_do_not_change_what_the_feed_stores_without_a_match(
    tmp_path, upstream, redis, redis_url, prefix
):
    upstream.put("/f.rss", rss(items("rss", 3)), "application/rss+xml")
    filters = '[filters]\nblock = [{ field = "url", regex = "(?i)/nowhere/" }]'
    config = load(tmp_path, config_text(redis_url, prefix, upstream.url("/f.rss"), filters=filters))
    runtime = Runtime.open(config, redis_url)
    try:
        report = await ingest_source(runtime, "s1")
    finally:
        await runtime.close()
    assert report.counts == {"new": 3}
    assert report.rule_counts == {}


def test_a_reload_that_changes_only_filters_says_so(tmp_path):
    url = "https://up.example/f.rss"
    running = load(tmp_path, config_text("redis://127.0.0.1:6379/0", "t:", url))
    loaded = load(
        tmp_path,
        config_text("redis://127.0.0.1:6379/0", "t:", url, filters='[filters]\nblock = [{ words = ["x"] }]'),
    )
    change = plan_change(running, loaded)
    assert change.summary() == "filters changed"
    assert change.config.filters.block[0].words == ("x",)

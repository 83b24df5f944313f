"""What a feed path names, and what a wrong one is told (syndicator/web/target.py).

`/feeds/{slug}[+{slug}…].{rss|atom|json}`: the message of a TargetError is the body of
the 404 a reader sees, so it must say what was wrong and what would be right.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from syndicator.runtime import Runtime
from syndicator.web.target import MAX_COMBINED, FeedTarget, TargetError, parse_target
from tests.builders import write_config


@pytest.fixture
async def runtime(tmp_path, redis_url, prefix) -> AsyncIterator[Runtime]:
    config = write_config(
        tmp_path,
        redis_url=redis_url,
        prefix=prefix,
        sources=[],
        categories=[
            {"slug": "tech", "title": "Technology"},
            {"slug": "qinggan", "title": "情感"},
            {"slug": "qinggan/gushi", "title": "故事"},
        ]
        + [{"slug": f"c{i}", "title": f"C{i}"} for i in range(MAX_COMBINED)],
    )
    opened = Runtime.open(config, redis_url)
    yield opened
    await opened.close()


@pytest.mark.parametrize(
    ("name", "slugs", "fmt"),
    [
        ("tech.rss", ("tech",), "rss"),
        ("qinggan/gushi.atom", ("qinggan/gushi",), "atom"),
        ("all.json", ("all",), "json"),
        ("tech+qinggan/gushi.json", ("tech", "qinggan/gushi"), "json"),
        ("tech+qinggan+tech.rss", ("tech", "qinggan"), "rss"),  # a repeat counts once, order kept
    ],
)
def test_feed_paths(runtime, name, slugs, fmt):
    target = parse_target(runtime, name)

    assert target == FeedTarget(slugs, fmt)
    assert target.name == "+".join(slugs)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("tech.xml", "unknown feed format 'xml' in 'tech.xml': use .rss, .atom or .json"),
        ("tech.RSS", "unknown feed format 'RSS' in 'tech.RSS': use .rss, .atom or .json"),
        ("qinggan/lianzai.rss", "no category 'qinggan/lianzai'; categories: "),
        ("tech+nope.atom", "no category 'nope'; categories: "),
        ("tech+.rss", "no category ''; categories: "),
    ],
)
def test_wrong_paths_say_what_is_wrong(runtime, name, message):
    with pytest.raises(TargetError) as caught:
        parse_target(runtime, name)

    assert str(caught.value).startswith(message)


def test_a_path_without_an_extension_is_told_the_formats(runtime):
    with pytest.raises(TargetError) as caught:
        parse_target(runtime, "tech")

    assert str(caught.value) == "unknown feed format: 'tech' has no extension; use .rss, .atom or .json"


def test_unknown_category_lists_the_known_ones_sorted(runtime):
    with pytest.raises(TargetError) as caught:
        parse_target(runtime, "sport.rss")

    known = str(caught.value).split("categories: ", 1)[1]
    assert known.split(", ")[:4] == ["all", "c0", "c1", "c2"]
    assert "qinggan, qinggan/gushi, tech" in known


def test_at_most_ten_categories_combine(runtime):
    ten = "+".join(f"c{i}" for i in range(MAX_COMBINED))
    assert len(parse_target(runtime, f"{ten}.rss").slugs) == MAX_COMBINED

    with pytest.raises(TargetError) as caught:
        parse_target(runtime, f"{ten}+tech.rss")
    assert str(caught.value) == f"at most {MAX_COMBINED} categories can be combined, got 11"

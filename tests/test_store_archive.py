"""Archive pages: which exist, what a missing one is told, how they link
(syndicator/store/archive.py).

The end-to-end behaviour over HTTP is in test_archives.py; this module pins the pieces a
reader meets directly: the error text naming the pages that do exist, the RFC 5005 link
relations (prev-archive / next-archive / current; JSON Feed's `next_url` points to the
OLDER page), and that an item retention removed never shows on its page, even before the
next publish renumbers.
"""

from __future__ import annotations

import pytest

from syndicator.store.archive import (
    ArchiveError,
    ArchiveState,
    archive_links,
    archive_url,
    number_items,
    page_members,
    subscription_links,
)
from syndicator.store.keys import Keys

SITE = "https://feeds.example/"


@pytest.mark.parametrize(
    ("assigned", "described"),
    [
        (9, "category 'tech' has no archive pages yet (a page is archived once 10 items filled it)"),
        (19, "category 'tech' has archive page 1 only"),
        (30, "category 'tech' has archive pages 1 to 3"),
    ],
)
def test_only_full_pages_are_archives_and_the_error_says_which_exist(assigned, described):
    state = ArchiveState("tech", per_page=10, assigned=assigned)

    assert state.describe() == described
    with pytest.raises(ArchiveError) as caught:
        state.check_page(state.complete_pages + 1)
    assert str(caught.value) == f"no archive page {state.complete_pages + 1}: {described}"
    with pytest.raises(ArchiveError):
        state.check_page(0)


def test_page_ranges_start_with_the_oldest():
    state = ArchiveState("tech", per_page=10, assigned=30)

    assert [state.page_range(n) for n in (1, 2, 3)] == [(1, 10), (11, 20), (21, 30)]


def test_archive_urls_keep_slug_slashes_and_encode_the_rest():
    assert archive_url(SITE, "qinggan/gushi", 2, "atom") == f"{SITE}archive/qinggan/gushi/2.atom"
    assert archive_url(SITE, "情感", 1, "json") == f"{SITE}archive/%E6%83%85%E6%84%9F/1.json"


def test_xml_archive_pages_link_both_ways_and_to_the_current_feed():
    state = ArchiveState("tech", per_page=10, assigned=35)  # pages 1 to 3

    assert archive_links(SITE, state, 1, "rss") == {
        "current": f"{SITE}feeds/tech.rss",
        "next-archive": f"{SITE}archive/tech/2.rss",
    }
    assert archive_links(SITE, state, 2, "atom") == {
        "current": f"{SITE}feeds/tech.atom",
        "prev-archive": f"{SITE}archive/tech/1.atom",
        "next-archive": f"{SITE}archive/tech/3.atom",
    }
    # The newest archive page reaches newer items through `current` only.
    assert archive_links(SITE, state, 3, "rss") == {
        "current": f"{SITE}feeds/tech.rss",
        "prev-archive": f"{SITE}archive/tech/2.rss",
    }


def test_json_archive_pages_only_point_to_older_items():
    state = ArchiveState("tech", per_page=10, assigned=35)

    assert archive_links(SITE, state, 1, "json") == {}
    assert archive_links(SITE, state, 3, "json") == {"next": f"{SITE}archive/tech/2.json"}


def test_the_subscription_feed_points_to_the_newest_archive_page():
    assert subscription_links(SITE, ArchiveState("tech", 10, 9), "rss") == {}
    assert subscription_links(SITE, ArchiveState("tech", 10, 35), "atom") == {
        "prev-archive": f"{SITE}archive/tech/3.atom"
    }
    assert subscription_links(SITE, ArchiveState("tech", 10, 35), "json") == {
        "next": f"{SITE}archive/tech/3.json"
    }


async def test_an_item_retention_removed_never_shows_on_its_page(redis, prefix):
    keys = Keys(prefix)
    await redis.zadd(keys.category_index("tech"), {f"id-{n}": n for n in range(4)})
    state = await number_items(redis, keys, "tech", per_page=2)
    assert await page_members(redis, keys, state, 1) == ["id-0", "id-1"]

    await redis.zrem(keys.category_index("tech"), "id-0")  # retention, before the next publish

    assert await page_members(redis, keys, state, 1) == ["id-1"]
    assert await page_members(redis, keys, state, 2) == ["id-2", "id-3"]
    with pytest.raises(ArchiveError, match="no archive page 3"):
        await page_members(redis, keys, state, 3)

"""Published feed bodies in Redis (syndicator/store/feeds.py).

Every web process serves the same stored bytes under the same validators, so a client
can poll any of them and get a 304. Checked against a real Redis: each version gets the
next number; each content coding has its own strong ETag and decodes to the same body;
Last-Modified is whole seconds in UTC; a validators-only read carries no body; the recent
publication times are kept newest first; a process that publishes hears about it at once.
"""

from __future__ import annotations

import gzip
import threading
from datetime import timedelta, timezone

import brotli

from syndicator.store import feeds
from syndicator.store.feeds import load_feed, load_feed_all, save_version, stored_digest, version_times
from syndicator.store.keys import Keys
from tests.builders import BASE_TIME

BODY = "<rss><channel><title>Technology · 技术</title></channel></rss>".encode()
RENDERED = {"rss": (BODY, "application/rss+xml; charset=utf-8")}
BASE = "http://feeds.test/"


async def test_versions_count_up_and_each_coding_has_its_own_etag(redis, prefix):
    keys = Keys(prefix)
    first = await save_version(redis, keys, "tech", RENDERED, ttl_minutes=30, now=BASE_TIME, base_url=BASE)
    second = await save_version(redis, keys, "tech", RENDERED, ttl_minutes=30, now=BASE_TIME, base_url=BASE)

    stored = await load_feed_all(redis, keys, "tech", "rss")

    assert (first, second) == (1, 2)
    assert stored is not None and stored.version == 2
    assert stored.media_type == "application/rss+xml; charset=utf-8"
    assert stored.ttl_minutes == 30
    assert stored.bodies["identity"] == BODY
    assert gzip.decompress(stored.bodies["gzip"]) == BODY
    assert brotli.decompress(stored.bodies["br"]) == BODY
    etags = [stored.etag(c) for c in ("identity", "gzip", "br")]
    assert etags[0].startswith('"v2-rss-') and etags[0].endswith('"')
    assert etags[1] == etags[0][:-1] + '-gzip"' and etags[2] == etags[0][:-1] + '-br"'
    assert await stored_digest(redis, keys, "tech", "rss") == feeds.content_digest(BODY)


def test_equal_bodies_compress_to_equal_bytes():
    assert feeds.compress(BODY) == feeds.compress(BODY)  # gzip carries no timestamp


async def test_a_version_stores_each_format_compressed_on_the_publish_threads(redis, prefix, monkeypatch):
    """A publish compresses its three formats on `COMPRESS_THREADS` threads, before its
    transaction: each stored coding is exactly what `compress` gives for that format."""
    keys = Keys(prefix)
    rendered = {
        fmt: (BODY.replace(b"Technology", fmt.encode() * (n + 1) * 500), f"text/{fmt}")
        for n, fmt in enumerate(("rss", "atom", "json"))
    }
    used: set[str] = set()
    original = feeds._one

    def recorded(coding: str, body: bytes) -> bytes:
        used.add(threading.current_thread().name)
        return original(coding, body)

    monkeypatch.setattr(feeds, "_one", recorded)
    await save_version(redis, keys, "tech", rendered, ttl_minutes=30, now=BASE_TIME, base_url=BASE)
    assert used and all(name.startswith("publish-compress") for name in used)
    for fmt, (body, media_type) in rendered.items():
        stored = await load_feed_all(redis, keys, "tech", fmt)
        assert stored is not None and stored.media_type == media_type
        assert stored.bodies == feeds.compress(body)


async def test_last_modified_is_whole_seconds_in_utc(redis, prefix):
    keys = Keys(prefix)
    beijing = timezone(timedelta(hours=8))
    now = BASE_TIME.astimezone(beijing) + timedelta(microseconds=654321)
    await save_version(redis, keys, "tech", RENDERED, ttl_minutes=60, now=now, base_url=BASE)

    stored = await load_feed(redis, keys, "tech", "rss", "gzip")

    assert stored is not None
    assert stored.last_modified == BASE_TIME
    assert stored.last_modified_http == "Fri, 20 Nov 2026 08:00:00 GMT"
    assert list(stored.bodies) == ["gzip"]


async def test_validators_only_read_and_unpublished_feeds(redis, prefix):
    keys = Keys(prefix)
    await save_version(redis, keys, "tech", RENDERED, ttl_minutes=60, now=BASE_TIME, base_url=BASE)

    validators_only = await load_feed(redis, keys, "tech", "rss", None)

    assert validators_only is not None and validators_only.bodies == {}
    assert await load_feed(redis, keys, "tech", "atom", None) is None
    assert await load_feed_all(redis, keys, "sport", "rss") is None


async def test_recent_publication_times_newest_first_and_bounded(redis, prefix):
    keys = Keys(prefix)
    for hour in range(feeds.VERSION_HISTORY + 3):
        await save_version(
            redis,
            keys,
            "tech",
            RENDERED,
            ttl_minutes=60,
            now=BASE_TIME + timedelta(hours=hour),
            base_url=BASE,
        )

    times = await version_times(redis, keys, "tech")

    assert len(times) == feeds.VERSION_HISTORY
    assert times[0] == BASE_TIME + timedelta(hours=feeds.VERSION_HISTORY + 2)
    assert times == sorted(times, reverse=True)


async def test_a_publishing_process_hears_of_its_own_publish(redis, prefix, monkeypatch):
    heard: list[str] = []
    monkeypatch.setattr(feeds, "local_publish_listeners", [heard.append])

    await save_version(
        redis, Keys(prefix), "qinggan/gushi", RENDERED, ttl_minutes=60, now=BASE_TIME, base_url=BASE
    )

    assert heard == ["qinggan/gushi"]

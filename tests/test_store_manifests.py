"""What each published version contained, for feed deltas (syndicator/store/manifests.py).

A delta sends a reader the items its version lacks, so the manifest must: list the items
in feed order; give an item a new digest whenever anything a reader sees in it changes
(tags too, even when `date_modified` stays); name each format's ETag exactly as the stored
feed does (or no client's ETag would ever be recognised); and refuse unreadable input
with a message. Storage and trimming run against a real Redis.
"""

from __future__ import annotations

import json

import pytest

from syndicator.store.feeds import load_feed, save_version
from syndicator.store.keys import Keys
from syndicator.store.manifests import (
    ManifestError,
    build_manifest,
    load_manifests,
    manifest_from_json,
    manifest_to_json,
    record_version,
    versions_to_drop,
)
from tests.builders import BASE_TIME

BASE = "http://feeds.test/"


def json_body(*items: dict) -> bytes:
    return json.dumps(
        {"version": "https://jsonfeed.org/version/1.1", "title": "T", "items": list(items)}
    ).encode()


ITEM_A = {"id": "urn:uuid:a", "title": "A", "date_modified": "2026-11-20T08:00:00Z", "tags": ["x"]}
ITEM_B = {"id": "urn:uuid:b", "title": "B", "date_modified": "2026-11-19T08:00:00Z"}


def rendered(*items: dict) -> dict[str, tuple[bytes, str]]:
    return {
        "json": (json_body(*items), "application/feed+json"),
        "rss": (b"<rss>" + str(len(items)).encode() + b"</rss>", "application/rss+xml"),
    }


def test_items_in_feed_order_with_their_update_times():
    manifest = build_manifest(4, rendered(ITEM_A, ITEM_B))

    assert manifest.version == 4
    assert [(i.id, i.updated) for i in manifest.items] == [
        ("urn:uuid:a", "2026-11-20T08:00:00Z"),
        ("urn:uuid:b", "2026-11-19T08:00:00Z"),
    ]
    assert set(manifest.etags) == {"json", "rss"}


def test_the_digest_moves_with_anything_a_reader_sees():
    base = build_manifest(1, rendered(ITEM_A)).digests()["urn:uuid:a"]
    retagged = build_manifest(2, rendered({**ITEM_A, "tags": ["x", "y"]})).digests()["urn:uuid:a"]
    reordered_keys = build_manifest(3, rendered(dict(reversed(ITEM_A.items())))).digests()["urn:uuid:a"]

    assert retagged != base
    assert reordered_keys == base  # the same item, whatever order its keys were written in


async def test_manifest_etags_are_the_etags_the_stored_feed_serves(redis, prefix):
    keys = Keys(prefix)
    bodies = rendered(ITEM_A, ITEM_B)
    version = await save_version(redis, keys, "tech", bodies, ttl_minutes=30, now=BASE_TIME, base_url=BASE)

    manifest = build_manifest(version, bodies)

    for fmt in bodies:
        stored = await load_feed(redis, keys, "tech", fmt, None)
        assert stored is not None
        assert manifest.etags[fmt] == stored.etag_base


@pytest.mark.parametrize(
    ("bodies", "message"),
    [
        ({"rss": (b"<rss/>", "application/rss+xml")}, "version 5: no JSON Feed body to take the items from"),
        (
            {"json": (b"{not json", "application/feed+json")},
            "version 5: JSON Feed body has no readable items",
        ),
        (
            {"json": (b'{"title": "T"}', "application/feed+json")},
            "version 5: JSON Feed body has no readable items",
        ),
        (
            {"json": (json_body(ITEM_A, {"title": "no id"}), "")},
            "version 5: JSON Feed item 1 has no string id",
        ),
    ],
)
def test_unreadable_bodies_are_refused_with_a_reason(bodies, message):
    with pytest.raises(ManifestError) as caught:
        build_manifest(5, bodies)
    assert str(caught.value).startswith(message)


def test_json_round_trip_and_unreadable_stored_manifests():
    manifest = build_manifest(9, rendered(ITEM_A, ITEM_B))

    assert manifest_from_json(manifest_to_json(manifest)) == manifest
    assert manifest_from_json(manifest_to_json(manifest).encode()) == manifest
    with pytest.raises(ManifestError, match="stored manifest is unreadable"):
        manifest_from_json('{"version": 9, "items": [["only-an-id"]], "etags": {}}')


def test_versions_beyond_the_newest_are_dropped():
    assert versions_to_drop([3, 9, 5, 7], 2) == [5, 3]
    assert versions_to_drop([3, 9], 2) == []


async def test_recorded_versions_load_back_and_missing_ones_are_absent(redis, prefix):
    keys = Keys(prefix)
    await record_version(redis, keys, "tech", 1, rendered(ITEM_B))
    await record_version(redis, keys, "tech", 2, rendered(ITEM_A, ITEM_B))

    loaded = await load_manifests(redis, keys, "tech", [2, 1, 99])

    assert sorted(loaded) == [1, 2]
    assert loaded[2] == build_manifest(2, rendered(ITEM_A, ITEM_B))
    assert [i.id for i in loaded[1].items] == ["urn:uuid:b"]
    assert await load_manifests(redis, keys, "other", [1]) == {}
    assert await load_manifests(redis, keys, "tech", []) == {}

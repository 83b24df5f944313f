"""What each recent feed version contained, so a delta (RFC 3229 `A-IM: feed`) can be computed.

At every new version publish stores the version's manifest: its items in feed order, each
with its id, its `updated` time and a digest of the item as rendered, plus the ETag base of
each format. A delta between two versions is then "the items of the newer one whose digest
the older one does not have" — new items and edited ones, never unchanged ones.

The manifest is derived from the JSON Feed body publish is about to store (every format
renders the same items in the same order with the same ids), so it describes exactly what
the version shows. The digest covers the whole rendered item, not only `updated`: a merge
from a second source changes an item's tags without moving its `updated`, and a reader
holding the old version should still get the edited item.

All manifests of a category live in one hash (version → JSON); saving one and trimming the
hash to the newest `KEEP_VERSIONS` happen in one optimistic transaction, so saving twice
(a retried job) changes nothing and two publishers saving at once both keep the newest.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import WatchError

from syndicator.errors import SyndicatorError
from syndicator.store.atomic import atomic
from syndicator.store.feeds import content_digest
from syndicator.store.keys import Keys

KEEP_VERSIONS = 32  # manifests kept per category; an older ETag gets the full feed


class ManifestError(SyndicatorError, ValueError):
    """A rendered body or stored manifest that cannot be read; the message says what."""


@dataclass(frozen=True)
class ManifestItem:
    id: str  # the item's id as every format shows it (guid, Atom id, JSON id)
    updated: str  # RFC 3339, as the feed shows it
    digest: str  # of the rendered JSON item: moves whenever anything a reader sees moves


@dataclass(frozen=True)
class Manifest:
    version: int
    items: tuple[ManifestItem, ...]  # feed order, newest first
    etags: dict[str, str]  # fmt → ETag base of that version (unquoted, no coding suffix)

    def digests(self) -> dict[str, str]:
        return {item.id: item.digest for item in self.items}


def etag_base(version: int, fmt: str, body: bytes) -> str:
    """The ETag base save_version gives `body` (store/feeds.py: v{version}-{fmt}-{digest12})."""
    return f"v{version}-{fmt}-{content_digest(body)[:12]}"


def item_digest(item: dict[str, Any]) -> str:
    canonical = json.dumps(item, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def build_manifest(version: int, rendered: dict[str, tuple[bytes, str]]) -> Manifest:
    """The manifest of `version` from publish's rendered bodies (fmt → (body, media type))."""
    if "json" not in rendered:
        raise ManifestError(f"version {version}: no JSON Feed body to take the items from")
    try:
        items = json.loads(rendered["json"][0])["items"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ManifestError(f"version {version}: JSON Feed body has no readable items: {exc}") from exc
    entries: list[ManifestItem] = []
    for position, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            raise ManifestError(f"version {version}: JSON Feed item {position} has no string id")
        entries.append(ManifestItem(item["id"], str(item.get("date_modified", "")), item_digest(item)))
    etags = {fmt: etag_base(version, fmt, body) for fmt, (body, _media) in rendered.items()}
    return Manifest(version, tuple(entries), etags)


def manifest_to_json(manifest: Manifest) -> str:
    return json.dumps(
        {
            "version": manifest.version,
            "items": [[i.id, i.updated, i.digest] for i in manifest.items],
            "etags": manifest.etags,
        },
        ensure_ascii=False,
        separators=(",", ":"),
        sort_keys=True,
    )


def manifest_from_json(raw: str | bytes) -> Manifest:
    try:
        data = json.loads(raw)
        return Manifest(
            int(data["version"]),
            tuple(ManifestItem(str(i), str(u), str(d)) for i, u, d in data["items"]),
            {str(k): str(v) for k, v in data["etags"].items()},
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise ManifestError(f"stored manifest is unreadable: {exc}") from exc


def versions_to_drop(stored: list[int], keep: int) -> list[int]:
    """The stored versions beyond the newest `keep` ones."""
    return sorted(stored, reverse=True)[keep:]


async def save_manifest(redis: Redis, keys: Keys, slug: str, manifest: Manifest) -> None:
    """Store `manifest` and trim the category's manifests to the newest KEEP_VERSIONS, atomically."""
    key = keys.manifests(slug)
    value = manifest_to_json(manifest)
    while True:
        async with atomic(redis) as pipe:
            try:
                await pipe.watch(key)
                stored = {int(v) for v in await pipe.hkeys(key)} | {manifest.version}
                doomed = versions_to_drop(list(stored), KEEP_VERSIONS)
                pipe.multi()
                if manifest.version not in doomed:
                    pipe.hset(key, str(manifest.version), value)
                if doomed:
                    pipe.hdel(key, *(str(v) for v in doomed))
                await pipe.execute()
                return
            except WatchError:
                continue


async def record_version(
    redis: Redis, keys: Keys, slug: str, version: int, rendered: dict[str, tuple[bytes, str]]
) -> None:
    """Publish's hook: the manifest of the `version` just saved from `rendered`."""
    await save_manifest(redis, keys, slug, build_manifest(version, rendered))


async def load_manifests(redis: Redis, keys: Keys, slug: str, versions: list[int]) -> dict[int, Manifest]:
    """The kept manifests among `versions` (missing ones are simply absent)."""
    if not versions:
        return {}
    raws = await redis.hmget(keys.manifests(slug), [str(v) for v in versions])
    return {v: manifest_from_json(raw) for v, raw in zip(versions, raws, strict=True) if raw}


async def kept_versions(redis: Redis, keys: Keys, slug: str) -> list[int]:
    """The versions whose manifest is kept, newest first."""
    return sorted((int(v) for v in await redis.hkeys(keys.manifests(slug))), reverse=True)

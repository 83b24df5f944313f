"""The raw input kept per article, so changed rules can be re-applied without fetching.

`syndicator reprocess` (operate/reprocess.py) re-runs extraction, normalisation, category
mapping and the filters on what is kept here. A page keeps its response bytes and headers
(and the final URL); a feed item keeps the parsed entry as the parser produced it and the
feed-level context it was normalised with. Articles a filter blocked keep theirs too,
marked blocked, so a loosened rule brings them back.

A feed item of a `full_text` source also keeps the page its full text was read from
(`page`: the page's response bytes and headers, as a page source's), so reprocess extracts
that page again rather than keep the old body or fetch it again. A new input of the same
item (the feed lists it again) keeps the page it had.

Each input is one hash (`Keys.raw_input`), its blobs zlib-compressed JSON; `size` counts
both. Bounds, oldest first out: per source `raw_per_source` articles and
`raw_per_source_bytes` compressed bytes; in all `raw_total_bytes`, or `raw_share` of Redis
`maxmemory` when that is less.
"""

from __future__ import annotations

import base64
import json
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import ResponseError

from syndicator.errors import SyndicatorError
from syndicator.models import Settings
from syndicator.store.atomic import atomic, is_cluster
from syndicator.store.keys import Keys

TOTAL = "*"  # the field of `raw_bytes` that counts every source


class RawInputError(SyndicatorError):
    """A kept raw input that cannot be read back (corrupt, or of an unknown kind)."""


@dataclass(frozen=True)
class RawInput:
    """One article's kept input. `kind` is `page` or `feed`; `data` the decoded JSON."""

    article_id: str
    source_id: str
    kind: str
    blocked: bool
    at: float
    data: Mapping[str, Any]
    page: Mapping[str, Any] | None = None  # a feed item's full-text page (`page_input`)

    @property
    def body(self) -> bytes:
        """A page's response bytes."""
        return page_body(self.data)


def page_body(data: Mapping[str, Any]) -> bytes:
    """The response bytes of a `page_input`."""
    return base64.b64decode(data["body"])


def page_input(body: bytes, headers: Mapping[str, str], final_url: str, status: int) -> dict[str, Any]:
    """The raw input of a page: its response bytes, headers, final URL and status."""
    return {
        "body": base64.b64encode(body).decode("ascii"),
        "headers": dict(headers),
        "final_url": final_url,
        "status": status,
    }


async def global_limit(redis: Redis, settings: Settings) -> int:
    """`raw_total_bytes`, or `raw_share` of Redis maxmemory when that is set and less.

    On a cluster, the maxmemory of all its masters together (raw inputs spread over them
    with their articles' hash tags), and none when any master has none."""
    limit = settings.raw_total_bytes
    try:
        if is_cluster(redis):
            per_master = await redis.config_get("maxmemory", target_nodes=RedisCluster.PRIMARIES)  # type: ignore[call-arg]
            answers = list(per_master.values())
        else:
            answers = [await redis.config_get("maxmemory")]
    except ResponseError:  # CONFIG refused (a managed Redis): the configured bound alone
        return limit
    memories = [int(answer.get("maxmemory", 0) or 0) for answer in answers]
    if memories and all(memory > 0 for memory in memories):
        limit = min(limit, int(sum(memories) * settings.raw_share))
    return limit


async def keep_raw(
    redis: Redis,
    keys: Keys,
    settings: Settings,
    *,
    article_id: str,
    source_id: str,
    kind: str,
    data: Mapping[str, Any],
    blocked: bool,
    now: datetime,
) -> None:
    """Keep (or replace) one article's raw input, then apply the bounds."""
    await keep_raw_blob(
        redis,
        keys,
        settings,
        article_id=article_id,
        source_id=source_id,
        kind=kind,
        blob=_compress(data),
        blocked=blocked,
        now=now,
    )


def _compress(data: Mapping[str, Any]) -> bytes:
    return zlib.compress(json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode(), 6)


async def keep_raw_blob(
    redis: Redis,
    keys: Keys,
    settings: Settings,
    *,
    article_id: str,
    source_id: str,
    kind: str,
    blob: bytes,
    blocked: bool,
    now: datetime,
    bound: bool = True,
) -> None:
    """`keep_raw` for an input already compressed: `keep_raw_blobs` of one."""
    await keep_raw_blobs(
        redis, keys, settings, [(article_id, blob, blocked)], source_id=source_id, kind=kind, now=now
    )
    if bound:
        await apply_bounds(redis, keys, settings, source_id)


async def keep_raw_blobs(
    redis: Redis,
    keys: Keys,
    settings: Settings,
    inputs: Sequence[tuple[str, bytes, bool]],
    *,
    source_id: str,
    kind: str,
    now: datetime,
) -> None:
    """Keep (or replace) the inputs `(article id, compressed input, blocked)` of one source,
    as a feed's were compressed in the parse child, in two round trips however many there
    are (one per input each way made a 500-entry feed's 1,500 round trips). The bounds are
    left to one `apply_bounds` call after the batch."""
    if settings.raw_per_source <= 0 or not inputs:
        return
    # One input an id, the last (a feed may repeat an item): what keeping them one by one left.
    inputs = list({article_id: (article_id, blob, blocked) for article_id, blob, blocked in inputs}.values())
    async with redis.pipeline(transaction=False) as pipe:
        for article_id, _blob, _blocked in inputs:
            pipe.hmget(keys.raw_input(article_id), ["size", "source", "kind", "page"])
        olds = await pipe.execute()
    at = now.timestamp()
    added = 0
    async with atomic(redis) as pipe:
        for (article_id, blob, blocked), (old_size, old_source, old_kind, page) in zip(
            inputs, olds, strict=True
        ):
            if old_size is not None and old_source is not None:
                _queue_forget(pipe, keys, article_id, old_source.decode(), int(old_size))
            fields: dict[str, bytes | str] = {
                "blob": blob,
                "kind": kind,
                "source": source_id,
                "blocked": "1" if blocked else "0",
                "at": str(now.timestamp()),
            }
            if page is not None and kind == "feed" and old_kind == b"feed":  # the item's full text stays
                fields["page"] = page
            added += _queue_record(pipe, keys, article_id, fields)
        # The indexes and byte counts in one command each, not five commands an input: the
        # same writes (each input's old entries were removed above), a fifth of the commands.
        pipe.zadd(keys.raw_by_source(source_id), {article_id: at for article_id, _b, _k in inputs})
        pipe.zadd(keys.raw_sizes, {f"{source_id} {article_id}": at for article_id, _b, _k in inputs})
        pipe.hincrby(keys.raw_bytes, source_id, added)
        pipe.hincrby(keys.raw_bytes, TOTAL, added)
        await pipe.execute()


async def _write(
    redis: Redis, keys: Keys, article_id: str, source_id: str, fields: dict[str, bytes | str], at: float
) -> None:
    async with atomic(redis) as pipe:
        _queue_write(pipe, keys, article_id, source_id, fields, at)
        await pipe.execute()


def _queue_record(pipe: Pipeline, keys: Keys, article_id: str, fields: dict[str, bytes | str]) -> int:
    """Queue the write of an input's record (its size added); returns that size."""
    size = sum(len(fields[name]) for name in ("blob", "page") if name in fields)
    pipe.hset(keys.raw_input(article_id), mapping={**fields, "size": str(size)})
    return size


def _queue_write(
    pipe: Pipeline, keys: Keys, article_id: str, source_id: str, fields: dict[str, bytes | str], at: float
) -> None:
    size = _queue_record(pipe, keys, article_id, fields)
    pipe.zadd(keys.raw_by_source(source_id), {article_id: at})
    pipe.zadd(keys.raw_sizes, {f"{source_id} {article_id}": at})
    pipe.hincrby(keys.raw_bytes, source_id, size)
    pipe.hincrby(keys.raw_bytes, TOTAL, size)


async def keep_full_text_page(
    redis: Redis, keys: Keys, settings: Settings, *, article_id: str, data: Mapping[str, Any]
) -> bool:
    """Keep the page a feed item's full text was read from (`page_input`) beside the
    item's own input, within the same bounds. False (nothing kept) when the item keeps no
    input: it has expired, or the feed's input was never kept (`raw_per_source = 0`)."""
    key = keys.raw_input(article_id)
    fields = await redis.hgetall(key)
    if not fields or fields.get(b"kind") != b"feed" or b"blob" not in fields:
        return False
    source_id = fields[b"source"].decode()
    await _forget(redis, keys, article_id, source_id, int(fields.get(b"size", b"0")))
    kept: dict[str, bytes | str] = {k.decode(): v for k, v in fields.items() if k not in (b"size", b"page")}
    kept["page"] = _compress(data)
    await _write(redis, keys, article_id, source_id, kept, float(fields[b"at"]))
    await apply_bounds(redis, keys, settings, source_id)
    return True


async def mark_blocked(redis: Redis, keys: Keys, article_id: str, blocked: bool) -> None:
    """Record whether the filters now block the article (its input, if kept, stays)."""
    if await redis.exists(keys.raw_input(article_id)):
        await redis.hset(keys.raw_input(article_id), "blocked", "1" if blocked else "0")


async def _forget(redis: Redis, keys: Keys, article_id: str, source_id: str, size: int) -> None:
    async with atomic(redis) as pipe:
        _queue_forget(pipe, keys, article_id, source_id, size)
        await pipe.execute()


def _queue_forget(pipe: Pipeline, keys: Keys, article_id: str, source_id: str, size: int) -> None:
    pipe.delete(keys.raw_input(article_id))
    pipe.zrem(keys.raw_by_source(source_id), article_id)
    pipe.zrem(keys.raw_sizes, f"{source_id} {article_id}")
    pipe.hincrby(keys.raw_bytes, source_id, -size)
    pipe.hincrby(keys.raw_bytes, TOTAL, -size)


async def _drop_oldest(redis: Redis, keys: Keys, article_id: str, source_id: str) -> bool:
    size = await redis.hget(keys.raw_input(article_id), "size")
    if size is None:  # already gone: only the index entries are left
        await redis.zrem(keys.raw_by_source(source_id), article_id)
        await redis.zrem(keys.raw_sizes, f"{source_id} {article_id}")
        return False
    await _forget(redis, keys, article_id, source_id, int(size))
    return True


async def apply_bounds(redis: Redis, keys: Keys, settings: Settings, source_id: str) -> None:
    """Drop the oldest inputs until the source and the whole are within their bounds."""
    by_source = keys.raw_by_source(source_id)
    while True:
        count = await redis.zcard(by_source)
        size = int(await redis.hget(keys.raw_bytes, source_id) or 0)
        if count <= settings.raw_per_source and size <= settings.raw_per_source_bytes:
            break
        oldest = await redis.zrange(by_source, 0, 0)
        if not oldest:
            break
        await _drop_oldest(redis, keys, oldest[0].decode(), source_id)
    limit = await global_limit(redis, settings)
    while int(await redis.hget(keys.raw_bytes, TOTAL) or 0) > limit:
        oldest = await redis.zrange(keys.raw_sizes, 0, 0)
        if not oldest:
            break
        owner, _, article_id = oldest[0].decode().partition(" ")
        await _drop_oldest(redis, keys, article_id, owner)


async def source_raw_ids(redis: Redis, keys: Keys, source_id: str) -> list[str]:
    """The ids of the articles whose input `source_id` keeps, oldest first."""
    return [i.decode() for i in await redis.zrange(keys.raw_by_source(source_id), 0, -1)]


async def load_raw(redis: Redis, keys: Keys, article_id: str) -> RawInput | None:
    """One article's kept input, or None if it has expired (RawInputError if unreadable)."""
    fields = await redis.hgetall(keys.raw_input(article_id))
    if not fields or b"blob" not in fields:
        return None
    try:
        data = json.loads(zlib.decompress(fields[b"blob"]))
        page = json.loads(zlib.decompress(fields[b"page"])) if b"page" in fields else None
        return RawInput(
            article_id,
            fields[b"source"].decode(),
            fields[b"kind"].decode(),
            fields.get(b"blocked") == b"1",
            float(fields[b"at"]),
            data,
            page,
        )
    except (zlib.error, ValueError, KeyError) as exc:
        raise RawInputError(f"raw input of {article_id} unreadable: {exc}") from exc

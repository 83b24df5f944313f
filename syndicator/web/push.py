"""What a hub topic shows, for pushes: the web layer's side of `hub.fanout.TopicViews`.

A topic is one of our feed URLs (plain, filtered `?q=…`, combined `a+b`), normalised by
the hub when it was subscribed to. Its document is exactly what a reader fetching that URL
gets: a plain topic's stored bytes of the current version, a filtered or combined topic's
render (web/variants.py, the same renderer and the same self URL). The items come from
the JSON Feed form of the same state, with the digest store/manifests.py gives every
item, so "changed" means what it means for delta responses. A delivery is cut out of the
document by web/delta.py's byte-exact cut.
"""

from __future__ import annotations

from dataclasses import replace

from syndicator.hub.views import TopicDocument
from syndicator.render import FORMATS
from syndicator.runtime import Runtime
from syndicator.store.feeds import load_feed
from syndicator.store.manifests import ManifestItem, build_manifest, load_manifests
from syndicator.web.delta import cut_delta
from syndicator.web.query import FeedQuery
from syndicator.web.target import FeedTarget
from syndicator.web.topics import TopicRefused, normalise_topic
from syndicator.web.variants import read_states, render_variant


def parse_topic(runtime: Runtime, topic: str) -> tuple[FeedTarget, FeedQuery] | None:
    """The feed a stored topic URL names (web/topics.py reads it as the routes do), or None
    if it is not one of ours any more (its category removed by a reload, say)."""
    try:
        parsed = normalise_topic(runtime, topic)
    except TopicRefused:
        return None
    return parsed.target, parsed.query


class WebTopicViews:
    """`TopicViews` over the web layer's feed URLs and renderers."""

    def slugs_of(self, runtime: Runtime, topic: str) -> tuple[str, ...] | None:
        parsed = parse_topic(runtime, topic)
        return parsed[0].slugs if parsed else None

    async def document(self, runtime: Runtime, topic: str, changed: str) -> TopicDocument | None:
        parsed = parse_topic(runtime, topic)
        if parsed is None:
            return None
        target, query = parsed
        if len(target.slugs) == 1 and query.is_empty:
            return await plain_document(runtime, topic, target)
        return await variant_document(runtime, topic, target, query, changed)

    def cut(self, fmt: str, body: bytes, keep: set[str]) -> bytes:
        return cut_delta(fmt, body, keep)


async def items_of(runtime: Runtime, versions: dict[str, int]) -> tuple[ManifestItem, ...] | None:
    """The items of the categories' `versions` (slug → version; 0: nothing yet), from
    their kept manifests; None if one is not kept (then no baseline is known)."""
    items: dict[str, ManifestItem] = {}
    for slug, version in versions.items():
        if version <= 0:
            continue
        kept = await load_manifests(runtime.redis, runtime.keys, slug, [version])
        if version not in kept:
            return None
        for item in kept[version].items:
            items.setdefault(item.id, item)
    return tuple(items.values())


async def plain_document(runtime: Runtime, topic: str, target: FeedTarget) -> TopicDocument | None:
    """A plain topic: the stored bytes of the category's current version in its format."""
    slug, fmt = target.slugs[0], target.fmt
    for _ in range(3):  # a publish between the two reads: read again
        stored = await load_feed(runtime.redis, runtime.keys, slug, fmt, "identity")
        if stored is None:
            return None
        kept = await load_manifests(runtime.redis, runtime.keys, slug, [stored.version])
        manifest = kept.get(stored.version)
        if manifest is None:
            as_json = await load_feed(runtime.redis, runtime.keys, slug, "json", "identity")
            if as_json is None or as_json.version != stored.version:
                continue
            manifest = build_manifest(stored.version, {"json": (as_json.bodies["identity"], "")})
        return TopicDocument(
            topic=topic,
            fmt=fmt,
            media_type=stored.media_type,
            body=stored.bodies["identity"],
            items=manifest.items,
            baseline=await items_of(runtime, {slug: stored.version - 1}),
        )
    return None


async def variant_document(
    runtime: Runtime, topic: str, target: FeedTarget, query: FeedQuery, changed: str
) -> TopicDocument | None:
    """A filtered or combined topic: rendered as a reader of its URL would get it. Its
    baseline is a superset of what it showed before: every item of the categories before
    `changed`'s publish (an item in it is not new, whatever the filter makes of it)."""
    states = await read_states(runtime.redis, runtime.keys, target)
    if states is None:
        return None
    rendered = await render_variant(runtime, target, query, states)
    if target.fmt == "json":
        as_json = rendered
    else:
        as_json = await render_variant(runtime, replace(target, fmt="json"), query, states)
    manifest = build_manifest(0, {"json": (as_json.bodies["identity"], "")})
    return TopicDocument(
        topic=topic,
        fmt=target.fmt,
        media_type=FORMATS[target.fmt].media_type,
        body=rendered.bodies["identity"],
        items=manifest.items,
        baseline=await items_of(runtime, {s.slug: s.version - (s.slug == changed) for s in states}),
    )

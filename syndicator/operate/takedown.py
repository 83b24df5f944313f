"""Takedown: hide an article from every feed, archive and index, for good.

`hide` takes an article id, or a URL that it canonicalises the way ingest does
(`normalise.canonical_url`) and looks up through the URL index; the store removes the
article and tombstones its id and canonical URL (`store/takedown.py`), so no re-ingest —
forced, or through another source carrying the same URL — brings it back. Then each
category the article was in is published once more: through the queue when the caller
has one (a web process: a worker renders it), else inline (the command line). `unhide`
lifts the tombstones; the article returns only when a source lists it again.
"""

from __future__ import annotations

import logging
import re
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from syndicator.normalise import NormaliseError, canonical_url
from syndicator.operate.errors import BadArticleRef, UnknownArticle
from syndicator.publish import request_publish
from syndicator.runtime import Runtime
from syndicator.store.takedown import (
    Tombstone,
    hidden_id_for_url,
    hide_article,
    stored_id_for_url,
    tombstone,
    unhide_article,
)

log = logging.getLogger("syndicator.operate")

ARTICLE_ID = re.compile(r"^[0-9a-f]{32}$")


@dataclass(frozen=True)
class HideResult:
    """What a takedown did. `categories`: the ones it left and that are published again
    (`republish`: `queued` for a worker, `done` inline, `none` when it was hidden already)."""

    article_id: str
    url: str
    title: str
    source_id: str
    hidden_at: str
    already_hidden: bool
    categories: tuple[str, ...]
    republish: str

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def parse_ref(ref: str) -> tuple[str, str]:
    """`("id", id)` or `("url", canonical URL)`; BadArticleRef for anything else."""
    text = ref.strip()
    if ARTICLE_ID.match(text.lower()):
        return "id", text.lower()
    if text.lower().startswith(("http://", "https://")):
        try:
            return "url", canonical_url(text)
        except NormaliseError as exc:
            raise BadArticleRef(ref, str(exc)) from None
    raise BadArticleRef(ref)


async def resolve(runtime: Runtime, ref: str) -> str:
    """The id of the article `ref` names (an id, or a URL through the URL index or the
    tombstones); UnknownArticle when none is stored or hidden."""
    kind, value = parse_ref(ref)
    if kind == "id":
        return value
    found = await stored_id_for_url(runtime.redis, runtime.keys, value)
    found = found or await hidden_id_for_url(runtime.redis, runtime.keys, value)
    if found is None:
        raise UnknownArticle(ref)
    return found


async def hide(
    runtime: Runtime, ref: str, *, who: str, reason: str = "", now: datetime | None = None
) -> HideResult:
    """Take the article `ref` names down (see the module); what was done."""
    article_id = await resolve(runtime, ref)
    now = now or datetime.now(UTC)
    hidden = await hide_article(
        runtime.redis,
        runtime.keys,
        article_id,
        slugs=runtime.config.categories,
        now=now,
        who=who,
        reason=reason,
    )
    if hidden is None:
        raise UnknownArticle(ref)
    stone = hidden.tombstone
    slugs = [s for s in hidden.categories if s in runtime.config.categories]
    republish = "none"
    if slugs:
        await request_publish(runtime, slugs)
        republish = "queued" if runtime.queue is not None else "done"
    if not hidden.already:
        log.info(
            "article %s hidden (%s), %d categories to republish",
            article_id,
            stone.url,
            len(slugs),
            extra={"event": "article_hidden", "source_id": stone.source_id, "url": stone.url},
        )
    return HideResult(
        article_id=article_id,
        url=stone.url,
        title=stone.title,
        source_id=stone.source_id,
        hidden_at=stone.at,
        already_hidden=hidden.already,
        categories=tuple(slugs),
        republish=republish,
    )


async def unhide(runtime: Runtime, ref: str) -> Tombstone:
    """Lift the takedown of the article `ref` names; its tombstone. UnknownArticle when it
    is not hidden."""
    article_id = await resolve(runtime, ref)
    stone = await tombstone(runtime.redis, runtime.keys, article_id)
    if stone is None or await unhide_article(runtime.redis, runtime.keys, article_id) is None:
        raise UnknownArticle(ref)
    log.info("article %s no longer hidden", article_id, extra={"event": "article_unhidden", "url": stone.url})
    return stone

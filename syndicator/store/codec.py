"""Article records to and from JSON, the form they take in Redis.

JSON (not pickle) so that operators can read a record with `redis-cli GET` and so that a
record written by one version is readable by the next: fields added to Article later
(`images`, `upstream`) have defaults, so an older record reads with them empty.

A record carries `hash_version`, the definition its `content_hash` was computed under
(models.HASH_VERSION). Records written before store schema 1 have none: their hash is
under definition 1, and `article_from_json` says so (`LEGACY_HASH_VERSION`).
"""

from __future__ import annotations

import json
from dataclasses import fields
from datetime import datetime
from typing import Any

from syndicator.models import Article, Enclosure, Related, Upstream

LEGACY_HASH_VERSION = 1
"""The hash definition of a record that names none (written before store schema 1)."""


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


_ARTICLE_FIELDS = tuple(f.name for f in fields(Article))
_ENCLOSURE_FIELDS = tuple(f.name for f in fields(Enclosure))
_UPSTREAM_FIELDS = tuple(f.name for f in fields(Upstream))
_RELATED_FIELDS = tuple(f.name for f in fields(Related))


def _flat(value: Enclosure | Upstream | Related, names: tuple[str, ...]) -> dict[str, Any]:
    return {name: getattr(value, name) for name in names}


def article_to_json(article: Article, *, indexes: tuple[str, ...]) -> str:
    """Serialise `article`; `indexes` lists the category indexes it was added to.

    The same JSON as `dataclasses.asdict` gave, built field by field: asdict deep-copies
    every value and was four fifths of the cost of storing an article (about 45 µs of 56),
    which a 100,000-entry ingest pays on the event loop."""
    data: dict[str, Any] = {name: getattr(article, name) for name in _ARTICLE_FIELDS}
    data["enclosures"] = [_flat(e, _ENCLOSURE_FIELDS) for e in article.enclosures]
    data["images"] = [_flat(e, _ENCLOSURE_FIELDS) for e in article.images]
    data["related"] = [_flat(r, _RELATED_FIELDS) for r in article.related]
    if article.upstream is not None:
        data["upstream"] = _flat(article.upstream, _UPSTREAM_FIELDS)
    for key in ("published", "updated", "first_seen"):
        value = data[key]
        data[key] = value.isoformat() if value else None
    data["indexes"] = list(indexes)
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def _related(data: dict[str, Any]) -> Related:
    """A `related` entry; its category lists come back from JSON as lists."""
    return Related(
        **{**data, "categories": tuple(data.get("categories", ())), "added": tuple(data.get("added", ()))}
    )


def article_from_json(raw: str | bytes) -> tuple[Article, tuple[str, ...]]:
    """The article and the category indexes it is in."""
    data = json.loads(raw)
    indexes = tuple(data.pop("indexes", ()))
    published = _dt(data.pop("published"))
    updated = _dt(data.pop("updated"))
    assert published is not None and updated is not None
    article = Article(
        **{
            **data,
            "published": published,
            "updated": updated,
            "first_seen": _dt(data.get("first_seen")),
            "categories": tuple(data["categories"]),
            "tags": tuple(data["tags"]),
            "sources": tuple(data.get("sources", ())),
            "enclosures": tuple(Enclosure(**e) for e in data.get("enclosures", ())),
            "images": tuple(Enclosure(**e) for e in data.get("images", ())),
            "upstream": Upstream(**data["upstream"]) if data.get("upstream") else None,
            "related": tuple(_related(r) for r in data.get("related", ())),
            "hash_version": data.get("hash_version", LEGACY_HASH_VERSION),
        }
    )
    return article, indexes

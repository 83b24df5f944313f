"""Article records to and from JSON, the form they take in Redis.

JSON (not pickle) so that operators can read a record with `redis-cli GET` and so that a
record written by one version is readable by the next.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from typing import Any

from syndicator.models import Article, Enclosure


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def article_to_json(article: Article, *, indexes: tuple[str, ...]) -> str:
    """Serialise `article`; `indexes` lists the category indexes it was added to."""
    data: dict[str, Any] = asdict(article)
    for key in ("published", "updated", "first_seen"):
        value = data[key]
        data[key] = value.isoformat() if value else None
    data["indexes"] = list(indexes)
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


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
        }
    )
    return article, indexes

"""Builders for the end-to-end tests: upstream documents and a config that points at them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

from syndicator.config import load_config
from syndicator.models import Article, Config

BASE_TIME = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Item:
    guid: str
    title: str
    link: str
    published: datetime
    body: str
    author: str | None = None


def items(prefix: str, n: int, *, start: datetime = BASE_TIME, step_hours: int = 1) -> list[Item]:
    return [
        Item(
            guid=f"{prefix}-{i}",
            title=f"{prefix} title {i}",
            link=f"https://{prefix}.example/posts/{i}",
            published=start - timedelta(hours=step_hours * i),
            body=f'<p>{prefix} body {i} with <a href="/rel/{i}">a relative link</a></p>',
            author=f"Author {i}" if i % 2 == 0 else None,
        )
        for i in range(n)
    ]


def rss(
    items_: list[Item], *, title: str = "Upstream RSS", encoding: str = "utf-8", extra: str = ""
) -> bytes:
    entries = "".join(
        f'<item><guid isPermaLink="false">{escape(i.guid)}</guid><title>{escape(i.title)}</title>'
        f"<link>{escape(i.link)}</link><pubDate>{format_datetime(i.published)}</pubDate>"
        f"<description>{escape(i.body)}</description>"
        + (f"<dc:creator>{escape(i.author)}</dc:creator>" if i.author else "")
        + "</item>"
        for i in items_
    )
    text = (
        f'<?xml version="1.0" encoding="{encoding}"?>'
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>'
        f"<title>{escape(title)}</title><link>https://upstream.example/</link>"
        f"<description>test</description>{extra}{entries}</channel></rss>"
    )
    return text.encode(encoding)


def atom(items_: list[Item], *, title: str = "Upstream Atom") -> bytes:
    entries = "".join(
        f"<entry><id>{escape(i.guid)}</id><title>{escape(i.title)}</title>"
        f'<link rel="alternate" href="{escape(i.link)}"/>'
        f"<published>{i.published.isoformat()}</published><updated>{i.published.isoformat()}</updated>"
        f'<content type="html">{escape(i.body)}</content>'
        + (f"<author><name>{escape(i.author)}</name></author>" if i.author else "")
        + "</entry>"
        for i in items_
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>{escape(title)}</title><id>urn:test:atom</id><updated>{BASE_TIME.isoformat()}</updated>"
        f"{entries}</feed>"
    ).encode()


def json_feed(items_: list[Item], *, title: str = "Upstream JSON") -> bytes:
    return json.dumps(
        {
            "version": "https://jsonfeed.org/version/1.1",
            "title": title,
            "items": [
                {
                    "id": i.guid,
                    "url": i.link,
                    "title": i.title,
                    "content_html": i.body,
                    "date_published": i.published.isoformat(),
                    **({"authors": [{"name": i.author}]} if i.author else {}),
                }
                for i in items_
            ],
        },
        ensure_ascii=False,
    ).encode()


def toml_value(value: object) -> str:
    """A TOML literal: strings, numbers and booleans as JSON writes them; arrays and tables inline."""
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def write_config(
    tmp_path: Path,
    *,
    redis_url: str,
    prefix: str,
    sources: list[dict[str, object]],
    categories: list[dict[str, object]],
    extra_server: str = "",
    public_url: str = "http://feeds.test/",
) -> Config:
    """A config file for the test's own prefix and queue, loaded with an empty environment."""
    lines = [
        "[server]",
        f'redis_url = "{redis_url}"',
        f'redis_prefix = "{prefix}"',
        f'queue_name = "{prefix}queue"',
        f'public_url = "{public_url}"',
        'job_timeout = "30s"',  # loose: parse children run niced, and starve on a busy machine
        extra_server,
        "",
    ]
    for category in categories:
        lines.append("[[categories]]")
        lines.extend(f"{k} = {toml_value(v)}" for k, v in category.items())
    for source in sources:
        lines.append("[[sources]]")
        lines.extend(f"{k} = {toml_value(v)}" for k, v in source.items())
    path = tmp_path / "syndicator.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return load_config(path, environ={})


def one_feed_config(
    tmp_path: Path,
    upstream,
    *,
    redis_url: str,
    prefix: str,
    path: str,
    source_id: str = "feed",
    slug: str = "tech",
    title: str = "Technology",
    **source: object,
) -> Config:
    """The common test world: one category fed by one loopback upstream feed at `path`."""
    return write_config(
        tmp_path,
        redis_url=redis_url,
        prefix=prefix,
        categories=[{"slug": slug, "title": title}],
        sources=[
            {
                "id": source_id,
                "url": upstream.url(path),
                "categories": [slug],
                "allow_private_network": True,
                **source,
            }
        ],
    )


STORE_TIME = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def make_article(
    n: int,
    *categories: str,
    source: str = "s1",
    url: str | None = None,
    body: str | None = None,
    now: datetime = STORE_TIME,
) -> Article:
    """A finished article `n` hours older than `now`, as normalise hands it to the store.

    Ids depend on the source, so the same `n` from two sources is two upstream items.
    """
    published = now - timedelta(hours=n)
    text = body if body is not None else f"Body {n}"
    return Article(
        id=f"{n:032x}" if source == "s1" else f"{n + 10_000:032x}",
        source_id=source,
        url=url or f"https://upstream.example/a/{n}",
        title=f"Article {n}",
        author=None,
        published=published,
        updated=published,
        published_raw=published.isoformat(),
        date_estimated=False,
        content_html=f"<p>{text}</p>",
        summary=text,
        categories=categories,
        tags=(),
        first_seen=now,
    ).hashed()

"""`syndicator extract URL|FILE`: show what extraction reads off a page, without storing it.

The operator's tool for writing and checking site rules: with `--source ID` it applies that
source's rules, time zone and category map, exactly as the page jobs would. `--explain`
says why: the blocks considered for the body, their scores and the reason one won, and
where the title and date came from (syndicator/extract/explain.py).
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from syndicator.errors import SyndicatorError
from syndicator.extract import ExtractError, extract_article
from syndicator.extract.body import BodyError
from syndicator.extract.explain import (
    Explanation,
    explain_page,
    explanation_json,
    explanation_text,
    json_text,
    printable,
)
from syndicator.fetch import Fetcher, FetchError
from syndicator.models import Config, ExtractedArticle, FetchLimits, Source, Validators
from syndicator.normalise.categories import map_categories


class ExtractCommandError(SyndicatorError):
    """A problem the operator can fix: bad path, unknown source, fetch failure, no article."""


async def _fetch(target: str, source: Source, limits: FetchLimits) -> tuple[bytes, str, str | None]:
    async with Fetcher(limits) as fetcher:
        try:
            result = await fetcher.fetch(replace(source, url=target), Validators())
        except FetchError as exc:
            raise ExtractCommandError(str(exc)) from None
    return result.body, result.final_url, result.headers.get("content-type")


def _read(target: str, url: str | None) -> tuple[bytes, str, str | None]:
    path = Path(target)
    try:
        body = path.read_bytes()
    except OSError as exc:
        raise ExtractCommandError(f"cannot read {target}: {exc.strerror or exc}") from None
    return body, url or path.resolve().as_uri(), None


# Without a source, naive page dates are read in this zone when the page is Chinese:
# Chinese CMS pages write local (China Standard Time) dates without an offset.
ZONE_BY_LANGUAGE = {"zh": "Asia/Shanghai"}


def _load(
    target: str, url: str | None, source_id: str | None, config: Config | None
) -> tuple[Source, bytes, str, str | None]:
    """The source whose rules apply, and the page: its bytes, URL and content type."""
    if source_id is not None:
        if config is None or source_id not in config.sources:
            known = ", ".join(config.sources) if config else "none"
            raise ExtractCommandError(f"unknown source {source_id!r} (known: {known})")
        source = config.sources[source_id]
    else:
        source = Source(id="extract", url=target, kind="page")
    if target.startswith(("http://", "https://")):
        limits = config.fetch if config else FetchLimits()
        body, final_url, content_type = asyncio.run(_fetch(target, source, limits))
        return source, body, url or final_url, content_type
    body, page_url, content_type = _read(target, url)
    return source, body, page_url, content_type


def _extract_loaded(
    source: Source,
    body: bytes,
    page_url: str,
    content_type: str | None,
    *,
    source_id: str | None,
    timezone: str | None,
    now: datetime | None,
) -> tuple[ExtractedArticle, tuple[str, ...]]:
    # Without a source or a zone given, the page's language picks the zone (in the same pass).
    guess_zone = timezone is None and source_id is None
    try:
        page = extract_article(
            body,
            page_url,
            content_type=content_type,
            timezone=timezone or source.timezone,
            rules=source.rules,
            now=now or datetime.now(UTC),
            encoding=source.encoding,
            zone_by_language=ZONE_BY_LANGUAGE if guess_zone else None,
        )
    except ExtractError as exc:
        raise ExtractCommandError(f"{page_url}: no article: {exc}") from None
    categories, _mapped = map_categories(page.category_path, source)
    return page, categories


def run_extract(
    target: str,
    *,
    url: str | None,
    source_id: str | None,
    config: Config | None,
    timezone: str | None = None,
    now: datetime | None = None,
) -> tuple[ExtractedArticle, tuple[str, ...]]:
    """The extracted page and the categories the source's map gives it."""
    source, body, page_url, content_type = _load(target, url, source_id, config)
    return _extract_loaded(
        source, body, page_url, content_type, source_id=source_id, timezone=timezone, now=now
    )


def run_explain(
    target: str,
    *,
    url: str | None,
    source_id: str | None,
    config: Config | None,
    timezone: str | None = None,
    now: datetime | None = None,
) -> tuple[ExtractedArticle | None, tuple[str, ...], Explanation]:
    """`run_extract`, and why: the page (None when it has no article) with its explanation.

    A page without an article is what an operator most needs explained, so extraction's
    error does not stop the explanation; only a page that is no HTML at all does."""
    source, body, page_url, content_type = _load(target, url, source_id, config)
    page: ExtractedArticle | None = None
    categories: tuple[str, ...] = ()
    error = None
    try:
        page, categories = _extract_loaded(
            source, body, page_url, content_type, source_id=source_id, timezone=timezone, now=now
        )
    except ExtractCommandError as exc:
        error = str(exc)
    try:
        explanation = explain_page(
            body,
            page_url,
            content_type=content_type,
            rules=source.rules,
            encoding=source.encoding,
            article=page,
            error=error,
        )
    except (ExtractError, BodyError, ValueError) as exc:
        raise ExtractCommandError(error or f"{page_url}: no article: {exc}") from None
    return page, categories, explanation


def published_as_given(page: ExtractedArticle) -> datetime | None:
    """The page's date in the offset the page itself stated, else in the source's zone.

    `published` is in the source's zone (the zone storage reads naive dates in); a page that
    writes `2022-05-07T20:06-05:00` should be shown as that, not as 05-08 in UTC.
    """
    if page.published is None or page.published_offset is None:
        return page.published
    return page.published.astimezone(timezone(page.published_offset))


def _offset_text(offset: timedelta | None) -> str | None:
    if offset is None:
        return None
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _offset_from(page: ExtractedArticle) -> str | None:
    """Whose offset `published` is shown in: the page's, or the zone assumed for it."""
    if page.published is None:
        return None
    if page.published_offset is not None:
        return "page"
    zone = getattr(page.published.tzinfo, "key", None) or str(page.published.tzinfo)
    return f"zone {zone} (assumed: the page states no offset)"


def as_json(page: ExtractedArticle, categories: tuple[str, ...]) -> dict[str, Any]:
    given = published_as_given(page)
    return {
        "url": page.url,
        "title": page.title,
        "category_path": list(page.category_path),
        "categories": list(categories),
        "source": page.source,
        "author": page.author,
        "published": given.isoformat() if given else None,
        "published_date": given.date().isoformat() if given else None,
        "published_precision": page.published_precision,
        "published_offset": _offset_text(given.utcoffset()) if given else None,
        "published_offset_from": _offset_from(page),
        # Storage converts to UTC (feeds, ordering); the fields above keep the page's offset.
        "published_utc": page.published.astimezone(UTC).isoformat() if page.published else None,
        "date_source": page.date_source,
        "language": page.language,
        "summary": page.summary,
        "paragraphs": list(page.paragraphs),
        "images": [{"src": i.src, "caption": i.caption, "alt": i.alt} for i in page.images],
        "content_html": page.content_html,
        "text": page.text,
        "warnings": list(page.warnings),
    }


def as_text(page: ExtractedArticle, categories: tuple[str, ...]) -> str:
    given = published_as_given(page)
    date = (
        f"{given.isoformat()} ({page.published_precision}, from {page.date_source})"
        if given
        else "none found (first-seen time will be used)"
    )
    if given and page.published_offset is not None:
        date += f"; offset as the page states it, stored as {given.astimezone(UTC).isoformat()}"
    lines = [
        f"url:        {page.url}",
        f"title:      {page.title}",
        f"breadcrumb: {' > '.join(page.category_path) or '(none)'}",
        f"categories: {', '.join(categories) or '(all only)'}",
        f"source:     {page.source or '(none)'}",
        f"author:     {page.author or '(none)'}",
        f"published:  {date}",
        f"language:   {page.language or '(unknown)'}",
        f"summary:    {page.summary}",
        f"paragraphs: {len(page.paragraphs)}; images: {len(page.images)}",
        "",
        *(f"  {i + 1}. {p}" for i, p in enumerate(page.paragraphs)),
        "",
        *(f"  [image] {img.src}" + (f" — {img.caption}" if img.caption else "") for img in page.images),
        *(f"warning: {w}" for w in page.warnings),
    ]
    return "\n".join(printable(line) for line in lines)  # page text must not drive the terminal


def render(page: ExtractedArticle, categories: tuple[str, ...], *, as_json_output: bool) -> str:
    if as_json_output:
        return json_text(as_json(page, categories))
    return as_text(page, categories)


def render_explain(
    page: ExtractedArticle | None,
    categories: tuple[str, ...],
    explanation: Explanation,
    *,
    as_json_output: bool,
) -> str:
    """`--explain`: the explanation alone as text; as JSON, the usual object with the
    explanation under "explain" (without an article: its URL, the error and "explain")."""
    if as_json_output:
        found = (
            as_json(page, categories)
            if page is not None
            else {"url": explanation.url, "error": explanation.error}
        )
        return json_text(found | {"explain": explanation_json(explanation)})
    return explanation_text(explanation)

"""Parsing and extraction of upstream bytes, in the parse pool and within the fetch limits.

The ingest code calls `bounded(runtime, body, fn, …)` where it used to call `fn(body, …)`:
the work runs in a child process of `runtime.pool` (never on the event loop that serves
requests), stopped after `fetch.parse_timeout` or at `fetch.parse_memory`. A document that
went over a limit is remembered by its digest (`store.overlimit`) and refused, unparsed,
until its bytes change; either way the caller gets `OverParseLimit`, whose reason its
failed `IngestReport` carries to `record_outcome`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from functools import partial
from typing import Any, TypeVar

from syndicator import metrics
from syndicator.discover import ListingPage, parse_listing
from syndicator.errors import SyndicatorError
from syndicator.extract.decode import decode_html
from syndicator.isolate import OverLimit
from syndicator.models import Source
from syndicator.normalise.feed import NormalisedFeed, normalise_feed
from syndicator.parse.limits import parse_bounded
from syndicator.runtime import Runtime
from syndicator.store.overlimit import OverLimitRecord, document_digest, over_limit, remember_over_limit

T = TypeVar("T")
log = logging.getLogger(__name__)

MAX_LOGGED = 100  # warnings one pool job passes back to be logged (see _Collected)

UNCHANGED = "unchanged document over the parse limit"


class OverParseLimit(SyndicatorError):
    """The document went over a parse limit, now or (same bytes) before. `reason` says which."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


async def bounded(
    runtime: Runtime,
    body: bytes,
    fn: Callable[..., T],
    *args: Any,
    remember: bool = True,
    **kwargs: Any,
) -> T:
    """`fn(body, *args, **kwargs)` in the parse pool; OverParseLimit when over a limit.

    The exceptions `fn` raises (ParseError, ExtractError, …) come through unchanged.
    `remember=False` (a preview, which stores nothing) still refuses a document known to
    be over a limit but does not record a new one.
    """
    limits = runtime.config.fetch
    digest = document_digest(body)
    known = await over_limit(runtime.redis, runtime.keys, digest)
    if known is not None and known.still_applies(limits.parse_timeout, limits.parse_memory):
        raise OverParseLimit(f"{UNCHANGED} ({known.reason})")
    stage = metrics.EXTRACT_SECONDS if fn.__name__ == "extract_article" else metrics.PARSE_SECONDS
    try:
        with metrics.timed(stage):
            return await runtime.pool.run(
                partial(fn, body, *args, **kwargs), timeout=limits.parse_timeout, memory=limits.parse_memory
            )
    except OverLimit as exc:
        if remember:
            record = OverLimitRecord(exc.reason, limits.parse_timeout, limits.parse_memory)
            await remember_over_limit(runtime.redis, runtime.keys, digest, record)
        raise OverParseLimit(exc.reason) from exc


def parse_and_normalise(
    body: bytes,
    headers: Mapping[str, str],
    url: str,
    *,
    max_entries: int,
    max_field_bytes: int,
    source: Source,
    fetched_at: datetime,
    keep_raw: int = 0,
) -> NormalisedFeed:
    """Parse a feed within the limits (`parse_bounded`) and normalise its entries.

    The job a feed source runs in the pool: normalising 100,000 entries on the event loop
    held `serve` for seconds (see `syndicator.normalise.feed`). Raises what `parse_bounded`
    raises (ParseError).
    """
    logged = _Collected()
    logger = logging.getLogger("syndicator")
    logger.addHandler(logged)
    try:
        parsed = parse_bounded(
            body,
            dict(headers),
            url,
            max_entries=max_entries,
            max_field_bytes=max_field_bytes,
            encoding=source.encoding,
        )
        normalised = normalise_feed(
            parsed, source, feed_url=url, fetched_at=fetched_at, headers=headers, keep_raw=keep_raw
        )
    finally:
        logger.removeHandler(logged)
    return replace(normalised, logged=tuple(logged.records), unlogged=logged.dropped)


class _Collected(logging.Handler):
    """The first `MAX_LOGGED` warnings a pool job logs, kept to be logged again by the parent.

    The child has none of the worker's logging set up (a warning there went to bare stderr
    or nowhere), and a hostile feed can log one warning per entry, so only the first are
    kept and the rest counted."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[tuple[str, int, str]] = []
        self.dropped = 0

    def emit(self, record: logging.LogRecord) -> None:
        if len(self.records) < MAX_LOGGED:
            self.records.append((record.name, record.levelno, record.getMessage()))
        else:
            self.dropped += 1


def log_again(feed: NormalisedFeed) -> None:
    """Log, in this process, what the pool job that made `feed` logged in its child."""
    for name, level, message in feed.logged:
        logging.getLogger(name).log(level, "%s", message)
    if feed.unlogged:
        log.warning("%d more warnings of that feed's parse were not logged", feed.unlogged)


def read_listing(body: bytes, content_type: str | None, url: str, encoding: str | None = None) -> ListingPage:
    """Decode and parse a listing page: the part of discovery that reads untrusted bytes.
    `encoding`: the source's configured override of the page's charset."""
    text, _encoding = decode_html(body, content_type, encoding)
    return parse_listing(text, url)

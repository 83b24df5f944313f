"""Parsing and extraction of upstream bytes, in the parse pool and within the fetch limits.

The ingest code calls `bounded(runtime, body, fn, …)` where it used to call `fn(body, …)`:
the work runs in a child process of `runtime.pool` (never on the event loop that serves
requests), stopped after `fetch.parse_timeout` or at `fetch.parse_memory`. A document that
went over a limit is remembered by its digest (`store.overlimit`) and refused, unparsed,
until its bytes change; either way the caller gets `OverParseLimit`, whose reason its
failed `IngestReport` carries to `record_outcome`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from functools import partial
from typing import Any, TypeVar

from syndicator import metrics
from syndicator.discover import ListingPage, parse_listing
from syndicator.errors import SyndicatorError
from syndicator.extract.decode import decode_html
from syndicator.isolate import OverLimit
from syndicator.models import ParsedEntry, ParsedFeed, Source
from syndicator.normalise.feed import NormalisedChunk, normalise_chunk
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
    digest = await refuse_known(runtime, body)
    stage = metrics.EXTRACT_SECONDS if fn.__name__ == "extract_article" else metrics.PARSE_SECONDS
    with metrics.timed(stage):
        return await run_limited(runtime, digest, partial(fn, body, *args, **kwargs), remember=remember)


async def refuse_known(runtime: Runtime, body: bytes) -> str:
    """`body`'s digest; OverParseLimit when it is known to be over a limit that still applies."""
    limits = runtime.config.fetch
    digest = document_digest(body)
    known = await over_limit(runtime.redis, runtime.keys, digest)
    if known is not None and known.still_applies(limits.parse_timeout, limits.parse_memory):
        raise OverParseLimit(f"{UNCHANGED} ({known.reason})")
    return digest


async def run_limited(runtime: Runtime, digest: str, job: Callable[[], T], *, remember: bool = True) -> T:
    """`job()` in the parse pool within the parse limits, on behalf of the document whose
    digest is `digest`: over a limit, that document is remembered (unless not `remember`)
    and OverParseLimit raised. One job of several on the same document (a feed's
    normalise chunks: `ingest.pipeline`) is bounded, and remembered, the same way."""
    limits = runtime.config.fetch
    try:
        return await runtime.pool.run(job, timeout=limits.parse_timeout, memory=limits.parse_memory)
    except OverLimit as exc:
        if remember:
            record = OverLimitRecord(exc.reason, limits.parse_timeout, limits.parse_memory)
            await remember_over_limit(runtime.redis, runtime.keys, digest, record)
        raise OverParseLimit(exc.reason) from exc


@dataclass(frozen=True)
class ParsedDocument:
    """What the parse job sends back: the feed without its entries (`head`), the entries
    pickled in chunks of at most `chunk` (in order; the parent passes them on to the
    normalise jobs without unpickling them), and what the job logged (see `_Collected`)."""

    head: ParsedFeed
    chunks: tuple[bytes, ...]
    entries: int
    logged: tuple[tuple[str, int, str], ...] = ()
    unlogged: int = 0


def parse_entries(
    body: bytes,
    headers: Mapping[str, str],
    url: str,
    *,
    max_entries: int,
    max_field_bytes: int,
    encoding: str | None,
    chunk: int,
) -> ParsedDocument:
    """The parse job of a feed: parse within the limits (`parse_bounded`), once, and cut
    the entries into chunks for the normalise jobs. Raises what `parse_bounded` raises
    (ParseError)."""
    with _collecting() as logged:
        parsed = parse_bounded(
            body,
            dict(headers),
            url,
            max_entries=max_entries,
            max_field_bytes=max_field_bytes,
            encoding=encoding,
        )
        entries = parsed.entries
        chunks = tuple(
            pickle.dumps(entries[start : start + chunk], protocol=pickle.HIGHEST_PROTOCOL)
            for start in range(0, len(entries), chunk)
        )
    return ParsedDocument(
        replace(parsed, entries=()), chunks, len(entries), tuple(logged.records), logged.dropped
    )


def normalise_entries(
    pickled: bytes,
    head: ParsedFeed,
    source: Source,
    *,
    start: int,
    feed_url: str,
    fetched_at: datetime,
    headers: Mapping[str, str],
    keep_raw: int,
    fingerprints: bool,
    stored: frozenset[str] = frozenset(),
) -> NormalisedChunk:
    """A normalise job of a feed: the chunk of entries `start`… the parse job pickled
    (`parse_entries`, our own child: safe to unpickle), normalised and fingerprinted."""
    with _collecting() as logged:
        entries: tuple[ParsedEntry, ...] = pickle.loads(pickled)
        normalised = normalise_chunk(
            entries,
            head,
            source,
            start=start,
            feed_url=feed_url,
            fetched_at=fetched_at,
            headers=headers,
            keep_raw=keep_raw,
            fingerprints=fingerprints,
            stored=stored,
        )
    return replace(normalised, logged=tuple(logged.records), unlogged=logged.dropped, pid=os.getpid())


@contextlib.contextmanager
def _collecting() -> Iterator[_Collected]:
    """The warnings the `syndicator` loggers log in the block, collected (`_Collected`)."""
    logged = _Collected()
    logger = logging.getLogger("syndicator")
    logger.addHandler(logged)
    try:
        yield logged
    finally:
        logger.removeHandler(logged)


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


class Relogger:
    """Logs again, in this process, what a document's pool jobs logged in their children:
    at most `MAX_LOGGED` lines a document however many jobs it took, then one line with
    the count of those left out (`done`)."""

    def __init__(self) -> None:
        self.left = MAX_LOGGED
        self.unlogged = 0

    def log(self, logged: Iterable[tuple[str, int, str]], unlogged: int = 0) -> None:
        for name, level, message in logged:
            if self.left > 0:
                self.left -= 1
                logging.getLogger(name).log(level, "%s", message)
            else:
                self.unlogged += 1
        self.unlogged += unlogged

    def done(self) -> None:
        if self.unlogged:
            log.warning("%d more warnings of that feed's parse were not logged", self.unlogged)
            self.unlogged = 0


def read_listing(body: bytes, content_type: str | None, url: str, encoding: str | None = None) -> ListingPage:
    """Decode and parse a listing page: the part of discovery that reads untrusted bytes.
    `encoding`: the source's configured override of the page's charset."""
    text, _encoding = decode_html(body, content_type, encoding)
    return parse_listing(text, url)

"""Parsing and extraction of upstream bytes, in the parse pool and within the fetch limits.

The ingest code calls `bounded(runtime, body, fn, …)` where it used to call `fn(body, …)`:
the work runs in a child process of `runtime.pool` (never on the event loop that serves
requests), stopped after `fetch.parse_timeout` or at `fetch.parse_memory`. A document that
went over a limit is remembered by its digest (`store.overlimit`) and refused, unparsed,
until its bytes change; either way the caller gets `OverParseLimit`, whose reason its
failed `IngestReport` carries to `record_outcome`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

from syndicator import metrics
from syndicator.discover import ListingPage, parse_listing
from syndicator.errors import SyndicatorError
from syndicator.extract.decode import decode_html
from syndicator.isolate import OverLimit
from syndicator.runtime import Runtime
from syndicator.store.overlimit import OverLimitRecord, document_digest, over_limit, remember_over_limit

T = TypeVar("T")

UNCHANGED = "unchanged document over the parse limit"


class OverParseLimit(SyndicatorError):
    """The document went over a parse limit, now or (same bytes) before. `reason` says which."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


async def bounded(runtime: Runtime, body: bytes, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """`fn(body, *args, **kwargs)` in the parse pool; OverParseLimit when over a limit.

    The exceptions `fn` raises (ParseError, ExtractError, …) come through unchanged.
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
        record = OverLimitRecord(exc.reason, limits.parse_timeout, limits.parse_memory)
        await remember_over_limit(runtime.redis, runtime.keys, digest, record)
        raise OverParseLimit(exc.reason) from exc


def read_listing(body: bytes, content_type: str | None, url: str) -> ListingPage:
    """Decode and parse a listing page: the part of discovery that reads untrusted bytes."""
    text, _encoding = decode_html(body, content_type)
    return parse_listing(text, url)

"""IngestReport: what one pass over a source (or one page) did, in operators' words.

An ingest returns its report and records nothing on the source itself; the entry points
in `syndicator.ingest` hand the report to `store.sources.record_outcome`, so the source's
state is written in one place, and what an operator reads in the source hash is what the
report says. The report therefore carries everything that record needs: the validators
to keep, the status line, the warnings, the error, the unmapped category path, and the
pages a listing ingested inline.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from syndicator.fetch import FetchError, RobotsRefused
from syndicator.fetch.hints import retry_hint
from syndicator.models import PollHint, Validators

# "deferred": not fetched, because the source's host is cooling down (store/polling.py).
Status = Literal["updated", "not-modified", "error", "deferred"]


def summarise_counts(counts: dict[str, int]) -> str:
    """`3 new, 1 changed` — the same words in the job log, the CLI and the source state."""
    return ", ".join(f"{n} {k}" for k, n in sorted(counts.items()) if n) or "no entries"


@dataclass(frozen=True)
class IngestReport:
    """What one pass did, for the job log, the CLI, the tests and the source's state.

    `from_listing` marks a page found by a listing or sitemap: its failure counts on the
    source's `page_errors` (and the page is tried again on the next poll), and its success
    leaves the source's own fetch state alone. `pages` are the pages a listing poll
    ingested inline (the CLI, without a queue); they are recorded with the poll.
    """

    source_id: str
    url: str
    status: Status
    counts: dict[str, int] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    error: str | None = None  # `source: url: reason`, what the source's last_error records
    error_at: str | None = None  # the URL the failure happened at (a redirect's target, a page)
    reason: str | None = None  # the failure alone, without source and URL
    retryable: bool = False
    retry_after: float | None = None
    touched: tuple[str, ...] = ()
    http_status: int | None = None
    validators: Validators = field(default_factory=Validators)
    from_listing: bool = False
    unmapped: str | None = None
    pages: tuple[IngestReport, ...] = ()
    body_bytes: int | None = None  # bytes of the body fetched (0 for a 304; None: none fetched)
    robots_refused: bool = False  # failed because robots.txt refused `error_at` (RobotsRefused)
    # What the upstream asked about the next poll (fetch/hints.py: the longest of its headers'
    # and its document's hints), and the document's own (<ttl>, sy:), kept over 304s.
    hint: PollHint | None = None
    doc_hint: PollHint | None = None
    # The page of a `full_text` source's item (ingest/fulltext.py): like a listing's page,
    # it leaves the source's own fetch state alone; a failure counts in `full_text_errors`.
    full_text: bool = False
    # The processing stage's per-rule counts (`blocked: filters.block[0]`, `regex timeout:
    # block[1]`): added up on the source's health by record_outcome.
    rule_counts: dict[str, int] = field(default_factory=dict)

    @property
    def last_status(self) -> str:
        """The source's `last_status`: `200 ok: 3 new, 1 changed`, `304 not modified`, `error`."""
        if self.status == "error":
            return "error"
        if self.status == "not-modified":
            return "304 not modified"
        if self.status == "deferred":
            return f"deferred: {self.reason}"
        return f"{self.http_status} ok: {summarise_counts(self.counts)}"

    def line(self) -> str:
        """One line for the job log and the CLI; a failure names its source and URL once:
        `source blog (https://blog.example/feed): HTTP 503`."""
        if self.status == "error":
            if self.reason is None:
                return f"{self.source_id}: error: {self.error}"
            return f"source {self.source_id} ({self.error_at or self.url}): {self.reason}"
        if self.status == "not-modified":
            return f"{self.source_id}: not modified (304)"
        if self.status == "deferred":
            return f"{self.source_id}: deferred: {self.reason}"
        warn = f"; {len(self.warnings)} warning(s): {'; '.join(self.warnings)}" if self.warnings else ""
        return f"{self.source_id}: {summarise_counts(self.counts)}{warn}"


def failed(
    source_id: str,
    url: str,
    reason: str,
    *,
    at: str | None = None,
    fetch: FetchError | None = None,
    from_listing: bool = False,
    full_text: bool = False,
) -> IngestReport:
    """A pass over `url` that stored nothing, failing at `at` (default `url`) for `reason`.

    With `fetch`, its URL and reason are the failure's, and it says whether a retry may help.
    """
    if fetch is not None:
        at, reason = fetch.url, fetch.reason
    return IngestReport(
        source_id,
        url,
        "error",
        error=f"{source_id}: {at or url}: {reason}",
        error_at=at or url,
        reason=reason,
        retryable=fetch.retryable if fetch else False,
        retry_after=fetch.retry_after if fetch else None,
        http_status=fetch.status if fetch else None,
        from_listing=from_listing,
        robots_refused=isinstance(fetch, RobotsRefused),
        hint=retry_hint(fetch.status, fetch.retry_after) if fetch else None,
        full_text=full_text,
    )


def not_modified(
    source_id: str,
    url: str,
    validators: Validators,
    *,
    kept_warnings: tuple[str, ...] = (),
    from_listing: bool = False,
    hint: PollHint | None = None,
) -> IngestReport:
    """A 304: nothing changed upstream, so the warnings of the last full read still stand
    (and `hint`: its headers', or the hint of the last full read)."""
    return IngestReport(
        source_id,
        url,
        "not-modified",
        http_status=304,
        body_bytes=0,
        validators=validators,
        warnings=kept_warnings,
        from_listing=from_listing,
        hint=hint,
    )


def deferred(source_id: str, url: str, reason: str) -> IngestReport:
    """A poll not made: the source's host is cooling down after a 429 or 503."""
    return IngestReport(source_id, url, "deferred", reason=reason)

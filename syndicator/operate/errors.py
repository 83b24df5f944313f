"""What the operate layer refuses, one class per case, so each edge maps it once.

The admin API answers 404 for an unknown source, category or run and the CLI prints the
message as its one line; both catch these by class, never by parsing a message.
"""

from __future__ import annotations

from syndicator.errors import SyndicatorError


class OperateError(SyndicatorError):
    """Base of the operate layer's refusals; `str(err)` is the one-line message."""


class UnknownSource(OperateError):
    """No source with this id in the running configuration."""

    def __init__(self, source_id: str, known: list[str] | None = None) -> None:
        hint = f"; known: {', '.join(known)}" if known else ""
        super().__init__(f"unknown source {source_id!r}{hint}")
        self.source_id = source_id


class UnknownCategory(OperateError):
    """No category with this slug in the running configuration."""

    def __init__(self, slug: str) -> None:
        super().__init__(f"unknown category {slug!r}")
        self.slug = slug


class UnknownRun(OperateError):
    """No run with this id (never queued, or older than the 7 days runs are kept)."""

    def __init__(self, run_id: str) -> None:
        super().__init__(f"unknown run {run_id!r} (runs are kept 7 days)")
        self.run_id = run_id


class UnknownState(OperateError):
    """A health state filter that is none of ok, failing, paused, gone."""

    def __init__(self, state: str) -> None:
        super().__init__(f"unknown state {state!r}: one of ok, failing, paused, gone")
        self.state = state


class NoQueue(OperateError):
    """Queuing needs the arq queue; this caller opened none (a bug of the caller)."""


class UnknownArticle(OperateError):
    """No stored (or hidden) article with this id or canonical URL."""

    def __init__(self, ref: str) -> None:
        super().__init__(f"unknown article {ref!r}: no stored article has this id or canonical URL")
        self.ref = ref


class BadArticleRef(OperateError):
    """Neither an article id (32 hex characters) nor an http(s) URL."""

    def __init__(self, ref: str, why: str = "") -> None:
        super().__init__(
            f"{ref!r} is neither an article id (32 hex characters) nor an http(s) URL"
            + (f": {why}" if why else "")
        )
        self.ref = ref

"""IngestReport: what one pass over a source (or one page) did, in operators' words."""

from __future__ import annotations

from dataclasses import dataclass, field


def summarise_counts(counts: dict[str, int]) -> str:
    """`3 new, 1 changed` — the same words in the job log, the CLI and the source state."""
    return ", ".join(f"{n} {k}" for k, n in sorted(counts.items()) if n) or "no entries"


@dataclass(frozen=True)
class IngestReport:
    """What one pass did, for the job log, the CLI and the tests."""

    source_id: str
    url: str
    status: str  # "updated", "not-modified", "error"
    counts: dict[str, int] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    error: str | None = None
    retryable: bool = False
    retry_after: float | None = None
    touched: tuple[str, ...] = ()

    def line(self) -> str:
        if self.status == "error":
            return f"{self.source_id}: error: {self.error}"
        if self.status == "not-modified":
            return f"{self.source_id}: not modified (304)"
        warn = f"; {len(self.warnings)} warning(s): {'; '.join(self.warnings)}" if self.warnings else ""
        return f"{self.source_id}: {summarise_counts(self.counts)}{warn}"

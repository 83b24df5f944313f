"""The chain: the steps in their documented order, run over one ingest's articles.

`Chain` is made once per ingest (`ingest.storing` makes it for feed and page ingest
alike) and called once per chunk of articles before that chunk is stored. It skips the
steps that do not apply to the source, runs the others in `STEPS` order, and keeps what
the ingest's report needs: how many articles were dropped, the per-rule counts for source
health, and the steps' warnings.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime

from syndicator.fingerprint import Computed
from syndicator.models import Article, Source
from syndicator.process.cluster import ClusterStep
from syndicator.process.filters import FilterStep
from syndicator.process.fulltext import FullTextStep
from syndicator.process.step import Batch, Dropped, ProcessContext, Step
from syndicator.runtime import Runtime

log = logging.getLogger(__name__)

STEPS: tuple[Step, ...] = (FilterStep(), FullTextStep(), ClusterStep())
"""Every step, in the order it runs (see `syndicator.process`'s docstring for why)."""

PREVIEW_STEPS: tuple[Step, ...] = (FilterStep(),)
"""The steps a preview runs (it stores nothing): those without effects outside the
ingest — no request to an upstream, no job enqueued. In `STEPS` order."""

DROPPED = "filtered"
"""The report's count (`3 new, 2 filtered`) of articles the chain kept out of the store."""


class Chain:
    """The steps that apply to one source, for one ingest."""

    def __init__(
        self, runtime: Runtime, source: Source, *, now: datetime, steps: Sequence[Step] = STEPS
    ) -> None:
        self.context = ProcessContext(runtime, source, now)
        self.steps = tuple(step for step in steps if step.applies(self.context))
        self.dropped = 0  # counted as DROPPED
        self.blocked: set[str] = set()  # the ids of those (their raw input is marked blocked)
        self.set_aside: Counter[str] = Counter()  # dropped items counted otherwise (held)

    async def process(self, articles: list[Article], computed: Mapping[str, Computed] | None = None) -> Batch:
        """Run the steps over one chunk; the Batch holds what is to be stored.

        `computed`: fingerprints computed ahead, by article id (see `Batch.computed`)."""
        batch = Batch(list(articles), computed=computed or {})
        dropped: list[Dropped] = []
        annotations: dict[str, tuple[str, ...]] = {}
        for step in self.steps:
            if not batch.articles:
                break
            result = await step.run(batch, self.context)
            dropped.extend(result.dropped)
            for article_id, notes in result.annotations.items():
                merged = (*annotations.get(article_id, ()), *notes)
                annotations[article_id] = tuple(dict.fromkeys(merged))
            batch = Batch(result.articles, [], annotations, batch.computed)
        for item in dropped:
            log.debug(
                "%s: %s",
                item.article.url,
                item.reason,
                extra={"event": "dropped", "source_id": self.context.source.id, "outcome": item.rule},
            )
        self.dropped += sum(item.counted_as == DROPPED for item in dropped)
        self.blocked.update(item.article.id for item in dropped if item.counted_as == DROPPED)
        self.set_aside.update(item.counted_as for item in dropped if item.counted_as != DROPPED)
        kept = {a.id for a in batch.articles}
        return Batch(batch.articles, dropped, {k: v for k, v in annotations.items() if k in kept})

    @property
    def rule_counts(self) -> dict[str, int]:
        """Per-rule counts of this ingest so far, for the report and source health."""
        return dict(+self.context.counts)

    @property
    def warnings(self) -> tuple[str, ...]:
        return tuple(self.context.warnings)

    def add_to(self, counts: Counter[str]) -> None:
        """Add the dropped articles to an ingest's outcome counts."""
        if self.dropped:
            counts[DROPPED] += self.dropped
        counts.update(self.set_aside)

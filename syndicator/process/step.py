"""The step interface of the processing stage: what a step is given and what it returns.

A step sees the normalised articles of one ingest — a feed's chunks one after another
(at most `ingest.pipeline.MERGED` × `normalise.feed.CHUNK` articles each, so a huge feed
never sits in memory at once), or a page's one article — together with a
`ProcessContext` (the source, the runtime, the ingest's time) that lives for the whole
ingest. It returns a `Batch`: the
articles it keeps (changed or not, in order), the ones it dropped (each with its reason
and the rule that dropped it) and annotations. Steps never store, publish or record:
the chain's results reach the store through `ingest.storing`, and the source's state
through the ingest's report and `record_outcome`, as everything else an ingest does.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from syndicator.fingerprint import Computed
from syndicator.models import Article, Source
from syndicator.runtime import Runtime


@dataclass(frozen=True)
class Dropped:
    """An article a step took out of the ingest: it is not stored, so no feed shows it.

    `rule` names what dropped it (`filters.block[0]`, `block[1]`, `older_than`): the
    per-rule count in source health is kept under that name. `reason` is a sentence for
    logs and the report (`blocked by filters.block[0] (title words “sponsored”)`).
    `withdraw`: whether a copy stored before is taken out of the store too (see
    `ingest.storing.withdraw`); False when the drop depends on the article's age, so an
    article stored while fresh is not withdrawn only for growing old.
    """

    article: Article
    rule: str
    reason: str
    withdraw: bool = True
    # The ingest's count it adds to: `filtered` (not stored at all), or what the step
    # does with it instead (`waiting for full text`: held, stored when its page is read).
    counted_as: str = "filtered"


@dataclass
class ProcessContext:
    """What a step may read, shared by every call in one ingest (every chunk of a feed).

    `counts` are per-rule counts the steps add to (`blocked: filters.block[0]`, `regex
    timeout: block[1]`): they reach source health. `warnings` go into the ingest's report
    (the source's warnings). `logged` remembers what a step has logged in this ingest, so a
    problem repeated on every article is logged once. `notes` is free for a step's own
    state across chunks.
    """

    runtime: Runtime
    source: Source
    now: datetime
    counts: Counter[str] = field(default_factory=Counter)
    warnings: list[str] = field(default_factory=list)
    logged: set[str] = field(default_factory=set)
    notes: dict[str, object] = field(default_factory=dict)

    def log_once(self, key: str) -> bool:
        """True the first time `key` is asked in this ingest (log then), False after."""
        if key in self.logged:
            return False
        self.logged.add(key)
        return True


@dataclass(frozen=True)
class Batch:
    """What a step returns: the articles kept (in order), those dropped, annotations.

    `annotations` maps an article's id to short notes a later step or the store may read
    (`full-text: pending`); an article absent has none. A step's notes are added to those
    of the steps before it (a step may return the batch's own notes, or only its new ones:
    a note is kept once); the notes of a dropped article are dropped with it.
    """

    articles: list[Article]
    dropped: list[Dropped] = field(default_factory=list)
    annotations: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # Fingerprints computed ahead, by article id (feed ingest computes them in the parse
    # pool's child: `normalise.feed.normalise_chunk`). The chain passes them from step to
    # step; the clustering step uses one only while it matches its article's text.
    computed: Mapping[str, Computed] = field(default_factory=dict)


class Step(Protocol):
    """One per-article step. `name` is how the chain's documentation and logs call it.

    `applies` says whether the step has anything to do for this source (a step with no
    rules or a feature the source does not enable is skipped without being called).
    `run` takes one batch of the ingest (a chunk) and returns what became of it; it is
    called once per chunk, in order, with the same context.
    """

    name: str

    def applies(self, context: ProcessContext) -> bool: ...

    async def run(self, batch: Batch, context: ProcessContext) -> Batch: ...

"""The processing stage: per-article steps between normalise and store, in one documented order.

Feed and page ingest run the same chain (`ingest.storing` calls it on each chunk of
normalised articles just before storing it; for a feed the articles were normalised in
the parse pool's child, the chain runs in the parent). It is the one home for what is
done to each article of an ingest: filters now, full text and near-duplicate
clustering next. Models: Miniflux's `internal/reader/processor` and reader's update hooks.

A step (`step.Step`) takes one batch of the ingest's articles and the context (the
source's config, the runtime, the ingest's time) and returns a `step.Batch`: the
articles kept (changed or not), those dropped — each with the rule and the reason, never
stored, counted per rule in source health — and annotations for later steps.

The order (`chain.STEPS`), so an operator can tell what happens to an article:

1. `filters` (process/filters.py): the `[filters]` and per-source `block` rules, then the
   `keep` rules. First, because everything after costs more (a full-text fetch is a
   request to the upstream) and a blocked article needs none of it. Filters therefore
   see what the feed or the page gave — not a full text fetched later.
2. `fulltext` (process/fulltext.py): a `full_text` feed source's NEW items are held out
   of every feed and their links queued as page jobs (ingest/fulltext.py reads the page
   and stores the item, with the page's body when clearly longer, or as it came); an
   item held already stays held. After the filters, so a blocked item costs no request.
3. `cluster` (process/cluster.py): near-duplicates. A new article whose fingerprint is
   close enough to a stored representative's is sent to the store as a copy of it (the
   representative joins its categories and lists it as related); otherwise it becomes a
   representative. Last, so it fingerprints what will be stored (after the filters; a
   held item is clustered when its page job stores it).

A step that does not apply to a source (no rules, a feature it does not enable) is
skipped. A preview (`syndicator preview`, the admin API) runs `chain.PREVIEW_STEPS`, the
steps without effects outside the ingest (the filters), and shows each article they
would drop with the reason. What the chain dropped appears in the ingest's counts (`3 new, 2 filtered`), per
rule in the source's health (`blocked: filters.block[0]`, `not kept: keep`,
`regex timeout: block[1]`), and each dropped article in the debug log with its reason.
"""

from __future__ import annotations

from syndicator.process.chain import DROPPED, PREVIEW_STEPS, STEPS, Chain
from syndicator.process.step import Batch, Dropped, ProcessContext, Step

__all__ = ["DROPPED", "PREVIEW_STEPS", "STEPS", "Batch", "Chain", "Dropped", "ProcessContext", "Step"]

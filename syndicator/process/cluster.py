"""Step 3: near-duplicate clustering — the same story shown once, whoever carried it.

Each article of an ingest that is not stored yet gets a fingerprint (syndicator/fingerprint.py:
MinHash over character shingles for CJK text, word shingles otherwise): the one feed
ingest computed in the parse pool's child (`Batch.computed`) while the article's title,
content and summary are still the ones it was computed from, else computed here. Its candidates
are the stored representatives sharing an LSH band value with it (store/clusters.py: a
value's ids are a field of the hash `{prefix}bands:{band}:{bucket}`): pipelined round trips
ask which articles of the chunk are stored (those need no fingerprint), read the members
of every band value of the others (one command a bucket hash) and the candidates'
fingerprints (`{prefix}fp:{id}`), so an article is compared with a handful of
candidates, never with everything stored; a band value stops taking members at
`BUCKET_CAP`, and only the `COMPARED` candidates sharing the most bands are read and
compared, so the cost does not grow with the store.

An article at least `near_duplicate_threshold` similar (estimated Jaccard) to a candidate
joins that candidate's cluster; otherwise it becomes a representative itself (its
fingerprint and bands are written). The first article of a cluster is its representative
and stays the only item readers see: a copy is sent to the store under the
representative's canonical URL, the path the exact canonical-URL dedupe already takes
(store/articles.py, outcome `merged`), carrying its own link and source as `related`. So
the representative joins every category index the copy belongs to (a reader of `world`
does not lose a story first filed under `tech`), lists the copy's source, and shows the
copy as related; its content, content hash and `updated` do not change. It lists at most
`models.RELATED_SHOWN` copies, the newest; older ones are counted ("… and 12 more"). Which copy joined
which representative is kept in `{prefix}cluster-of`, so the copy's next polls go
straight there. Copies from the representative's own source are not shown as related
(its `sources` already names it).

Within one source, a copy must also have its representative's title (NFKC, case-folded):
a site whose items share a long template (a podcast's show notes, a standard notice)
does not see them collapsed into one, while the same story posted again under a new GUID
or URL (same title) is. Across sources the text alone decides.

An article with the canonical URL of its closest representative is left to the exact
canonical-URL dedupe, unchanged. A story a source posts again under a new GUID or URL
joins its own first copy and is not shown again (not listed as related: the source is
the representative's own).

Applies to articles in a category with `near_duplicates = true` (the default); the
threshold is the strictest among the article's categories that cluster. Articles with
too little text (`fingerprint.MIN_SHINGLES`) and without a URL are left alone.
Fingerprints of articles no longer stored (retention, takedown) are removed when a lookup
meets them; takedown removes its article's cluster entries at once (store/takedown.py).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

from syndicator.fingerprint import Fingerprint, fingerprint_of, similarity
from syndicator.models import ALL_CATEGORY, Article, Related
from syndicator.process.step import Batch, ProcessContext
from syndicator.runtime import Runtime
from syndicator.store.clusters import StoredPrint, add_print_members, forget, print_members
from syndicator.words import fold


def threshold_for(runtime: Runtime, article: Article) -> float | None:
    """The strictest threshold of the article's clustering categories; None: none clusters."""
    found: list[float] = []
    for slug in article.categories or (ALL_CATEGORY,):
        category = runtime.config.categories.get(slug)
        if category is not None and category.near_duplicates:
            found.append(category.near_duplicate_threshold)
    return max(found) if found else None


def as_copy(article: Article, rep_url: str, source_title: str) -> Article:
    """`article` sent to its representative: under its URL, its own link as `related`."""
    related = Related(article.url, article.title, article.source_id, source_title, article.id)
    return replace(article, url=rep_url, related=(related,))


COMPARED = 8
"""The most candidates an article is compared with: those sharing the most bands with it
(a copy at the threshold shares about six of the 64, an unrelated article that happens to
share a band shares one), so the fingerprints read and compared per article stay a
handful however many articles share a band with it."""


def ranked(hits: Counter[str]) -> list[str]:
    """The `COMPARED` candidates sharing the most bands (then by id, so runs agree)."""
    return [c for c, _n in sorted(hits.items(), key=lambda x: (-x[1], x[0]))[:COMPARED]]


class ClusterStep:
    """Step 3: send near-duplicates to their cluster's representative (see above)."""

    name = "cluster"

    def applies(self, context: ProcessContext) -> bool:
        return any(c.near_duplicates for c in context.runtime.config.categories.values())

    async def run(self, batch: Batch, context: ProcessContext) -> Batch:
        runtime = context.runtime
        redis, keys = runtime.redis, runtime.keys
        eligible = [
            (i, article, threshold)
            for i, article in enumerate(batch.articles)
            if (threshold := threshold_for(runtime, article)) is not None and article.url
        ]
        if not eligible:
            return batch
        # Round trip 1: is each stored already (then it needs no fingerprint: it is a
        # representative or stands alone), or a known copy.
        async with redis.pipeline(transaction=False) as pipe:
            for _i, article, _t in eligible:
                pipe.exists(keys.article(article.id))
            pipe.hmget(keys.cluster_of, [article.id for _i, article, _t in eligible])
            *stored, copies = await pipe.execute()
        todo: list[tuple[int, Article, Fingerprint, float, str | None]] = []
        for (i, article, threshold), exists, copy_of in zip(eligible, stored, copies, strict=True):
            if exists:
                continue
            found = fingerprint_of(article, batch.computed.get(article.id))
            if found is not None:
                todo.append((i, article, found, threshold, copy_of.decode() if copy_of else None))
        if not todo:
            return batch
        # Round trip 2: the members of every band value of every article (a script call:
        # store/clusters.py `print_members`; `band_members` on a cluster). Reading each
        # band's set instead was 64 commands an article: a 500-entry feed's 32,000
        # SMEMBERS were most of an ingest's CPU here.
        members = await print_members(redis, keys, [found.bands for _i, _a, found, _t, _r in todo])
        plans: list[tuple[int, Article, Fingerprint, float, str | None, set[str]]] = []
        wanted: set[str] = set()
        for (i, article, found, threshold, rep), shared in zip(todo, members, strict=True):
            hits: Counter[str] = Counter()  # candidate → bands it shares with the article
            for ids in filter(None, shared):  # most band values have no members
                hits.update(ids.split())
            hits.pop(article.id, None)
            candidates = set(ranked(hits))
            plans.append((i, article, found, threshold, rep, candidates))
            wanted.update({rep} if rep else candidates)
        # Round trip 3: the candidates' fingerprints, and whether their records still exist.
        ids = sorted(wanted)
        prints: dict[str, StoredPrint] = {}
        stale: list[str] = []
        if ids:
            async with redis.pipeline(transaction=False) as pipe:  # per key: any slots on a cluster
                for article_id in ids:
                    pipe.get(keys.fingerprint(article_id))
                    pipe.exists(keys.article(article_id))
                replies = await pipe.execute()
            raws, alive = replies[::2], replies[1::2]
            for article_id, raw, live in zip(ids, raws, alive, strict=True):
                if raw is not None and live:
                    prints[article_id] = StoredPrint.from_json(raw)
                elif raw is not None:
                    stale.append(article_id)
        articles = list(batch.articles)
        annotations: dict[str, tuple[str, ...]] = {}
        new_reps: list[tuple[str, StoredPrint]] = []  # this chunk's, for copies later in it
        joined: dict[str, str] = {}
        title = context.source.title or context.source.id
        for i, article, found, threshold, rep, candidates in plans:
            folded = fold(article.title).strip()
            if rep is not None and rep in prints:
                best: tuple[float, str, StoredPrint] | None = (1.0, rep, prints[rep])
            else:
                known = [(c, prints[c]) for c in candidates if c in prints]
                scored = [
                    (similarity(found.signature, s.signature), c, s)
                    for c, s in (*known, *new_reps)
                    if s.source_id != article.source_id or s.title == folded
                ]
                best = max(scored, default=None, key=lambda x: (x[0], x[1]))
                if best is not None and best[0] < threshold:
                    best = None
            if best is None:
                own = StoredPrint.of(article, found.signature, found.bands)
                new_reps.append((article.id, own))
                continue
            _score, rep_id, rep_print = best
            if rep_print.url == article.url:
                continue  # the same canonical URL: the exact dedupe merges it, as before
            articles[i] = as_copy(article, rep_print.url, title)
            joined[article.id] = rep_id
            annotations[article.id] = (f"cluster: joined {rep_id}",)
        # Round trip 4: the new representatives' fingerprints and bands (a script call,
        # which keeps a band value at `BUCKET_CAP`: `add_print_members`), the copies, stale entries.
        await add_print_members(redis, keys, [(rep_id, s.bands) for rep_id, s in new_reps])
        async with redis.pipeline(transaction=False) as pipe:
            for article_id, stored in new_reps:
                pipe.set(keys.fingerprint(article_id), stored.to_json())
            if joined:
                pipe.hset(keys.cluster_of, mapping=joined)
            await pipe.execute()
        for article_id in stale:
            await forget(redis, keys, article_id, copies=False)
        return Batch(articles, [], {**batch.annotations, **annotations})

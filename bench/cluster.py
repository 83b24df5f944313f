"""Cost of near-duplicate clustering per ingested article, with 10k and 100k stored.

    .venv/bin/python bench/cluster.py [--sizes 10000,100000] [--batch 100] [--batches 10]

For each size, in a private Redis (EmbeddedRedis, in a temporary directory removed
afterwards): that many representatives are stored (fingerprints, LSH bands and a record
key each, as the clustering step writes them), then
`--batches` ingests of `--batch` new articles each run through the step
(`process.cluster.ClusterStep.run`, as `ingest.storing` calls it), half of them new
stories and half near-duplicates of stored ones (one sentence changed). It reports per
ingested article: wall time (median of the batches), the fingerprint alone, the stored
articles sharing an LSH band with it, and the candidates compared (at most
`process.cluster.COMPARED` of those); and per batch: Redis round trips (three, whatever the size).

Texts are synthetic: ~250-word articles drawn from a 2,000-word vocabulary with a Zipf
distribution, so common phrases recur across unrelated articles as they do in news.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from machine import describe

from syndicator.config import load_config
from syndicator.embedded import EmbeddedRedis
from syndicator.fingerprint import fingerprint
from syndicator.models import Article
from syndicator.process.cluster import ClusterStep, ranked
from syndicator.process.step import Batch, ProcessContext
from syndicator.runtime import Runtime
from syndicator.store.clusters import StoredPrint, add_band_members, band_members

NOW = datetime(2026, 1, 1, tzinfo=UTC)
VOCABULARY = [f"w{i}" for i in range(2000)]
WEIGHTS = [1 / (i + 1) for i in range(2000)]


def text(rng: random.Random, words: int = 250) -> list[str]:
    return rng.choices(VOCABULARY, WEIGHTS, k=words)


def article(n: int, words: list[str]) -> Article:
    return Article(
        id=f"{n:032x}",
        source_id="s1",
        url=f"https://up.example/a/{n}",
        title=f"Story {n}",
        author=None,
        published=NOW,
        updated=NOW,
        published_raw=None,
        date_estimated=False,
        content_html="<p>" + " ".join(words) + "</p>",
        summary="",
        categories=("news",),
        tags=(),
    ).hashed()


async def run(size: int, batch: int, batches: int, redis_url: str, tmp: Path) -> dict[str, float]:
    config_path = tmp / f"bench-{size}.toml"
    config_path.write_text(
        "\n".join(
            [
                "[server]",
                f'redis_url = "{redis_url}"',
                f'redis_prefix = "bench{size}:"',
                "[[categories]]",
                'slug = "news"',
                "[[sources]]",
                'id = "s1"',
                'url = "https://up.example/f.rss"',
                'categories = ["news"]',
                "",
            ]
        ),
        encoding="utf-8",
    )
    config = load_config(config_path, environ={})
    runtime = Runtime.open(config, redis_url)
    rng = random.Random(size)
    step = ClusterStep()
    context = ProcessContext(runtime, config.sources["s1"], NOW)
    stored_texts: list[list[str]] = []
    try:
        for start in range(0, size, 1000):  # the stored articles: what the step writes for each
            async with runtime.redis.pipeline(transaction=False) as pipe:
                for n in range(start, min(size, start + 1000)):
                    words = text(rng)
                    stored_texts.append(words)
                    a = article(n, words)
                    found = fingerprint(a)
                    assert found is not None
                    stored = StoredPrint.of(a, found.signature, found.bands)
                    pipe.set(runtime.keys.fingerprint(a.id), stored.to_json())
                    await add_band_members(  # as the step writes them
                        runtime.redis, runtime.keys, ((i, v, a.id) for i, v in enumerate(found.bands))
                    )
                    pipe.set(runtime.keys.article(a.id), "1")
                await pipe.execute()
        per_article: list[float] = []
        fp_times: list[float] = []
        sharing: list[int] = []
        candidates: list[int] = []
        joined = 0
        for b in range(batches):
            new: list[Article] = []
            for k in range(batch):
                n = size + b * batch + k
                if k % 2:  # a copy from another source (same-source copies need the title)
                    words = list(rng.choice(stored_texts))
                    words[100:115] = text(rng, 15)  # one sentence changed
                    new.append(replace(article(n, words), source_id="s2"))
                else:
                    new.append(article(n, text(rng)))
            t0 = time.perf_counter()
            for a in new:
                fingerprint(a)
            fp_times.append((time.perf_counter() - t0) / batch)
            # Candidates: the stored articles sharing a band with each new one, and those of
            # them the step reads and compares (at most COMPARED, sharing the most bands).
            prints = [fingerprint(a) for a in new]
            members = await band_members(
                runtime.redis, runtime.keys, ((i, v) for p in prints if p for i, v in enumerate(p.bands))
            )
            for p in prints:
                assert p is not None
                hits: Counter[str] = Counter()
                for i, v in enumerate(p.bands):
                    hits.update(members[i, v])
                sharing.append(len(hits))
                candidates.append(len(ranked(hits)))
            t0 = time.perf_counter()
            result = await step.run(Batch(new), context)
            per_article.append((time.perf_counter() - t0) / batch)
            joined += sum(1 for a in result.articles if a.related)
            await runtime.redis.delete(*(runtime.keys.fingerprint(a.id) for a in new))
        await runtime.redis.flushdb()
    finally:
        await runtime.close()
    return {
        "ms_per_article": statistics.median(per_article) * 1000,
        "fingerprint_ms": statistics.median(fp_times) * 1000,
        "candidates_median": statistics.median(candidates),
        "candidates_max": max(candidates),
        "sharing_median": statistics.median(sharing),
        "sharing_max": max(sharing),
        "joined_share": joined / (batch * batches / 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--batches", type=int, default=10)
    args = parser.parse_args()
    print(describe())
    with (
        tempfile.TemporaryDirectory() as name,
        EmbeddedRedis(Path(name) / "redis", appendonly=False) as redis,
    ):
        for size in (int(s) for s in args.sizes.split(",")):
            t0 = time.perf_counter()
            row = asyncio.run(run(size, args.batch, args.batches, redis.url, Path(name)))
            print(
                f"{size:>7} stored: {row['ms_per_article']:.2f} ms per ingested article "
                f"(fingerprint {row['fingerprint_ms']:.2f} ms), sharing a band median "
                f"{row['sharing_median']:.0f} max {row['sharing_max']}, compared median "
                f"{row['candidates_median']:.0f} max {row['candidates_max']}, "
                f"copies joined {row['joined_share']:.0%}, 3 round trips per batch "
                f"(setup {time.perf_counter() - t0:.0f} s)",
                flush=True,
            )


if __name__ == "__main__":
    main()

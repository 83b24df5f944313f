"""Extraction + normalisation throughput on the seed page, against trafilatura alone.

    .venv/bin/python bench/extract.py [--seconds 10]

One process, one core: pages per second per core. The reference in the same run is
trafilatura.extract on the same bytes (the body extractor we build on), so the cost of
our own rules (breadcrumb, byline, dates, images, sanitising) is visible beside it.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import trafilatura
from machine import describe  # bench/ is on sys.path when run as a script

from syndicator.extract import extract_article
from syndicator.models import Source
from syndicator.normalise.categories import map_categories
from syndicator.normalise.page import normalise_page

SEED = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "site-zhbf" / "article-8812.utf8.html"
URL = "http://www.zhbf.example/qinggan/gushi/20231123/8812.html"
SOURCE = Source(id="bench", url=URL, kind="page", timezone="Asia/Shanghai")


def rate(work: Callable[[], object], seconds: float) -> float:
    work()  # warm-up: imports, dateparser's first call, lxml caches
    done, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        work()
        done += 1
    return done / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    body = SEED.read_bytes()
    now = datetime.now(UTC)

    def ours() -> None:
        page = extract_article(body, URL, timezone=SOURCE.timezone, now=now)
        categories, _ = map_categories(page.category_path, SOURCE)
        normalise_page(page, SOURCE, fetched_at=now, categories=categories)

    def reference() -> None:
        trafilatura.extract(body.decode("utf-8"), url=URL, include_images=True)

    ours_rate = rate(ours, args.seconds)
    ref_rate = rate(reference, args.seconds)
    print(f"machine: {describe()}")
    print(f"seed page ({len(body):,} bytes), one core, {args.seconds:.0f} s each:")
    print(f"  syndicator extract + normalise: {ours_rate:8.1f} pages/s ({1000 / ours_rate:.2f} ms/page)")
    print(f"  trafilatura.extract alone:      {ref_rate:8.1f} pages/s ({1000 / ref_rate:.2f} ms/page)")


if __name__ == "__main__":
    main()

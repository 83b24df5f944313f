"""Precision and recall of near-duplicate clustering on a small labelled set of pairs.

    .venv/bin/python bench/cluster_quality.py [--threshold 0.5]

The set (tests/fixtures/cluster/, project data: see its README) is built from
`stories.json`: six events (three in Chinese, three in English), each with two different
stories about it that share names, numbers and phrases. From those twelve stories:

- duplicates (label 1), three per story: the story with another outlet's header and
  footer added (`frame`); the same with one sentence replaced by a sentence of an
  unrelated story (`frame+1`, the issue's case); the same with two sentences replaced
  (`frame+2`);
- not duplicates (label 0): the two stories of each event (`same-event`, the hard case:
  shared phrases), and each story against a story of the next event in its language and
  of the other language (`unrelated`).

A pair is predicted a duplicate exactly as ingest decides (process/cluster.py): the two
fingerprints share an LSH band AND their estimated similarity is at least the threshold.
Prints a row per threshold (0.2 … 0.8) and the pairs the default threshold gets wrong.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from syndicator.process.fingerprint import (
    bands,
    shingles,
    signature,
    similarity,
)

SET = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "cluster" / "stories.json"
_SENTENCE = {"zh": re.compile(r"(?<=[。!?])"), "en": re.compile(r"(?<=[.!?])\s+")}


@dataclass(frozen=True)
class Pair:
    kind: str
    label: int
    a: str
    b: str


def sentences(text: str, language: str) -> list[str]:
    return [s for s in _SENTENCE[language].split(text) if s.strip()]


def joined(parts: list[str], language: str) -> str:
    return ("" if language == "zh" else " ").join(parts)


def build_pairs(data: dict) -> list[Pair]:
    events = data["events"]
    stories = [(e["event"], e["language"], i, s) for e in events for i, s in enumerate(e["stories"])]
    pairs: list[Pair] = []
    for n, (event, lang, _i, story) in enumerate(stories):
        header = data["headers"][lang][n % 2]
        footer = data["footers"][lang][n % 2]
        # A replacement sentence from a story of another event, same language.
        donors = [s for e, la, _j, s in stories if la == lang and e != event]
        donor = sentences(donors[n % len(donors)], lang)
        parts = sentences(story, lang)
        framed = joined([header, *parts, footer], lang)
        one = list(parts)
        one[len(one) // 2] = donor[1]
        two = list(one)
        two[1] = donor[2]
        pairs.append(Pair("frame", 1, story, framed))
        pairs.append(Pair("frame+1", 1, story, joined([header, *one, footer], lang)))
        pairs.append(Pair("frame+2", 1, story, joined([header, *two, footer], lang)))
    for e in events:
        pairs.append(Pair("same-event", 0, e["stories"][0], e["stories"][1]))
    for n, (event, lang, i, story) in enumerate(stories):
        same_lang = [s for e, la, j, s in stories if la == lang and e != event and j == i]
        other_lang = [s for _e, la, j, s in stories if la != lang and j == i]
        pairs.append(Pair("unrelated", 0, story, same_lang[n % len(same_lang)]))
        pairs.append(Pair("unrelated", 0, story, other_lang[n % len(other_lang)]))
    return pairs


def score(pair: Pair) -> tuple[float, bool]:
    """(estimated similarity, whether the two share an LSH band)."""
    a = signature(shingles(pair.a.casefold()))
    b = signature(shingles(pair.b.casefold()))
    return similarity(a, b), bool(set(enumerate(bands(a))) & set(enumerate(bands(b))))


def main() -> None:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--threshold", type=float, default=0.3)
    args = parser.parse_args()
    pairs = build_pairs(json.loads(SET.read_text(encoding="utf-8")))
    scored = [(p, *score(p)) for p in pairs]
    counts = {k: sum(p.kind == k for p in pairs) for k in dict.fromkeys(p.kind for p in pairs)}
    print(f"{len(pairs)} pairs: " + ", ".join(f"{n} {k}" for k, n in counts.items()))
    print(f"{'threshold':>9} {'precision':>9} {'recall':>6} {'tp':>3} {'fp':>3} {'fn':>3}")
    for t in (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8):
        tp = sum(p.label == 1 and band and s >= t for p, s, band in scored)
        fp = sum(p.label == 0 and band and s >= t for p, s, band in scored)
        fn = sum(p.label == 1 and not (band and s >= t) for p, s, band in scored)
        precision = tp / (tp + fp) if tp + fp else 1.0
        print(f"{t:>9.1f} {precision:>9.3f} {tp / (tp + fn):>6.3f} {tp:>3} {fp:>3} {fn:>3}")
    by_kind: dict[str, list[float]] = {}
    for p, s, _band in scored:
        by_kind.setdefault(p.kind, []).append(s)
    spread = ", ".join(f"{k} {min(v):.2f}/{max(v):.2f}" for k, v in by_kind.items())
    print(f"similarity by kind (min / max): {spread}")
    wrong = [(p, s) for p, s, band in scored if (band and s >= args.threshold) != bool(p.label)]
    for p, s in wrong:
        print(f"wrong at {args.threshold}: {p.kind} (label {p.label}) similarity {s:.2f}: {p.a[:30]!r}")


if __name__ == "__main__":
    main()

"""Precision and recall of near-duplicate clustering, measured on real article pairs.

    .venv/bin/python bench/cluster_quality.py [--threshold 0.3] [--dev]

The measurement set (tests/fixtures/cluster-real/, provenance and licences in its
README and in `texts.json`) holds real public article text in Chinese and English:

- genuine copies (label 1, origin `genuine`): the same wire story as two sites carried
  it, each with its own header and footer lines;
- derived copies (label 1, origin `derived`): a real article against the same article
  framed by another outlet's header and footer lines, with its middle sentence replaced
  by a sentence of another story (the issue's case: "different header and footer, one
  sentence changed"). `derived_pairs` builds them; the frames are in `pairs.json`;
- same event (label 0): two different real reports of one event that share names,
  numbers and phrases (a release and a report quoting it; an arrival and a meeting);
- same template (label 0): two real reports of different events written from the same
  template (the same NPC decision five years apart, two quarters' GDP reports);
- unrelated (label 0): real articles on other subjects, same language.

The set is for measuring: the threshold is not tuned on it. The old set of pairs written
for the project (tests/fixtures/cluster/, `--dev`) stays as the development set.

A pair is predicted a duplicate exactly as ingest decides (process/cluster.py): both
articles have a fingerprint (enough text), the fingerprints share an LSH band, and their
estimated similarity is at least the threshold. Prints precision and recall at the
default threshold and a few others, by language and by origin, the similarity range of
each kind, and the pairs the chosen threshold gets wrong.
"""

from __future__ import annotations

import argparse
import html
import json
import re
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from syndicator.fingerprint import Fingerprint, fingerprint, similarity
from syndicator.models import Article, Category

ROOT = Path(__file__).resolve().parent.parent
REAL = ROOT / "tests" / "fixtures" / "cluster-real"
DEV = ROOT / "tests" / "fixtures" / "cluster" / "stories.json"
DEFAULT_THRESHOLD: float = Category.__dataclass_fields__["near_duplicate_threshold"].default
"""The product's default `near_duplicate_threshold` (models.Category), read, not copied."""
THRESHOLDS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6)
_SENTENCE = {"zh": re.compile(r"(?<=[。!?])"), "en": re.compile(r"(?<=[.!?])\s+")}


@dataclass(frozen=True)
class Pair:
    name: str
    language: str
    kind: str
    origin: str
    label: int
    a: tuple[str, str]
    """(title, text)"""
    b: tuple[str, str]


def as_article(title: str, text: str) -> Article:
    """An article whose body is `text`, one paragraph a line, as a normaliser makes it."""
    body = "".join(f"<p>{html.escape(line)}</p>" for line in text.splitlines() if line.strip())
    now = datetime(2026, 11, 30, tzinfo=UTC)
    return Article("a", "s", "https://example.org/a", title, None, now, now, None, False, body, "", (), ())


def sentences(text: str, language: str) -> list[str]:
    return [s for s in _SENTENCE[language].split(text) if s.strip()]


def joined(parts: list[str], language: str) -> str:
    return ("" if language == "zh" else " ").join(parts)


def derived_copy(text: dict, donor: dict, frame: dict[str, str]) -> str:
    """`text` framed by another outlet's lines, its middle sentence replaced by `donor`'s.

    The lines after the first (a dateline or source line stays as it was; a text of one
    line is all body) are split into sentences; the replaced sentence is the middle one.
    """
    language = text["language"]
    lines = text["text"].splitlines()
    first = 1 if len(lines) > 1 else 0
    spans = [(i, s) for i, line in enumerate(lines) if i >= first for s in sentences(line, language)]
    donor_sentences = sentences(donor["text"].replace("\n", " " if language == "en" else ""), language)
    line_no, old = spans[len(spans) // 2]
    new = donor_sentences[len(donor_sentences) // 2]
    changed = list(lines)
    changed[line_no] = lines[line_no].replace(old, new, 1)
    return "\n".join([frame["header"], *changed, frame["footer"]])


def derived_pairs(texts: dict[str, dict], data: dict) -> list[Pair]:
    """Each text listed under `derive` against its framed, one-sentence-changed copy."""
    pairs: list[Pair] = []
    for n, name in enumerate(data["derive"]):
        text = texts[name]
        language = text["language"]
        donors = [t for t in texts.values() if t["language"] == language and t["story"] != text["story"]]
        frames = data["frames"][language]
        copy = derived_copy(text, donors[n % len(donors)], frames[n % len(frames)])
        a = (text["title"], text["text"])
        pairs.append(Pair(f"{name}~derived", language, "copy", "derived", 1, a, (text["title"], copy)))
    return pairs


def load_real() -> list[Pair]:
    """The measurement set: the genuine pairs of `pairs.json` and the derived copies."""
    texts = {t["id"]: t for t in json.loads((REAL / "texts.json").read_text("utf-8"))["texts"]}
    data = json.loads((REAL / "pairs.json").read_text("utf-8"))
    pairs = [
        Pair(
            f"{p['a']}|{p['b']}",
            texts[p["a"]]["language"],
            p["kind"],
            p["origin"],
            p["label"],
            (texts[p["a"]]["title"], texts[p["a"]]["text"]),
            (texts[p["b"]]["title"], texts[p["b"]]["text"]),
        )
        for p in data["pairs"]
    ]
    return pairs + derived_pairs(texts, data)


def load_dev() -> list[Pair]:
    """The development set written for the project (tests/fixtures/cluster/, see its README):
    each story framed (`frame`), then with one and two sentences replaced; the two stories
    of each event (`same-event`); stories of other events and languages (`unrelated`)."""
    data = json.loads(DEV.read_text(encoding="utf-8"))
    events = data["events"]
    stories = [(e["event"], e["language"], i, s) for e in events for i, s in enumerate(e["stories"])]
    pairs: list[Pair] = []

    def add(kind: str, label: int, lang: str, a: str, b: str) -> None:
        pairs.append(Pair(f"dev-{len(pairs)}", lang, kind, "dev", label, ("", a), ("", b)))

    for n, (event, lang, _i, story) in enumerate(stories):
        header = data["headers"][lang][n % 2]
        footer = data["footers"][lang][n % 2]
        donors = [s for e, la, _j, s in stories if la == lang and e != event]
        donor = sentences(donors[n % len(donors)], lang)
        parts = sentences(story, lang)
        one = list(parts)
        one[len(one) // 2] = donor[1]
        two = list(one)
        two[1] = donor[2]
        add("frame", 1, lang, story, joined([header, *parts, footer], lang))
        add("frame+1", 1, lang, story, joined([header, *one, footer], lang))
        add("frame+2", 1, lang, story, joined([header, *two, footer], lang))
    for e in events:
        add("same-event", 0, e["language"], e["stories"][0], e["stories"][1])
    for n, (event, lang, i, story) in enumerate(stories):
        same_lang = [s for e, la, j, s in stories if la == lang and e != event and j == i]
        other_lang = [s for _e, la, j, s in stories if la != lang and j == i]
        add("unrelated", 0, lang, story, same_lang[n % len(same_lang)])
        add("unrelated", 0, lang, story, other_lang[n % len(other_lang)])
    return pairs


@dataclass(frozen=True)
class Scored:
    pair: Pair
    similarity: float
    """Estimated Jaccard similarity; 0.0 when either side has too little text."""
    shares_band: bool

    def clustered(self, threshold: float) -> bool:
        """What ingest decides: a candidate through a shared band, similar enough."""
        return self.shares_band and self.similarity >= threshold


def score(pair: Pair) -> Scored:
    a: Fingerprint | None = fingerprint(as_article(*pair.a))
    b: Fingerprint | None = fingerprint(as_article(*pair.b))
    if a is None or b is None:
        return Scored(pair, 0.0, False)
    shared = set(enumerate(a.bands)) & set(enumerate(b.bands))
    return Scored(pair, similarity(a.signature, b.signature), bool(shared))


@dataclass(frozen=True)
class Counts:
    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


def counts(scored: list[Scored], threshold: float) -> Counts:
    def n(label: int, clustered: bool) -> int:
        return sum(s.pair.label == label and s.clustered(threshold) == clustered for s in scored)

    return Counts(tp=n(1, True), fp=n(0, True), fn=n(1, False), tn=n(0, False))


def report(title: str, scored: list[Scored], threshold: float) -> None:
    """Print the tables for one set."""
    kinds: dict[tuple[str, str, str], int] = {}
    for s in scored:
        key = (s.pair.language, s.pair.kind, s.pair.origin)
        kinds[key] = kinds.get(key, 0) + 1
    print(f"== {title}: {len(scored)} pairs")
    print(
        "   "
        + ", ".join(f"{lang} {kind} ({origin}) {n}" for (lang, kind, origin), n in sorted(kinds.items()))
    )
    languages = sorted({s.pair.language for s in scored})
    head = "".join(f" {lang + ' P':>6} {lang + ' R':>6}" for lang in languages)
    print(f"{'threshold':>9} {'precision':>9} {'recall':>6}  {'tp':>3} {'fp':>3} {'fn':>3} {'tn':>3}{head}")
    for t in THRESHOLDS:
        c = counts(scored, t)
        by_language = ""
        for lang in languages:
            cl = counts([s for s in scored if s.pair.language == lang], t)
            by_language += f" {cl.precision:>6.3f} {cl.recall:>6.3f}"
        mark = "  <- default" if t == DEFAULT_THRESHOLD else ""
        row = f"{t:>9.1f} {c.precision:>9.3f} {c.recall:>6.3f}  {c.tp:>3} {c.fp:>3} {c.fn:>3} {c.tn:>3}"
        print(f"{row}{by_language}{mark}")
    print(f"at {threshold}, by slice:")
    print(f"{'slice':<28} {'pairs':>5} {'precision':>9} {'recall':>6} {'clustered':>9}")
    slices: dict[str, list[Scored]] = {}
    for s in scored:
        slices.setdefault(f"{s.pair.language} all", []).append(s)
        slices.setdefault(f"{s.pair.language} {s.pair.kind} ({s.pair.origin})", []).append(s)
    for name, group in sorted(slices.items()):
        c = counts(group, threshold)
        precision = f"{c.precision:.3f}" if c.tp + c.fp else "-"
        recall = f"{c.recall:.3f}" if c.tp + c.fn else "-"
        print(f"{name:<28} {len(group):>5} {precision:>9} {recall:>6} {c.tp + c.fp:>9}")
    spread: dict[str, list[float]] = {}
    for s in scored:
        spread.setdefault(f"{s.pair.language} {s.pair.kind} ({s.pair.origin})", []).append(s.similarity)
    print("similarity by kind (min / max): ")
    for name, values in sorted(spread.items()):
        print(f"   {name:<28} {min(values):.2f} / {max(values):.2f}")
    for s in scored:
        if s.clustered(threshold) != bool(s.pair.label):
            what = f"{s.pair.kind}, {s.pair.origin}, label {s.pair.label}"
            print(f"wrong at {threshold}: {s.pair.name} ({what}) similarity {s.similarity:.2f}")


def main() -> None:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    parser.add_argument(
        "--dev", action="store_true", help="also the development set (written for the project)"
    )
    args = parser.parse_args()
    report("real pairs (measurement set)", [score(p) for p in load_real()], args.threshold)
    if args.dev:
        print()
        report("development set (written for the project)", [score(p) for p in load_dev()], args.threshold)


if __name__ == "__main__":
    main()

"""Extraction quality on hand-labelled pages: Syndicator beside trafilatura and GNE, one scorer.

    .venv/bin/pip install -e '.[bench]'    # GNE, the third column (skipped when absent)
    .venv/bin/python bench/extract_quality.py materialise bench/extract_sets/dev1 /tmp/dev1-pages
    .venv/bin/python bench/extract_quality.py score bench/extract_sets/dev1 /tmp/dev1-pages [--seconds 20]
    .venv/bin/python bench/extract_quality.py check bench/extract_sets/dev1 /tmp/dev1-pages

Why one scorer for everyone: a number only means something beside a peer's number when both
came from the same pages, the same reference and the same arithmetic. Each labelled page has a
title, a publication day, the first and last sentence of its body and a few sentences that must
or must not be in the body (`labels.json` in the set's folder). The reference body is the page's
visible text from the first body sentence through the last one, so a hand label of two sentences
stands for the whole body without anyone retyping it; a must-not-contain sentence that falls
inside that span (an in-article advert) is cut out of the reference too.

Scores, per language group:
  body F1   shingle F1 against the reference body: word 4-grams, or character 4-grams for
            Chinese/Japanese (no spaces between words), counted as multisets
  with      share of must-contain sentences (and the body's first and last) found in the output
  without   share of must-not-contain sentences absent from the output
  date      publication day equal to the label's (the day as the page writes it, in its zone)
  title     equal to the label after collapsing whitespace
  crashed   pages where the extractor raised (anything but Syndicator's "no article" error)
  empty     pages with no body text: an empty result, or Syndicator's "no article" error with
            its reason; every failure is listed under the table

Speed: the same pages in the same process, whole passes alternating between the extractors
until each has run at least `--seconds`, by wall time and by this process's CPU time:
Syndicator as `syndicator extract FILE --url URL` runs it (bytes in: it decodes the page
itself), trafilatura as `trafilatura.extract(html, url=url, with_metadata=True,
output_format="json")` with its defaults on text we decoded for it with the labelled charset
(so its numbers are not hurt by a wrong charset guess, and its decoding costs it nothing).

The pages themselves stay outside the repository (no redistribution licence for most):
`manifest.json` names each by repository, path, commit and sha256, and `materialise` copies
them out of a local mirror or a clone (`--mirror-root`, default /work/.mirror, laid out as
owner+name/repo; else `git clone` from GitHub into `--cache`).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import lzma
import re
import subprocess
import sys
import time
import traceback
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lxml import html as lxml_html

CJK_LANGUAGES = {"zh", "ja"}
_SPACE = re.compile(r"\s+")
_WORD = re.compile(r"\w+")
_DAY = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})")


@dataclass(frozen=True)
class Label:
    """One hand-labelled page (an entry of labels.json, joined with its manifest entry)."""

    id: str
    lang: str
    url: str
    encoding: str
    title: str | None
    date: str | None  # YYYY-MM-DD, or None when the page shows no publication date
    body_start: str
    body_end: str
    must_contain: tuple[str, ...]
    must_not_contain: tuple[str, ...]
    file: str


@dataclass
class Output:
    """What one extractor returned for one page, reduced to what is scored."""

    text: str = ""
    title: str | None = None
    date: str | None = None
    error: str | None = None  # the exception or the empty-result reason


@dataclass
class Tally:
    """Running sums for one extractor over one language group."""

    pages: int = 0
    f1: float = 0.0
    with_hit: int = 0
    with_all: int = 0
    without_hit: int = 0
    without_all: int = 0
    dates_ok: int = 0
    dates_all: int = 0
    titles_ok: int = 0
    titles_all: int = 0
    failed: list[str] = field(default_factory=list)


def squash(text: str) -> str:
    """Whitespace runs to one space, NFC, soft hyphens out: what a reader would call equal."""
    return _SPACE.sub(" ", unicodedata.normalize("NFC", text).replace("\u00ad", "")).strip()


def shingles(text: str, lang: str) -> Counter[tuple[str, ...]]:
    """Word 4-grams, or character 4-grams for languages written without spaces."""
    if lang in CJK_LANGUAGES:
        chars = [c for c in text if c.isalnum()]
        return Counter(tuple(chars[i : i + 4]) for i in range(max(0, len(chars) - 3)))
    words = _WORD.findall(text.lower())
    return Counter(tuple(words[i : i + 4]) for i in range(max(0, len(words) - 3)))


def shingle_f1(output: str, reference: str, lang: str) -> float:
    got, want = shingles(output, lang), shingles(reference, lang)
    common = sum((got & want).values())
    if not common:
        return 0.0
    precision, recall = common / sum(got.values()), common / sum(want.values())
    return 2 * precision * recall / (precision + recall)


_BLOCKS = frozenset(
    [
        "address",
        "article",
        "aside",
        "blockquote",
        "br",
        "dd",
        "div",
        "dl",
        "dt",
        "figcaption",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "li",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "table",
        "td",
        "th",
        "tr",
        "ul",
        "title",
    ]
)


def visible_text(page: str) -> str:
    """The page's text as a reader sees it (scripts, styles, comments dropped), squashed.

    Block elements end with a line break and inline ones run on, so `latest <a>column</a>,`
    reads "latest column," as the extractors print it, not "latest column ,"."""
    tree = lxml_html.document_fromstring(page)
    for node in tree.xpath("//script|//style|//noscript|//template"):
        node.drop_tree()
    for node in tree.iter():
        if isinstance(node.tag, str) and node.tag in _BLOCKS:
            node.tail = "\n" + (node.tail or "")
    return squash(tree.text_content())


def reference_body(label: Label, page: str) -> str:
    """Visible text from the first labelled body sentence through the last, adverts cut out."""
    text = visible_text(page)
    start = text.find(squash(label.body_start))
    # The end is its first occurrence after every must-contain sentence: a pull quote of the
    # last sentence higher up the article must not cut the body short.
    inside = [text.find(squash(s), start) for s in label.must_contain]
    end = text.find(squash(label.body_end), max([start, *inside]))
    if start < 0 or end < 0:
        raise ValueError(f"{label.id}: body start or end not found in the page's visible text")
    body = text[start : end + len(squash(label.body_end))]
    for snippet in label.must_not_contain:
        body = body.replace(squash(snippet), " ")
    return squash(body)


def day_of(value: str | None) -> str | None:
    if not value:
        return None
    match = _DAY.search(value)
    return f"{match[1]}-{int(match[2]):02d}-{int(match[3]):02d}" if match else None


def load_set(set_dir: Path, pages_dir: Path) -> list[Label]:
    manifest = {e["id"]: e for e in json.loads((set_dir / "manifest.json").read_text())["pages"]}
    labels = []
    for entry in json.loads((set_dir / "labels.json").read_text())["pages"]:
        source = manifest[entry["id"]]
        labels.append(
            Label(
                id=entry["id"],
                lang=source["lang"],
                url=source["url"],
                encoding=source["encoding"],
                title=entry.get("title"),
                date=entry.get("date"),
                body_start=entry["body_start"],
                body_end=entry["body_end"],
                must_contain=tuple(entry.get("must_contain", ())),
                must_not_contain=tuple(entry.get("must_not_contain", ())),
                file=str(pages_dir / source["file"]),
            )
        )
    return labels


# --- the extractors, each reduced to Output ---------------------------------------------


def run_syndicator(path: str, url: str, _page: str) -> Output:
    """As `syndicator extract FILE --url URL` runs it, charset detection included."""
    from syndicator.cli_extract import ExtractCommandError, published_as_given, run_extract

    try:
        page, _categories = run_extract(path, url=url, source_id=None, config=None)
    except ExtractCommandError as exc:
        return Output(error=str(exc))
    # The day as the page wrote it (its own offset), as `syndicator extract` prints it; the
    # stored `published` is in the source's zone and can be the next or the previous day.
    given = published_as_given(page)
    return Output(text=page.text, title=page.title, date=given.date().isoformat() if given else None)


def run_trafilatura(_path: str, url: str, page: str) -> Output:
    import trafilatura

    result = trafilatura.extract(page, url=url, with_metadata=True, output_format="json")
    if not result:
        return Output(error="no result")
    data = json.loads(result)
    return Output(text=data.get("text") or "", title=data.get("title"), date=day_of(data.get("date")))


_GNE: Any = None


def run_gne(_path: str, _url: str, page: str) -> Output:
    global _GNE
    if _GNE is None:
        from gne import GeneralNewsExtractor

        _GNE = GeneralNewsExtractor()
    data = _GNE.extract(page)
    return Output(
        text=data.get("content") or "",
        title=data.get("title"),
        date=day_of(str(data.get("publish_time") or "")),
    )


def extractors() -> dict[str, Callable[[str, str, str], Output]]:
    found: dict[str, Callable[[str, str, str], Output]] = {
        "syndicator": run_syndicator,
        "trafilatura": run_trafilatura,
    }
    try:
        import gne  # noqa: F401
    except ImportError:
        print("note: gne is not installed (pip install gne); its column is left out", file=sys.stderr)
    else:
        found["gne"] = run_gne
    return found


def guarded(run: Callable[[str, str, str], Output], label: Label, page: str) -> Output:
    """A crash is a result too: counted, with its exception, never the end of the run."""
    try:
        out = run(label.file, label.url, page)
    except Exception as exc:
        return Output(error=f"crash: {type(exc).__name__}: {exc}")
    if not out.error and not out.text.strip():
        out.error = "empty text"
    return out


# --- scoring -----------------------------------------------------------------------------


def score_page(tally: Tally, label: Label, out: Output, reference: str) -> dict[str, Any]:
    text = squash(out.text)
    wanted = (label.body_start, label.body_end, *label.must_contain)
    found = [squash(s) in text for s in wanted]
    absent = [squash(s) not in text for s in label.must_not_contain]
    f1 = shingle_f1(text, reference, label.lang)
    tally.pages += 1
    tally.f1 += f1
    tally.with_hit += sum(found)
    tally.with_all += len(found)
    tally.without_hit += sum(absent)
    tally.without_all += len(absent)
    if label.date is not None:
        tally.dates_all += 1
        tally.dates_ok += out.date == label.date
    if label.title is not None:
        tally.titles_all += 1
        tally.titles_ok += squash(out.title or "") == squash(label.title)
    if out.error:
        tally.failed.append(f"{label.id}: {out.error}")
    return {"f1": round(f1, 3), "date": out.date, "title": out.title, "error": out.error}


def group_of(lang: str) -> str:
    return {"zh": "zh", "de": "de", "en": "en"}.get(lang, "other")


def crashes(tally: Tally) -> int:
    return sum(": crash: " in failure for failure in tally.failed)


def summary(tallies: dict[tuple[str, str], Tally], groups: list[str], names: list[str]) -> None:
    """The README's shape: one row per language group, the extractors side by side."""
    print("\n| set | body F1 (" + " / ".join(names) + ") | dates | titles | crashed |")
    print("|---|---|---|---|---|")
    for group in groups:
        row = [tallies[(name, group)] for name in names]
        f1 = " / ".join(f"{t.f1 / t.pages:.3f}" for t in row)
        dates = " / ".join(f"{t.dates_ok}/{t.dates_all}" for t in row)
        titles = " / ".join(f"{t.titles_ok}/{t.titles_all}" for t in row)
        crashed = " / ".join(str(crashes(t)) for t in row)
        print(f"| {group} ({row[0].pages} pages) | {f1} | {dates} | {titles} | {crashed} |")


def rates(
    runs: dict[str, Callable[[str, str, str], Output]], pages: list[tuple[Label, str]], seconds: float
) -> dict[str, tuple[float, float]]:
    """Pages per second of each extractor, by wall time and by CPU time of this process.

    Passes through the set alternate between the extractors, the order turning each round,
    until each has run at least `seconds`: on a shared machine a burst of someone else's
    load then slows every extractor alike, where a block of seconds per extractor would
    charge it to whichever ran at the time. One warm-up pass each first.
    """
    for run in runs.values():
        for label, page in pages:
            guarded(run, label, page)
    names = list(runs)
    wall = dict.fromkeys(names, 0.0)
    cpu = dict.fromkeys(names, 0.0)
    done = 0
    while min(wall.values()) < seconds or done == 0:
        for name in names[done % len(names) :] + names[: done % len(names)]:
            started, started_cpu = time.perf_counter(), time.process_time()
            for label, page in pages:
                guarded(runs[name], label, page)
            wall[name] += time.perf_counter() - started
            cpu[name] += time.process_time() - started_cpu
        done += 1
    return {name: (done * len(pages) / wall[name], done * len(pages) / cpu[name]) for name in names}


def score(set_dir: Path, pages_dir: Path, seconds: float, details: Path | None) -> None:
    labels = load_set(set_dir, pages_dir)
    pages = [(label, Path(label.file).read_bytes().decode(label.encoding)) for label in labels]
    references = {label.id: reference_body(label, page) for label, page in pages}
    runs = extractors()
    tallies: dict[tuple[str, str], Tally] = {}
    per_page: dict[str, dict[str, Any]] = {}
    for label, page in pages:
        for name, run in runs.items():
            out = guarded(run, label, page)
            for group in (group_of(label.lang), "all"):
                tally = tallies.setdefault((name, group), Tally())
                result = score_page(tally, label, out, references[label.id])
            per_page.setdefault(label.id, {})[name] = result
    if details:
        details.write_text(json.dumps(per_page, ensure_ascii=False, indent=1))

    from machine import describe  # bench/ is on sys.path when run as a script

    print(f"machine: {describe()}")
    print(f"set: {set_dir} ({len(labels)} pages)\n")
    print("| group | extractor | pages | body F1 | with | without | dates | titles | crashed | empty |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    groups = sorted({g for _, g in tallies}, key=lambda g: (g == "all", g))
    for group in groups:
        for name in runs:
            t = tallies[(name, group)]
            print(
                f"| {group} | {name} | {t.pages} | {t.f1 / t.pages:.3f} "
                f"| {t.with_hit / max(t.with_all, 1):.2f} | {t.without_hit / max(t.without_all, 1):.2f} "
                f"| {t.dates_ok}/{t.dates_all} | {t.titles_ok}/{t.titles_all} "
                f"| {crashes(t)} | {len(t.failed) - crashes(t)} |"
            )
    for name in runs:
        for failure in tallies[(name, "all")].failed:
            print(f"  {name} failed on {failure}")
    summary(tallies, groups, list(runs))
    if seconds > 0:
        speeds = rates(runs, pages, seconds)
        print(f"\nspeed, same {len(pages)} pages, one process, alternating passes, ≥{seconds:.0f} s each:")
        wall_ref, cpu_ref = speeds["trafilatura"]
        for name, (wall, cpu) in speeds.items():
            print(
                f"  {name:12} {wall:7.1f} pages/s  ({wall / wall_ref:.2f}× trafilatura); "
                f"by CPU time {cpu:7.1f} pages/s ({cpu / cpu_ref:.2f}×)"
            )


# --- labels and pages --------------------------------------------------------------------


def check(set_dir: Path, pages_dir: Path) -> None:
    """Every label must be findable in its page: start, end, must-contain, title; sha256 too."""
    manifest = {e["id"]: e for e in json.loads((set_dir / "manifest.json").read_text())["pages"]}
    problems = 0
    for label in load_set(set_dir, pages_dir):
        raw = Path(label.file).read_bytes()
        if hashlib.sha256(raw).hexdigest() != manifest[label.id]["sha256"]:
            print(f"{label.id}: sha256 differs from the manifest")
            problems += 1
        page = raw.decode(label.encoding)
        text = visible_text(page)
        for kind, snippets in (
            ("start", [label.body_start]),
            ("end", [label.body_end]),
            ("must_contain", label.must_contain),
            ("must_not_contain", label.must_not_contain),
        ):
            for snippet in snippets:
                if squash(snippet) not in text:
                    print(f"{label.id}: {kind} not in the visible text: {snippet[:60]!r}")
                    problems += 1
        try:
            ref = reference_body(label, page)
        except ValueError as exc:
            print(exc)
            problems += 1
            continue
        for snippet in label.must_contain:
            if squash(snippet) not in ref:
                print(f"{label.id}: must_contain outside the body span: {snippet[:60]!r}")
                problems += 1
    print(f"{problems} problem(s)")
    sys.exit(1 if problems else 0)


def materialise(set_dir: Path, pages_dir: Path, mirror_root: Path, cache: Path) -> None:
    """Copy each manifest page out of its repository at the named commit; verify sha256.

    An entry with `"compression": "xz"` names a blob stored compressed: the page is what it
    decompresses to, and the manifest's sha256 is the page's, so `check` can verify the file."""
    pages_dir.mkdir(parents=True, exist_ok=True)
    for entry in json.loads((set_dir / "manifest.json").read_text())["pages"]:
        repo = entry["repo"]
        git_dir = mirror_root / repo.replace("/", "+") / "repo"
        if (git_dir / ".git").is_dir():  # a snapshot with a work tree keeps its history in .git
            git_dir = git_dir / ".git"
        if not git_dir.exists():
            git_dir = cache / repo.replace("/", "+")
            if not git_dir.exists():
                url = f"https://github.com/{repo}.git"
                subprocess.run(["git", "clone", "--bare", "--quiet", url, str(git_dir)], check=True)
        blob = subprocess.run(
            ["git", f"--git-dir={git_dir}", "show", f"{entry['commit']}:{entry['path']}"],
            check=True,
            capture_output=True,
        ).stdout
        if entry.get("compression") == "xz":  # the repository keeps the page xz-compressed
            blob = lzma.decompress(blob)
        digest = hashlib.sha256(blob).hexdigest()
        if digest != entry["sha256"]:
            raise SystemExit(f"{entry['id']}: sha256 {digest} is not the manifest's {entry['sha256']}")
        (pages_dir / entry["file"]).write_bytes(blob)
    print(f"pages written to {pages_dir}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("score", "check", "materialise"):
        p = sub.add_parser(name)
        p.add_argument("set_dir", type=Path, help="bench/extract_sets/NAME (manifest.json, labels.json)")
        p.add_argument("pages_dir", type=Path, help="local folder holding the pages")
        if name == "score":
            p.add_argument("--seconds", type=float, default=20.0, help="speed run per extractor; 0 skips")
            p.add_argument("--details", type=Path, help="write per-page results (JSON) here")
        if name == "materialise":
            p.add_argument("--mirror-root", type=Path, default=Path("/work/.mirror"))
            p.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "syndicator-bench")
    args = parser.parse_args()
    try:
        if args.command == "score":
            score(args.set_dir, args.pages_dir, args.seconds, args.details)
        elif args.command == "check":
            check(args.set_dir, args.pages_dir)
        else:
            materialise(args.set_dir, args.pages_dir, args.mirror_root, args.cache)
    except BrokenPipeError:
        traceback.print_exc(limit=0)


if __name__ == "__main__":
    main()

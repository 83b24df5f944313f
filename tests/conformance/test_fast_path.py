"""The lxml fast path against feedparser over every XML feed file of the public corpora.

Each file is parsed as `parse_xml_feed` runs (the fast path where it applies) and with
`fast_path=False` (feedparser only): the outcomes (ParsedFeed, or the ParseError text) must
be equal. The counts of files read fast and handed to feedparser, with the reasons, are
printed (`-s` shows them) and bounded below, so that a fast path that quietly stops
applying fails here rather than only in the bench.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from syndicator.models import ParsedFeed
from syndicator.parse import ParseError
from syndicator.parse.feed import fast_path_refusal, parse_xml_feed
from tests.test_parse import URL, corpus_headers


def outcome(body: bytes, headers: dict[str, str], *, fast: bool) -> ParsedFeed | str:
    try:
        return parse_xml_feed(body, headers, URL, max_entries=500, fast_path=fast)
    except ParseError as exc:
        return f"ParseError: {exc.reason}"


def sweep(paths: list[Path]) -> tuple[int, Counter[str], list[str]]:
    """Files read fast, fallback reasons counted, and files where the two paths differ."""
    taken = 0
    reasons: Counter[str] = Counter()
    differ = []
    for path in paths:
        body, headers = path.read_bytes(), corpus_headers(path)
        refusal = fast_path_refusal(body, headers)
        if refusal is None:
            taken += 1
        else:
            # "not well-formed for lxml: <lxml's message>": the kind, not each message.
            reasons[refusal.split(":")[0]] += 1
        if outcome(body, headers, fast=True) != outcome(body, headers, fast=False):
            differ.append(str(path))
    return taken, reasons, differ


def report(name: str, paths: list[Path], taken: int, reasons: Counter[str]) -> None:
    print(f"\n{name}: {len(paths)} files, {taken} read fast, {len(paths) - taken} to feedparser")
    for reason, count in reasons.most_common():
        print(f"  {count:5}  {reason}")


def test_feedparser_test_feeds_read_fast_equal_feedparser(corpus: Path) -> None:
    paths = sorted((corpus / "feedparser-tests" / "tests").rglob("*.xml"))
    taken, reasons, differ = sweep(paths)
    report("feedparser-tests", paths, taken, reasons)

    assert differ == []
    assert len(paths) > 2000
    assert taken > 850  # RSS 2.0/0.9x and Atom 1.0; Atom 0.3, RDF, malformed, … go to feedparser


def test_miniflux_feeds_read_fast_equal_feedparser(corpus: Path) -> None:
    paths = sorted((corpus / "miniflux-testdata").rglob("*.xml"))
    taken, reasons, differ = sweep(paths)
    report("miniflux-testdata", paths, taken, reasons)

    assert differ == []
    # Only the RDF feed, the namespace-less <feed> documents and the malformed one remain.
    assert taken >= 11
    assert "large_rss.xml" in {p.name for p in paths if fast_path_refusal(p.read_bytes(), {}) is None}

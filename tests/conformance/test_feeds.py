"""Feed parsing over the public corpora: Miniflux's real-world feeds, feedparser's test feeds,
and the JSON Feed examples.

The main suite's parse tests (tests/test_parse.py) use small copies and inline documents;
here every file of a family is read, so a regression on any real-world shape shows up.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from syndicator.parse import ParseError, parse_feed
from tests.test_parse import URL, corpus_headers


@pytest.fixture(scope="module")
def miniflux(corpus: Path) -> Path:
    return corpus / "miniflux-testdata" / "internal" / "reader" / "parser" / "testdata"


@pytest.fixture(scope="module")
def feedparser_tests(corpus: Path) -> Path:
    return corpus / "feedparser-tests" / "tests"


# ---------------------------------------------------------------- Miniflux's real-world feeds


def test_large_rss_keeps_every_entry_with_raw_fields(miniflux: Path) -> None:
    feed = parse_feed((miniflux / "large_rss.xml").read_bytes(), {}, URL)

    assert (feed.format, feed.title, feed.link) == ("rss20", "Artificial truth", "https://dustri.org/b/")
    assert len(feed.entries) == 25
    first, last = feed.entries[0], feed.entries[-1]
    assert first.title == "Using vale with vim"
    assert first.link == "https://dustri.org/b/using-vale-with-vim.html"
    assert first.guid == "tag:dustri.org,2024-03-10:/b/using-vale-with-vim.html"
    assert first.author == "jvoisin"  # dc:creator
    assert first.published_raw == "Sun, 10 Mar 2024 17:15:00 +0100"
    assert first.updated_raw is None  # not feedparser's "updated falls back to published"
    assert first.content_html.startswith('<p><a href="https://en.wikipedia.org/wiki/LWN.net">LWN</a>')
    assert first.summary_html == ""  # description is the content, not a second summary
    assert first.tags == ("sysadmin",)
    assert first.base_url == URL
    assert last.title == "A sneaky Golang bug"
    assert last.guid == "tag:dustri.org,2023-08-02:/b/a-sneaky-golang-bug.html"
    assert last.published_raw == "Wed, 02 Aug 2023 13:15:00 +0200"


def test_large_atom(miniflux: Path) -> None:
    headers = {"content-type": "application/atom+xml"}
    feed = parse_feed((miniflux / "large_atom.xml").read_bytes(), headers, URL)

    assert (feed.format, feed.title, feed.link) == ("atom10", "Artificial truth", "https://dustri.org/b/")
    assert feed.warnings == ()
    assert len(feed.entries) == 25
    last = feed.entries[-1]
    assert last.title == "A sneaky Golang bug"
    assert last.link == "https://dustri.org/b/a-sneaky-golang-bug.html"
    assert last.guid == "tag:dustri.org,2023-08-02:/b/a-sneaky-golang-bug.html"
    assert last.author == "jvoisin"
    assert last.published_raw == "2023-08-02T13:15:00+02:00"
    assert last.updated_raw == "2023-08-02T13:15:00+02:00"
    assert last.content_html.startswith("<p>Today at work, I needed a function in ")


def test_windows_1251_declared_in_the_prolog(miniflux: Path) -> None:
    feed = parse_feed((miniflux / "encoding_WINDOWS-1251.xml").read_bytes(), {}, URL)

    assert (feed.title, feed.language) == ("iBash.Org.Ru", "ru")
    first = feed.entries[0]
    assert first.title == "Цитата #17703"
    assert first.guid == first.link == "http://ibash.org.ru/quote.php?id=17703"
    assert first.published_raw == "Wed, 21 Mar 2018 10:27:32 +0300"
    assert first.content_html.startswith("xxx: есть у кого жаба программер <br />")


def test_iso_8859_1_declared_in_the_prolog(miniflux: Path) -> None:
    feed = parse_feed((miniflux / "encoding_ISO-8859-1.xml").read_bytes(), {}, URL)

    assert (feed.title, feed.language) == ("Golem.de", "de")
    first = feed.entries[0]
    assert first.title == "Red Dead Redemption 2: Hinweise auf PC-Umsetzung in App von Rockstar Games"
    assert first.guid == "https://www.golem.de/1810/137358-rss.html"
    assert "Viele Spieler wünschen sich eine PC-Version" in first.summary_html


def test_every_miniflux_feed_parses_with_entries(miniflux: Path) -> None:
    paths = sorted(miniflux.glob("*.xml"))
    found = {}
    for path in paths:
        feed = parse_feed(path.read_bytes(), {}, URL)
        found[path.name] = (feed.format != "unknown", len(feed.entries) > 0, feed.title != "")

    assert len(paths) >= 8
    assert {name for name, checks in found.items() if checks != (True, True, True)} == set()


# ---------------------------------------------------------------- feedparser's test feeds


def test_every_wellformed_corpus_feed_parses(feedparser_tests: Path) -> None:
    # CDF (a 1997 Microsoft format) is the one family we do not read.
    paths = [
        p
        for p in sorted((feedparser_tests / "wellformed").rglob("*.xml"))
        if "cdf" not in (p.parent.name, p.name[:3])
    ]
    failures = []
    for path in paths:
        try:
            feed = parse_feed(path.read_bytes(), corpus_headers(path), URL)
        except ParseError as exc:
            failures.append(f"{path.name}: {exc.reason}")
            continue
        if feed.format == "unknown":
            failures.append(f"{path.name}: format not recognised")

    assert len(paths) > 1500
    assert failures == []


# ---------------------------------------------------------------- JSON Feed examples


@pytest.mark.parametrize(("folder", "fmt"), [("v1", "json10"), ("v1.1", "json11")])
def test_every_json_feed_example_parses_with_all_its_items(corpus: Path, folder: str, fmt: str) -> None:
    paths = sorted((corpus / "jsonfeed-schema" / "test" / "examples" / folder).glob("*.json"))
    for path in paths:
        document = json.loads(path.read_bytes())
        feed = parse_feed(path.read_bytes(), {"content-type": "application/feed+json"}, URL)

        assert (path.name, feed.format, feed.title) == (path.name, fmt, document["title"])
        assert [e.guid for e in feed.entries] == [str(item["id"]) for item in document["items"]]
    assert len(paths) >= 3

"""The extraction scorer (bench/extract_quality.py) measures what its README says it measures.

Every extractor is judged by this one scorer, so a flaw here moves every number in the table:
these checks pin the arithmetic (shingle F1, word vs character shingles), the reference body
cut out of a page from its hand labels, and the shape of the committed labels.
"""

from __future__ import annotations

import hashlib
import json
import lzma
import subprocess
from pathlib import Path
from typing import Any

from bench.extract_quality import (
    Label,
    day_of,
    materialise,
    reference_body,
    run_syndicator,
    shingle_f1,
    squash,
    visible_text,
)

SETS = Path(__file__).resolve().parents[1] / "bench" / "extract_sets"


def label(**overrides: Any) -> Label:
    fields: dict[str, Any] = {
        "id": "t",
        "lang": "en",
        "url": "https://example.invalid/t",
        "encoding": "utf-8",
        "title": None,
        "date": None,
        "body_start": "First words here.",
        "body_end": "Last words here.",
        "must_contain": (),
        "must_not_contain": (),
        "file": "unused",
    }
    fields.update(overrides)
    return Label(**fields)


def test_f1_is_one_for_the_same_text_and_zero_for_unrelated_text() -> None:
    text = "the quick brown fox jumps over the lazy dog"
    assert shingle_f1(text, text, "en") == 1.0
    assert shingle_f1("alpha beta gamma delta epsilon", text, "en") == 0.0
    assert 0.0 < shingle_f1("the quick brown fox jumps", text, "en") < 1.0


def test_chinese_is_shingled_by_characters_not_by_the_absent_spaces() -> None:
    reference = "今年上半年我国GDP十强的城市排位已经正式出炉"
    assert shingle_f1(reference, reference, "zh") == 1.0
    # One run of characters is one "word": word shingles would score any overlap as nothing.
    assert shingle_f1("今年上半年我国GDP十强", reference, "zh") > 0.5


def test_visible_text_runs_inline_elements_on_and_breaks_blocks() -> None:
    page = (
        "<html><head><title>T</title><script>var x = 'hidden';</script></head><body>"
        "<p>the latest <a href='#'>column</a>, here</p><p>next</p></body></html>"
    )
    text = visible_text(page)
    assert "the latest column, here" in text
    assert "hidden" not in text
    assert "here next" in text


def test_the_reference_body_runs_from_start_to_end_without_the_advert_inside() -> None:
    page = (
        "<html><body><nav>Home News</nav><p>Last words here.</p>"
        "<p>First words here.</p><p>Buy our app now!</p><p>Middle part.</p>"
        "<p>Last words here.</p><footer>Impressum</footer></body></html>"
    )
    body = reference_body(label(must_contain=("Middle part.",), must_not_contain=("Buy our app now!",)), page)
    assert body == squash("First words here. Middle part. Last words here.")


def test_dates_are_read_as_days_whatever_the_writing() -> None:
    assert day_of("2020-08-03T13:14:04") == "2020-08-03"
    assert day_of("2019年11月25日 18:57") == "2019-11-25"
    assert day_of("2003-5-29") == "2003-05-29"
    assert day_of("") is None
    assert day_of("no date") is None


def test_every_committed_label_has_a_manifest_entry_and_the_fields_the_scorer_reads() -> None:
    for set_dir in (p for p in SETS.iterdir() if p.is_dir()):
        manifest = {e["id"]: e for e in json.loads((set_dir / "manifest.json").read_text())["pages"]}
        labels = json.loads((set_dir / "labels.json").read_text())["pages"]
        assert labels and len({entry["id"] for entry in labels}) == len(labels)
        for entry in labels:
            source = manifest[entry["id"]]
            assert len(source["sha256"]) == 64 and len(source["commit"]) == 40
            assert source["lang"] in {"zh", "de", "en"}
            assert entry["body_start"].strip() and entry["body_end"].strip()
            assert entry["date"] is None or day_of(entry["date"]) == entry["date"]


def test_syndicator_is_scored_on_the_day_in_the_offset_the_page_wrote(tmp_path: Path) -> None:
    # 20:06 at -05:00 is 01:06 the next day in UTC; the label is the page's own day.
    paragraphs = "".join(
        f"<p>Paragraph {n} of the council report says the bridge repairs run late again, "
        "and the council will hear the contractors next week about the cost of the delay.</p>"
        for n in range(8)
    )
    page = (
        "<html><head><title>Bridge repairs run late</title>"
        '<meta property="article:published_time" content="2022-05-07T20:06:00-05:00"></head>'
        f"<body><article><h1>Bridge repairs run late</h1>{paragraphs}</article></body></html>"
    )
    path = tmp_path / "page.html"
    path.write_text(page)
    out = run_syndicator(str(path), "https://news.example.com/2022/05/bridge", page)
    assert out.error is None
    assert out.date == "2022-05-07"


def test_materialise_reads_a_snapshot_that_keeps_its_history_in_dot_git(tmp_path: Path) -> None:
    work = tmp_path / "mirror" / "owner+pages" / "repo"
    work.mkdir(parents=True)
    git = ["git", "-C", str(work), "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run([*git, "init", "-q"], check=True)
    (work / "page.html").write_bytes(b"<html><body><p>stored page</p></body></html>")
    subprocess.run([*git, "add", "page.html"], check=True)
    subprocess.run([*git, "commit", "-qm", "page"], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True)
    commit = head.stdout.strip()
    blob = (work / "page.html").read_bytes()
    set_dir = tmp_path / "set"
    set_dir.mkdir()
    entry = {
        "id": "p",
        "repo": "owner/pages",
        "path": "page.html",
        "commit": commit,
        "sha256": hashlib.sha256(blob).hexdigest(),
        "file": "p.html",
    }
    (set_dir / "manifest.json").write_text(json.dumps({"pages": [entry]}))
    pages_dir = tmp_path / "pages"
    materialise(set_dir, pages_dir, tmp_path / "mirror", tmp_path / "cache")
    assert (pages_dir / "p.html").read_bytes() == blob


def test_materialise_unpacks_a_page_the_repository_keeps_xz_compressed(tmp_path: Path) -> None:
    work = tmp_path / "mirror" / "owner+news" / "repo"
    work.mkdir(parents=True)
    git = ["git", "-C", str(work), "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run([*git, "init", "-q"], check=True)
    page = "<html><body><p>新聞內文</p></body></html>".encode("big5")
    (work / "page.html.xz").write_bytes(lzma.compress(page))
    subprocess.run([*git, "add", "page.html.xz"], check=True)
    subprocess.run([*git, "commit", "-qm", "page"], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True)
    entry = {
        "id": "p",
        "repo": "owner/news",
        "path": "page.html.xz",
        "commit": head.stdout.strip(),
        "sha256": hashlib.sha256(page).hexdigest(),  # of the page, not of the stored blob
        "file": "p.html",
        "compression": "xz",
    }
    set_dir = tmp_path / "set"
    set_dir.mkdir()
    (set_dir / "manifest.json").write_text(json.dumps({"pages": [entry]}))
    materialise(set_dir, tmp_path / "pages", tmp_path / "mirror", tmp_path / "cache")
    assert (tmp_path / "pages" / "p.html").read_bytes() == page

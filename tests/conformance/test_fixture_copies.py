"""The main suite's copies in tests/fixtures must stay byte-identical to the corpus.

They were copied so that a bare clone can run the tests; this catches a corpus update
(say, a corrected expected.json) that the copies did not follow.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import FIXTURES

# copy folder in tests/fixtures → its origin in the corpus
ORIGINS = {
    "site-zhbf": "site-zhbf",
    "jsonfeed": "jsonfeed-schema",
    "jsonfeed/examples": "jsonfeed-schema/test/examples",
    "feedparser": "feedparser-tests/tests",
    "miniflux/encoding": "miniflux-testdata/internal/reader/encoding/testdata",
}
LICENCES = {"jsonfeed": "jsonfeed-schema", "feedparser": "feedparser-tests", "miniflux": "miniflux-testdata"}


def _copies() -> list[tuple[Path, str]]:
    """Every copied file with the corpus path it came from (the most specific origin)."""
    out = []
    for path in sorted(FIXTURES.rglob("*")):
        relative = path.relative_to(FIXTURES).as_posix()
        if not path.is_file() or path.name in ("README.md", "LICENSE"):
            continue
        prefix = max((p for p in ORIGINS if relative.startswith(p + "/")), key=len, default=None)
        if prefix is not None:
            out.append((path, ORIGINS[prefix] + relative[len(prefix) :]))
    return out


def test_the_copies_are_found() -> None:
    assert len(_copies()) >= 20


@pytest.mark.parametrize(("copy", "origin"), _copies(), ids=lambda v: v if isinstance(v, str) else None)
def test_copy_matches_the_corpus(corpus: Path, copy: Path, origin: str) -> None:
    assert copy.read_bytes() == (corpus / origin).read_bytes()


@pytest.mark.parametrize(("folder", "origin"), sorted(LICENCES.items()))
def test_each_third_party_copy_keeps_its_licence(corpus: Path, folder: str, origin: str) -> None:
    assert (FIXTURES / folder / "LICENSE").read_bytes() == (corpus / origin / "LICENSE").read_bytes()
    assert (FIXTURES / folder / "README.md").is_file()

"""The conformance suite's one fixture: the corpus folder given with --corpus.

tests/conftest.py registers --corpus, refuses a missing folder in one line, and keeps
plain `pytest` from collecting this folder at all.
"""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def corpus(pytestconfig: pytest.Config) -> Path:
    folder: Path = pytestconfig.getoption("corpus")
    return folder.resolve()

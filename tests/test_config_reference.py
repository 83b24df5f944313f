"""config/syndicator.toml is the commented reference: every key of every config record is in it.

A key counts as documented when a line of the file starts with it (after `#` and spaces):
an assignment (`poll_interval = "30m"`, `# retention_age = …`), a line of a `Keys:` comment
block (`#   obey_robots  …`) or a sub-table (`[sources.headers]`). `[sources.rules]` keys are
listed in one sentence, so for `SiteRules` the name anywhere in the file counts.
"""

from __future__ import annotations

import re
from dataclasses import fields

import pytest

from syndicator.models import AdminSettings, Category, FetchLimits, Settings, SiteRules, Source
from tests.conftest import REPO

REFERENCE = (REPO / "config" / "syndicator.toml").read_text(encoding="utf-8")

# Keys that were already missing from the file before issue 12 (the README's table lists
# them). Document one, and take it off this list: the last test says so.
KNOWN_GAPS = {
    ("Settings", "publisher"),
    ("FetchLimits", "max_field_bytes"),
    ("FetchLimits", "parse_timeout"),
    ("FetchLimits", "parse_memory"),
}


def documented(record: type, name: str) -> bool:
    if record is SiteRules:
        return re.search(rf"\b{name}\b", REFERENCE) is not None
    return re.search(rf"(?m)^[#\s]*(?:\[sources\.)?{name}\b", REFERENCE) is not None


@pytest.mark.parametrize("record", [Settings, FetchLimits, AdminSettings, Category, Source, SiteRules])
def test_every_key_is_in_the_commented_reference(record: type) -> None:
    missing = [
        f.name
        for f in fields(record)
        if (record.__name__, f.name) not in KNOWN_GAPS and not documented(record, f.name)
    ]
    assert missing == [], f"document these {record.__name__} keys in config/syndicator.toml"


def test_the_keys_of_issue_12_are_documented_with_their_defaults() -> None:
    for key, default in [("obey_robots", "default true"), ("encoding", "default: absent")]:
        line = re.search(rf"(?m)^#\s+{key}\s.*$", REFERENCE)
        assert line is not None, key
        block = REFERENCE[line.start() : line.start() + 600]
        assert default in block, key
    assert re.search(r"(?m)^#\s+\[sources\.headers\]", REFERENCE)
    assert '"Cookie"' in REFERENCE and "***" in REFERENCE


def test_the_known_gaps_are_still_gaps() -> None:
    records = {r.__name__: r for r in (Settings, FetchLimits)}
    assert [gap for gap in sorted(KNOWN_GAPS) if documented(records[gap[0]], gap[1])] == []

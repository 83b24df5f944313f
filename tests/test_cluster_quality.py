"""Near-duplicate clustering on real article pairs meets the floors a reader relies on.

The pairs are the measurement set of bench/cluster_quality.py (tests/fixtures/cluster-real/,
real public text in Chinese and English, see its README), scored exactly as ingest decides
(a shared LSH band and an estimated similarity at least the default threshold). The README
reports the full table; this test keeps the promises behind it from slipping when the
fingerprint or the LSH layout changes:

- an unrelated article never joins another's cluster (a reader would lose a story);
- copies of one story across outlets — genuine reprints and the issue's case, another
  outlet's header and footer with one sentence changed — are caught;
- different reports of one event, or of two events from one template, rarely merge.
"""

from __future__ import annotations

from bench.cluster_quality import DEFAULT_THRESHOLD, Scored, counts, load_real, score


def scored_by(kind: str, origin: str | None = None) -> list[Scored]:
    found = [s for s in SCORED if s.pair.kind == kind and origin in (None, s.pair.origin)]
    assert found, (kind, origin)
    return found


SCORED = [score(p) for p in load_real()]


def test_the_set_covers_both_languages_and_every_kind() -> None:
    for language in ("zh", "en"):
        mine = [s for s in SCORED if s.pair.language == language]
        assert len(mine) >= 60
        kinds = {(s.pair.kind, s.pair.origin) for s in mine}
        assert {
            ("copy", "genuine"),
            ("copy", "derived"),
            ("same-event", "genuine"),
            ("unrelated", "genuine"),
        } <= kinds


def test_no_unrelated_pair_is_clustered() -> None:
    clustered = [s.pair.name for s in scored_by("unrelated") if s.clustered(DEFAULT_THRESHOLD)]
    assert clustered == []


def test_copies_across_outlets_are_clustered() -> None:
    for origin in ("genuine", "derived"):
        for language in ("zh", "en"):
            group = [s for s in scored_by("copy", origin) if s.pair.language == language]
            missed = [s.pair.name for s in group if not s.clustered(DEFAULT_THRESHOLD)]
            assert counts(group, DEFAULT_THRESHOLD).recall >= 0.9, (origin, language, missed)


def test_different_reports_rarely_merge() -> None:
    different = scored_by("same-event") + scored_by("same-template")
    merged = [s.pair.name for s in different if s.clustered(DEFAULT_THRESHOLD)]
    assert len(merged) <= 0.15 * len(different), merged
    assert counts(SCORED, DEFAULT_THRESHOLD).precision >= 0.9

"""Content-coding choice and conditional-request rules (RFC 9110) as plain functions."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from syndicator.web.negotiation import choose_coding, etag_matches, not_modified

MODIFIED = datetime(2026, 11, 20, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "identity"),
        ("", "identity"),
        ("gzip", "gzip"),
        ("gzip, deflate, br", "br"),
        ("br;q=0.5, gzip;q=0.8", "gzip"),
        ("br;q=0, gzip;q=0", "identity"),
        ("*", "br"),
        ("*;q=0.1, gzip", "gzip"),
        ("deflate", "identity"),
        ("x-gzip", "gzip"),
        ("GZIP;Q=1.0", "gzip"),
        ("br;q=bogus, gzip", "gzip"),
    ],
)
def test_choose_coding(header, expected):
    assert choose_coding(header) == expected


def test_etag_lists_weak_comparison_and_star():
    assert etag_matches('"a", "b"', '"b"')
    assert etag_matches('W/"b"', '"b"')
    assert etag_matches("*", '"b"')
    assert not etag_matches('"a", "c"', '"b"')
    assert not etag_matches('"b-gzip"', '"b"')


def test_if_none_match_wins_over_if_modified_since():
    # The date alone would say "not modified", but a present If-None-Match decides.
    assert not not_modified(
        if_none_match='"old"',
        if_modified_since="Fri, 20 Nov 2026 12:00:00 GMT",
        etag='"new"',
        last_modified=MODIFIED,
    )


@pytest.mark.parametrize(
    ("since", "expected"),
    [
        ("Fri, 20 Nov 2026 12:00:00 GMT", True),
        ("Fri, 20 Nov 2026 13:00:00 GMT", True),
        ("Fri, 20 Nov 2026 11:59:59 GMT", False),
        ("not a date", False),
    ],
)
def test_if_modified_since(since, expected):
    assert (
        not_modified(if_none_match=None, if_modified_since=since, etag='"x"', last_modified=MODIFIED)
        is expected
    )

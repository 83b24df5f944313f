"""Pure HTTP decisions: which content coding to send, and whether a 304 answers the request.

Kept free of aiohttp so that every rule of RFC 9110 §8.8.3, §12.5.3 and §13 can be tested
as a plain function.
"""

from __future__ import annotations

import functools
from datetime import datetime
from email.utils import parsedate_to_datetime

SUPPORTED_CODINGS = ("br", "gzip", "identity")  # our preference when q-values tie


def _parse_accept_encoding(header: str) -> dict[str, float]:
    weights: dict[str, float] = {}
    for part in header.split(","):
        token, _, params = part.strip().partition(";")
        token = token.strip().lower()
        if not token:
            continue
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    q = max(0.0, min(1.0, float(value)))
                except ValueError:
                    q = 0.0
        weights[token] = q
    return weights


# Readers send a handful of distinct Accept-Encoding values: each is parsed once and then
# looked up by its raw text. Bounded: a client inventing values only costs the parse.
@functools.lru_cache(maxsize=512)
def choose_coding(accept_encoding: str | None) -> str:
    """The content coding to send for an `Accept-Encoding` header (RFC 9110 §12.5.3).

    The highest-q compressed coding the client accepts wins (br before gzip on a tie);
    identity only when the client names it with a higher q, or accepts nothing we have.
    """
    if not accept_encoding:
        return "identity"
    weights = _parse_accept_encoding(accept_encoding)
    star = weights.get("*")
    if "gzip" not in weights and "x-gzip" in weights:
        weights["gzip"] = weights["x-gzip"]

    def weight(coding: str) -> float:
        return weights.get(coding, star if star is not None else 0.0)

    compressed = [c for c in SUPPORTED_CODINGS if c != "identity" and weight(c) > 0]
    if not compressed:
        return "identity"
    best = max(compressed, key=lambda c: (weight(c), -SUPPORTED_CODINGS.index(c)))
    if "identity" in weights and weights["identity"] > weight(best):
        return "identity"
    return best


def _opaque(tag: str) -> str:
    """The opaque part of an entity tag, for weak comparison (drops a leading W/)."""
    tag = tag.strip()
    return tag[2:] if tag.startswith("W/") else tag


def etag_matches(if_none_match: str, etag: str) -> bool:
    """`If-None-Match` (a list, or `*`) against our ETag, by weak comparison."""
    if if_none_match == etag:
        return True  # the common case: a reader sends back the one ETag it was given
    if if_none_match.strip() == "*":
        return True
    ours = _opaque(etag)
    return any(_opaque(candidate) == ours for candidate in if_none_match.split(",") if candidate.strip())


def not_modified(
    *, if_none_match: str | None, if_modified_since: str | None, etag: str, last_modified: datetime
) -> bool:
    """Whether a GET/HEAD may be answered 304. If-None-Match, when present, decides alone."""
    if if_none_match is not None:
        return etag_matches(if_none_match, etag)
    if if_modified_since:
        try:
            since = parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError):
            return False  # an invalid date is ignored (RFC 9110 §13.1.3)
        if since.tzinfo is None:
            return False
        return last_modified.replace(microsecond=0) <= since
    return False

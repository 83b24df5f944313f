"""The fingerprints clustering compares now live in `syndicator.fingerprint`, beside `words`:
the store's migration that backfills them (store/schema.py) needs them too, and the store
must not import the processing stage. This name stays for the bench tools that import it."""

from __future__ import annotations

from syndicator.fingerprint import (
    BANDS,
    MIN_SHINGLES,
    ROWS,
    SHINGLE,
    SIGNATURE,
    Fingerprint,
    bands,
    fingerprint,
    normalised_text,
    shingles,
    signature,
    similarity,
    tokens,
)

__all__ = [
    "BANDS",
    "MIN_SHINGLES",
    "ROWS",
    "SHINGLE",
    "SIGNATURE",
    "Fingerprint",
    "bands",
    "fingerprint",
    "normalised_text",
    "shingles",
    "signature",
    "similarity",
    "tokens",
]

"""Fingerprints for near-duplicate detection: MinHash over shingles of normalised text.

Pure text to numbers, beside `words`: the clustering step (process/cluster.py) computes
them at ingest, and the store migration that backfills old articles (store/schema.py) too.

Normalised text: an article's title and body (its content, else its summary) as text,
NFKC and case-folded, punctuation and spacing dropped. Shingles: runs of three tokens,
where a token is one character of a script written without spaces (Chinese, Japanese,
Korean: character shingles) and one word otherwise (word shingles), so mixed text works.

The signature is a one-permutation MinHash (Li, Owen & Zhang 2012) with rotation
densification (Shrivastava & Li 2014): each shingle is hashed once (blake2b, 64 bits,
stable across processes and versions, unlike Python's `hash`), its hash picks one of
`SIGNATURE` bins and the bin keeps its smallest value; empty bins borrow from the next
non-empty one. The share of equal bins of two signatures estimates the Jaccard similarity
of their shingle sets, at O(shingles) per article instead of O(shingles × permutations).

LSH: the signature is cut into `BANDS` bands of `ROWS` bins; two articles are candidates
when any band is equal, and only candidates are compared. With 64 × 2, a pair at
Jaccard 0.3 is a candidate with probability 1 - (1 - 0.3²)⁶⁴ ≈ 0.998, at 0.2 ≈ 0.93, at
0.05 ≈ 0.15 (then rejected by the comparison), at 0.01 ≈ 0.006.

A band takes bins `BANDS` apart (band i: bins i and i + 64), not neighbours: densification
copies a bin into the empty bins before it, so two unrelated articles that share one
common shingle (a frequent phrase) often agree on two neighbouring bins, and bands of
neighbours made such pairs candidates about 18 times as often as the formula above says
(measured on bench/cluster.py's texts: 160 false candidates per article at 100k stored
instead of 9). Bins 64 apart are as good as independent.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass

from syndicator.chars import UNSPACED_LETTERS, char_class
from syndicator.models import Article
from syndicator.words import html_text

SIGNATURE = 128
BANDS = 64
ROWS = SIGNATURE // BANDS
SHINGLE = 3
MIN_SHINGLES = 16
"""Articles with fewer shingles (a title and a line) are not fingerprinted: too little
text to tell a copy from a story that merely shares a headline."""

_EMPTY = 1 << 64
_BIN_BITS = SIGNATURE.bit_length() - 1
_BIN = SIGNATURE - 1
assert SIGNATURE == 1 << _BIN_BITS, "a hash's low bits pick its bin"
assert SHINGLE == 3 and ROWS == 2, "shingles() and bands() are written for these"
_TOKEN = re.compile(f"[{char_class(UNSPACED_LETTERS)}]|[^\\W{char_class(UNSPACED_LETTERS)}]+")
# In ASCII text no character is of an unspaced script, so `_TOKEN` finds exactly the
# runs of word characters; the plain pattern skips trying that class at every position.
_ASCII_TOKEN = re.compile(r"\w+")


def normalised_text(article: Article) -> str:
    """Title and body as text (content, else summary), NFKC and case-folded."""
    body = article.content_html or article.summary
    return unicodedata.normalize("NFKC", f"{article.title}\n{html_text(body)}").casefold()


def tokens(text: str) -> list[str]:
    """Characters of unspaced scripts and words of the others, in order (no punctuation)."""
    return (_ASCII_TOKEN if text.isascii() else _TOKEN).findall(text)


def shingles(text: str) -> set[str]:
    """The set of `SHINGLE`-token runs of `text` (joined by a space)."""
    words = tokens(text)
    if len(words) < SHINGLE:
        return {" ".join(words)} if words else set()
    # Three tokens joined by an f-string: the same strings, a tenth cheaper than joining
    # each run's tuple (SHINGLE is 3, asserted above).
    return {f"{a} {b} {c}" for a, b, c in zip(words, words[1:], words[2:], strict=False)}


def _hash(shingle: str) -> int:
    return int.from_bytes(hashlib.blake2b(shingle.encode(), digest_size=8).digest(), "big")


def signature(shingle_set: set[str]) -> tuple[int, ...]:
    """The densified one-permutation MinHash of a non-empty set of shingles."""
    bins = [_EMPTY] * SIGNATURE
    # `_hash`, inlined (200,000 calls a feed), copying a prepared hasher: a third cheaper
    # than a new blake2b(digest_size=8) a shingle, same digests.
    prepared, from_bytes = hashlib.blake2b(digest_size=8), int.from_bytes
    for shingle in shingle_set:
        hasher = prepared.copy()
        hasher.update(shingle.encode())
        h = from_bytes(hasher.digest(), "big")
        b, value = h & _BIN, h >> _BIN_BITS  # h % SIGNATURE, h // SIGNATURE
        if value < bins[b]:
            bins[b] = value
    if all(v == _EMPTY for v in bins):
        return tuple(bins)
    dense = list(bins)
    for i in range(SIGNATURE):
        j, hops = i, 0
        while dense[i] == _EMPTY:
            j, hops = (j + 1) % SIGNATURE, hops + 1
            if bins[j] != _EMPTY:
                # A borrowed value is offset by the distance, so two sets that both borrow
                # agree only when they borrow the same value from the same distance.
                dense[i] = bins[j] + hops * (1 << 58)
    return tuple(dense)


def similarity(a: tuple[int, ...], b: tuple[int, ...]) -> float:
    """The estimated Jaccard similarity of the sets behind two signatures."""
    return sum(x == y for x, y in zip(a, b, strict=True)) / SIGNATURE


def bands(sig: tuple[int, ...]) -> list[str]:
    """The `BANDS` band values of a signature (short hex digests), band i at index i."""
    # A band's two rows (ROWS is 2, asserted above), bins `BANDS` apart (see above),
    # concatenated: the same digests, half the cost of joining a generator a band.
    blake2b = hashlib.blake2b
    return [
        blake2b(
            sig[band].to_bytes(9, "big") + sig[band + BANDS].to_bytes(9, "big"), digest_size=8
        ).hexdigest()
        for band in range(BANDS)
    ]


@dataclass(frozen=True)
class Fingerprint:
    signature: tuple[int, ...]
    bands: tuple[str, ...]


def fingerprint(article: Article) -> Fingerprint | None:
    """The article's fingerprint, or None when it has too little text to have one."""
    found = shingles(normalised_text(article))
    if len(found) < MIN_SHINGLES:
        return None
    sig = signature(found)
    return Fingerprint(sig, tuple(bands(sig)))


@dataclass(frozen=True)
class Computed:
    """An article's fingerprint computed ahead (in the parse pool's child, beside its
    normalising), with the text it was computed from: the clustering step uses it only for
    an article whose title, content and summary are still those (`for_article`), since
    the steps before it (rewrite rules, full text) may change them.

    The texts are the Article's own string objects: pickled with the Article in one
    message they are not sent twice, and unpickled they are the same objects again, so
    the check is an identity test for an article nothing changed."""

    title: str
    content_html: str
    summary: str
    fingerprint: Fingerprint | None

    @classmethod
    def of(cls, article: Article) -> Computed:
        return cls(article.title, article.content_html, article.summary, fingerprint(article))

    def matches(self, article: Article) -> bool:
        """Whether this was computed from `article`'s text as it is now."""
        return all(
            ours is theirs or ours == theirs
            for ours, theirs in (
                (self.title, article.title),
                (self.content_html, article.content_html),
                (self.summary, article.summary),
            )
        )


def fingerprint_of(article: Article, computed: Computed | None) -> Fingerprint | None:
    """`article`'s fingerprint: the one computed ahead when it still matches, else anew."""
    if computed is not None and computed.matches(article):
        return computed.fingerprint
    return fingerprint(article)

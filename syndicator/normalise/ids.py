"""Stable identities and content fingerprints.

An article's id must not change when it is fetched again, renamed or re-dated, so it
derives only from who published it (the source) and the upstream's own identifier: the
GUID when there is one, else the canonical link. (The content hash, which decides when
`updated` moves, is defined once on the finished Article: `Article.reader_hash`.)
"""

from __future__ import annotations

import hashlib

from .errors import NormaliseError
from .text import strip_xml_illegal

ID_LENGTH = 32  # hex chars = 128 bits; renderers show it as urn:uuid:8-4-4-4-12


def article_id(source_id: str, guid: str | None, canonical: str | None) -> str:
    """32 lowercase hex chars from sha256 of (source id, guid) or else (source id, URL).

    Raises NormaliseError when both the guid and the canonical URL are missing or blank.
    """
    if not source_id:
        raise NormaliseError("cannot make an article id without a source id")
    guid = strip_xml_illegal(guid).strip() if guid else ""
    canonical = canonical.strip() if canonical else ""
    if guid:
        key = f"{source_id}\0guid:{guid}"
    elif canonical:
        key = f"{source_id}\0url:{canonical}"
    else:
        raise NormaliseError(
            f"entry from source {source_id!r} cannot be identified: no guid and no http(s) link"
        )
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:ID_LENGTH]

"""`X-Hub-Signature` (WebSub §8): an HMAC of the delivered body keyed by the subscriber's
`hub.secret`. The hub signs with SHA-256; a subscriber must accept what a hub may send
(sha1, sha256, sha384, sha512). One module, so our hub and our subscriber cannot disagree."""

from __future__ import annotations

import hashlib
import hmac

SIGN_WITH = "sha256"
ACCEPTED = frozenset({"sha1", "sha256", "sha384", "sha512"})


def sign(secret: bytes, body: bytes) -> str:
    """The header value for `body`: `sha256=<hex digest>`."""
    return f"{SIGN_WITH}={hmac.new(secret, body, hashlib.sha256).hexdigest()}"


def verify(secret: bytes, body: bytes, header: str | None) -> bool:
    """Whether `header` is a valid signature of `body` under `secret`, in constant time.
    A missing header, an unknown method or a malformed value is simply not valid."""
    if not header or "=" not in header:
        return False
    method, _, received = header.strip().partition("=")
    method = method.strip().lower()
    if method not in ACCEPTED:
        return False
    expected = hmac.new(secret, body, method).hexdigest()
    return hmac.compare_digest(expected, received.strip().lower())

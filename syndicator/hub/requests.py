"""A subscriber's POST to the hub (WebSub §5.1), parsed and checked before anything is sent.

Pure: form pairs in, a `HubRequest` or a `HubRequestError` (whose message is the one-line
reason the 4xx carries) out. What it settles:
- `hub.mode` is `subscribe` or `unsubscribe`; every `hub.*` parameter appears at most once
  (two callbacks in one request would leave it unclear which one is verified);
- `hub.callback` is an absolute http(s) URL without a fragment (the hub appends its own
  query parameters to it for the verification GET);
- `hub.lease_seconds`, when given, is a whole number; the lease is clamped to
  [`LEASE_MIN`, `LEASE_MAX`] and defaults to `LEASE_DEFAULT` (§5.1: the hub decides the
  lease; the verification request tells the subscriber what it got);
- `hub.secret`, when given, is under 200 bytes (§5.1 says so): it keys the HMAC of every
  delivery, and a longer one is refused rather than cut, or the subscriber could never
  check a signature.
The topic is checked separately (`hub/topics.py`): it needs the configuration.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from syndicator.errors import SyndicatorError

MODES = ("subscribe", "unsubscribe")
LEASE_MIN = 3600
LEASE_MAX = 30 * 86400
LEASE_DEFAULT = 10 * 86400
MAX_SECRET_BYTES = 199
MAX_URL_CHARS = 2048
PARAMETERS = ("hub.mode", "hub.topic", "hub.callback", "hub.lease_seconds", "hub.secret")


class HubRequestError(SyndicatorError, ValueError):
    """A subscription request the hub refuses at once; the message names the parameter."""


@dataclass(frozen=True)
class HubRequest:
    """A well-formed (un)subscription request; `topic` is as given, not yet normalised."""

    mode: str
    topic: str
    callback: str
    lease_seconds: int
    secret: str


def clamp_lease(requested: int | None) -> int:
    """The lease the hub grants for `requested` seconds (None: the default)."""
    if requested is None:
        return LEASE_DEFAULT
    return max(LEASE_MIN, min(LEASE_MAX, requested))


def check_callback(callback: str) -> str:
    """`callback` if it is an absolute http(s) URL the hub can call, else HubRequestError."""
    if len(callback) > MAX_URL_CHARS:
        raise HubRequestError(f"hub.callback: longer than {MAX_URL_CHARS} characters")
    try:
        parts = urlsplit(callback)
        port = parts.port  # raises ValueError for a port out of range or not a number
    except ValueError as exc:
        raise HubRequestError(f"hub.callback: not a valid URL ({exc})") from None
    del port
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise HubRequestError("hub.callback: must be an absolute http:// or https:// URL")
    if parts.fragment or callback.endswith("#"):
        raise HubRequestError("hub.callback: must not have a fragment")
    if any(ch.isspace() or ord(ch) < 32 for ch in callback):
        raise HubRequestError("hub.callback: must not contain spaces or control characters")
    return callback


def parse_hub_request(pairs: Iterable[tuple[str, str]]) -> HubRequest:
    """The request in `pairs` (the decoded form body), checked; see the module docstring."""
    values: dict[str, str] = {}
    for name, value in pairs:
        if name in values and name in PARAMETERS:
            raise HubRequestError(f"{name}: given more than once")
        values[name] = value
    mode = values.get("hub.mode", "")
    if mode not in MODES:
        raise HubRequestError(f"hub.mode: must be subscribe or unsubscribe, got {mode[:40]!r}")
    topic = values.get("hub.topic", "")
    if not topic:
        raise HubRequestError("hub.topic: missing")
    if len(topic) > MAX_URL_CHARS:
        raise HubRequestError(f"hub.topic: longer than {MAX_URL_CHARS} characters")
    callback = values.get("hub.callback", "")
    if not callback:
        raise HubRequestError("hub.callback: missing")
    check_callback(callback)
    lease_text = values.get("hub.lease_seconds", "").strip()
    requested: int | None = None
    if lease_text:
        if not lease_text.isascii() or not lease_text.isdigit() or len(lease_text) > 12:
            raise HubRequestError(f"hub.lease_seconds: not a whole number of seconds: {lease_text[:20]!r}")
        requested = int(lease_text)
    secret = values.get("hub.secret", "")
    if len(secret.encode("utf-8")) > MAX_SECRET_BYTES:
        raise HubRequestError(f"hub.secret: must be shorter than 200 bytes (at most {MAX_SECRET_BYTES})")
    return HubRequest(
        mode=mode, topic=topic, callback=callback, lease_seconds=clamp_lease(requested), secret=secret
    )

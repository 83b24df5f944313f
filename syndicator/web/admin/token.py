"""The admin token: where it comes from, when it is refused, and the one check of a request.

The token is `SYNDICATOR_ADMIN_TOKEN`, or the contents of the file named by
`SYNDICATOR_ADMIN_TOKEN_FILE` (a container secret; surrounding whitespace and the final
newline are dropped). Setting both is refused, as ambiguous. An empty variable counts as
unset. A token shorter than `MIN_LENGTH` characters, or holding anything but visible ASCII
(it travels in an HTTP header), is refused when `web` or `serve` starts, in one line that
never repeats the token. No token: the admin API is off (it answers 404 with a hint).

`bearer_ok` is the only place a presented token is compared with it: in constant time
(`hmac.compare_digest`), so the time an answer takes says nothing about how much of a guess
was right. The admin API's middleware and `/metrics` both call it.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Mapping
from pathlib import Path

from aiohttp import web

from syndicator.errors import SyndicatorError

TOKEN_VAR = "SYNDICATOR_ADMIN_TOKEN"
TOKEN_FILE_VAR = "SYNDICATOR_ADMIN_TOKEN_FILE"
MIN_LENGTH = 32
MAX_FILE_BYTES = 4096  # a token file is one line; anything bigger is a wrong path


class AdminTokenError(SyndicatorError, ValueError):
    """The configured admin token cannot be used; `str(err)` is the one-line reason."""


def load_admin_token(environ: Mapping[str, str] | None = None) -> str | None:
    """The admin token from the environment, None when none is configured.

    Raises `AdminTokenError` when one is configured but unusable (too short, not visible
    ASCII, an unreadable file, both variables set)."""
    env = os.environ if environ is None else environ
    value, path = env.get(TOKEN_VAR, ""), env.get(TOKEN_FILE_VAR, "")
    if value and path:
        raise AdminTokenError(f"set {TOKEN_VAR} or {TOKEN_FILE_VAR}, not both")
    origin = TOKEN_VAR
    if path:
        origin = f"{TOKEN_FILE_VAR} ({path})"
        try:
            with Path(path).open("rb") as file:
                raw = file.read(MAX_FILE_BYTES + 1)
        except OSError as exc:
            raise AdminTokenError(f"{origin}: cannot read the file: {exc.strerror or exc}") from None
        if len(raw) > MAX_FILE_BYTES:
            raise AdminTokenError(f"{origin}: more than {MAX_FILE_BYTES} bytes; a token file holds one line")
        try:
            value = raw.decode("ascii").strip()
        except UnicodeDecodeError:
            raise AdminTokenError(f"{origin}: the token must be visible ASCII characters") from None
        if not value:
            raise AdminTokenError(f"{origin}: the file is empty")
    if not value:
        return None
    if not all("!" <= ch <= "~" for ch in value):
        raise AdminTokenError(f"{origin}: the token must be visible ASCII characters (no spaces)")
    if len(value) < MIN_LENGTH:
        raise AdminTokenError(
            f"{origin}: the admin token has {len(value)} characters, at least {MIN_LENGTH} are needed "
            "(for example: python3 -c 'import secrets; print(secrets.token_urlsafe(32))')"
        )
    return value


def token_refusal(command: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The one line `web` or `serve` exits with when the configured token is unusable."""
    try:
        load_admin_token(environ)
    except AdminTokenError as exc:
        return f"{command}: admin token refused: {exc}"
    return None


def bearer_ok(request: web.BaseRequest, token: str | None) -> bool:
    """Whether `request` carries `Authorization: Bearer <token>`; never with no token."""
    if not token:
        return False
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return False
    # Bytes, so a non-ASCII guess is compared (and refused) in constant time too.
    return hmac.compare_digest(presented.strip().encode("utf-8", "surrogateescape"), token.encode())

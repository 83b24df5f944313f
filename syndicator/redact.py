"""Secrets in source URLs, hidden wherever a URL is shown: API, CLI, logs, health.

Some upstreams authenticate with the URL itself (`https://user:pass@host/feed`,
`?token=…`, a signed `?sig=…`). The configuration needs them; nobody reading a
health page, a run's reason or a log line does. `redact_url` replaces the password and
the values of parameters named like credentials with `***` and leaves the rest as
written, so the URL still says which feed it is. `redact_text` does the same to every
URL inside a line of text (an error names its URL).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import SplitResult, urlsplit, urlunsplit

SECRET_PARAMETERS = frozenset(
    {"token", "key", "apikey", "api_key", "sig", "signature", "secret", "password", "access_token"}
)
MASK = "***"

_URL = re.compile(r"""\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s<>"']+""")
_TRAILING = ".,;:)]}"


def _redact_query(query: str) -> str:
    """Each `name=value` whose name is a credential's gets `name=***`; spelling kept."""
    parts = []
    for part in query.split("&"):
        name, eq, _value = part.partition("=")
        if eq and name.lower().replace("-", "_") in SECRET_PARAMETERS:
            part = f"{name}={MASK}"
        parts.append(part)
    return "&".join(parts)


def redact_url(url: str) -> str:
    """`url` with userinfo and credential parameters replaced by `***` (see the module)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, host = netloc.rpartition("@")
        user, colon, _password = userinfo.partition(":")
        netloc = f"{MASK}@{host}" if not colon else f"{user}:{MASK}@{host}"
    query = _redact_query(parts.query) if parts.query else parts.query
    if netloc == parts.netloc and query == parts.query:
        return url
    return urlunsplit(SplitResult(parts.scheme, netloc, parts.path, query, parts.fragment))


def redact_text(text: str) -> str:
    """`text` with every URL in it passed through `redact_url` (an error line, a reason)."""
    if "://" not in text:
        return text  # no URL (`_URL` needs the scheme separator): the access log's usual line

    def one(match: re.Match[str]) -> str:
        found = match.group(0)
        stripped = found.rstrip(_TRAILING)
        return redact_url(stripped) + found[len(stripped) :]

    return _URL.sub(one, text)


def redact_headers(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """A source's configured request headers as they may be shown: every name, no value.

    A value may be a session cookie, a token or a signed referer; nobody reading health,
    the API or a preview needs it, and a log never gets one (`Source` keeps them out of
    its repr)."""
    return {name: MASK for name, _value in headers}

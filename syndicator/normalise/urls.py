"""Canonical URLs: one spelling per page, so the same article found twice dedupes.

Only absolute http(s) URLs are links for us; `javascript:`, `data:`, `mailto:` and relative
URLs without a base are rejected with NormaliseError (the caller treats that as "no link").
"""

from __future__ import annotations

import functools
import re
from urllib.parse import SplitResult, unquote, urljoin, urlsplit, urlunsplit

from .errors import NormaliseError
from .text import strip_xml_illegal

WEB_SCHEMES = frozenset({"http", "https"})
_DEFAULT_PORTS = {"http": 80, "https": 443}

# Query parameters that only say how a reader arrived, never which page they get.
# Compared case-insensitively on the decoded name.
TRACKING_PARAMS = frozenset(
    {
        "fbclid", "gclid", "gclsrc", "dclid", "msclkid", "yclid", "twclid", "ttclid",  # ad clicks
        "mc_cid", "mc_eid",  # Mailchimp
        "igshid", "igsh",  # Instagram shares
        "_hsenc", "_hsmi", "__hssc", "__hstc", "__hsfp", "hsctatracking",  # HubSpot
        "mkt_tok",  # Marketo
        "oly_anon_id", "oly_enc_id",  # Omeda
        "vero_conv", "vero_id",  # Vero
        "wickedid",  # Wicked Reports
        "spm", "scm",  # Alibaba / Taobao / Youku position tracking
        "spm_id_from", "vd_source", "share_source", "share_medium", "share_plat",  # bilibili
        "share_tag", "share_from", "timestamp_share",
        "isappinstalled",  # WeChat share
        "ref_src", "ref_url",  # Twitter embeds
    }
)  # fmt: skip
TRACKING_PREFIXES = ("utm_",)  # utm_source, utm_medium, utm_campaign, utm_term, utm_content, …
# Parameters that are tracking only with these values (elsewhere `from` may select content).
TRACKING_VALUES = {
    "from": frozenset({"timeline", "singlemessage", "groupmessage", "message"}),  # WeChat shares
}

# RFC 3986 characters allowed unencoded in a path or query; anything else is %-encoded.
_SAFE_CHARS = "/?:@!$&'()*+,;=-._~%[]"
_PERCENT = re.compile(r"%([0-9a-fA-F]{2})")
_BAD_PERCENT = re.compile(r"%(?![0-9a-fA-F]{2})")


# A part made only of these is its own encoding (no `%` to check): the common case, which
# skips the loop over its characters (URL encoding was a tenth of normalising a feed).
_ALREADY_SAFE = re.compile(r"[A-Za-z0-9/?:@!$&'()*+,;=\-._~\[\]]*")


def _encode(part: str) -> str:
    """%-encode spaces, non-ASCII and other unsafe characters; uppercase existing escapes."""
    if _ALREADY_SAFE.fullmatch(part):
        return part
    part = _BAD_PERCENT.sub("%25", part)
    out = []
    for char in part:
        if char.isascii() and (char.isalnum() or char in _SAFE_CHARS):
            out.append(char)
        else:
            out.extend(f"%{byte:02X}" for byte in char.encode("utf-8"))
    return _PERCENT.sub(_normalise_escape, "".join(out))


def _normalise_escape(match: re.Match[str]) -> str:
    """RFC 3986 § 6.2.2: escapes of unreserved characters decoded, others uppercased."""
    char = chr(int(match.group(1), 16))
    if char.isascii() and (char.isalnum() or char in "-._~"):
        return char
    return "%" + match.group(1).upper()


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 § 5.2.4: resolve `.` and `..` so `/a/./b/../c` and `/a/c` are one URL."""
    if "." not in path:
        return path
    output: list[str] = []
    segments = path.split("/")
    for i, segment in enumerate(segments):
        last = i == len(segments) - 1
        if segment == ".":
            if last:
                output.append("")
        elif segment == "..":
            if len(output) > 1:
                output.pop()
            if last:
                output.append("")
        else:
            output.append(segment)
    result = "/".join(output)
    return result if result.startswith("/") else "/" + result


def _host(hostname: str, url: str) -> str:
    """Lowercase, IDNA-encoded host (bracketed if IPv6)."""
    if ":" in hostname:  # IPv6 literal; urlsplit already removed the brackets
        return f"[{hostname.lower()}]"
    host = hostname.rstrip(".").lower()
    if not host:
        raise NormaliseError(f"URL has no host: {url!r}")
    if host.isascii():
        return host
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise NormaliseError(f"URL host is not a valid domain name: {url!r}") from exc


def _is_tracking(pair: str) -> bool:
    name, _, value = pair.partition("=")
    name = unquote(name.replace("+", " ")).strip().lower()
    if name in TRACKING_PARAMS or name.startswith(TRACKING_PREFIXES):
        return True
    values = TRACKING_VALUES.get(name)
    return values is not None and unquote(value).strip().lower() in values


def _query(query: str) -> str:
    """The query with tracking and empty parameters removed, others kept in their order."""
    kept = [pair for pair in query.split("&") if pair and not _is_tracking(pair)]
    return _encode("&".join(kept))


def _netloc(parts: SplitResult, url: str) -> str:
    """userinfo@host:port with the host normalised and a default port dropped."""
    try:
        port = parts.port
    except ValueError as exc:
        raise NormaliseError(f"URL has an invalid port: {url!r}") from exc
    if not parts.hostname:
        raise NormaliseError(f"URL has no host: {url!r}")
    netloc = _host(parts.hostname, url)
    if port is not None and port != _DEFAULT_PORTS[parts.scheme.lower()]:
        netloc = f"{netloc}:{port}"
    if parts.username is not None:
        userinfo = parts.username + (f":{parts.password}" if parts.password is not None else "")
        netloc = f"{userinfo}@{netloc}"
    return netloc


def _split(url: str, base: str | None) -> SplitResult:
    """`url` resolved against `base` and split; NormaliseError unless it is http(s)."""
    raw = strip_xml_illegal(url).strip()
    if not raw:
        raise NormaliseError("URL is empty")
    try:
        parts = urlsplit(urljoin(base, raw) if base else raw)
    except ValueError as exc:
        raise NormaliseError(f"malformed URL {raw!r}: {exc}") from exc
    scheme = parts.scheme.lower()
    if scheme not in WEB_SCHEMES:
        what = f"scheme {scheme!r}" if scheme else "a relative URL without a base"
        raise NormaliseError(f"not an absolute http(s) URL ({what}): {raw!r}")
    return parts._replace(scheme=scheme, netloc=_netloc(parts, raw))


# The commonest URLs of an item's HTML, already in the form `absolute_url` gives: a
# lowercase http(s) scheme and host (no userinfo, no trailing dot; a port only when it is
# not the scheme's default, written without a leading zero and at most 65535), then only
# characters `_encode` keeps as they are, with no `%`, `;` (a path parameter urljoin
# splits off) or `[]`; or a path from the root of that shape with no `.`/`..` segment
# (then urljoin changes nothing but prefixing the base's origin). Such a URL is its own
# answer, or the base's normalised origin and itself: the general path (urljoin,
# urlsplit, the netloc, three encodings) was nine tenths of sanitising a feed's HTML.
_SAFE_TAIL = r"[A-Za-z0-9/?:@!$&'()*+,=\-._~#]*"
_FAST_ABSOLUTE = re.compile(
    rf"https?://[a-z0-9](?:[a-z0-9.-]*[a-z0-9-])?(?::([1-9][0-9]{{0,4}}))?(?:/{_SAFE_TAIL})?"
)
_FAST_RELATIVE = re.compile(rf"/(?!/){_SAFE_TAIL}")
# What urlsplit/urlunsplit or urljoin would change: an empty query or fragment (dropped),
# a second `#` (encoded), `..` in a host, a dot segment (resolved).
_NOT_FAST = re.compile(r"[?#](?:#|$)|#.*#")
_DOT_SEGMENT = re.compile(r"/\.\.?(?:[/?#]|$)")


@functools.lru_cache(maxsize=64)
def _origin(base: str) -> str | None:
    """`scheme://netloc` of `base` as `absolute_url` writes it (None: not an http(s) base)."""
    try:
        parts = _split("/", base)
    except NormaliseError:
        return None
    return f"{parts.scheme}://{parts.netloc}"


def _fast_absolute(url: str, base: str | None) -> str | None:
    """`absolute_url(url, base)` for the common shapes above; None: take the general path."""
    value = url.strip()
    if _NOT_FAST.search(value):
        return None
    if fast := _FAST_ABSOLUTE.fullmatch(value):
        port = fast.group(1)
        if port and (int(port) > 65535 or int(port) == _DEFAULT_PORTS[value[: value.index(":")]]):
            return None  # out of range (an error), or the default (dropped): the general path
        host_end = value.find("/", 8)
        return None if ".." in value[: host_end if host_end != -1 else len(value)] else value
    if base is None or not _FAST_RELATIVE.fullmatch(value):
        return None
    if _DOT_SEGMENT.search(value.split("?", 1)[0].split("#", 1)[0]):
        return None
    origin = _origin(base)
    return None if origin is None else origin + value


def absolute_url(url: str, base: str | None = None) -> str:
    """`url` resolved against `base`, required to be http(s) with a host.

    Scheme and host are normalised and unsafe characters %-encoded, but query and fragment
    are kept: for enclosures and HTML attributes, which must be absolute and safe, but whose
    query must not be rewritten (signed media URLs) the way canonical_url rewrites it.
    """
    fast = _fast_absolute(url, base)
    if fast is not None:
        return fast
    parts = _split(url, base)
    return urlunsplit(
        parts._replace(path=_encode(parts.path), query=_encode(parts.query), fragment=_encode(parts.fragment))
    )


def canonical_url(url: str, base: str | None = None) -> str:
    """The canonical form of an http(s) link.

    Resolved against `base`; scheme and host lowercased, host IDNA-encoded, default port,
    fragment, dot segments and tracking parameters (TRACKING_PARAMS, `utm_*`, `from=timeline`
    …) removed; other query parameters kept in order; empty path → "/".
    Raises NormaliseError for anything that is not an absolute http(s) URL.
    """
    fast = _fast_absolute(url, base)
    if fast is not None and "?" not in fast and "#" not in fast:
        # Already canonical unless it has no path (then "/") or a dot segment to resolve.
        path_at = fast.find("/", fast.index("//") + 2)
        if path_at != -1 and not _DOT_SEGMENT.search(fast, path_at):
            return fast
    parts = _split(url, base)
    path = _remove_dot_segments(_encode(parts.path)) or "/"
    return urlunsplit(parts._replace(path=path, query=_query(parts.query), fragment=""))

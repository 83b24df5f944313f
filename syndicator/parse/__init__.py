"""The parse stage: upstream feed bytes → ParsedFeed (raw strings, unsanitised HTML).

One entry point, `parse_feed`, picks the reader: JSON Feed by hand (`jsonfeed`), every
XML format through `feed`, which reads well-formed RSS 2.0/0.9x and Atom 1.0 with lxml
(`fast`, giving what feedparser would) and everything else with feedparser. Everything
a later stage must decide (dates, sanitising, absolute links) is left raw on purpose; see
those modules for why.
"""

from __future__ import annotations

from collections.abc import Mapping

from syndicator.models import Enclosure, ParsedEntry, ParsedFeed
from syndicator.parse.feed import ParseError, parse_xml_feed
from syndicator.parse.jsonfeed import parse_json_feed

__all__ = [
    "Enclosure",
    "ParseError",
    "ParsedEntry",
    "ParsedFeed",
    "is_json_feed",
    "parse_feed",
    "parse_json_feed",
    "parse_xml_feed",
]

_JSON_TYPES = frozenset({"application/feed+json", "application/json"})
_UTF8_BOM = b"\xef\xbb\xbf"


def parse_feed(body: bytes, headers: dict[str, str], url: str, *, max_entries: int = 500) -> ParsedFeed:
    """Parse an upstream document fetched from `url`.

    `headers` are the response headers (keys lowercase; they are lowercased again here
    to be safe, since feedparser ignores the charset of a `Content-Type` key). Raises
    ParseError with a readable reason when the document holds no feed at all.
    """
    if max_entries < 1:
        raise ValueError(f"max_entries must be at least 1, not {max_entries}")
    lowered = {key.lower(): value for key, value in headers.items()}
    if is_json_feed(body, lowered):
        return parse_json_feed(body, lowered, url, max_entries=max_entries)
    return parse_xml_feed(body, lowered, url, max_entries=max_entries)


def is_json_feed(body: bytes, headers: Mapping[str, str]) -> bool:
    """JSON when the body opens with `{`, or a JSON media type says so and it is not XML.

    The body wins over the header both ways: servers often label RSS `application/json`
    or JSON `text/plain`, and the first character cannot lie.
    """
    # Only the head: leading whitespace is short, and the body may be megabytes.
    start = body[:4096].removeprefix(_UTF8_BOM).lstrip()[:1]
    if start == b"{":
        return True
    if start == b"<":
        return False
    media_type = headers.get("content-type", "").split(";")[0].strip().lower()
    return media_type in _JSON_TYPES

"""JSON Feed 1.0 and 1.1 (https://www.jsonfeed.org/version/1.1/), parsed by hand.

feedparser 6.0 has no JSON Feed support, and the format is small enough to read
directly. The structure (an object, a jsonfeed.org version, a list of items) is required;
a flaw inside one item or one optional field costs only that item or field, with a
warning naming it, so one bad item never hides a whole source.
"""

from __future__ import annotations

import codecs
import html
import json
import math
import re
from collections.abc import Mapping
from typing import Any

from syndicator.models import Enclosure, ParsedEntry, ParsedFeed, Upstream
from syndicator.parse.feed import ParseError
from syndicator.redact import redact_url

VERSION_PREFIX = "https://jsonfeed.org/version/"
_FORMATS = {"1": "json10", "1.1": "json11"}
_CHARSET = re.compile(r"""charset\s*=\s*["']?([^"';\s]+)""", re.IGNORECASE)
_UTF8_BOM = b"\xef\xbb\xbf"
# A JSON Feed is five levels deep (feed → items → item → attachments → attachment); extensions
# add a few. Far below the interpreter's recursion limit, which json.loads would hit first.
MAX_DEPTH = 64
# Longer integers are not sizes, durations or ids anyone writes; int() refuses > 4300 digits.
MAX_INT_DIGITS = 40
# A JSON string, or one bracket: what the depth check needs to see, strings skipped whole.
_STRING_OR_BRACKET = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')


def parse_json_feed(body: bytes, headers: Mapping[str, str], url: str, *, max_entries: int) -> ParsedFeed:
    """Parse a JSON Feed document; raise ParseError when its structure is not a JSON Feed."""
    text = _decode(body, headers.get("content-type", ""))
    doc = _load(text)
    if not isinstance(doc, dict):
        raise ParseError(f"JSON Feed: top level is {_kind(doc)}, not an object")

    warnings: list[str] = []
    fmt = _format(doc.get("version"), warnings)
    items = doc.get("items")
    if items is None:
        raise ParseError("JSON Feed: items is missing")
    if not isinstance(items, list):
        raise ParseError(f"JSON Feed: items is not a list (it is {_kind(items)})")

    top = _Fields(doc, "", warnings)
    feed_url = _blank_to_none(top.text("feed_url"))
    upstream = Upstream(
        title=(top.text("title") or "").strip(),
        id=feed_url or redact_url(url),  # published in Atom's <source>: no credentials
        link=_blank_to_none(top.text("home_page_url")),
        author=_authors(top),
    )
    entries: list[ParsedEntry] = []
    for index, item in enumerate(items):
        if len(entries) >= max_entries:
            dropped = len(items) - index
            warnings.append(f"dropped {dropped} entries beyond the limit of {max_entries}")
            break
        if not isinstance(item, dict):
            warnings.append(f"JSON Feed: item {index} skipped: it is {_kind(item)}, not an object")
            continue
        entry = _entry(_Fields(item, f"item {index}: ", warnings), upstream, url)
        if entry is None:
            warnings.append(f"JSON Feed: item {index} skipped: no id")
            continue
        entries.append(entry)

    return ParsedFeed(
        format=fmt,
        title=upstream.title,
        link=top.text("home_page_url"),
        language=top.text("language"),
        entries=tuple(entries),
        warnings=tuple(warnings),
        id=feed_url,
        author=upstream.author,
    )


def _load(text: str) -> Any:
    """The JSON document, or ParseError for anything that is not plain RFC 8259 JSON we can hold.

    Python's json module accepts more than JSON and fails badly on some of it: NaN and
    Infinity become floats that break `int()` later; an integer of thousands of digits
    raises a bare ValueError (the interpreter's int-string limit); 100,000 nested brackets
    raise RecursionError. Each is refused here with a reason, before or while parsing.
    """
    if _nesting_depth(text) > MAX_DEPTH:
        raise ParseError(f"JSON nested deeper than {MAX_DEPTH} levels; not a JSON Feed")
    try:
        return json.loads(text, parse_constant=_refuse_constant, parse_int=_bounded_int)
    except json.JSONDecodeError as exc:
        raise ParseError(f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    except RecursionError:  # only if MAX_DEPTH were raised past the interpreter's limit
        raise ParseError("JSON nested too deeply to read") from None


def _nesting_depth(text: str) -> int:
    """The deepest nesting of arrays and objects in `text` (brackets inside strings skipped).

    Stops counting once past MAX_DEPTH: the caller refuses the document then anyway.
    """
    depth = deepest = 0
    for match in _STRING_OR_BRACKET.finditer(text):
        char = match.group()
        if char in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > MAX_DEPTH:
                    break
        elif char in "]}":
            depth -= 1
    return deepest


def _refuse_constant(name: str) -> float:
    raise ParseError(f"invalid JSON: {name} is not a JSON number")


def _bounded_int(digits: str) -> int:
    if len(digits.lstrip("-")) > MAX_INT_DIGITS:
        raise ParseError(f"invalid JSON: an integer of {len(digits.lstrip('-'))} digits")
    return int(digits)


def _decode(body: bytes, content_type: str) -> str:
    declared = _CHARSET.search(content_type)
    charset = declared.group(1) if declared else "utf-8"
    # A UTF-8 BOM outranks a declared charset: it cannot occur by accident.
    if body.startswith(_UTF8_BOM):
        charset = "utf-8-sig"
    try:
        codec = codecs.lookup(charset)
    except LookupError:
        raise ParseError(f"JSON Feed: unknown charset {charset!r} in content-type") from None
    if codec.name == "utf-8":
        codec = codecs.lookup("utf-8-sig")
    try:
        return body.decode(codec.name)
    except UnicodeDecodeError as exc:
        raise ParseError(f"JSON Feed: byte {exc.start} is not valid {charset} ({exc.reason})") from None


def _format(version: object, warnings: list[str]) -> str:
    if version is None:
        raise ParseError("JSON Feed: version is missing")
    if not isinstance(version, str) or not version.startswith(VERSION_PREFIX):
        raise ParseError(f"JSON Feed: version {version!r} does not start with {VERSION_PREFIX}")
    number = version.removeprefix(VERSION_PREFIX).strip("/")
    if number in _FORMATS:
        return _FORMATS[number]
    if re.fullmatch(r"[0-9]+(\.[0-9]+)?", number):
        # A later version is meant to stay readable by 1.x readers: read it, but say so.
        warnings.append(f"JSON Feed: version {number} is newer than 1.1; read as 1.1")
        return "json" + number.replace(".", "")
    raise ParseError(f"JSON Feed: version {version!r} is not a version number")


class _Fields:
    """Typed reads of one JSON object; a wrongly typed field is ignored with a warning."""

    def __init__(self, obj: Mapping[str, Any], where: str, warnings: list[str]) -> None:
        self.obj = obj
        self.where = where
        self.warnings = warnings

    def _wrong(self, key: str, expected: str) -> None:
        found = _kind(self.obj[key])
        self.warnings.append(f"JSON Feed: {self.where}{key} is {found}, not {expected}; ignored")

    def text(self, key: str) -> str | None:
        value = self.obj.get(key)
        if value is None or isinstance(value, str):
            return value
        self._wrong(key, "a string")
        return None

    def list_of(self, key: str, kind: type) -> list[Any]:
        value = self.obj.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            self._wrong(key, "a list")
            return []
        good = [v for v in value if isinstance(v, kind) and not isinstance(v, bool)]
        if len(good) != len(value):
            noun = "strings" if kind is str else "objects"
            self.warnings.append(
                f"JSON Feed: {self.where}{key} has {len(value) - len(good)} entries that are"
                f" not {noun}; ignored"
            )
        return good

    def mapping(self, key: str) -> Mapping[str, Any] | None:
        value = self.obj.get(key)
        if value is None or isinstance(value, dict):
            return value
        self._wrong(key, "an object")
        return None


def _entry(item: _Fields, upstream: Upstream, feed_url: str) -> ParsedEntry | None:
    raw_id = item.obj.get("id")
    # The spec says string; numbers are common in the wild and unambiguous.
    if isinstance(raw_id, int | float) and not isinstance(raw_id, bool):
        guid = str(raw_id)
    elif isinstance(raw_id, str) and raw_id.strip():
        guid = raw_id.strip()
    else:
        return None

    content = item.text("content_html")
    if not content:
        content = _text_to_html(item.text("content_text") or "")
    summary_text = item.text("summary") or ""
    if content:
        summary_html = html.escape(summary_text, quote=False) if summary_text.strip() else ""
    else:
        content, summary_html = _text_to_html(summary_text), ""

    return ParsedEntry(
        guid=guid,
        link=_blank_to_none(item.text("url")) or _blank_to_none(item.text("external_url")),
        title=(item.text("title") or "").strip(),
        author=_authors(item),  # the feed's `authors` are inherited in normalise, via upstream
        published_raw=_blank_to_none(item.text("date_published")),
        updated_raw=_blank_to_none(item.text("date_modified")),
        content_html=content,
        summary_html=summary_html,
        tags=tuple(dict.fromkeys(t.strip() for t in item.list_of("tags", str) if t.strip())),
        enclosures=_attachments(item),
        base_url=feed_url,
        upstream=upstream,
    )


def _authors(node: _Fields) -> str | None:
    """1.1's `authors` list, else 1.0's `author` object; names joined for display."""
    people = node.list_of("authors", dict)
    single = node.mapping("author")
    if not people and single is not None:
        people = [single]
    names = [p["name"].strip() for p in people if isinstance(p.get("name"), str)]
    return ", ".join(n for n in names if n) or None


def _attachments(item: _Fields) -> tuple[Enclosure, ...]:
    found: dict[str, Enclosure] = {}
    for index, attachment in enumerate(item.list_of("attachments", dict)):
        url = attachment.get("url")
        if not isinstance(url, str) or not url.strip():
            item.warnings.append(f"JSON Feed: {item.where}attachment {index} has no url; ignored")
            continue
        mime = attachment.get("mime_type")
        length = _size(attachment.get("size_in_bytes"))
        found.setdefault(
            url.strip(),
            Enclosure(url.strip(), mime if isinstance(mime, str) else "", max(length, 0)),
        )
    return tuple(found.values())


def _size(value: object) -> int:
    """An attachment's size in bytes; 0 (unknown) for anything but a finite number.

    `1e999` is valid JSON and reads as infinity, which `int()` cannot convert.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0
    if isinstance(value, float) and not math.isfinite(value):
        return 0
    return int(value)


def _text_to_html(text: str) -> str:
    """Plain text as HTML: blank lines separate paragraphs, single newlines become <br>."""
    paragraphs = re.split(r"\n[ \t]*\n", text.replace("\r\n", "\n").replace("\r", "\n"))
    return "".join(
        "<p>" + html.escape(p.strip(), quote=False).replace("\n", "<br>") + "</p>"
        for p in paragraphs
        if p.strip()
    )


def _blank_to_none(value: str | None) -> str | None:
    return value.strip() if value and value.strip() else None


def _kind(value: object) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    return names.get(type(value), "a number" if isinstance(value, int | float) else "a value")

"""Bounds applied before (and just after) parsing, so that hostile sizes never reach the parser.

`trim_xml` is one linear pass over the bytes of an RSS/Atom document, before feedparser
sees them:
- the text of any element (or CDATA section) longer than `max_field_bytes` is cut;
- the text of a person field (`author`, `managingEditor`, `webMaster`, `dc:creator`, Atom
  `name`/`email`, …) is cut at `PERSON_FIELD_BYTES`: feedparser runs an e-mail regex on
  those whose time is quadratic in their length (1 KB: 9 ms; 20 KB: 2.5 s; 100 KB: a
  minute), and no real name or address is longer;
- every `<item>`/`<entry>` after the first `max_entries` is dropped, so a 100,000-entry
  feed costs feedparser what 500 entries cost.

A cut lands after an ASCII byte and outside an entity reference, so it never splits a
character in UTF-8 or in the legacy multi-byte encodings (GBK, Big5, Shift_JIS: their
lead bytes are all ≥ 0x80), and the document stays as well-formed as it was. UTF-16 and
UTF-32 documents (NUL bytes in the head) are left alone; the limits after parsing
(`cut_fields`) and the pool's time limit still hold for them.

`cut_fields` applies the same field limit to a parsed feed (JSON Feed, where `json.loads`
is linear and the cut is cheapest after it). `parse_bounded` is both around `parse_feed`:
the function the parse pool runs.
"""

from __future__ import annotations

import re
from dataclasses import fields, replace
from typing import Any

from syndicator.extract.decode import reencode_configured
from syndicator.models import ParsedEntry, ParsedFeed
from syndicator.parse import is_json_feed, parse_feed

PERSON_FIELD_BYTES = 1024
_PERSON_FIELDS = frozenset(
    {b"author", b"creator", b"contributor", b"managingeditor", b"webmaster", b"name", b"email", b"publisher"}
)
_ENTRY_ELEMENTS = frozenset({b"item", b"entry"})
_NAME = re.compile(rb"</?([A-Za-z_][\w:.-]*)")
_ENTITY_TAIL = 32  # longest entity reference we guard against cutting inside


def _local(qname: bytes) -> bytes:
    return qname.rpartition(b":")[2].lower()


def _cut_point(body: bytes, start: int, limit: int) -> int:
    """Where to cut the text run starting at `start` so it keeps at most `limit` bytes."""
    end = start + limit
    while end > start and body[end - 1] >= 0x80:  # never after a lead or middle byte
        end -= 1
    amp = body.rfind(b"&", max(start, end - _ENTITY_TAIL), end)
    if amp != -1 and body.find(b";", amp, end) == -1:  # inside `&amp;` or `&#1234;`
        end = amp
    return end


def trim_xml(body: bytes, *, max_entries: int, max_field_bytes: int) -> tuple[bytes, list[str]]:
    """`body` with over-long fields cut and entries beyond `max_entries` dropped; warnings.

    Returns `body` itself when nothing needed cutting. Linear in the size of `body`.
    """
    if b"\x00" in body[:4]:
        return body, []
    out: list[bytes] = []
    kept = 0  # body[kept:] is not yet copied to `out`
    pos = 0
    current = b""  # local name of the element whose text follows
    entries = 0
    cut = 0
    dropped = 0
    size = len(body)

    def cut_run(start: int, end: int) -> None:
        nonlocal kept, cut
        limit = PERSON_FIELD_BYTES if current in _PERSON_FIELDS else max_field_bytes
        if end - start > limit:
            out.append(body[kept : _cut_point(body, start, limit)])
            kept = end
            cut += 1

    while pos < size:
        lt = body.find(b"<", pos)
        if lt == -1:
            cut_run(pos, size)
            break
        cut_run(pos, lt)
        if body.startswith(b"<![CDATA[", lt):
            end = body.find(b"]]>", lt + 9)
            end = size if end == -1 else end
            cut_run(lt + 9, end)
            pos = end + 3
            continue
        if body.startswith(b"<!--", lt):
            end = body.find(b"-->", lt + 4)
            pos = size if end == -1 else end + 3
            continue
        gt = body.find(b">", lt + 1)
        if gt == -1:
            break
        match = _NAME.match(body, lt)
        pos = gt + 1
        if match is None:  # `<?xml …?>`, `<!DOCTYPE …>`, or a stray `<`
            continue
        qname = match.group(1)
        if body[lt + 1 : lt + 2] == b"/":
            current = b""
            continue
        current = _local(qname)
        if current in _ENTRY_ELEMENTS and body[gt - 1 : gt] != b"/":
            entries += 1
            if entries > max_entries:
                # Drop this entry and every later one: up to the last closing tag of its kind.
                close = b"</" + qname + b">"
                last = body.rfind(close)
                if last > lt:
                    region_end = last + len(close)
                    dropped = 1 + len(re.findall(rb"<" + re.escape(qname) + rb"[\s>/]", body[gt:last]))
                    out.append(body[kept:lt])
                    kept = pos = region_end
                    current = b""
    if kept == 0:
        return body, []
    out.append(body[kept:])
    warnings = []
    if cut:
        warnings.append(f"cut {cut} field(s) longer than the limit before parsing")
    if dropped:
        warnings.append(f"dropped {dropped} entries beyond the limit of {max_entries}")
    return b"".join(out), warnings


def _cut_text(value: str, limit: int) -> str:
    """`value` cut to at most `limit` bytes of UTF-8 (on a character boundary)."""
    if len(value) * 4 <= limit or len(value.encode("utf-8", "surrogatepass")) <= limit:
        return value
    return value.encode("utf-8", "surrogatepass")[:limit].decode("utf-8", "ignore")


def _cut_value(value: Any, limit: int) -> Any:
    if isinstance(value, str):
        return _cut_text(value, limit)
    if isinstance(value, tuple):
        return tuple(_cut_value(item, limit) for item in value)
    return value


def cut_fields(feed: ParsedFeed, *, max_field_bytes: int) -> ParsedFeed:
    """`feed` with every string field of its entries (and authors) at most `max_field_bytes`."""

    def entry(parsed: ParsedEntry) -> ParsedEntry:
        changes = {}
        for f in fields(parsed):
            value = getattr(parsed, f.name)
            cut = _cut_value(value, PERSON_FIELD_BYTES if f.name == "author" else max_field_bytes)
            if cut is not value and cut != value:
                changes[f.name] = cut
        return replace(parsed, **changes) if changes else parsed

    return replace(feed, entries=tuple(entry(e) for e in feed.entries))


def parse_bounded(
    body: bytes,
    headers: dict[str, str],
    url: str,
    *,
    max_entries: int,
    max_field_bytes: int,
    encoding: str | None = None,
) -> ParsedFeed:
    """`parse_feed` with the limits above: what the parse pool runs for every feed.

    `encoding`, the source's configured override (`Source.encoding`), re-encodes the
    document as UTF-8 first, whatever it declares (`reencode_configured`)."""

    warnings: list[str] = []
    if encoding:
        headers = {k.lower(): v for k, v in headers.items()}
        body, content_type, warning = reencode_configured(body, headers.get("content-type"), encoding)
        if content_type is not None:
            headers["content-type"] = content_type
        warnings.extend([warning] if warning else [])
    if not is_json_feed(body, {k.lower(): v for k, v in headers.items()}):
        body, trimmed = trim_xml(body, max_entries=max_entries, max_field_bytes=max_field_bytes)
        warnings.extend(trimmed)
    feed = cut_fields(
        parse_feed(body, headers, url, max_entries=max_entries), max_field_bytes=max_field_bytes
    )
    if warnings:
        feed = replace(feed, warnings=(*warnings, *feed.warnings))
    return feed

"""Bytes of an article page → text, choosing the encoding the way a careful browser would.

Order of trust: a byte-order mark; the HTTP charset; a `<meta charset>` or `<meta
http-equiv=Content-Type>` anywhere in the first 64 KB (CMS templates often put it after
long comments or scripts, beyond the 1 KB most sniffers read); detection when nothing is
declared. A declaration loses to clear evidence: bytes that are valid UTF-8 with multibyte
sequences are UTF-8, whatever a stale template claims. GB2312 and GBK are read as GB18030,
their superset, since real "GB2312" pages use GBK characters. Never raises: the worst case
is UTF-8 with replacement characters, reported in the returned warning.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

_SNIFF_BYTES = 64 * 1024
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE, whose BOM is its prefix
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# Labels whose real-world use is a superset encoding (WHATWG Encoding Standard mappings).
_SUPERSETS = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "gb_2312-80": "gb18030",
    "x-gbk": "gb18030",
    "cp936": "gb18030",
    "big5": "big5hkscs",
    "big5-hkscs": "big5hkscs",
    "x-x-big5": "big5hkscs",
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "windows-31j": "cp932",
    "euc-kr": "cp949",
    "ks_c_5601-1987": "cp949",
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "iso-8859-9": "cp1254",
    "tis-620": "cp874",
    "iso-8859-11": "cp874",
}
_LATIN_LOOKALIKES = frozenset(
    {"cp1257", "cp1250", "cp1254", "cp775", "mac_latin2", "mac_roman", "latin_1"}
    | {f"iso8859_{n}" for n in (1, 2, 3, 4, 9, 10, 13, 14, 15, 16)}
)
_HTTP_CHARSET = re.compile(r"charset\s*=\s*[\"']?\s*([\w.:+-]+)", re.IGNORECASE)
_META = re.compile(rb"<meta\b[^>]*>", re.IGNORECASE)
_META_CHARSET = re.compile(rb"""\bcharset\s*=\s*["']?\s*([\w.:+-]+)""", re.IGNORECASE)
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*\bencoding\s*=\s*["']([\w.:+-]+)""", re.IGNORECASE)
_COMMENT = re.compile(rb"<!--.*?-->", re.DOTALL)
_NON_ASCII = re.compile(rb"[\x80-\xff]")


def _codec(label: str | None) -> str | None:
    """The Python codec for a charset label (superset applied), or None if unknown."""
    if not label:
        return None
    name = label.strip().strip("\"'").lower()
    name = _SUPERSETS.get(name, name)
    try:
        codec = codecs.lookup(name).name
    except LookupError:
        return None
    # UTF-16/32 declared in a meta tag of a document we are reading as ASCII is a lie
    # (WHATWG: treat as UTF-8); only a BOM can establish them.
    if codec.startswith(("utf-16", "utf-32")):
        return "utf-8"
    return _SUPERSETS.get(codec, codec)


def _declared_in_markup(head: bytes) -> str | None:
    """The charset a <meta> (outside comments) or an XML prolog declares in `head`."""
    prolog = _XML_ENCODING.match(head)
    if prolog:
        return prolog.group(1).decode("ascii", "replace")
    for tag in _META.finditer(_COMMENT.sub(b"", head)):
        found = _META_CHARSET.search(tag.group(0))
        if found:
            return found.group(1).decode("ascii", "replace")
    return None


def _is_utf8_evidence(body: bytes) -> bool:
    """True when the bytes contain multibyte sequences and all of them are valid UTF-8."""
    if not _NON_ASCII.search(body):
        return False
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A page cut off mid-character by a size limit is still UTF-8.
        return exc.reason == "unexpected end of data" and exc.start >= len(body) - 3
    return True


def _detect(body: bytes) -> str | None:
    """An encoding guessed from the bytes alone (charset-normalizer, then chardet)."""
    sample = body[: 256 * 1024]
    try:
        from charset_normalizer import from_bytes

        matches = list(from_bytes(sample))
        if matches:
            best = matches[0]
            # Short Latin text fits several Latin code pages equally well; an undeclared
            # Latin page on the web is windows-1252 (the WHATWG default) unless clearly not.
            latin = next((m for m in matches if m.encoding == "cp1252"), None)
            if latin is not None and best.encoding in _LATIN_LOOKALIKES and latin.chaos <= best.chaos + 0.1:
                return "cp1252"
            return _codec(best.encoding)
    except Exception:
        pass
    try:
        import chardet

        guess = chardet.detect(sample).get("encoding")
        return _codec(guess)
    except Exception:
        return None


def _try(body: bytes, codec: str) -> str | None:
    try:
        return body.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return None


@dataclass(frozen=True)
class Decoded:
    text: str
    encoding: str  # a Python codec name: utf-8, gb18030, cp1252, …
    warning: str | None = None  # set when the text may be wrong (replacement, a guess)


def decode_html(body: bytes, content_type: str | None) -> tuple[str, str]:
    """(text, encoding) of the bytes of an HTML page; `decode_page` also gives the warning."""
    decoded = decode_page(body, content_type)
    return decoded.text, decoded.encoding


def decode_page(body: bytes, content_type: str | None) -> Decoded:
    """The text of an HTML page's bytes, the codec used, and a warning when it is doubtful.

    `content_type` is the HTTP Content-Type header, if any.
    """
    for bom, codec in _BOMS:
        if body.startswith(bom):
            return Decoded(body[len(bom) :].decode(codec, "replace"), codec)

    http = _HTTP_CHARSET.search(content_type or "")
    declared = _codec(http.group(1) if http else None) or _codec(_declared_in_markup(body[:_SNIFF_BYTES]))
    utf8 = _is_utf8_evidence(body)

    if declared and declared != "utf-8" and utf8:
        # Valid multibyte UTF-8 is almost never a legible text in a legacy encoding.
        return Decoded(body.decode("utf-8", "replace"), "utf-8")
    if declared:
        text = _try(body, declared)
        if text is not None:
            return Decoded(text, declared)
        detected = _detect(body)
        if detected and detected != declared and (text := _try(body, detected)) is not None:
            why = f"declared charset {declared} does not fit the bytes; decoded as {detected}"
            return Decoded(text, detected, why)
        why = f"bytes invalid in declared charset {declared}; invalid bytes replaced"
        return Decoded(body.decode(declared, "replace"), declared, why)

    if utf8 or not _NON_ASCII.search(body):
        return Decoded(body.decode("utf-8", "replace"), "utf-8")
    detected = _detect(body)
    if detected and (text := _try(body, detected)) is not None:
        return Decoded(text, detected)
    why = "no charset declared and none detected; decoded as UTF-8 with replacement"
    return Decoded(body.decode("utf-8", "replace"), "utf-8", why)

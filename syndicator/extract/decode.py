"""Bytes of an article page → text, choosing the encoding the way a careful browser would.

Order of trust: a byte-order mark; the HTTP charset; a `<meta charset>` or `<meta
http-equiv=Content-Type>` anywhere in the first 64 KB (CMS templates often put it after
long comments or scripts, beyond the 1 KB most sniffers read); detection when nothing is
declared. A declaration loses to clear evidence: bytes that are valid UTF-8 with multibyte
sequences are UTF-8, whatever a stale template claims. GB2312 and GBK are read as GB18030,
their superset, since real "GB2312" pages use GBK characters. Never raises: the worst case
is UTF-8 with replacement characters, reported in the returned warning.

UTF-8 (declared, or assumed when nothing is declared) that does not decode is not thrown
over for a guess at once: a document that is mostly valid UTF-8 with some invalid bytes is
UTF-8 with damage, and a guessed legacy code page would turn all its good text into
mojibake. Pages pasted together from a UTF-8 template and GBK content are common on
Chinese sites; their GBK runs are read as GBK. Every such repair, and every fallback from
declared UTF-8 to another encoding, is a warning naming the first bad byte, which reaches
the source's health.
"""

from __future__ import annotations

import codecs
import contextlib
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
_NON_ASCII_RUN = re.compile(rb"[\x80-\xff]+")


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


def _utf8_with_gbk_runs(body: bytes) -> tuple[str, int, int]:
    """(text, runs read as GBK, runs neither UTF-8 nor GBK) of a document that is UTF-8
    with pasted-in GBK: each run of non-ASCII bytes is decoded on its own, as UTF-8 when
    it is valid UTF-8, else as GBK (GB18030), else as UTF-8 with replacement characters.

    Runs, not single invalid sequences: some GBK pairs are valid UTF-8 by chance (斯 is
    CB B9, also U+02F9), so only a whole run of GBK text reads right."""
    parts: list[str] = []
    position = gbk = bad = 0
    for run in _NON_ASCII_RUN.finditer(body):
        parts.append(body[position : run.start()].decode("ascii"))
        chunk, position = run.group(), run.end()
        try:
            parts.append(chunk.decode("utf-8"))
            continue
        except UnicodeDecodeError as exc:
            first_bad = exc.start
        # The whole run as GBK; else GBK right after UTF-8 with no ASCII between (a
        # paragraph indented with U+3000 in UTF-8, then GBK text): the valid UTF-8 head
        # stays UTF-8; else replacement characters.
        for head, tail in ((b"", chunk), (chunk[:first_bad], chunk[first_bad:])):
            with contextlib.suppress(UnicodeDecodeError):
                parts.append(head.decode("utf-8") + tail.decode("gb18030"))
                gbk += 1
                break
        else:
            parts.append(chunk.decode("utf-8", "replace"))
            bad += 1
    parts.append(body[position:].decode("ascii"))
    return "".join(parts), gbk, bad


_REPLACEMENT_BYTES = "\ufffd".encode()


def _replacements(text: str, body: bytes) -> int:
    """U+FFFD in `text` that decoding added (not the ones `body` itself encodes)."""
    return text.count("\ufffd") - body.count(_REPLACEMENT_BYTES)


def _as_utf8(body: bytes, declared: bool) -> Decoded | None:
    """`body` as UTF-8 when it is UTF-8, even damaged; None when it is another encoding.

    Valid: no warning. Cut off mid-character at the end (a size limit): no warning.
    Mostly valid — at least as many good multibyte characters as invalid sequences (a
    legacy page read as UTF-8 has far fewer: most of its bytes are invalid) — with GBK
    text making up the invalid runs: those runs read as GBK, warning `mixed encodings`.
    Otherwise mostly valid: invalid sequences replaced, warning naming the first.
    """
    try:
        return Decoded(body.decode("utf-8"), "utf-8")
    except UnicodeDecodeError as exc:
        first = exc.start
        if exc.reason == "unexpected end of data" and exc.start >= len(body) - 3:
            return Decoded(body.decode("utf-8", "replace"), "utf-8")
    replaced = body.decode("utf-8", "replace")
    invalid = _replacements(replaced, body)
    good = len(replaced) - len(replaced.encode("ascii", "ignore")) - replaced.count("\ufffd")
    if good < invalid:
        return None
    repaired, gbk, bad = _utf8_with_gbk_runs(body)
    if gbk and bad * 4 <= gbk:
        why = f"mixed encodings: {invalid} invalid UTF-8 sequences (looks like GBK inside UTF-8)"
        return Decoded(repaired, "utf-8", f"{why}; read those as GBK")
    how = "declared" if declared else "assumed"
    sequences = f"{invalid} invalid sequence{'' if invalid == 1 else 's'}"
    why = f"invalid UTF-8 at byte {first}; decoded as utf-8 ({how}), {sequences} replaced"
    return Decoded(replaced, "utf-8", why)


def _first_invalid_utf8(body: bytes) -> int:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start
    return -1


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


def repair_utf8_feed(body: bytes, content_type: str | None) -> tuple[bytes, str | None]:
    """(the bytes to parse, a warning) for an XML feed whose encoding is UTF-8 — declared
    by the HTTP charset or the XML prolog, or XML's default when neither says — but whose
    bytes are damaged UTF-8 or UTF-8 with GBK runs: the repaired text as clean UTF-8, and
    the warning `decode_page` gives a page. feedparser alone would decode such a feed as
    windows-1252, all of it mojibake. Anything else is returned unchanged (a BOM, another
    declared encoding, valid UTF-8, or bytes that are not UTF-8 at all, for which
    feedparser's own fallback and warning stand)."""
    if any(body.startswith(bom) for bom, _codec_name in _BOMS):
        return body, None
    http = _HTTP_CHARSET.search(content_type or "")
    prolog = _XML_ENCODING.match(body[:1024])
    label = http.group(1) if http else prolog.group(1).decode("ascii", "replace") if prolog else None
    if (_codec(label) if label else "utf-8") != "utf-8":
        return body, None
    decoded = _as_utf8(body, declared=label is not None)
    if decoded is None or decoded.warning is None:
        return body, None
    return decoded.text.encode("utf-8"), decoded.warning


def decode_html(body: bytes, content_type: str | None, encoding: str | None = None) -> tuple[str, str]:
    """(text, encoding) of the bytes of an HTML page; `decode_page` also gives the warning."""
    decoded = decode_page(body, content_type, encoding)
    return decoded.text, decoded.encoding


def decode_configured(body: bytes, encoding: str) -> Decoded:
    """`body` read in `encoding`, the source's configured override (`Source.encoding`), for a
    site whose declaration lies: no BOM, header, meta tag, prolog or detection is consulted.
    Labels map to their supersets as declared ones do (`gbk` reads as GB18030). Bytes invalid
    in it are replaced, with a warning counting them."""
    label = encoding.strip().lower()
    codec = codecs.lookup(_SUPERSETS.get(label, label)).name  # UTF-16 too: it is no guess here
    codec = _SUPERSETS.get(codec, codec)
    if codec == "utf-8" and body.startswith(codecs.BOM_UTF8):
        body = body[len(codecs.BOM_UTF8) :]
    text = body.decode(codec, "replace")
    replaced = _replacements(text, body) if codec == "utf-8" else text.count("\ufffd")
    if replaced > 0:
        why = f"bytes invalid in the configured encoding {codec}: {replaced} replaced"
        return Decoded(text, codec, why)
    return Decoded(text, codec)


_XML_DECLARED_ENCODING = re.compile(r"""^(\s*<\?xml[^>]*?\bencoding\s*=\s*)(["'])[\w.:+-]+\2""")
_CHARSET_PARAMETER = re.compile(r"""charset\s*=\s*["']?[\w.:+-]*["']?""", re.IGNORECASE)


def reencode_configured(
    body: bytes, content_type: str | None, encoding: str
) -> tuple[bytes, str | None, str | None]:
    """(UTF-8 bytes, the Content-Type to give with them, a warning) for a document (a feed)
    whose configured `encoding` overrides what it declares: read as `decode_configured`
    does, written out as UTF-8 with its XML declaration and the header's charset saying so,
    so a parser that trusts declarations (feedparser) reads it right."""
    decoded = decode_configured(body, encoding)
    text = _XML_DECLARED_ENCODING.sub(r"\1\2utf-8\2", decoded.text, count=1)
    if content_type and _CHARSET_PARAMETER.search(content_type):
        content_type = _CHARSET_PARAMETER.sub("charset=utf-8", content_type, count=1)
    elif content_type:
        content_type = f"{content_type}; charset=utf-8"
    return text.encode("utf-8"), content_type, decoded.warning


def decode_page(body: bytes, content_type: str | None, encoding: str | None = None) -> Decoded:
    """The text of an HTML page's bytes, the codec used, and a warning when it is doubtful.

    `content_type` is the HTTP Content-Type header, if any; `encoding`, the source's
    configured override, wins over everything (`decode_configured`).
    """
    if encoding:
        return decode_configured(body, encoding)
    for bom, codec in _BOMS:
        if body.startswith(bom):
            return Decoded(body[len(bom) :].decode(codec, "replace"), codec)

    http = _HTTP_CHARSET.search(content_type or "")
    declared = _codec(http.group(1) if http else None) or _codec(_declared_in_markup(body[:_SNIFF_BYTES]))
    utf8 = _is_utf8_evidence(body)

    if declared and declared != "utf-8" and utf8:
        # Valid multibyte UTF-8 is almost never a legible text in a legacy encoding.
        return Decoded(body.decode("utf-8", "replace"), "utf-8")
    if declared == "utf-8" or (not declared and _NON_ASCII.search(body)):
        decoded = _as_utf8(body, declared=declared == "utf-8")
        if decoded is not None:
            return decoded
    if declared == "utf-8":
        first = _first_invalid_utf8(body)
        detected = _detect(body)
        if detected and detected != "utf-8" and (text := _try(body, detected)) is not None:
            return Decoded(text, detected, f"invalid UTF-8 at byte {first}; decoded as {detected}")
        why = f"invalid UTF-8 at byte {first}; decoded as utf-8 with invalid bytes replaced"
        return Decoded(body.decode("utf-8", "replace"), "utf-8", why)
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

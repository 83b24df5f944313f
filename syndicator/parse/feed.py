"""RSS 0.9x/1.0/2.0 and Atom 0.3/1.0 as feedparser reads them, turned into a ParsedFeed.

feedparser does the XML work (encodings, namespaces, the loose parser that recovers
entries from malformed XML); for well-formed RSS 2.0/0.9x and Atom 1.0, `fast.read_well_formed`
gives the same values several times faster with lxml (see there for what falls back).
What feedparser decides badly we leave undecided here:
- dates stay raw strings (feedparser reads `CST` as US Central, mangles 2023年11月23日);
- HTML is neither sanitised nor made absolute (the normalise stage does both, faster);
- `bozo` is not failure: recovered entries are kept and the flaw becomes a warning;
- authors are not inherited: each entry records its own, and the feed it came in
  (`ParsedEntry.upstream`, with the feed-level author) for the normalise stage to apply.

`ParseError` lives here rather than in `__init__` so that `jsonfeed` can import it
without a cycle through the package's dispatcher.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urljoin
from xml.sax import SAXException, SAXParseException

import feedparser
import lxml.html
from lxml import etree

from syndicator.errors import SyndicatorError
from syndicator.extract.decode import repair_utf8_feed
from syndicator.models import Enclosure, FeedRefresh, ParsedEntry, ParsedFeed, Upstream
from syndicator.parse.fast import NotInSubset, read_well_formed
from syndicator.redact import redact_url


class ParseError(SyndicatorError):
    """An upstream document that holds no usable feed. `reason` says why, for people."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml", "html", "xhtml"})

# What precedes the root element of an HTML page: BOM, XML declaration, comments, spaces.
_HTML_START = re.compile(
    rb"^(?:\xef\xbb\xbf)?\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html[\s>])",
    re.IGNORECASE | re.DOTALL,
)
_FIRST_ELEMENT = re.compile(rb"<([A-Za-z_][\w:.-]*)")
# A numeric character reference (`&#xD800;`, `&#55296;`), as an ASCII-compatible encoding has it.
_CHARREF = re.compile(rb"&#([xX][0-9a-fA-F]+|[0-9]+);")
_MAX_CODE_POINT = 0x10FFFF
_DECLARATIONS = (
    (b"\xef\xbb\xbf", b"<?xml"),
    (b"\xff\xfe", "<?xml".encode("utf-16-le")),
    (b"\xfe\xff", "<?xml".encode("utf-16-be")),
    (b"", b"<?xml"),
)
# RSS <author> is "email (Name)"; feedparser writes Atom name+email as "Name (email)".
_AUTHOR_FORMS = (
    re.compile(r"[^\s()<>]+@[^\s()<>]+\s*\((.*)\)"),
    re.compile(r"(.*?)\s*[(<]\s*[^\s()<>]+@[^\s()<>]+\s*[)>]"),
)


def parse_xml_feed(
    body: bytes, headers: Mapping[str, str], url: str, *, max_entries: int, fast_path: bool = True
) -> ParsedFeed:
    """Parse an RSS/RDF/Atom document; raise ParseError when it holds no feed at all.

    Well-formed RSS 2.0/0.9x and Atom 1.0 are read by `fast.read_well_formed` (lxml), which gives
    what feedparser gives; everything else, or `fast_path=False` (the differential tests
    compare the two), goes through feedparser.
    """
    body, response_headers, encoding_warning, dropped = _prepared(body, headers)
    try:
        if not fast_path:
            raise NotInSubset("fast path off")
        fast = read_well_formed(body, response_headers)
    except NotInSubset:
        # A BytesIO, never bare bytes: given bytes, feedparser first tries them as a local
        # file name, so an upstream answering "/etc/passwd" would make us read that file.
        result = feedparser.parse(
            io.BytesIO(body),
            response_headers=response_headers,
            sanitize_html=False,
            resolve_relative_uris=False,
        )
        version: str = result.get("version") or ""
        bozo: Exception | None = result.get("bozo_exception") if result.get("bozo") else None
        raw_entries: list[Any] = list(result.get("entries") or [])
        feed: Mapping[str, Any] = result.get("feed") or {}
    else:
        # Only well-formed RSS/Atom gets here: it always has a version.
        version, bozo, raw_entries, feed = fast.version, fast.bozo, fast.entries, fast.feed
    shift = _line_shift(body)
    if not version and not raw_entries:
        content_type = response_headers.get("content-type", "")
        raise ParseError(_why_not_a_feed(body, content_type, bozo, shift))

    warnings: list[str] = [encoding_warning] if encoding_warning else []
    if dropped:
        warnings.append(
            f"removed {dropped} character reference(s) to no character (a surrogate or beyond U+10FFFF)"
        )
    if bozo is not None:
        warnings.append(_describe_bozo(bozo, shift))
    if not version:
        warnings.append("unrecognised feed format; entries recovered anyway")

    feed_base = _base(feed, url)
    feed_id = _nonblank(feed.get("id"))
    upstream = Upstream(
        title=_title_text(feed),
        # RSS has no feed id: the address it was fetched from identifies it (without the
        # credentials some upstreams put in it: it is published in Atom's <source>).
        id=feed_id or redact_url(url),
        link=_absolute(feed_base, _alternate_link(feed)),
        author=_author(feed),
    )
    entries: list[ParsedEntry] = []
    for index, raw in enumerate(raw_entries):
        if len(entries) >= max_entries:
            dropped = len(raw_entries) - index
            warnings.append(f"dropped {dropped} entries beyond the limit of {max_entries}")
            break
        entry = _entry(raw, url, upstream)
        if entry is None:
            warnings.append(f"entry {index} skipped: no id, link, title or content")
            continue
        entries.append(entry)

    if not entries and isinstance(bozo, SAXException):
        # Malformed XML with nothing recovered: an empty feed would hide a broken source.
        raise ParseError(f"malformed XML and no entries recovered: {_sax_text(bozo, shift)}")

    return ParsedFeed(
        format=version or "unknown",
        title=upstream.title,
        link=upstream.link,
        language=_nonblank(feed.get("language")),
        entries=tuple(entries),
        warnings=tuple(warnings),
        id=feed_id,
        author=upstream.author,
        refresh=FeedRefresh(
            ttl=_nonblank(feed.get("ttl")),
            update_period=_nonblank(feed.get("sy_updateperiod")),
            update_frequency=_nonblank(feed.get("sy_updatefrequency")),
        ),
    )


def _prepared(body: bytes, headers: Mapping[str, str]) -> tuple[bytes, dict[str, str], str | None, int]:
    """What either reader is given: the body repaired, the headers lowercased without
    Content-Location, the repair's warning (if any) and the count of dropped references."""
    # No Content-Location: feedparser would take it as the base URI and then "resolve"
    # relative GUIDs too (`<guid>12345</guid>` → `https://host/feed/12345`), tying an
    # article's identity to the feed's URL. With no base, GUIDs stay as written; links
    # and enclosures are resolved here against xml:base or the retrieval URL (RFC 9110
    # no longer makes Content-Location a base), which is also what `base_url` records.
    response_headers = {
        key.lower(): value for key, value in headers.items() if key.lower() != "content-location"
    }
    # UTF-8 with damage or GBK runs: repaired here, said in a warning (feedparser would
    # read the whole document as windows-1252).
    body, encoding_warning = repair_utf8_feed(body, response_headers.get("content-type"))
    body, dropped = _drop_impossible_charrefs(body)
    return body, response_headers, encoding_warning, dropped


def fast_path_refusal(body: bytes, headers: Mapping[str, str]) -> str | None:
    """Why `parse_xml_feed` would hand `body` to feedparser, or None when the fast path
    reads it (for tests and measurements: the same preparation, then `read_well_formed`)."""
    body, response_headers, _warning, _dropped = _prepared(body, headers)
    try:
        read_well_formed(body, response_headers)
    except NotInSubset as refusal:
        return str(refusal)
    return None


def _drop_impossible_charrefs(body: bytes) -> tuple[bytes, int]:
    """The body without numeric character references that name no character, and their count.

    `&#xD800;` (a lone surrogate), `&#x110000;` or a 5,000-digit reference makes the strict
    XML parser give up, and feedparser's loose parser then calls `chr(n).encode()` on it
    and raises (UnicodeEncodeError, ValueError, OverflowError) out of `feedparser.parse`:
    one character would cost the whole feed. Removing the reference is what the normalise
    stage would do with the character anyway (XML cannot carry it). UTF-16 bodies (with a
    BOM) are handled by decoding; other encodings are ASCII-compatible where `&#…;` is.
    """
    for bom, codec in ((b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")):
        if body.startswith(bom):
            try:
                text = body[len(bom) :].decode(codec)
            except UnicodeDecodeError:
                return body, 0  # feedparser will say what is wrong with it
            cleaned, count = _drop_charrefs_in(text.encode("utf-8", "surrogatepass"))
            if not count:
                return body, 0
            return bom + cleaned.decode("utf-8", "surrogatepass").encode(codec, "surrogatepass"), count
    return _drop_charrefs_in(body)


def _drop_charrefs_in(body: bytes) -> tuple[bytes, int]:
    count = 0

    def keep_or_drop(match: re.Match[bytes]) -> bytes:
        nonlocal count
        if _names_a_character(match.group(1)):
            return match.group(0)
        count += 1
        return b""

    if b"&#" not in body:
        return body, 0
    return _CHARREF.sub(keep_or_drop, body), count


def _names_a_character(ref: bytes) -> bool:
    digits = ref[1:] if ref[:1] in (b"x", b"X") else ref
    digits = digits.lstrip(b"0") or b"0"
    if len(digits) > 8:  # more digits than U+10FFFF has, in either base; int() never sees them
        return False
    code = int(digits, 16) if ref[:1] in (b"x", b"X") else int(digits)
    return code <= _MAX_CODE_POINT and not 0xD800 <= code <= 0xDFFF


def _describe_bozo(exc: Exception, shift: int) -> str:
    """A readable line for feedparser's bozo exception, e.g. for a source's health page."""
    if isinstance(exc, SAXException):
        return f"recovered from malformed XML: {_sax_text(exc, shift)}"
    if isinstance(exc, feedparser.CharacterEncodingOverride):
        return f"character encoding: {exc}"
    if isinstance(exc, feedparser.NonXMLContentType):
        return f"content type: {exc}"
    if isinstance(exc, feedparser.UndeclaredNamespace):
        return f"undeclared XML namespace: {exc}"
    return f"recovered from {type(exc).__name__}: {exc}"


def _sax_text(exc: SAXException, shift: int) -> str:
    if isinstance(exc, SAXParseException):
        return f"{exc.getMessage()} at line {max(exc.getLineNumber() - shift, 1)}"
    return exc.getMessage()


def _line_shift(body: bytes) -> int:
    """Lines feedparser adds before the XML parser sees the document: it re-encodes to
    UTF-8 and, when the document has no XML declaration, prepends one on its own line.
    Subtracting it makes "at line N" point at the upstream's own line N."""
    for bom, declaration in _DECLARATIONS:
        if body.startswith(bom) and body[len(bom) :].startswith(declaration):
            return 0
    return 1


def _why_not_a_feed(body: bytes, content_type: str, bozo: Exception | None, shift: int) -> str:
    if not body.strip():
        return "not a feed: empty document"
    if _HTML_START.match(body) or content_type.split(";")[0].strip().lower() == "text/html":
        return "not a feed: HTML document"
    if isinstance(bozo, feedparser.CharacterEncodingUnknown):
        return f"not a feed: unknown character encoding ({bozo})"
    if isinstance(bozo, SAXException):
        return f"not a feed: malformed XML ({_sax_text(bozo, shift)})"
    root = _FIRST_ELEMENT.search(body[:4096])
    if root is not None:
        name = root.group(1).decode("ascii", "replace")
        return f"not a feed: no RSS, RDF or Atom root element (found <{name}>)"
    return "not a feed: no XML elements found"


def _entry(raw: Mapping[str, Any], feed_url: str, upstream: Upstream) -> ParsedEntry | None:
    base = _base(raw, feed_url)
    guid = _nonblank(raw.get("id"))
    link = _absolute(base, _alternate_link(raw))
    title = _title_text(raw)
    content_html, summary_html = _content_and_summary(raw)
    if not (guid or link or title or content_html):
        return None
    return ParsedEntry(
        guid=guid,
        link=link,
        title=title,
        author=_author(raw),
        published_raw=_raw_date(raw, "published") or _raw_date(raw, "created"),
        updated_raw=_raw_date(raw, "updated"),
        content_html=content_html,
        summary_html=summary_html,
        tags=_tags(raw.get("tags") or []),
        enclosures=_enclosures(raw, base),
        base_url=base,
        upstream=_source(raw.get("source"), base) or upstream,
    )


def _source(source: object, base: str) -> Upstream | None:
    """An Atom entry's own `<source>` (it was copied from another feed): that feed, whose
    author the entry inherits before the containing feed's (RFC 4287 §4.2.1)."""
    if not isinstance(source, Mapping) or not source:
        return None
    return Upstream(
        title=_title_text(source),
        id=_nonblank(source.get("id")),
        link=_absolute(base, _alternate_link(source)),
        author=_author(source),
    )


def _nonblank(value: object) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def _raw_date(raw: Mapping[str, Any], key: str) -> str | None:
    # dict.get, not FeedParserDict.get: the latter answers "updated" with "published"
    # when only the latter exists, which would invent an update time.
    return _nonblank(dict.get(raw, key))  # type: ignore[arg-type]


def _alternate_link(node: Mapping[str, Any]) -> str | None:
    for link in node.get("links") or []:
        if link.get("rel") == "alternate" and _nonblank(link.get("href")):
            return str(link["href"]).strip()
    return _nonblank(node.get("link"))


def _title_text(node: Mapping[str, Any]) -> str:
    """Titles are text; feedparser hands back HTML when the feed marked (or it guessed) HTML."""
    title = node.get("title") or ""
    detail = node.get("title_detail") or {}
    if detail.get("type") in _HTML_TYPES:
        return html_to_text(title)
    return title.strip()


def html_to_text(fragment: str) -> str:
    """Text of an HTML fragment, entities decoded, whitespace collapsed as a browser would."""
    if "<" not in fragment and "&" not in fragment:
        return " ".join(fragment.split())
    try:
        root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    except (etree.ParserError, ValueError):
        # lxml refuses control characters; the markup-stripped original is the best text.
        return " ".join(re.sub(r"<[^>]*>", " ", fragment).split())
    return " ".join(root.text_content().split())


def _author(raw: Mapping[str, Any]) -> str | None:
    # From feedparser's `author` string, not `author_detail`: its e-mail regex allows
    # 2–4 letter TLDs only, so "ed@news.example (Ed)" splits into the name "ple (Ed".
    text = _nonblank(raw.get("author"))
    if text:
        for pattern in _AUTHOR_FORMS:
            found = pattern.fullmatch(text)
            if found and found.group(1).strip():
                return found.group(1).strip()
        return text
    names = [_nonblank(a.get("name")) for a in raw.get("authors") or []]
    return ", ".join(n for n in names if n) or None


def _content_and_summary(raw: Mapping[str, Any]) -> tuple[str, str]:
    contents = [c.get("value") or "" for c in raw.get("content") or []]
    content = max(contents, key=len, default="")
    summary = raw.get("summary") or ""
    if not content.strip():
        return summary, ""
    # feedparser copies content:encoded into summary when there is no description.
    return content, summary if summary.strip() != content.strip() else ""


def _tags(tags: Iterable[Mapping[str, Any]]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for tag in tags:
        value = _nonblank(tag.get("term")) or _nonblank(tag.get("label"))
        if value:
            seen.setdefault(value, None)
    return tuple(seen)


def _enclosures(raw: Mapping[str, Any], base: str) -> tuple[Enclosure, ...]:
    found: dict[str, Enclosure] = {}
    for link in raw.get("links") or []:
        href = _absolute(base, link.get("href"))
        if link.get("rel") == "enclosure" and href and href not in found:
            found[href] = Enclosure(href, link.get("type") or "", _length(link.get("length")))
    for media in raw.get("media_content") or []:
        href = _absolute(base, media.get("url"))
        if href and href not in found:
            size = media.get("filesize") or media.get("fileSize") or media.get("length")
            found[href] = Enclosure(href, media.get("type") or "", _length(size))
    return tuple(found.values())


def _length(value: object) -> int:
    # Only plain ASCII digits: "abc", "-1", "1.5" or "²" mean the upstream gave no size.
    if isinstance(value, str) and re.fullmatch(r"[0-9]+", value.strip()):
        return int(value.strip())
    return 0


def _base(node: Mapping[str, Any], feed_url: str) -> str:
    """The node's xml:base (as feedparser recorded it on its text constructs), made absolute."""
    details = [
        *(node.get("content") or []),
        node.get("summary_detail"),
        node.get("title_detail"),
        node.get("subtitle_detail"),
    ]
    for detail in details:
        base = _nonblank(detail.get("base")) if detail else None
        if base:
            return _absolute(feed_url, base) or feed_url
    return feed_url


def _absolute(base: str, href: object) -> str | None:
    value = _nonblank(href)
    if not value:
        return None
    try:
        return urljoin(base, value)
    except ValueError:
        # Unbalanced brackets ("http://[::1") make urljoin raise; the normalise stage
        # judges such links, so pass them on as written rather than lose the entry.
        return value

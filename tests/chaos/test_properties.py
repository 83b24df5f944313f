"""Property tests: whatever the input, each boundary raises only its documented error.

The parse wrapper (`parse_feed`: ParseError), the entry normaliser and the date parser
(NormaliseError), the HTML normaliser (nothing at all) and query parsing (QueryError).
Any other exception is a crash that the ingest boundary would have to catch; these tests
find them before an upstream does. The number of examples comes from the hypothesis
profile (tests/conftest.py): `ci`, modest so the suite stays fast, or `full` in the full
chaos run (`SYNDICATOR_CHAOS=full`). The examples named with `@example` are the inputs
that once crashed.
"""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime, timedelta
from html import escape

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from syndicator.models import ParsedFeed, Source
from syndicator.normalise import NormaliseError, normalise_entry, parse_date, plain_text, sanitise_html
from syndicator.normalise.text import clean_title, summarise
from syndicator.parse import ParseError, parse_feed
from syndicator.web.query import QueryError, parse_query

SETTINGS = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])  # examples: the profile
FEED_URL = "https://upstream.example/feed"
NOW = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
SOURCE = Source(id="prop", url=FEED_URL, timezone="Asia/Shanghai")
CONTENT_TYPES = st.sampled_from(
    [
        "",
        "application/rss+xml",
        "application/feed+json",
        "application/json",
        "text/html",
        "text/xml; charset=gbk",
    ]
)

# Text that reaches the corners: character references (good, surrogate, out of range),
# XML specials, controls, lone surrogates, CJK, and plain printable text.
_SPECIAL = st.sampled_from(
    ["&#xD800;", "&#55296;", "&#x110000;", "&#" + "9" * 50 + ";", "&amp;", "&lt;", "<b>", "]]>",
     "\x00", "\x1b", "\ud800", "\ufffe", "\u3000", "中文", "&#x4e2d;", "\r\n", "'", '"']
)  # fmt: skip
TEXT = st.lists(st.one_of(st.text(max_size=12), _SPECIAL), max_size=6).map("".join)
DATES = st.one_of(
    TEXT,
    st.builds(
        "{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:00{}".format,
        st.integers(0, 9999), st.integers(0, 13), st.integers(0, 32), st.integers(0, 25),
        st.integers(0, 60), st.sampled_from(["Z", "+14:00", "-12:00", "+23:59", "", " CST"]),
    ),
    st.builds(
        "{} {:02d} {} {:04d} {:02d}:00:00 {}".format,
        st.sampled_from(["Mon,", "Fri,", ""]), st.integers(0, 32), st.sampled_from(["Jan", "Dec", "Foo"]),
        st.integers(0, 9999), st.integers(0, 24), st.sampled_from(["-1200", "+1400", "GMT", "CST", "+9999"]),
    ),
)  # fmt: skip


def _normalise_all(feed: ParsedFeed) -> None:
    for entry in feed.entries:
        try:
            article = normalise_entry(entry, SOURCE, feed_url=FEED_URL, fetched_at=NOW, categories=("tech",))
        except NormaliseError:
            continue
        for text in (article.title, article.content_html, article.summary, article.url, article.id):
            text.encode("utf-8")  # what Redis and every renderer will do with it


def _parse(body: bytes, content_type: str = "") -> ParsedFeed | None:
    try:
        return parse_feed(body, {"content-type": content_type} if content_type else {}, FEED_URL)
    except ParseError:
        return None


@SETTINGS
@given(body=st.binary(max_size=2000), content_type=CONTENT_TYPES)
@example(body=b"<rss><channel><item><title>&#xD800;</title></item></channel></rss>", content_type="")
@example(body=b'{"version": "https://jsonfeed.org/version/1.1", "items": [], "x": NaN}', content_type="")
@example(body=b"[" * 100_000, content_type="application/json")
def test_parse_feed_on_any_bytes_raises_only_parse_error(body: bytes, content_type: str) -> None:
    feed = _parse(body, content_type)
    if feed is not None:
        _normalise_all(feed)


def _rss_item(title: str, body: str, guid: str, link: str, date: str, *, raw: bool) -> str:
    """One item; `raw` puts the strings in unescaped, so they may break the XML itself."""
    e = (lambda s: s) if raw else escape
    return (
        f"<item><guid>{e(guid)}</guid><title>{e(title)}</title><link>{e(link)}</link>"
        f"<pubDate>{e(date)}</pubDate><description>{e(body)}</description></item>"
    )


@SETTINGS
@given(
    entries=st.lists(
        st.tuples(TEXT, TEXT, TEXT, st.sampled_from(["https://a.example/x", "", "/rel"]), DATES), max_size=4
    ),
    raw=st.booleans(),
    encoding=st.sampled_from(["utf-8", "utf-16", "gb18030"]),
)
def test_any_rss_parses_and_normalises_or_raises_the_documented_errors(entries, raw, encoding) -> None:
    items = "".join(_rss_item(t, b, g, link + g, d, raw=raw) for t, b, g, link, d in entries)
    text = (
        f'<?xml version="1.0" encoding="{encoding}"?><rss version="2.0"><channel><title>t</title>'
        f"<link>https://a.example/</link>{items}</channel></rss>"
    )
    feed = _parse(text.encode(encoding, "surrogatepass" if encoding == "utf-8" else "replace"))
    if feed is not None:
        _normalise_all(feed)


JSON_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True), TEXT
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(TEXT, inner, max_size=4)),
    max_leaves=20,
)
ITEM_KEYS = st.sampled_from(
    ["id", "url", "external_url", "title", "content_html", "content_text", "summary", "date_published",
     "date_modified", "tags", "authors", "author", "attachments", "image"]
)  # fmt: skip
ATTACHMENT = st.fixed_dictionaries(
    {"url": st.one_of(TEXT, st.just("https://a.example/a.mp3"))},
    optional={"size_in_bytes": JSON_SCALARS, "mime_type": JSON_VALUES},
)


# Each example may reach dateparser: the slowest test here gets two thirds of the examples.
@settings(SETTINGS, max_examples=settings.default.max_examples * 2 // 3)
@given(
    top=st.dictionaries(
        st.sampled_from(["title", "home_page_url", "feed_url", "authors", "language"]), JSON_VALUES
    ),
    items=st.lists(
        st.one_of(
            st.dictionaries(ITEM_KEYS, JSON_VALUES, max_size=8),
            st.fixed_dictionaries(
                {"id": st.one_of(TEXT, st.integers(), st.floats()), "url": st.just("https://a.example/p"),
                 "date_published": DATES, "attachments": st.lists(ATTACHMENT, max_size=2)}
            ),
            JSON_VALUES,
        ),
        max_size=4,
    ),
)  # fmt: skip
def test_any_json_feed_parses_and_normalises_or_raises_the_documented_errors(top, items) -> None:
    doc = {"version": "https://jsonfeed.org/version/1.1", **top, "items": items}
    feed = _parse(json.dumps(doc).encode("utf-8", "surrogatepass"), "application/feed+json")
    if feed is not None:
        _normalise_all(feed)


@SETTINGS
@given(raw=DATES, tz=st.sampled_from(["UTC", "Asia/Shanghai", "America/Chicago", "Pacific/Kiritimati"]))
@example(raw="9999-12-31T23:00:00-12:00", tz="UTC")
@example(raw="0001-01-01T00:00:00+14:00", tz="UTC")
@example(raw="Fri, 31 Dec 9999 23:00:00 -1200", tz="UTC")
@example(raw="9999-12-31 23:00", tz="America/Chicago")
@example(raw="0001-01-01 00:00", tz="Pacific/Kiritimati")
def test_parse_date_returns_utc_or_none(raw: str, tz: str) -> None:
    parsed = parse_date(raw, tz, now=NOW)
    assert parsed is None or parsed.utcoffset() == timedelta(0)


HTML_PARTS = st.sampled_from(
    ["<p>", "</p>", "<a href='", "<img data-src='", "'>", "x", "&#xD800;", "<script>", "\ud800", "<!--", "中"]
)


@SETTINGS
@given(html=st.one_of(TEXT, st.lists(HTML_PARTS, max_size=30).map("".join)))
def test_the_html_normaliser_never_raises_and_leaves_encodable_text(html: str) -> None:
    # summarise cuts text it is given as is: the pipeline gives it plain_text's output.
    for text in (
        sanitise_html(html, FEED_URL),
        plain_text(html),
        clean_title(html),
        summarise(plain_text(html), 40),
    ):
        text.encode("utf-8")


@SETTINGS
@given(
    pairs=st.lists(
        st.tuples(
            st.one_of(st.sampled_from(["limit", "since", "q", "tag", "own"]), st.text(max_size=5)),
            st.one_of(TEXT, st.integers().map(str), DATES, st.sampled_from(["1", "0", "-1", "9" * 30, "٣"])),
        ),
        max_size=5,
    )
)
@example(pairs=[("limit", "9" * 5000)])
@example(pairs=[("since", "9" * 5000)])
@example(pairs=[("since", "9999-12-31T23:59:59-12:00")])
def test_parse_query_raises_only_query_error(pairs: list[tuple[str, str]]) -> None:
    with contextlib.suppress(QueryError):
        parse_query(pairs)

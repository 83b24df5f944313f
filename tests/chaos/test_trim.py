"""The byte-level pre-pass: cuts land on character and entity boundaries, entries beyond
the limit go, and a document within the limits comes back as the very same bytes."""

from __future__ import annotations

import time

from syndicator.parse.limits import PERSON_FIELD_BYTES, parse_bounded, trim_xml
from tests.chaos.helpers import many_entries_feed


def rss(channel: str, encoding: str = "utf-8") -> bytes:
    head = f'<?xml version="1.0" encoding="{encoding}"?><rss version="2.0">'
    text = f"{head}<channel><title>t</title>{channel}</channel></rss>"
    return text.encode(encoding)


def test_a_document_within_the_limits_is_untouched() -> None:
    body = rss("<item><title>a &amp; b</title><author>me@example.com (Me)</author></item>")
    assert trim_xml(body, max_entries=10, max_field_bytes=100) == (body, [])


def test_cuts_never_split_a_character_or_an_entity() -> None:
    for encoding in ("utf-8", "gbk", "big5"):
        body = rss(f"<item><title>{'中文&amp;' * 5000}</title></item>", encoding)
        trimmed, warnings = trim_xml(body, max_entries=10, max_field_bytes=1000)
        assert warnings == ["cut 1 field(s) longer than the limit before parsing"]
        feed = parse_bounded(trimmed, {}, "https://x.example/", max_entries=10, max_field_bytes=1000)
        assert not [w for w in feed.warnings if "malformed" in w or "encoding" in w], (
            encoding,
            feed.warnings,
        )
        title = feed.entries[0].title
        assert 0 < len(title.encode(encoding)) <= 1000 and set(title) <= set("中文&"), encoding


def test_person_fields_and_cdata_are_cut() -> None:
    body = rss(
        f"<item><title>t</title><author>{'a' * 5000}</author>"
        f"<description><![CDATA[{'<p>x</p>' * 1000}]]></description></item>"
    )
    feed = parse_bounded(body, {}, "https://x.example/", max_entries=10, max_field_bytes=2000)
    assert len(feed.entries[0].author or "") <= PERSON_FIELD_BYTES
    assert 0 < len(feed.entries[0].summary_html or feed.entries[0].content_html) <= 2000


def test_entries_beyond_the_limit_are_dropped_before_parsing() -> None:
    body = many_entries_feed(100_000)
    started = time.monotonic()
    feed = parse_bounded(body, {}, "https://x.example/", max_entries=500, max_field_bytes=65536)
    assert time.monotonic() - started < 3  # feedparser on all of them: ~13 s
    assert len(feed.entries) == 500
    assert feed.entries[-1].title == "t499"
    assert "dropped 99500 entries beyond the limit of 500" in feed.warnings

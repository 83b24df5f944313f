"""JSON Feed read by hand (syndicator/parse/jsonfeed.py): versions, bad fields, attachments.

The public example files and the structural errors are in test_parse.py (JSON Feed
section); this module pins what is left: a newer 1.x version is read with a warning and
anything else that is not a version is refused; a wrongly typed field costs only that
field, with a warning naming the item and the field; attachments are de-duplicated by
URL; and whether a body is JSON at all is decided by its first character before its
Content-Type.
"""

from __future__ import annotations

import json

import pytest

from syndicator.models import Enclosure
from syndicator.parse import ParseError, is_json_feed, parse_json_feed

URL = "https://upstream.example/feed.json"


def feed(items: list[object], version: str = "https://jsonfeed.org/version/1.1", **top: object) -> bytes:
    return json.dumps({"version": version, "title": "J", "items": items, **top}).encode()


def parse(body: bytes, content_type: str = "application/feed+json", max_entries: int = 100):
    return parse_json_feed(body, {"content-type": content_type}, URL, max_entries=max_entries)


@pytest.mark.parametrize(
    ("version", "fmt"),
    [
        ("https://jsonfeed.org/version/1", "json10"),
        ("https://jsonfeed.org/version/1/", "json10"),
        ("https://jsonfeed.org/version/1.1", "json11"),
    ],
)
def test_known_versions(version, fmt):
    parsed = parse(feed([], version))
    assert (parsed.format, parsed.warnings) == (fmt, ())


def test_a_newer_version_is_read_with_a_warning():
    parsed = parse(feed([{"id": "1"}], "https://jsonfeed.org/version/1.2"))

    assert parsed.format == "json12"
    assert [e.guid for e in parsed.entries] == ["1"]
    assert parsed.warnings == ("JSON Feed: version 1.2 is newer than 1.1; read as 1.1",)


@pytest.mark.parametrize(
    ("version", "reason"),
    [
        (
            "https://jsonfeed.org/version/beta",
            "JSON Feed: version 'https://jsonfeed.org/version/beta' is not a version number",
        ),
        (1.1, "JSON Feed: version 1.1 does not start with https://jsonfeed.org/version/"),
    ],
)
def test_other_versions_are_refused(version, reason):
    with pytest.raises(ParseError) as caught:
        parse(json.dumps({"version": version, "items": []}).encode())
    assert caught.value.reason == reason


def test_an_unknown_charset_is_named():
    with pytest.raises(ParseError) as caught:
        parse(feed([]), "application/feed+json; charset=klingon")
    assert caught.value.reason == "JSON Feed: unknown charset 'klingon' in content-type"


def test_a_wrongly_typed_field_costs_only_that_field():
    parsed = parse(
        feed(
            [
                {"id": "1", "title": 42, "url": "https://upstream.example/1", "authors": {"name": "A"}},
                {"id": "2", "title": "Kept", "tags": ["a", 3, " a ", "", "b"], "author": "Bo"},
            ],
            title=["not", "a", "title"],
        )
    )

    first, second = parsed.entries
    assert parsed.title == ""
    assert (first.title, first.link, first.author) == ("", "https://upstream.example/1", None)
    assert (second.title, second.tags, second.author) == ("Kept", ("a", "b"), None)
    assert sorted(parsed.warnings) == [
        "JSON Feed: item 0: authors is an object, not a list; ignored",
        "JSON Feed: item 0: title is a number, not a string; ignored",
        "JSON Feed: item 1: author is a string, not an object; ignored",
        "JSON Feed: item 1: tags has 1 entries that are not strings; ignored",
        "JSON Feed: title is a list, not a string; ignored",
    ]


def test_attachments_are_deduplicated_and_sizes_made_sane():
    parsed = parse(
        feed(
            [
                {
                    "id": "ep1",
                    "attachments": [
                        {
                            "url": "https://cdn.example/ep1.mp3",
                            "mime_type": "audio/mpeg",
                            "size_in_bytes": 1200,
                        },
                        {"url": "https://cdn.example/ep1.mp3", "mime_type": "audio/mp4", "size_in_bytes": 9},
                        {"url": " https://cdn.example/ep1.ogg ", "size_in_bytes": -5},
                        {"url": "https://cdn.example/ep1.txt", "mime_type": 7, "size_in_bytes": True},
                        {"mime_type": "audio/mpeg"},
                    ],
                }
            ]
        )
    )

    (entry,) = parsed.entries
    assert entry.enclosures == (
        Enclosure("https://cdn.example/ep1.mp3", "audio/mpeg", 1200),  # the first one wins
        Enclosure("https://cdn.example/ep1.ogg", "", 0),
        Enclosure("https://cdn.example/ep1.txt", "", 0),
    )
    assert parsed.warnings == ("JSON Feed: item 0: attachment 4 has no url; ignored",)


def test_a_summary_beside_content_is_kept_as_escaped_text():
    (entry,) = parse(
        feed([{"id": "1", "content_html": "<p>Body</p>", "summary": "Fish & <chips>", "url": "  "}])
    ).entries

    assert (entry.content_html, entry.summary_html) == ("<p>Body</p>", "Fish &amp; &lt;chips&gt;")
    assert entry.link is None  # a blank url is no link


def test_plain_text_paragraphs_split_on_blank_lines():
    (entry,) = parse(feed([{"id": "1", "content_text": "One\r\nline two\n  \nThree\n\n\n"}])).entries

    assert entry.content_html == "<p>One<br>line two</p><p>Three</p>"


@pytest.mark.parametrize(
    ("body", "content_type", "is_json"),
    [
        (b'  \n{"version": "x"}', "text/html", True),  # the body's first character wins …
        (b'\xef\xbb\xbf{"a": 1}', "", True),
        (b"<?xml version='1.0'?><rss/>", "application/feed+json", False),  # … both ways
        (b"", "application/feed+json", True),  # no telling character: the header decides
        (b"", "application/json; charset=utf-8", True),
        (b"", "text/plain", False),
    ],
)
def test_json_is_recognised_by_its_first_character_then_its_type(body, content_type, is_json):
    assert is_json_feed(body, {"content-type": content_type}) is is_json

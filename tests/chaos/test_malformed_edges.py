"""The parse-level fixes behind the hostile inputs, each at its edge."""

from __future__ import annotations

import json

import pytest

from syndicator.parse import ParseError, parse_feed
from syndicator.parse.jsonfeed import MAX_DEPTH, MAX_INT_DIGITS

URL = "https://upstream.example/feed"


def _rss(title: str, encoding: str = "utf-8") -> bytes:
    return (
        f'<?xml version="1.0" encoding="{encoding}"?><rss version="2.0"><channel><title>t</title>'
        f"<item><guid>g</guid><title>{title}</title><link>https://a.example/1</link></item>"
        "</channel></rss>"
    ).encode(encoding)


@pytest.mark.parametrize("ref", ["&#xD800;", "&#xdfff;", "&#55296;", "&#x110000;", "&#" + "9" * 5000 + ";"])
@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "gb18030"])
def test_a_reference_to_no_character_is_removed_with_a_warning(ref: str, encoding: str) -> None:
    feed = parse_feed(_rss(f"a{ref}b &#x4e2d; &amp;", encoding), {}, URL)
    assert feed.entries[0].title == "ab 中 &"
    assert any("character reference" in w for w in feed.warnings)


def test_good_references_are_left_alone() -> None:
    feed = parse_feed(_rss("&#x1F600; &#233; &#0000065;"), {}, URL)
    assert feed.entries[0].title == "😀 é A" and feed.warnings == ()


def _json(**extra: object) -> dict[str, object]:
    item = {"id": "1", "url": "https://a.example/1", "content_text": "x"}
    return {"version": "https://jsonfeed.org/version/1.1", "items": [item], **extra}


def test_an_infinite_float_size_is_no_size() -> None:
    doc = _json()
    doc["items"][0]["attachments"] = [{"url": "https://a.example/a.mp3", "size_in_bytes": 1}]  # type: ignore[index]
    body = json.dumps(doc).replace('"size_in_bytes": 1', '"size_in_bytes": 1e999').encode()
    assert parse_feed(body, {}, URL).entries[0].enclosures[0].length == 0


def test_nesting_up_to_the_limit_is_read_and_brackets_in_strings_do_not_count() -> None:
    deep = "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1)  # inside the top-level object
    body = json.dumps(_json(_text="[[[[{{{{" * 100))[:-1] + f', "_deep": {deep}}}'
    assert len(parse_feed(body.encode(), {}, URL).entries) == 1
    too_deep = body.replace(deep, "[" + deep + "]")
    with pytest.raises(ParseError, match=f"nested deeper than {MAX_DEPTH} levels"):
        parse_feed(too_deep.encode(), {}, URL)


def test_integers_up_to_the_limit_are_read() -> None:
    body = json.dumps(_json(_n=int("9" * MAX_INT_DIGITS), _m=-int("9" * MAX_INT_DIGITS))).encode()
    assert len(parse_feed(body, {}, URL).entries) == 1
    with pytest.raises(ParseError, match=f"an integer of {MAX_INT_DIGITS + 1} digits"):
        parse_feed(body.replace(b"9" * MAX_INT_DIGITS, b"9" * (MAX_INT_DIGITS + 1), 1), {}, URL)

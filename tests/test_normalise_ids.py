"""Article identity (syndicator/normalise/ids.py, `article_id`).

Readers de-duplicate by id: an article must keep its id when it is fetched again, even if
its link moved, as long as the upstream GUID stays; two sources never share ids; and an
entry with neither GUID nor link is refused with a message naming the source.
"""

from __future__ import annotations

import re

import pytest

from syndicator.normalise import NormaliseError
from syndicator.normalise.ids import ID_LENGTH, article_id


def test_ids_are_32_lowercase_hex_and_stable():
    first = article_id("blog", "post-1", "https://blog.example/1")

    assert re.fullmatch(r"[0-9a-f]{32}", first) and ID_LENGTH == 32
    assert article_id("blog", "post-1", "https://blog.example/1") == first


def test_the_guid_decides_when_there_is_one():
    moved = article_id("blog", "post-1", "https://blog.example/renamed-1")

    assert moved == article_id("blog", "post-1", "https://blog.example/1")
    assert article_id("blog", " post-1\n", None) == moved  # surrounding blanks do not count
    assert article_id("blog", "post-2", "https://blog.example/1") != moved


def test_without_a_guid_the_link_decides():
    by_link = article_id("blog", None, "https://blog.example/1")

    assert article_id("blog", "   ", "https://blog.example/1") == by_link
    assert article_id("blog", None, "https://blog.example/2") != by_link
    # A guid equal to the link is still a guid: the two kinds of key never collide.
    assert article_id("blog", "https://blog.example/1", None) != by_link


def test_sources_never_share_ids():
    assert article_id("a", "post-1", None) != article_id("b", "post-1", None)
    assert article_id("ab", "c", None) != article_id("a", "bc", None)


def test_xml_illegal_characters_in_a_guid_do_not_change_the_id():
    assert article_id("blog", "post\x00-1\x0b", None) == article_id("blog", "post-1", None)


@pytest.mark.parametrize(
    ("source_id", "guid", "link", "message"),
    [
        ("blog", None, None, "entry from source 'blog' cannot be identified: no guid and no http(s) link"),
        ("blog", " ", "  ", "entry from source 'blog' cannot be identified"),
        ("", "post-1", None, "cannot make an article id without a source id"),
    ],
)
def test_unidentifiable_entries_are_refused(source_id, guid, link, message):
    with pytest.raises(NormaliseError, match=re.escape(message)):
        article_id(source_id, guid, link)

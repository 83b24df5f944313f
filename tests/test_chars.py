"""The one table of CJK blocks and the one XML-illegal pattern, and the users built on them."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime

from syndicator import chars
from syndicator.chars import HAN, HANGUL, KANA, UNSPACED, UNSPACED_LETTERS, XML_ILLEGAL, char_class
from syndicator.extract.language import script_language
from syndicator.models import Article
from syndicator.normalise.text import strip_xml_illegal, summarise
from syndicator.render.document import clean
from syndicator.web.query import parse_query

NOW = datetime(2026, 11, 30, tzinfo=UTC)
ARTICLE = Article(
    id="0" * 32,
    source_id="s",
    url="https://example.com/a",
    title="",
    author=None,
    published=NOW,
    updated=NOW,
    published_raw=None,
    date_estimated=False,
    content_html="",
    summary="",
    categories=(),
    tags=(),
)


def matcher(blocks: tuple[chars.Block, ...]) -> re.Pattern[str]:
    return re.compile(f"[{char_class(blocks)}]")


def test_blocks_are_well_formed_and_in_code_point_order():
    blocks = [
        (name, value) for name, value in vars(chars).items() if name.isupper() and isinstance(value, tuple)
    ]
    single = [(n, v) for n, v in blocks if isinstance(v[0], int)]
    assert len(single) >= 19
    for name, (first, last) in single:
        assert first <= last, name
    starts = [v[0] for _, v in single]
    assert starts == sorted(starts)  # the table reads in code point order


def test_each_group_holds_what_its_name_says():
    han, kana, hangul = matcher(HAN), matcher(KANA), matcher(HANGUL)
    for ch in "中㐀豈𠀀𪚥":  # unified, extension A, compatibility, plane 2
        assert han.match(ch) and not kana.match(ch) and not hangul.match(ch), ch
    for ch in "あアｱㇰ":  # hiragana, katakana, halfwidth, phonetic extension
        assert kana.match(ch) and not han.match(ch), ch
    for ch in "한ᄀㄱ":
        assert hangul.match(ch) and not han.match(ch), ch
    letters, unspaced = matcher(UNSPACED_LETTERS), matcher(UNSPACED)
    for ch in "中あ한ㄅ":
        assert letters.match(ch) and unspaced.match(ch), ch
    for ch in "。！，　":  # punctuation and the ideographic space: breakable, not letters
        assert unspaced.match(ch) and not letters.match(ch), ch
    for ch in "aZé9Жا ":
        assert not letters.match(ch) and not unspaced.match(ch), ch


def test_cjk_users_behave_as_before():
    # normalise: a CJK summary may be cut between any two characters
    assert summarise("中文句子" * 30, 20) == "中文句子中文句子中文句子中文句子中文句…"
    # extract: the script decides the language
    assert script_language("这是一个很长的中文句子，用来检测语言是否正确。" * 2) == "zh"
    assert script_language("これは日本語の文章です。ひらがなとカタカナがあります。") == "ja"
    assert script_language("한국어 문장입니다. 이것은 한국어로 쓰여진 긴 문장입니다.") == "ko"
    # web: a CJK term matches inside a run of CJK text, a Latin one only as a whole word
    text = replace(ARTICLE, title="我爱中文写作 concatenate")
    assert parse_query([("q", "中文")]).matches(text)
    assert not parse_query([("q", "cat")]).matches(text)


def test_one_xml_illegal_pattern_for_normalise_and_render():
    bad = "".join(chr(c) for c in (*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), *range(0x7F, 0xA0)))
    bad += "\ud800\udfff\ufffe\uffff"
    good = "\t\n\r a中é€😀\ue000\ufffd"
    assert strip_xml_illegal(bad + good) == clean(bad + good) == XML_ILLEGAL.sub("", bad + good) == good

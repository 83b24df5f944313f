"""Character tables every stage shares: the CJK blocks, and what XML cannot carry.

A leaf module (it imports nothing of Syndicator's) so that normalise, extract, render and
web can all take their character classes from here. Before it, four modules each wrote
their own CJK ranges and two their own XML-illegal pattern, and they drifted apart: a
range added to one (a Hangul block, a Han extension) silently missed the others.

Each block is named once, as a Unicode block (or a run of adjacent blocks) with its code
point bounds; `char_class` joins the blocks a user needs into the inside of a regular
expression `[...]`. The groups below (`HAN`, `KANA`, `HANGUL`, `UNSPACED`, `UNSPACED_LETTERS`)
are the sets the current users ask for; a new user composes its own from the blocks.
"""

from __future__ import annotations

import re

Block = tuple[int, int]
"""An inclusive range of code points: (first, last)."""

# ---------------------------------------------------------------- the blocks, in code point order

HANGUL_JAMO: Block = (0x1100, 0x11FF)
CJK_RADICALS: Block = (0x2E80, 0x2FFF)  # radicals supplement, Kangxi radicals, description chars
CJK_SYMBOLS_PUNCTUATION: Block = (0x3000, 0x303F)  # 、。「」〈〉 and the ideographic space
HIRAGANA: Block = (0x3040, 0x309F)
KATAKANA: Block = (0x30A0, 0x30FF)
BOPOMOFO: Block = (0x3100, 0x312F)
HANGUL_COMPATIBILITY_JAMO: Block = (0x3130, 0x318F)
BOPOMOFO_EXTENDED: Block = (0x31A0, 0x31BF)
CJK_STROKES: Block = (0x31C0, 0x31EF)
KATAKANA_PHONETIC_EXTENSIONS: Block = (0x31F0, 0x31FF)
CJK_EXTENSION_A: Block = (0x3400, 0x4DBF)
CJK_UNIFIED_IDEOGRAPHS: Block = (0x4E00, 0x9FFF)
HANGUL_JAMO_EXTENDED_A: Block = (0xA960, 0xA97F)
HANGUL_SYLLABLES: Block = (0xAC00, 0xD7AF)
HANGUL_JAMO_EXTENDED_B: Block = (0xD7B0, 0xD7FF)
CJK_COMPATIBILITY_IDEOGRAPHS: Block = (0xF900, 0xFAFF)
CJK_COMPATIBILITY_FORMS: Block = (0xFE30, 0xFE4F)  # vertical forms of CJK punctuation
HALFWIDTH_FULLWIDTH_FORMS: Block = (0xFF00, 0xFFEF)  # ！，：（ and fullwidth Latin, halfwidth kana
HALFWIDTH_KATAKANA: Block = (0xFF66, 0xFF9F)  # the katakana part of the block above
CJK_SUPPLEMENTARY: Block = (0x20000, 0x3FFFF)  # planes 2 and 3: extensions B–H, compatibility

# ---------------------------------------------------------------- the groups users ask for

HAN: tuple[Block, ...] = (
    CJK_EXTENSION_A,
    CJK_UNIFIED_IDEOGRAPHS,
    CJK_COMPATIBILITY_IDEOGRAPHS,
    CJK_SUPPLEMENTARY,
)
"""Chinese characters (also Japanese kanji and Korean hanja)."""

KANA: tuple[Block, ...] = (HIRAGANA, KATAKANA, KATAKANA_PHONETIC_EXTENSIONS, HALFWIDTH_KATAKANA)
"""Japanese syllabaries: what tells Japanese from Chinese text."""

HANGUL: tuple[Block, ...] = (HANGUL_SYLLABLES, HANGUL_JAMO, HANGUL_COMPATIBILITY_JAMO)
"""Modern Korean: syllables and the letters (jamo) they are built from."""

UNSPACED_LETTERS: tuple[Block, ...] = (
    *HAN,
    *KANA,
    *HANGUL,
    HANGUL_JAMO_EXTENDED_A,
    HANGUL_JAMO_EXTENDED_B,
    BOPOMOFO,
    BOPOMOFO_EXTENDED,
    CJK_STROKES,
)
"""Letters of scripts whose words are not separated by spaces: a search term in them matches
as a substring, never as a whole word."""

UNSPACED: tuple[Block, ...] = (
    *HAN,
    HIRAGANA,
    KATAKANA,
    KATAKANA_PHONETIC_EXTENSIONS,
    HANGUL_SYLLABLES,
    HANGUL_COMPATIBILITY_JAMO,
    BOPOMOFO,
    BOPOMOFO_EXTENDED,
    CJK_STROKES,
    CJK_RADICALS,
    CJK_SYMBOLS_PUNCTUATION,
    CJK_COMPATIBILITY_FORMS,
    HALFWIDTH_FULLWIDTH_FORMS,
)
"""CJK text and its punctuation: a line of it may be broken between any two characters."""


def char_class(blocks: tuple[Block, ...]) -> str:
    r"""The inside of a regex character class for `blocks`: `"\u4e00-\u9fff..."`, in order."""
    return "".join(f"{chr(first)}-{chr(last)}" for first, last in sorted(set(blocks)))


# ---------------------------------------------------------------- XML

XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
"""What no feed may carry: every character XML 1.0 § 2.2 forbids (C0 controls but tab, LF and
CR; lone surrogates, which UTF-8 cannot even encode; U+FFFE and U+FFFF), plus DEL and the C1
controls U+0080–U+009F. Those are legal XML but "discouraged", invisible in every reader,
what a wrongly decoded windows-1252 page leaves behind, and what feedparser turns back into
windows-1252 punctuation. Normalise removes them once; the renderers again on the way out."""

"""The language of an article page: what it declares, checked against what it is written in.

Templates often declare a language they were copied with (`<html lang="en">` on Chinese
pages is common), so a declaration the text's script contradicts loses to the script.
Scripts identify zh/ja/ko/ru/ar reliably; Latin script does not tell English from French,
so it only yields "en" when the page declares nothing at all.
"""

from __future__ import annotations

import re

from lxml.html import HtmlElement

from syndicator.chars import HAN, HANGUL, KANA, char_class

_HAN = re.compile(f"[{char_class(HAN)}]")
_KANA = re.compile(f"[{char_class(KANA)}]")
_HANGUL = re.compile(f"[{char_class(HANGUL)}]")
_CYRILLIC = re.compile("[\u0400-\u04ff]")
_ARABIC = re.compile("[\u0600-\u06ff\u0750-\u077f]")
_LATIN = re.compile("[A-Za-z\u00c0-\u024f]")
_MIN_LETTERS = 20  # below this the text says too little to overrule a declaration
_SHARE = 0.3

# Which declared languages each detected script is consistent with.
_CYRILLIC_LANGS = frozenset({"ru", "uk", "bg", "sr", "mk", "be", "kk", "ky", "tg", "mn"})
_ARABIC_LANGS = frozenset({"ar", "fa", "ur", "ps", "ug", "ku", "sd"})
_NON_LATIN = _CYRILLIC_LANGS | _ARABIC_LANGS | {"zh", "ja", "ko", "th", "he", "el", "hi"}
_ALIASES = {"cn": "zh", "chs": "zh", "cht": "zh", "jp": "ja", "kr": "ko", "iw": "he"}


def _primary(tag: str | None) -> str | None:
    """`zh-CN`, `zh_Hans`, `en-us` → zh, zh, en; None for empty or malformed tags."""
    if not tag:
        return None
    primary = re.split(r"[-_\s,;]", tag.strip().lower(), maxsplit=1)[0]
    primary = _ALIASES.get(primary, primary)
    return primary if re.fullmatch(r"[a-z]{2,3}", primary) else None


def declared_tag(tree: HtmlElement) -> str | None:
    """The language tag the page declares as written (`de`, `en-US`, `en_GB`): <html lang>,
    content-language, og:locale. The region matters where the language alone does not tell
    (`04/03/2016` is April in en-US, March in en-GB)."""
    for value in (
        tree.get("lang"),
        tree.get("{http://www.w3.org/XML/1998/namespace}lang"),
        tree.get("xml:lang"),
    ):
        if _primary(value):
            return (value or "").strip()
    for meta in tree.iter("meta"):
        key = (meta.get("http-equiv") or meta.get("property") or meta.get("name") or "").strip().lower()
        content = meta.get("content")
        if key in ("content-language", "og:locale", "language", "dc.language") and _primary(content):
            return (content or "").strip()
    return None


def declared_language(tree: HtmlElement) -> str | None:
    """The language the page declares: <html lang>, content-language, og:locale."""
    return _primary(declared_tag(tree))


def script_language(text: str) -> str | None:
    """The language the text's script implies, or None (mixed, Latin, or too little text)."""
    counts = {
        name: len(pattern.findall(text))
        for name, pattern in (("han", _HAN), ("kana", _KANA), ("hangul", _HANGUL),
                              ("cyrillic", _CYRILLIC), ("arabic", _ARABIC), ("latin", _LATIN))
    }  # fmt: skip
    letters = sum(counts.values())
    if letters < _MIN_LETTERS:
        return None
    cjk = counts["han"] + counts["kana"]
    # A stray の in Chinese marketing copy is not Japanese; real Japanese is full of kana.
    if cjk / letters >= _SHARE and counts["kana"] >= max(3, 0.05 * cjk):
        return "ja"
    if counts["han"] / letters >= _SHARE:
        return "zh"
    for name, lang in (("hangul", "ko"), ("cyrillic", "ru"), ("arabic", "ar")):
        if counts[name] / letters >= _SHARE:
            return lang
    if counts["latin"] / letters >= 0.5:
        return "latin"
    return None


def _consistent(declared: str, script: str) -> bool:
    if script == "latin":
        return declared not in _NON_LATIN
    if script == "ru":
        return declared in _CYRILLIC_LANGS
    if script == "ar":
        return declared in _ARABIC_LANGS
    if script == "zh":
        return declared in ("zh", "ja", "yue", "wuu")
    return declared == script


def detect_language(tree: HtmlElement, text: str) -> str | None:
    """The article's primary language subtag ("zh", "en", "ja", …), or None if unknown.

    `text` is the article body; when it is empty the page's body text is used instead.
    """
    declared = declared_language(tree)
    if not text.strip():
        body = tree.find("body")
        text = body.text_content() if body is not None else ""
    script = script_language(text)
    if script is None:
        return declared
    if script == "latin":
        return declared or "en"
    if declared is not None and _consistent(declared, script):
        return declared
    return script

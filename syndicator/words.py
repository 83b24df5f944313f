"""Plain-word matching: the one way Syndicator matches words a person typed against articles.

Used by a feed URL's `?q=` and `?exclude=` (`web/query.py`) and by the ingest filters'
`words` rules (`process/filters.py`), so a word that finds an article in a feed URL blocks
the same article at ingest, and the other way round. Before this module the matching
lived in `web/query.py`; the filters needed it too, and two copies would drift (one
learning a new script, the other not).

The rules:
- text and terms are compared NFKC-normalised (full-width → ASCII) and case-folded;
- a term containing a Han, kana, Hangul or Bopomofo character matches as a substring,
  because those scripts write words without spaces (`陆海新通道` finds `陆海新通道技术`);
- any other term matches a whole word: no letter or digit of a space-separated script
  directly before or after it (`rust` finds "Rust 1.80" and "用Rust写", not "trust");
- a query of several terms matches when every term does (AND).
"""

from __future__ import annotations

import html
import re
import unicodedata

from syndicator.chars import UNSPACED_LETTERS, char_class
from syndicator.models import Article

# Scripts written without spaces between words: their terms match as substrings.
_CJK = char_class(UNSPACED_LETTERS)
_HAS_CJK = re.compile(f"[{_CJK}]")
# A letter or digit of a space-separated script: what a whole-word match must not touch.
_WORD = f"[^\\W{_CJK}]"
_TAGS_HTML = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")


def fold(text: str) -> str:
    """Text as matching compares it: NFKC (full-width → ASCII), case-folded."""
    return unicodedata.normalize("NFKC", text).casefold()


def normalise_terms(raw: str) -> str:
    """`raw` as folded, single-spaced, unique terms in order ('' when there are none)."""
    value = _SPACE.sub(" ", fold(raw)).strip()
    return " ".join(dict.fromkeys(value.split(" "))) if value else ""


def term_pattern(term: str) -> re.Pattern[str]:
    """The pattern of one folded term (see the module's docstring)."""
    if _HAS_CJK.search(term):
        return re.compile(re.escape(term))
    return re.compile(f"(?<!{_WORD}){re.escape(term)}(?!{_WORD})")


def term_patterns(terms: str) -> tuple[re.Pattern[str], ...]:
    """The patterns of every space-separated term of `terms` (already normalised)."""
    return tuple(term_pattern(term) for term in terms.split())


def all_match(patterns: tuple[re.Pattern[str], ...], folded: str) -> bool:
    """Whether every term occurs in `folded` (text already passed through `fold`)."""
    return bool(patterns) and all(pattern.search(folded) for pattern in patterns)


def html_text(markup: str) -> str:
    """The text of an HTML fragment, tags dropped and entities decoded (for matching only)."""
    return html.unescape(_TAGS_HTML.sub(" ", markup))


def search_text(article: Article) -> str:
    """Everything `?q=` looks in, folded: title, author, summary, content text, terms."""
    parts = (
        article.title,
        article.author or "",
        html_text(article.summary),
        html_text(article.content_html),
        *article.categories,
        *article.tags,
    )
    return fold("\n".join(parts))

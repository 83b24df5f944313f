"""The query string of a feed URL (`?limit=&since=&q=&exclude=&tag=&own=`), parsed, checked and normalised.

Parsing is pure (pairs in, a `FeedQuery` or a `QueryError` out) so every rule is testable
without HTTP. The result is normalised — tags sorted and case-folded, `q` whitespace-
collapsed and case-folded, `since` as a UTC instant — so two URLs that mean the same query
compare (and hash) equal and share one rendered variant in the cache.

Unknown parameters are refused (400 naming them), cache-busters included: silently ignoring
`?limt=5` would serve a feed the user did not ask for and never tell them why.

Matching (`FeedQuery.matches`) is pure as well:
- `q`: every whitespace-separated term must occur (AND), case-folded and NFKC-normalised,
  in the title, author, summary, content text, categories or tags. A term containing a
  Han, kana, Hangul or Bopomofo character matches as a substring, because those scripts
  write words without spaces (`陆海新通道` finds `陆海新通道技术`); any other term matches
  a whole word: no letter or digit of a space-separated script directly before or after
  it (`rust` finds "Rust 1.80" and "用Rust写", not "trust"). The matching is
  `syndicator.words`, shared with the ingest filters' `words` rules.
- `exclude`: the same plain words, looked for in the same places; an article in which
  ANY of them occurs is left out (`exclude=sponsored 广告` drops both kinds). Plain words
  only: a URL never supplies a regular expression (a reader's URL must not be able to
  make the server spend seconds on one pattern).
- `tag`: any of the tags (OR) equals one of the article's categories or tags, case-folded,
  or is a slug prefix of one (`qinggan` also matches `qinggan/gushi`).
- `since`: the article was published at or after that instant.
- `own=1`: the article is filed directly under the category read (one of its own
  categories is exactly that slug; an article with none is filed under `all`), not only
  under a child. A parent's feed holds its children's articles too; a reader subscribed
  to every leaf and to each parent's `own=1` feed gets each article once per category it
  is filed in (the default `/opml.xml`). This test needs the slug, so it is `selects`,
  not `matches`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from functools import cached_property
from urllib.parse import quote

from syndicator.errors import SyndicatorError
from syndicator.models import ALL_CATEGORY, Article
from syndicator.words import all_match, fold, normalise_terms, search_text, term_patterns

KNOWN = ("limit", "since", "q", "tag", "own", "exclude")
MAX_LIMIT = 500
MAX_Q_CHARS = 200
MAX_TAGS = 20
MAX_TAG_CHARS = 100

# Numbers are ASCII digits only (re.ASCII): `\d` alone also takes `５` or `٥`, which
# int() reads as 5, so `limit=５` and `limit=5` would silently be the same query.
_RFC3339 = re.compile(
    r"(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?)([Zz]|[+\- ]\d{2}:\d{2})", re.ASCII
)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_DIGITS = re.compile(r"\d{1,12}", re.ASCII)
_SPACE = re.compile(r"\s+")


class QueryError(SyndicatorError, ValueError):
    """A query parameter that cannot be honoured; the message starts with its name."""

    def __init__(self, parameter: str, reason: str) -> None:
        super().__init__(f"{parameter}: {reason}")
        self.parameter = parameter


@dataclass(frozen=True)
class FeedQuery:
    """A normalised feed query; the empty query means the plain feed."""

    limit: int | None = None  # None: the category's items_per_feed
    since: datetime | None = None  # UTC
    q: str = ""  # folded, single-spaced terms
    tags: tuple[str, ...] = ()  # folded, sorted, unique
    own: bool = False  # only articles filed directly under the category, not its children
    exclude: str = ""  # folded, single-spaced terms: an article with any of them is left out

    @property
    def is_empty(self) -> bool:
        return self is EMPTY_QUERY or self == EMPTY_QUERY

    @property
    def filters(self) -> bool:
        """Whether items are selected by content (q, exclude, tag, own), not only by date and count."""
        return bool(self.q or self.exclude or self.tags or self.own)

    @cached_property
    def _patterns(self) -> tuple[re.Pattern[str], ...]:
        return term_patterns(self.q)

    @cached_property
    def _excluded(self) -> tuple[re.Pattern[str], ...]:
        return term_patterns(self.exclude)

    def pairs(self) -> list[tuple[str, str]]:
        """The canonical parameters, in a fixed order (exclude, limit, own, q, since, tag…)."""
        out: list[tuple[str, str]] = []
        if self.exclude:
            out.append(("exclude", self.exclude))
        if self.limit is not None:
            out.append(("limit", str(self.limit)))
        if self.own:
            out.append(("own", "1"))
        if self.q:
            out.append(("q", self.q))
        if self.since is not None:
            out.append(("since", since_text(self.since)))
        out.extend(("tag", tag) for tag in self.tags)
        return out

    def query_string(self) -> str:
        """The canonical query string ('' when empty): the same for every equivalent URL."""
        return "&".join(f"{name}={quote(value, safe=':/')}" for name, value in self.pairs())

    def describe(self) -> str:
        """A short human label of the filters, for the variant's title ('' for none)."""
        parts = []
        if self.own:
            parts.append("own articles only")
        if self.q:
            parts.append(f"“{self.q}”")
        if self.exclude:
            parts.append(f"without “{self.exclude}”")
        if self.tags:
            parts.append("tag " + " | ".join(self.tags))
        if self.since is not None:
            parts.append("since " + since_text(self.since))
        return ", ".join(parts)

    def selects(self, article: Article, slug: str) -> bool:
        """Whether `article`, read from category `slug`'s index, belongs in the variant."""
        if self.own and not is_filed_under(article, slug):
            return False
        return self.matches(article)

    def matches(self, article: Article) -> bool:
        """The content filters (since, tag, q, exclude); `own` depends on the category: `selects`."""
        if self.since is not None and article.published < self.since:
            return False
        if self.tags and not _tags_match(self.tags, article):
            return False
        if self.q or self.exclude:
            text = search_text(article)
            if self.q and not all_match(self._patterns, text):
                return False
            return not any(pattern.search(text) for pattern in self._excluded)
        return True


def is_filed_under(article: Article, slug: str) -> bool:
    """Whether `slug` is one of the article's own categories (none: it is filed under `all`).

    The category indexes cannot tell this: a parent's index holds its children's articles
    too. The record's `categories` are the slugs ingest filed it under (merged over every
    source that listed it), before parents and `all` were added.
    """
    return slug in (article.categories or (ALL_CATEGORY,))


def since_text(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _tags_match(tags: tuple[str, ...], article: Article) -> bool:
    terms = {_tag_form(t) for t in (*article.categories, *article.tags)}
    return any(term == tag or term.startswith(tag + "/") for tag in tags for term in terms)


EMPTY_QUERY = FeedQuery()
# A feed URL's query string is parsed once and then looked up by its raw text: readers poll
# the same few URLs. Bounded: a crawler of unique URLs only costs the parse.
MAX_REMEMBERED = 1024
_parsed: dict[str, FeedQuery] = {}


def parse_query_string(raw: str, pairs: Callable[[], Iterable[tuple[str, str]]]) -> FeedQuery:
    """`parse_query(pairs())` for the query string `raw` (`pairs` decodes it), from the
    table of strings already parsed when it is there; a refused one is parsed each time."""
    if not raw:
        return EMPTY_QUERY
    query = _parsed.get(raw)
    if query is None:
        query = parse_query(pairs())
        if len(_parsed) < MAX_REMEMBERED:
            _parsed[raw] = query
    return query


def parse_query(pairs: Iterable[tuple[str, str]]) -> FeedQuery:
    """Check and normalise decoded query parameters (repeats kept, as a MultiDict gives them)."""
    seen: dict[str, list[str]] = {}
    for name, value in pairs:
        seen.setdefault(name, []).append(value)
    unknown = sorted(name for name in seen if name not in KNOWN)
    if unknown:
        names = ", ".join(repr(n) for n in unknown)
        raise QueryError(
            unknown[0] if len(unknown) == 1 else "parameters",
            f"unknown parameter{'s' if len(unknown) > 1 else ''} {names}; "
            f"a feed takes only limit, since, q, exclude, tag and own",
        )
    for name in ("limit", "since", "q", "exclude", "own"):
        if len(seen.get(name, ())) > 1:
            raise QueryError(name, f"given {len(seen[name])} times; give it at most once")
    return FeedQuery(
        limit=parse_limit(seen["limit"][0]) if "limit" in seen else None,
        since=parse_since(seen["since"][0]) if "since" in seen else None,
        q=parse_q(seen["q"][0]) if "q" in seen else "",
        tags=parse_tags(seen.get("tag", [])),
        own=parse_own(seen["own"][0]) if "own" in seen else False,
        exclude=parse_exclude(seen["exclude"][0]) if "exclude" in seen else "",
    )


def _refuse_non_ascii_digits(parameter: str, raw: str) -> None:
    """A clear 400 for digits other than 0-9 (full-width `５`, Arabic-Indic `٥`, …)."""
    if any(char.isdigit() and not char.isascii() for char in raw):
        raise QueryError(parameter, f"write numbers in ASCII digits 0-9, got {raw!r}")


def parse_limit(raw: str) -> int:
    value = raw.strip()
    _refuse_non_ascii_digits("limit", raw)
    if not _DIGITS.fullmatch(value) or not 1 <= int(value) <= MAX_LIMIT:
        raise QueryError("limit", f"must be an integer from 1 to {MAX_LIMIT}, got {raw!r}")
    return int(value)


def parse_since(raw: str) -> datetime:
    """RFC 3339 with a zone, YYYY-MM-DD (midnight UTC), or Unix seconds; → aware UTC.

    A `+` in an unencoded URL arrives as a space (`…T08:00:00 08:00`); that is read as
    the `+` it was, since a space can never start a zone offset.
    """
    value = raw.strip()
    _refuse_non_ascii_digits("since", raw)
    expected = "expected RFC 3339 with a zone (2026-11-20T08:00:00Z), a date (2026-11-20) or Unix seconds"
    try:
        if _DIGITS.fullmatch(value):
            return datetime.fromtimestamp(int(value), UTC)
        if _DATE.fullmatch(value):
            return datetime.combine(date.fromisoformat(value), time(), UTC)
        match = _RFC3339.fullmatch(value)
        if match:
            day, clock, zone = match.groups()
            zone = "+00:00" if zone in ("Z", "z") else zone.replace(" ", "+")
            return datetime.fromisoformat(f"{day}T{_microseconds(clock)}{zone}").astimezone(UTC)
    except (ValueError, OverflowError, OSError):
        raise QueryError("since", f"not a valid date or time: {raw!r}; {expected}") from None
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?", value):
        raise QueryError("since", f"{raw!r} has no time zone; add Z or ±hh:mm")
    raise QueryError("since", f"{expected}, got {raw!r}")


def _microseconds(clock: str) -> str:
    """fromisoformat takes at most 6 fractional digits; RFC 3339 allows more."""
    whole, dot, fraction = clock.partition(".")
    return f"{whole}.{fraction[:6].ljust(6, '0')}" if dot else whole


def parse_own(raw: str) -> bool:
    """`own=1` only: any other value is more likely a mistake than a request for the full feed."""
    if raw.strip() != "1":
        meaning = "only articles filed directly under the category, not its children"
        raise QueryError("own", f"must be 1 ({meaning}), got {raw!r}")
    return True


def parse_q(raw: str) -> str:
    return _plain_words("q", raw, "search term")


def parse_exclude(raw: str) -> str:
    """`exclude`: plain words as `q` takes them (never a regular expression)."""
    return _plain_words("exclude", raw, "word to exclude")


def _plain_words(parameter: str, raw: str, what: str) -> str:
    value = _SPACE.sub(" ", fold(raw)).strip()
    if not value:
        raise QueryError(parameter, f"must contain at least one {what}")
    if len(value) > MAX_Q_CHARS:
        raise QueryError(parameter, f"at most {MAX_Q_CHARS} characters, got {len(value)}")
    return normalise_terms(value)


def _tag_form(value: str) -> str:
    """A tag as compared: folded, single-spaced, without leading or trailing `/`."""
    return _SPACE.sub(" ", fold(value)).strip().strip("/").strip()


def parse_tags(raw: list[str]) -> tuple[str, ...]:
    tags: set[str] = set()
    for value in raw:
        tag = _tag_form(value)
        if not tag:
            raise QueryError("tag", "must not be empty")
        if len(tag) > MAX_TAG_CHARS:
            raise QueryError("tag", f"at most {MAX_TAG_CHARS} characters, got {len(tag)}")
        tags.add(tag)
    if len(tags) > MAX_TAGS:
        raise QueryError("tag", f"at most {MAX_TAGS} tags, got {len(tags)}")
    return tuple(sorted(tags))

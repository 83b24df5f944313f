"""The publication date of an article page, from trustworthy evidence only.

Order of trust: a site rule; explicit metadata (meta tags, JSON-LD, <time> in the
article header); the date line of the article's own info block under the headline; a
date in the URL path; else nothing. Body text, sidebars, related lists, comments and
copyright lines are never read: they are full of *other* dates (the seed's body says
11月22日, the event's date, while the page is of 2023-11-23), and a wrong date is worse
than none — the caller then records the first-seen time and says so.

A month-day without a year (`发布时间：10-08 12:00`) takes its year from the page's own
dated evidence — the URL, or any date metadata, update times included: they are read for
the year only, never as the date — else from `now`, a year back if that would be ahead.

European pages write the day first: `6. August 2009`, `06.08.2009, 14:30 Uhr`,
`6 August 2009`; English ones also `August 6, 2009` and `Sun Sep 01, 2019 8:05 pm`. Dotted
numeric dates are read day first (no locale writes month.day.year with dots). Dashed and
slashed ones (`03-03-2016`, `04/03/2016`) are read when their order is sure: the day and
month are equal, or one of them is over 12; else the page's own numeric dates decide (a
`13-03-2016` elsewhere says day first, a `03/13/2016` month first), else its declared
locale (en-US and en-PH → month first; any other declared language or English region →
day first); a bare `en`, `en-CA` (which writes both) or no declaration leaves `04/03/2016`
unread rather than guessed.

Forum threads state no date but each post's: when several post headers alike (same tag
and class; an info/date/author class, or a date alone outside lists) carry dates and the
first is the earliest, the first is the thread's opening post, the page's publication.

When our own rules find nothing, htmldate (trafilatura's date library) is asked about the
page's <meta> tags alone: it knows more meta names than we list, and shown nothing else it
cannot take a sidebar's, a comment's or a copyright line's date. Last of all, a page that
renders its date with JavaScript is dated by a publish/create-time variable its inline
script sets to a literal Unix time or ISO date (`var ct = "1581418070";`), never by an
expression (`new Date()`) nor by a value equal to the server clock the script also sets.

A blog that prints its date only under the post is read there when a label says whose date
it is: "This entry was posted on …", "Dieser Beitrag wurde am … veröffentlicht", or a line
opening "Von <name> am 03.05.2013, 11:51"; a footer named for the post (`post-footer`,
`entry-footer`) is the post's own, not the page's. A numeric date opening the first body
paragraph, `(18.01.2018) Deutschlands Landwirte …`, is its dateline.

An info line is one with an info class, info words, a leading numeric date, or a full date
to the minute outside any sentence (`http://ent.example.cn 2009年11月09日11:30 娱乐`); a line
whose links are most of its text is a related list, but a byline's author, section and
comment links are not. Zone abbreviations after a time (`12:00 PM EDT`, `MESZ`) are the
page's offset. A post header set as the last heading before the body
(`<h3>来自: name <span>2015-10-27 20:26:11</span></h3>`) is read for the date it holds alone.

Dates are returned aware in the source's zone. Whether the evidence had a time of day is
kept as the precision: a date alone is midnight local with precision "date". When the page
itself states a UTC offset (`2022-05-07T20:06-05:00`), `find_page_date` also returns that
offset, so a display can show the time as the page gives it; only storage converts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from functools import cached_property
from typing import Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import htmldate
import lxml.etree
import lxml.html
from lxml.html import HtmlElement

from syndicator.errors import SyndicatorError
from syndicator.models import SiteRules
from syndicator.normalise import parse_date

from .byline import (
    EXCLUDED,
    INFO_CLASS,
    _body_start,
    element_text,
    element_texts,
    headline,
    in_excluded,
    info_lines,
    outside_boxes,
    squash,
)
from .jsonld import json_ld_objects, ld_types
from .language import declared_tag

_SHORT_LINE = 200  # an info line is a line or two; a longer element is body or a whole box
# A line that opens with a numeric date (2023-11-23, 2023/11/23, `(18.01.2018) Deutschlands
# Landwirte …`) is an info line or a dateline: a lead paragraph opens with words, or with a
# spelled date (2023年11月23日下午，…).
_LEADING_DATE = re.compile(
    r"\s*[(\[]?\s*(?:(?:19|20)\d{2}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}\.\d{1,2}\.(?:19|20)\d{2})(?!\d)\s*[)\]]?"
)
# "发布时间：2023-11-23 10:20" — a date its label calls the publication date.
_LABELLED_FULL = re.compile(r"(?:发布|发表|上传)(?:时间|日期)\s*[:：]?\s*|发布于\s*|发表于\s*")

Precision = Literal["date", "datetime"]
PageDate = tuple[datetime | None, Precision | None, str | None]
Found = tuple[datetime, Precision]


class DateRuleError(SyndicatorError, ValueError):
    """A site's date rule or time zone is unusable (bad CSS selector, unknown zone)."""


# Meta names/properties that state the publication time (compared lowercased).
_META_NAMES = (
    "article:published_time", "og:published_time", "og:article:published_time", "pubdate",
    "publishdate", "publish-date", "publish_date", "publication_date", "datepublished",
    "dc.date", "dc.date.issued", "dcterms.date", "dcterms.issued", "dcterms.created",
    "sailthru.date", "parsely-pub-date", "article.published", "published_time", "weibo:article:create_at",
    "dc.date.created", "citation_publication_date", "citation_date", "date",
)  # fmt: skip
_ARTICLE_TYPES = frozenset(
    {"Article", "NewsArticle", "BlogPosting", "Report", "ReportageNewsArticle", "AnalysisNewsArticle",
     "OpinionNewsArticle", "TechArticle", "ScholarlyArticle", "LiveBlogPosting", "WebPage", "VideoObject"}
)  # fmt: skip

_SEP = r"\s*[-/.年月]\s*"
_TIME = r"(?:\s*T?\s*(?P<h>\d{1,2})\s*[:：时]\s*(?P<mi>\d{2})(?:\s*[:：分]\s*(?P<s>\d{2})(?:\.\d+)?)?)?"
_ZONE = r"(?:\s*(?P<z>Z|(?:GMT|UTC)?[+-]\d{2}:?\d{2}))?"
_FULL = re.compile(
    rf"(?<!\d)(?P<y>(?:19|20)\d{{2}}){_SEP}(?P<mo>\d{{1,2}}){_SEP}(?P<d>\d{{1,2}})(?!\d)\s*日?{_TIME}{_ZONE}",
    re.IGNORECASE,
)
_NO_YEAR = re.compile(
    r"(?<![\d年/.-])(?P<mo>\d{1,2})月(?P<d>\d{1,2})日"
    r"(?:\s*(?P<h>\d{1,2})[:：时](?P<mi>\d{2})(?:[:：分](?P<s>\d{2}))?)?"
)
# "发布时间：10-08 12:00", "发布时间：10-0812:00" (two spans run together): a labelled
# month-day whose year the page states elsewhere, if anywhere.
_LABELLED_MONTH_DAY = re.compile(
    rf"(?:{_LABELLED_FULL.pattern})(?P<md>(?P<mo>\d{{1,2}})[-/.](?P<d>\d{{2}}|\d(?!\d))"
    r"(?:\s*(?P<h>\d{1,2})[:：](?P<mi>\d{2})(?:[:：](?P<s>\d{2}))?)?)(?![\d/.-])"
)
# A bare year piece before a month/day piece ("2019" "09/07" in sibling elements).
_YEAR_PIECE = re.compile(r"(?<![\d/.-])((?:19|20)\d{2}) (?=\d{1,2}[-/.]\d{1,2}(?!\d))")
_PIECE = 16  # a piece of a date split across elements: "2019", "09/07", "19:02"
_RELATIVE = re.compile(r"(?:\d{1,2}\s*(?:分钟|小时|天)前|刚刚|今天|昨天|前天)(?:\s*\d{1,2}:\d{2})?")
# Labels of the publication time, preferred over other dates in the same line (更新时间).
_PUBLISHED_LABEL = re.compile(
    r"(?:发布|发表|上传|创建|录入)?(?:时间|日期)|发布于|Published|Posted|Date|Datum|Veröffentlicht|Erschienen|Erstellt",
    re.I,
)
# Words of an info line (as opposed to a short lead paragraph that mentions a date).
_INFO_WORDS = re.compile(
    r"日期|时间|来源|作者|编辑|记者|发布|发表|点击|阅读|浏览|访问|字号|Posted|Published|Updated|By\s|Source"
    r"|Veröffentlicht|Aktualisiert|Erschienen|Erstellt|Stand\b|Datum|Uhr\b",
    re.I,
)
_UPDATED_LABEL = re.compile(
    r"(?:更新|修改|最后修改)(?:时间|日期)?|Updated|Modified|Aktualisiert|Geändert|Zuletzt|Stand\b", re.I
)
# "This entry was posted on Thursday, July 23rd, 2020", "Veröffentlicht am 6. August 2009",
# a German blog's footer "Dieser Beitrag wurde am Samstag, 3. Dezember 2011 … veröffentlicht".
_LABELLED_WORDS = re.compile(
    r"\b(?:(?:posted|published|veröffentlicht|erschienen|erstellt)\s+(?:on|am|at)?"
    r"|(?:beitrag|artikel|eintrag)\s+wurde\s+(?:vor\s+)?am)\s*(?:[^\W\d_]+,\s*)?",
    re.I,
)
# A post's byline line that opens "Von <name> am <date>" (`Von Christian am 03.05.2013, 11:51`).
_BYLINE_AM = re.compile(r"\s*von\s+(?:[^\W\d_][\w.-]*\s+){1,3}?am\s+(?=\d)", re.I)
_BYLINE_AM_ANYWHERE = re.compile(r"\bvon\s+(?:[^\W\d_][\w.-]*\s+){1,3}?am\s+\d", re.I)
_LABELLED_LINE = 320  # a blog's post-metadata sentence runs longer than a CMS info line
_LABEL_REACH = 24  # how far before a date its label may stand ("Zuletzt aktualisiert am ")

# Day-first and spelled-month dates (German, English): `6. August 2009`, `06.08.2009`.
_MONTHS = {
    "januar": 1, "jänner": 1, "january": 1, "jan": 1, "februar": 2, "february": 2, "feb": 2,
    "märz": 3, "maerz": 3, "march": 3, "mär": 3, "mrz": 3, "mar": 3, "april": 4, "apr": 4,
    "mai": 5, "may": 5, "juni": 6, "june": 6, "jun": 6, "juli": 7, "july": 7, "jul": 7,
    "august": 8, "aug": 8, "september": 9, "sept": 9, "sep": 9, "oktober": 10, "october": 10,
    "okt": 10, "oct": 10, "november": 11, "nov": 11, "dezember": 12, "december": 12, "dez": 12, "dec": 12,
    # A blog engine's English date format with Chinese month names: `十一月 6th, 2009`.
    "一月": 1, "二月": 2, "三月": 3, "四月": 4, "五月": 5, "六月": 6, "七月": 7, "八月": 8,
    "九月": 9, "十月": 10, "十一月": 11, "十二月": 12,
}  # fmt: skip
_MONTH_NAME = "|".join(sorted(_MONTHS, key=len, reverse=True))
# Zone abbreviations a page writes after its time (`12:00 PM EDT`, `14:30 Uhr MESZ`), as offsets.
_ZONE_NAMES = {
    "EST": "-05:00", "EDT": "-04:00", "CST": "-06:00", "CDT": "-05:00", "MST": "-07:00",
    "MDT": "-06:00", "PST": "-08:00", "PDT": "-07:00", "CET": "+01:00", "CEST": "+02:00",
    "MEZ": "+01:00", "MESZ": "+02:00", "BST": "+01:00",
}  # fmt: skip
# A time after a European date: `14:30`, `14:30 Uhr`, `14.30 Uhr`, `2:30 pm`.
_EU_TIME = (
    r"(?:\s*(?:,|\||-|–|um|at|\bden\b)?\s*(?P<h>\d{1,2})(?P<hsep>[:.])(?P<mi>\d{2})"
    r"(?::(?P<s>\d{2}))?(?P<uhr>\s*Uhr\b)?(?:\s*(?P<ampm>[ap]\.?m\b\.?))?"
    rf"(?:\s*(?P<z>Z\b|(?:GMT|UTC)(?:\s?[+-]\d{{2}}:?\d{{2}})?|[+-]\d{{2}}:?\d{{2}}|(?-i:{'|'.join(_ZONE_NAMES)})\b))?)?"
)
_DAY_FIRST = (
    re.compile(
        rf"(?<![\d.])(?P<d>\d{{1,2}})\.\s?(?P<mo>\d{{1,2}})\.\s?(?P<y>(?:19|20)\d{{2}})(?![\d])(?!\.\d){_EU_TIME}",
        re.IGNORECASE,
    ),
    re.compile(
        rf"(?<![\d.])(?P<d>\d{{1,2}})\.?\s*(?P<mname>{_MONTH_NAME})\.?,?\s+(?P<y>(?:19|20)\d{{2}})(?!\d){_EU_TIME}",
        re.IGNORECASE,
    ),
    re.compile(
        rf"(?<![\w])(?P<mname>{_MONTH_NAME})\.?\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<y>(?:19|20)\d{{2}})(?!\d)"
        rf"{_EU_TIME}",
        re.IGNORECASE,
    ),
)
# `03-03-2016, 11:45`, `04/03/2016`: day and month in an order the page must settle.
_NUMERIC = re.compile(
    rf"(?<![\d./-])(?P<a>\d{{1,2}})(?P<sep>[-/])(?P<b>\d{{1,2}})(?P=sep)(?P<y>(?:19|20)\d{{2}})(?!\d)(?![-/.]\d)"
    rf"{_EU_TIME}",
    re.IGNORECASE,
)
_ANY_NUMERIC = re.compile(r"(?<![\d./-])(\d{1,2})[-/.](\d{1,2})[-/.](?:19|20)\d{2}(?!\d)")
# Locales that write the month first in numeric dates (`04/03/2016` is April 3rd).
_MONTH_FIRST = re.compile(r"^en[-_](?:us|ph|um|as|gu|mp|pr|vi)\b", re.IGNORECASE)
_EITHER_ORDER = re.compile(r"^en(?:[-_]ca)?$", re.IGNORECASE)  # English at large, Canada: both
Order = Literal["dmy", "mdy"]


class DayOrder:
    """How a page writes numeric dates: day first ("dmy"), month first ("mdy"), or unknown.

    Settled lazily, on the first ambiguous date met: the page's own dates first (one with
    a first number over 12 is day first, a second number over 12 month first; both kinds
    at once settle nothing), then the declared locale. See the module docstring.
    """

    def __init__(self, tree: HtmlElement) -> None:
        self._tree = tree

    @cached_property
    def order(self) -> Order | None:
        day_first = month_first = False
        for a, b in _ANY_NUMERIC.findall(self._tree.text_content()):
            day_first |= int(a) > 12 >= int(b)
            month_first |= int(b) > 12 >= int(a)
        if day_first != month_first:
            return "dmy" if day_first else "mdy"
        tag = declared_tag(self._tree)
        if tag is None or _EITHER_ORDER.match(tag.strip()):
            return None
        return "mdy" if _MONTH_FIRST.match(tag.strip()) else "dmy"


_DATELINE_LINES = 6  # the dateline is among the first few lines under the headline
_DATELINE_CHARS = 80
_PROSE = re.compile(r"[，。！？；]")  # sentence punctuation: a lead paragraph, not a dateline
# Dates in URL paths: /20231123/, t20231123_1.html, /2023/11/23/, /2023-11-23/, /2023/1123/.
_URL_PATTERNS = (
    re.compile(r"(?<![0-9])(?P<y>(?:19|20)\d{2})(?P<mo>\d{2})(?P<d>\d{2})(?![0-9])"),
    re.compile(r"/(?P<y>(?:19|20)\d{2})[-_/](?P<mo>\d{1,2})[-_/](?P<d>\d{1,2})(?=[/_.-]|$)"),
    re.compile(r"/(?P<y>(?:19|20)\d{2})/(?P<mo>\d{2})(?P<d>\d{2})(?=/)"),
)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise DateRuleError(f"unknown time zone {name!r}") from exc


def _offset(text: str) -> tzinfo:
    if text.upper() == "Z":
        return UTC
    match = re.search(r"([+-])(\d{2}):?(\d{2})", text)
    assert match is not None  # _ZONE only matches these shapes
    sign = -1 if match[1] == "-" else 1
    return timezone(sign * timedelta(hours=int(match[2]), minutes=int(match[3])))


def _build(fields: dict[str, str | None], year: int, zone: ZoneInfo) -> Found | None:
    """An aware datetime from regex fields; None for impossible values.

    In `zone` unless the fields carry the page's own offset: then in that offset, so the
    caller can tell (`_stated_offset`) and show the time as the page gave it.
    """
    try:
        day = date(year, int(fields["mo"] or 0), int(fields["d"] or 0))
        if fields.get("h") is None:
            return datetime(day.year, day.month, day.day, tzinfo=zone), "date"
        hour, minute, second = int(fields["h"] or 0), int(fields["mi"] or 0), int(fields.get("s") or 0)
        given = _offset(fields["z"]) if fields.get("z") else zone
        when = datetime(day.year, day.month, day.day, hour, minute, min(second, 59), tzinfo=given)
    except ValueError:
        return None
    return when, "datetime"


def _stated_offset(when: datetime) -> timedelta | None:
    """The UTC offset the page stated for `when`: set only when `_build` kept a fixed offset."""
    return when.utcoffset() if isinstance(when.tzinfo, timezone) else None


def _numeric_fields(match: re.Match[str], order: DayOrder | None) -> dict[str, str | None] | None:
    """`match`'s fields with day and month placed; None when the order is not sure."""
    fields: dict[str, str | None] = dict(match.groupdict())
    a, b = int(match["a"]), int(match["b"])
    if a == b or a > 12 or b > 12:
        day_first = a > 12 or a == b
    elif order is not None and order.order is not None:
        day_first = order.order == "dmy"
    else:
        return None  # `04/03/2016` with nothing to say which is the month: no guess
    fields["d"], fields["mo"] = (match["a"], match["b"]) if day_first else (match["b"], match["a"])
    return fields


def _day_first(text: str, order: DayOrder | None = None) -> list[tuple[int, int, dict[str, str | None]]]:
    """(start, end, fields) of each European/English spelled, dotted or dashed date in `text`.

    Fields are those of `_FULL` (month as a number, 24-hour time), for `_build`. Dashed and
    slashed dates are read only when their order is sure (`_numeric_fields`).
    """
    matched: list[tuple[re.Match[str], dict[str, str | None]]] = []
    for pattern in _DAY_FIRST:
        matched += [(m, dict(m.groupdict())) for m in pattern.finditer(text)]
    if "-" in text or "/" in text:
        matched += [(m, f) for m in _NUMERIC.finditer(text) if (f := _numeric_fields(m, order))]
    found = []
    for match, fields in matched:
        if fields.get("mname"):
            fields["mo"] = str(_MONTHS[(fields["mname"] or "").lower()])
        if fields.get("h") is not None:
            hour = int(fields["h"] or 0)
            ampm = (fields.get("ampm") or "").lower()
            if fields.get("hsep") == "." and not fields.get("uhr"):
                fields["h"] = fields["mi"] = fields["s"] = None  # "6.8.2009 14.30" is no clear time
            elif ampm.startswith("p") and hour < 12:
                fields["h"] = str(hour + 12)
            elif ampm.startswith("a") and hour == 12:
                fields["h"] = "0"
        zone_text = (fields.get("z") or "").upper()
        if fields.get("h") is None or not zone_text:
            fields["z"] = None  # no time, or no offset: read in the source's zone
        elif zone_text in ("GMT", "UTC"):
            fields["z"] = "Z"
        elif zone_text in _ZONE_NAMES:
            fields["z"] = _ZONE_NAMES[zone_text]
        found.append((match.start(), match.end(), fields))
    return found


def _plausible(when: datetime, now: datetime) -> bool:
    return datetime(1990, 1, 1, tzinfo=UTC) <= when <= now + timedelta(days=1)


def parse_value(raw: str, zone: ZoneInfo, now: datetime) -> Found | None:
    """A metadata value (ISO 8601, 2023年11月23日 10:20, RFC 822 …) with its precision."""
    text = squash(raw)
    if not text:
        return None
    # A European date read whole; trailing words (`… 14:30 PDT`) are left to the general parser.
    european = [f for start, end, f in _day_first(text) if not re.search(r"[^\W\d_]", text[end:])]
    if match := _FULL.search(text):
        result = _build(match.groupdict(), int(match["y"]), zone)
    elif european:
        result = _build(european[0], int(european[0]["y"] or 0), zone)
    elif re.fullmatch(r"\d{10}(?:\d{3})?", text):  # epoch seconds/milliseconds
        seconds = int(text[:10])
        result = datetime.fromtimestamp(seconds, zone), "datetime"
    else:
        parsed = parse_date(text, zone.key, now=now)
        if parsed is None:
            return None
        local = parsed.astimezone(zone)
        has_time = ":" in text or local.time() != datetime.min.time()
        result = (local, "datetime") if has_time else (local, "date")
    if result is None or not _plausible(result[0], now):
        return None
    return result


# ---------------------------------------------------------------- sources of evidence


def _rule(tree: HtmlElement, selector: str, zone: ZoneInfo, now: datetime) -> Found | None:
    try:
        elements = tree.cssselect(selector)
    except Exception as exc:  # cssselect raises several parse error types
        raise DateRuleError(f"invalid date selector {selector!r}: {exc}") from exc
    for el in elements:
        for raw in (el.get("datetime"), el.get("content"), element_text(el)):
            if raw and (found := parse_value(raw, zone, now) or _info_line(raw, zone, now, None)):
                return found
    return None


def _meta(tree: HtmlElement, zone: ZoneInfo, now: datetime) -> Found | None:
    by_name: dict[str, str] = {}
    for meta in tree.iter("meta"):
        key = (meta.get("property") or meta.get("name") or meta.get("itemprop") or "").strip().lower()
        if key in _META_NAMES and key not in by_name and meta.get("content"):
            by_name[key] = meta.get("content", "")
    for name in _META_NAMES:
        if name in by_name and (found := parse_value(by_name[name], zone, now)):
            return found
    return None


def _json_ld(objects: list[dict], zone: ZoneInfo, now: datetime) -> Found | None:
    ranked = sorted(objects, key=lambda o: not (ld_types(o) & _ARTICLE_TYPES - {"WebPage"}))
    for obj in ranked:
        raw = obj.get("datePublished") or obj.get("dateCreated")
        if isinstance(raw, str) and (found := parse_value(raw, zone, now)):
            return found
    return None


def _time_element(tree: HtmlElement, info: list[tuple[HtmlElement, str]], zone: ZoneInfo, now: datetime):
    """<time>/itemprop=datePublished in the article's header, never in lists or sidebars."""
    candidates: list[HtmlElement] = [t for el, _ in info for t in el.iter("time")]
    found = tree.xpath("//article//header//time | //time[@pubdate] | //*[@itemprop='datePublished']")
    candidates += [el for el in found if not in_excluded(el)]
    for el in candidates:
        for raw in (el.get("datetime"), el.get("content"), element_text(el)):
            if raw and (found := parse_value(raw, zone, now)):
                return found
    return None


def _month_day(match: re.Match[str], year: int | None, zone: ZoneInfo, now: datetime) -> Found | None:
    """A labelled month-day in `year` (the page's own), else in this year unless that is ahead."""
    if year is not None:
        return _build(match.groupdict(), year, zone)
    found = _build(match.groupdict(), now.year, zone)
    if found and found[0] > now + timedelta(days=1):
        found = _build(match.groupdict(), now.year - 1, zone)
    return found


def _joined_pieces(el: HtmlElement) -> str | None:
    """`el`'s text joined with its short neighbours: one date split across sibling elements.

    Some pages set `2019` / `09/07` / `19:02` in three boxes; each alone is no date.
    """
    parent = el.getparent()
    if parent is None or len(squash(element_text(el))) > _PIECE:
        return None
    siblings = [c for c in parent if isinstance(c.tag, str) and c.tag not in ("script", "style")]
    short = [0 < len(squash(element_text(c))) <= _PIECE for c in siblings]
    at = siblings.index(el)
    low = high = at
    while low > 0 and at - low < 3 and short[low - 1]:
        low -= 1
    while high + 1 < len(siblings) and high - at < 3 and short[high + 1]:
        high += 1
    if low == high:
        return None
    joined = " ".join(squash(element_text(c)) for c in siblings[low : high + 1])
    return _YEAR_PIECE.sub(r"\1-", joined)


def _info_line(
    text: str, zone: ZoneInfo, now: datetime, year: int | None, order: DayOrder | None = None
) -> Found | None:
    """The publication date in one info-block line; a labelled published date wins.

    `order` settles dashed/slashed dates whose day and month could be either."""
    found: list[tuple[int, int, Found]] = []  # (start, end, date)
    for match in _FULL.finditer(text):
        if result := _build(match.groupdict(), int(match["y"]), zone):
            found.append((match.start(), match.end(), result))
    for start, end, fields in _day_first(text, order):
        if result := _build(fields, int(fields["y"] or 0), zone):
            found.append((start, end, result))
    for match in _NO_YEAR.finditer(text):
        if year is not None and (result := _build(match.groupdict(), year, zone)):
            found.append((match.start(), match.end(), result))
    for match in _LABELLED_MONTH_DAY.finditer(text):
        if result := _month_day(match, year, zone, now):
            found.append((match.start("md"), match.end(), result))
    for match in _RELATIVE.finditer(text):
        if parsed := parse_date(match[0], zone.key, now=now):
            precision: Precision = "datetime" if re.search(r"\d+\s*(?:分钟|小时)前|:", match[0]) else "date"
            local = parsed.astimezone(zone)
            if precision == "date":
                local = local.replace(hour=0, minute=0, second=0, microsecond=0)
            found.append((match.start(), match.end(), (local, precision)))
    found = [item for item in found if _plausible(item[2][0], now)]
    if not found:
        return None

    def rank(item: tuple[int, int, Found]) -> tuple[int, int]:
        # A date's label stands close before it, after the previous date ("Zuletzt aktualisiert am ").
        previous_end = max((end for start, end, _ in found if end <= item[0]), default=0)
        before = text[max(previous_end, item[0] - _LABEL_REACH) : item[0]]
        label = 0 if _PUBLISHED_LABEL.search(before) and not _UPDATED_LABEL.search(before) else 1
        if _UPDATED_LABEL.search(before):
            label = 2
        return label, item[0]

    return min(found, key=rank)[2]


def _link_list(el: HtmlElement) -> bool:
    """Two or more headline-sized links: a related/latest list, whose dates are other articles'."""
    titles = [a for a in el.iter("a") if len(squash(a.text_content())) >= 8]
    return len(titles) >= 2


def _mostly_links(el: HtmlElement) -> bool:
    """A link list whose links are most of its text: headlines with their dates.

    A byline links its author, section and comment count too (`Written by <a>Jane Doe</a> in
    <a>Desktop</a> on 26 April 2023. <a>6 Comments</a>`), but its words are mostly its own.
    """
    if not _link_list(el):
        return False
    linked = sum(len(squash(a.text_content())) for a in el.iter("a"))
    return 2 * linked >= len(squash(el.text_content()))


def _stamped(text: str) -> bool:
    """A line stating a full date with its time of day and no sentence: a CMS's info line.

    `http://ent.example.com 2009年11月09日11:30 娱乐 我要评论(0)` has no label a lead
    paragraph would lack, but a story's own dates come in sentences and rarely to the minute.
    """
    return not _PROSE.search(text) and any(m["h"] is not None for m in _FULL.finditer(text))


def _short_info_elements(tree: HtmlElement) -> list[tuple[HtmlElement, str]]:
    """Short elements anywhere whose class/id says info/date/time, outside sidebars and lists."""
    found = []
    texts = element_texts(tree)  # shared: an info-named wrapper can hold the whole article
    for el in tree.iter():
        if not isinstance(el.tag, str) or el.tag in ("body", "html", "script", "style"):
            continue
        if not INFO_CLASS.search(f"{el.get('class', '')} {el.get('id', '')}"):
            continue
        text = texts[el]
        # A prefix tells a long text (an info-named wrapper of the whole article) cheaply.
        if not 0 < len(squash(text[: 8 * _SHORT_LINE])) <= _SHORT_LINE or len(squash(text)) > _SHORT_LINE:
            continue
        if outside_boxes(el) and not _link_list(el):
            found.append((el, text))
    return found


def _labelled_date(tree: HtmlElement, zone: ZoneInfo, now: datetime) -> Found | None:
    """A full date right after a publication label (发布时间：…, "posted on") in a short line
    outside lists.

    Some CMSs print the info line under the body rather than under the headline (a blog's
    "This entry was posted on Thursday, July 23rd, 2020 at 1:42 am and is filed under …");
    the label makes it as trustworthy there as anywhere. Comments sit in excluded boxes.
    """
    texts = element_texts(tree)
    whole = texts.get(tree) or tree.text_content()
    has_words = _LABELLED_WORDS.search(whole) is not None or _BYLINE_AM_ANYWHERE.search(whole) is not None
    if not has_words and not _LABELLED_FULL.search(whole):
        return None  # one scan of the page spares one per element
    for el in tree.iter("p", "div", "span", "td", "em", "i", "small", "font"):
        text = texts[el]
        chinese = _LABELLED_FULL.search(text) is not None
        byline = _BYLINE_AM.match(text)
        if not chinese and not (has_words and (byline or _LABELLED_WORDS.search(text))):
            continue
        if len(squash(text)) > (_SHORT_LINE if chinese else _LABELLED_LINE):
            continue
        if not outside_boxes(el) or (chinese and _link_list(el)):
            continue  # (a post-metadata sentence links its categories and feed: no list)
        for label in _LABELLED_FULL.finditer(text):
            match = _FULL.match(text, label.end())
            found = _build(match.groupdict(), int(match["y"]), zone) if match else None
            if found and _plausible(found[0], now):
                return found
        for label in [*_LABELLED_WORDS.finditer(text), *([byline] if byline else [])]:
            rest = text[label.end() :]
            match = _FULL.match(rest)
            fields = (
                match.groupdict() if match else next((f for at, _, f in _day_first(rest) if at == 0), None)
            )
            found = _build(fields, int(fields["y"] or 0), zone) if fields else None
            if found and _plausible(found[0], now):
                return found
    return None


def _refine(found: Found, candidates: list[tuple[HtmlElement, str]], zone: ZoneInfo, now: datetime) -> Found:
    """A day-only date gains its time of day from an info line stating that same day with a time.

    The day-only source (meta, URL) corroborates the line, so no other test is needed.
    """
    if found[1] != "date":
        return found
    for _, text in candidates:
        for match in _FULL.finditer(text):
            better = _build(match.groupdict(), int(match["y"]), zone)
            if better and better[1] == "datetime" and better[0].date() == found[0].date():
                return better
    return found


def _url_date(url: str) -> date | None:
    path = urlsplit(url).path
    for pattern in _URL_PATTERNS:
        for match in pattern.finditer(path):
            try:
                return date(int(match["y"]), int(match["mo"]), int(match["d"]))
            except ValueError:
                continue
    return None


def _metadata_year(tree: HtmlElement, objects: list[dict]) -> int | None:
    """A year stated by any of the page's own date metadata (modified times included)."""
    values = [
        m.get("content", "")
        for m in tree.iter("meta")
        if re.search(
            r"date|time|modified", (m.get("property") or m.get("name") or m.get("itemprop") or ""), re.I
        )
    ]
    values += [str(o.get(k)) for o in objects for k in ("dateModified", "dateCreated") if o.get(k)]
    for value in values:
        if match := re.match(r"\s*((?:19|20)\d{2})\D", value):
            return int(match[1])
    return None


def _in_link_list(el: HtmlElement) -> bool:
    """`el` is mostly a headline link, or its box lists several: an entry of a related list.

    A byline's short author link ("by <a>AZAttorney11</a> » Sun Sep 01, 2019") does not count.
    """
    parent = el.getparent()
    line = len(squash(el.text_content()))
    headline_link = any((n := len(squash(a.text_content()))) >= 8 and n * 2 > line for a in el.iter("a"))
    return headline_link or _link_list(el) or (parent is not None and _link_list(parent))


def _heading_like(el: HtmlElement) -> bool:
    """An <h1>–<h3>, or in old table layouts a bold or large-font headline-sized line."""
    if el.tag not in ("h1", "h2", "h3", "b", "strong", "font"):
        return False
    text = squash(el.text_content())
    if not text or in_excluded(el):
        return False
    if el.tag in ("h1", "h2", "h3"):
        return True
    size = (el.get("size") or "").strip().lstrip("+")
    big_font = el.tag == "font" and size.isdigit() and int(size) >= 4
    return (el.tag in ("b", "strong") or big_font) and 6 <= len(text) <= _DATELINE_CHARS


def _dateline(
    tree: HtmlElement, zone: ZoneInfo, now: datetime, year: int | None, day_order: DayOrder | None = None
) -> Found | None:
    """A short dated line among the first lines under the article's heading, before its body.

    Portal pages print `2022-02-13 09:57 光明网` or `2003-5-29` under an <h2>/<td> headline
    in a plain element: no info class, no label, and not always the headline's sibling (a
    logo <h1> or a table layout hides it from `info_lines`). The heading nearest the body is
    the article's own; the lines above it (a masthead's "today is …") are never read, nor
    the body, lists or sidebars. A date alone in an element of the heading itself is read
    first: that heading is a post's header, not a headline.
    """
    order = {el: i for i, el in enumerate(tree.iter()) if isinstance(el.tag, str)}
    start = _body_start(order)
    headings = [el for el, pos in order.items() if pos < start and _heading_like(el)]
    anchor = headings[-1] if headings else headline(tree)
    if anchor is None or anchor not in order or order[anchor] >= start:
        return None
    # A post's header set as a heading holds its date in an element of its own
    # (`<h3>来自: name <span>2015-10-27 20:26:11</span></h3>`); a headline holds no such element.
    for el in anchor.iterdescendants():
        text = _date_alone(el)
        if text and (found := _info_line(text, zone, now, year, day_order)):
            return found
    inside = {id(el) for el in anchor.iter()}
    lines = 0
    for el, pos in order.items():
        if pos <= order[anchor] or id(el) in inside:
            continue
        if pos >= start or lines >= _DATELINE_LINES:
            # The body's first paragraph may carry the dateline inline: `(18.01.2018)
            # Deutschlands Landwirte …`; its opening date alone is read.
            if pos == start and (opening := _LEADING_DATE.match(element_text(el))) and outside_boxes(el):
                return _info_line(opening[0], zone, now, year, day_order)
            break
        if el.tag in ("script", "style", "noscript", "template") or any(
            isinstance(c.tag, str) and c.tag in ("p", "div", "table", "tr", "td", "ul", "ol", "li", "section")
            for c in el
        ):
            continue  # a container: its lines are read one by one
        text = element_text(el)
        short = squash(text)
        if not short:
            continue
        lines += 1
        inside.update(id(child) for child in el.iterdescendants())  # read as one line
        if len(short) > _DATELINE_CHARS or in_excluded(el) or not outside_boxes(el) or _in_link_list(el):
            continue
        if _PROSE.search(text) or not (
            _LEADING_DATE.match(text) or _INFO_WORDS.search(text) or len(short) <= 40
        ):
            continue  # a short lead paragraph ("2003年5月20日，记者…"): its dates are the story's
        if found := _info_line(text, zone, now, year, day_order):
            return found
    return None


def _class_id(el: HtmlElement) -> str:
    return f"{el.get('class', '')} {el.get('id', '')}"


_YEAR = re.compile(r"(?<!\d)(?:19|20)\d{2}(?!\d)")
# What a date written alone is made of: numbers, separators, month and day names, am/pm.
_DATE_WORDS = re.compile(
    rf"\d+|[\s,.:/|–-]+|年|月|日|时|分|秒|\b(?:{_MONTH_NAME}|mon|tue|wed|thu|fri|sat|sun)\w*\.?|[ap]\.?m\b\.?|\bat\b|\bum\b|\buhr\b",
    re.IGNORECASE,
)


def _date_alone(el: HtmlElement) -> str | None:
    """The text of a childless element that holds a date and nothing else (`June 03, 2020,
    04:19:36 PM` in a plain `<div class="smalltext">`), not in a list; else None."""
    text = el.text if len(el) == 0 else None
    if not text or len(text) > _PIECE * 3 or not _YEAR.search(text) or _DATE_WORDS.sub("", text):
        return None
    return None if any(anc.tag in ("li", "ul", "ol", "a") for anc in el.iterancestors()) else text


def _post_headers(tree: HtmlElement) -> list[tuple[HtmlElement, str]]:
    """Short elements whose class says info/date/author, or that hold a date alone, outside
    asides, navs, footers and related/comment boxes.

    Unlike `_short_info_elements`, list items count for the info-classed ones: forums set each
    post as an <li>. A date alone in a list is another article's, so those do not.
    """
    found = []
    texts = element_texts(tree)
    for el in tree.iter(lxml.etree.Element):
        if el.tag in ("body", "html", "script", "style", "a"):
            continue
        named = el.get("class") or el.get("id")
        info = named and INFO_CLASS.search(_class_id(el))
        if not info and (len(el) or not el.text or _date_alone(el) is None):
            continue
        text = texts[el]
        if len(text) > 4 * _DATELINE_CHARS or not _YEAR.search(text) or len(squash(text)) > _DATELINE_CHARS:
            continue  # (only dates with a year count: a header's "3 hours ago" is the reader's clock)
        boxed = any(
            anc.tag in ("aside", "nav", "footer") or EXCLUDED.search(_class_id(anc))
            for anc in el.iterancestors()
            if isinstance(anc.tag, str)
        )
        # A post's box also links its subject: only the header's own links count here.
        linked = any(2 * len(squash(a.text_content())) > len(squash(text)) for a in el.iter("a"))
        if not boxed and not linked and not _link_list(el):
            found.append((el, text))
    return found


_THREAD_PAGE = 10  # the first post is the earliest of the first ten; more need not be read


def _first_post(
    tree: HtmlElement, zone: ZoneInfo, now: datetime, year: int | None, order: DayOrder
) -> Found | None:
    """The opening post's date on a thread page: the first of several dated post headers alike.

    A forum thread states no date of its own, but each post's (`03-03-2016, 11:45`, `by
    someone » Sun Sep 01, 2019 8:05 pm`). Headers alike share tag and class; the first
    such group in the page, when it has two or more dates and its first is the earliest
    (a thread reads oldest first), gives the first one. A newest-first list gives nothing.
    """
    groups: dict[tuple[str, str], list[Found]] = {}
    for el, text in _post_headers(tree):
        group = groups.setdefault((el.tag, el.get("class", "")), [])
        if len(group) < _THREAD_PAGE and (found := _info_line(text, zone, now, year, order)):
            group.append(found)
    for dates in groups.values():
        if len(dates) >= 2 and dates[0][0] <= min(when for when, _ in dates[1:]):
            return dates[0]
    return None


_UPDATE_META = re.compile(r"modif|updat|lastmod|last-mod|revis|expir|review", re.I)


def _meta_only(tree: HtmlElement) -> HtmlElement:
    """A document of the page's <meta> tags alone, update/modified times left out.

    htmldate, even without its extensive search, reads sidebars, related lists, comments,
    copyright lines and the <title> — the other dates a page is full of. Its value to us is
    the meta names it knows and we do not list; given only those, it can guess nothing else.
    """
    head = lxml.html.Element("head")
    for meta in tree.iter("meta"):
        key = " ".join(meta.get(k) or "" for k in ("name", "property", "itemprop", "http-equiv"))
        if meta.get("content") and key.strip() and not _UPDATE_META.search(key):
            head.append(lxml.html.Element("meta", {k: v for k, v in meta.attrib.items()}))
    root = lxml.html.Element("html")
    root.append(head)
    root.append(lxml.html.Element("body"))
    return root


def _markup_date(tree: HtmlElement, zone: ZoneInfo, now: datetime) -> Found | None:
    """htmldate's reading of the page's publication meta tags, as a day.

    Asked only when our own evidence finds nothing, and shown only the meta tags (see
    `_meta_only`). htmldate's `max_date` keeps it from the future.
    """
    try:
        day = htmldate.find_date(
            _meta_only(tree),
            extensive_search=False,
            original_date=True,
            outputformat="%Y-%m-%d",
            min_date="1990-01-01",
            max_date=(now + timedelta(days=1)).strftime("%Y-%m-%d"),
        )
    except Exception:  # a third-party reader's failure is no date, not a crash
        return None
    if not day:
        return None
    parsed = date.fromisoformat(day)
    when = datetime(parsed.year, parsed.month, parsed.day, tzinfo=zone)
    return (when, "date") if _plausible(when, now) else None


# `var ct = "1581418070";`, `window.publish_time = '2020-02-11 10:47';`: a variable that
# names the publication (or creation) time, set to a literal Unix time or ISO date.
_ASSIGNED = r"(?:\b(?:var|let|const)\s+|\bwindow\.)"
_SCRIPT_PUBLISHED = re.compile(
    _ASSIGNED + r"(?:publish_?(?:time|date)|pub_?(?:time|date)|create_?time|created_?at|post_?time|ct)"
    r"\s*=\s*(?P<q>[\"']?)"
    r"(?P<value>\d{10}(?:\d{3})?|(?:19|20)\d{2}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2})?)?)(?P=q)\s*[;,\n]",
    re.IGNORECASE,
)
# The server's clock in the same scripts (`var svr_time = "1581605093" * 1;`): a publish-time
# variable holding that same instant is the page's rendering time, not its publication.
_SCRIPT_NOW = re.compile(
    _ASSIGNED + r"(?:svr_?time|server_?time|now(?:_?time)?|cur(?:rent)?_?time|timestamp)"
    r"\s*=\s*[\"']?(?P<value>\d{10})",
    re.IGNORECASE,
)
_SAME_INSTANT = 60  # seconds: a publish time this close to the server's clock is the clock


def _script_date(tree: HtmlElement, zone: ZoneInfo, now: datetime) -> Found | None:
    """The publication time an inline script assigns to a variable named for it.

    The last resort, for pages that render their date with JavaScript and show nothing
    readable without it (`<em id="publish_time"></em>` filled from `var ct = "1581418070"`).
    Strict, since scripts also hold the reader's clock and other articles' data: only a
    literal Unix time or ISO date assigned to a publish/create-time variable; every such
    variable must agree on the day; none may equal the server clock the scripts also set;
    `new Date()` and other expressions are never read.
    """
    found: list[Found] = []
    clocks: list[int] = []
    for script in tree.iter("script"):
        text = script.text or ""
        if script.get("src") or "=" not in text:
            continue
        for match in _SCRIPT_PUBLISHED.finditer(text):
            if result := parse_value(match["value"], zone, now):
                found.append(result)
        clocks += [int(m["value"]) for m in _SCRIPT_NOW.finditer(text)]
    days = {when.date() for when, _ in found}
    if len(days) != 1:
        return None  # none, or variables that disagree: other articles' data
    if any(abs(when.timestamp() - clock) <= _SAME_INSTANT for when, _ in found for clock in clocks):
        return None
    return found[0]


@dataclass(frozen=True, slots=True)
class DateFinding:
    """A page's publication date: `when` in the source's zone, and the page's own offset.

    `offset` is the UTC offset the page stated (`…T20:06-05:00` → -5 h), None when the page
    gave a local time or a day only and the source's zone was assumed. Displays show
    `when.astimezone(timezone(offset))` — the time as the page gives it; storage uses UTC.
    """

    when: datetime
    precision: Precision
    source: str
    offset: timedelta | None = None

    @property
    def as_given(self) -> datetime:
        """The instant in the page's own offset when it stated one, else in the source's zone."""
        return self.when if self.offset is None else self.when.astimezone(timezone(self.offset))


def find_page_date(
    tree: HtmlElement, url: str, *, timezone: str, rules: SiteRules, now: datetime
) -> DateFinding | None:
    """The page's publication date with where it came from and the offset the page stated.

    Where-from is "rule", "meta", "json-ld", "time-element", "info-line", "dateline", "url",
    "first-post" (a forum thread's opening post) or "htmldate". Raises DateRuleError for an
    unknown zone or a bad rules.date selector.
    """
    zone = _zone(timezone)
    if now.tzinfo is None:
        raise DateRuleError(f"`now` must be timezone-aware, got {now!r}")
    found = _find(tree, url, zone, rules, now)
    if found is None:
        return None
    (when, precision), where = found
    return DateFinding(when.astimezone(zone), precision, where, _stated_offset(when))


def page_date(tree: HtmlElement, url: str, *, timezone: str, rules: SiteRules, now: datetime) -> PageDate:
    """(when, precision, where-from) of the page's publication, or (None, None, None).

    `when` is aware in `timezone`; see `find_page_date` for the sources and the offset.
    """
    finding = find_page_date(tree, url, timezone=timezone, rules=rules, now=now)
    if finding is None:
        return None, None, None
    return finding.when, finding.precision, finding.source


def _find(
    tree: HtmlElement, url: str, zone: ZoneInfo, rules: SiteRules, now: datetime
) -> tuple[Found, str] | None:
    """The best evidence in order of trust; dates in the page's own offset when it gave one."""
    if rules.date and (found := _rule(tree, rules.date, zone, now)):
        return found, "rule"
    objects = json_ld_objects(tree)
    info = info_lines(tree)
    for where, finder in (
        ("meta", lambda: _meta(tree, zone, now)),
        ("json-ld", lambda: _json_ld(objects, zone, now)),
        ("time-element", lambda: _time_element(tree, info, zone, now)),
    ):
        if found := finder():
            return _refine(found, info + _short_info_elements(tree), zone, now), where
    url_day = _url_date(url)
    year = url_day.year if url_day else _metadata_year(tree, objects)
    order = DayOrder(tree)
    for el, text in info:
        if _mostly_links(el):
            continue  # a related list next to the headline: "6小时前" there is another article's
        meta_like = (
            INFO_CLASS.search(f"{el.get('class', '')} {el.get('id', '')}")
            or _INFO_WORDS.search(text)
            or _LEADING_DATE.match(text)
            or _stamped(text)
        )
        if not meta_like and len(squash(text)) > 40:
            continue  # a short lead paragraph right under the headline: its dates are the story's
        if found := _info_line(text, zone, now, year, order):
            return found, "info-line"
        joined = _joined_pieces(el)
        if joined and (found := _info_line(joined, zone, now, year, order)):
            return found, "info-line"
    if found := _labelled_date(tree, zone, now):
        return found, "info-line"
    if found := _dateline(tree, zone, now, year, order):
        return found, "dateline"
    if url_day is not None:
        when = datetime(url_day.year, url_day.month, url_day.day, tzinfo=zone)
        if _plausible(when, now):
            return _refine((when, "date"), info + _short_info_elements(tree), zone, now), "url"
    if found := _first_post(tree, zone, now, year, order):
        return found, "first-post"
    if found := _markup_date(tree, zone, now):
        return found, "htmldate"
    if found := _script_date(tree, zone, now):
        return found, "script"
    return None

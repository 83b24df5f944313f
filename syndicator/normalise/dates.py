"""Upstream date strings → tz-aware UTC datetimes.

feedparser's own parsed dates are unusable for Chinese sources (`CST` read as US Central,
`2023年11月23日` read as 2023-11-01, naive times taken as UTC), so we parse the raw string:
strict RFC 822 and ISO 8601 first (exact, fast), then dateparser for natural-language and
relative forms. Times without a zone are in the source's zone; relative ones ("3小时前")
count back from the fetch time. Anything unreadable is None: the caller estimates the date.
"""

from __future__ import annotations

import functools
import logging
import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from types import ModuleType
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import NormaliseError
from .text import collapse_whitespace, strip_xml_illegal

log = logging.getLogger(__name__)

# Zones whose sites mean China Standard Time (+08:00) by `CST`; everyone else means US Central.
CHINA_ZONES = frozenset(
    {
        "Asia/Shanghai", "Asia/Chongqing", "Asia/Chungking", "Asia/Harbin", "Asia/Urumqi",
        "Asia/Kashgar", "PRC", "Asia/Macau", "Asia/Macao", "Asia/Taipei", "ROC",
    }
)  # fmt: skip
_CHINA_STANDARD = timezone(timedelta(hours=8), "CST")
_US_CENTRAL_STANDARD = timezone(timedelta(hours=-6), "CST")

# RFC 822 § 5 / RFC 5322 § 4.3 zone names (obsolete, still common in RSS). CST is separate.
_NAMED_ZONES = {
    "UT": 0, "UTC": 0, "GMT": 0, "Z": 0,
    "EST": -5, "EDT": -4, "CDT": -5, "MST": -7, "MDT": -6, "PST": -8, "PDT": -7,
}  # fmt: skip

_MONTHS = (
    "january", "february", "march", "april", "may", "june", "july", "august", "september",
    "october", "november", "december",
)  # fmt: skip

# Labels that pages and some feeds put before the date itself.
_LABEL = re.compile(
    r"^(?:(?:发布|发表|更新|修改|上传|创建)?(?:时间|日期)|(?:发布|更新|发表)于"
    r"|(?:published|posted|updated|created|last\s+(?:updated|modified))(?:\s+(?:on|at))?"
    r"|date|time)(?![a-z])\s*[:：]?\s*",
    re.IGNORECASE,
)

_ZONE = r"(?P<zone>Z|(?:GMT|UTC)?\s?[+-]\d{1,2}(?::?\d{2})?|[A-Za-z]{1,5})"
_TIME = r"(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2})(?:[.,](?P<frac>\d{1,9}))?)?"
_RFC822 = re.compile(
    rf"^(?:[A-Za-z]{{2,9}}\.?\s*,?\s*)?(?P<d>\d{{1,2}})[\s-]+(?P<mon>[A-Za-z]{{3,9}})\.?[\s-]+"
    rf"(?P<y>\d{{4}}|\d{{2}})(?:\s+{_TIME})?(?:\s*{_ZONE})?$"
)
_ISO = re.compile(
    rf"^(?P<y>\d{{4}})(?P<sep>[-/.])(?P<mon>\d{{1,2}})(?P=sep)(?P<d>\d{{1,2}})"
    rf"(?:(?:T|\s+|T\s*){_TIME})?\s*{_ZONE}?$",
    re.IGNORECASE,
)
_ISO_BASIC = re.compile(
    r"^(?P<y>\d{4})(?P<mon>\d{2})(?P<d>\d{2})T(?P<h>\d{2})(?P<mi>\d{2})(?P<s>\d{2})?"
    r"(?P<zone>Z|[+-]\d{2}(?::?\d{2})?)?$",
    re.IGNORECASE,
)
# Chinese sites often leave the year out for this year's items: 11月22日 10:20, 11-22 10:20.
_NO_YEAR = re.compile(
    r"^(?P<mon>\d{1,2})(?:月(?P<d1>\d{1,2})日\s*|[-/](?P<d2>\d{1,2})\s+(?=\d))"
    r"(?:(?P<h>\d{1,2})[:：](?P<mi>\d{2})(?:[:：](?P<s>\d{2}))?)?$"
)
_CST = re.compile(r"\bCST\b")
_MAX_LEN = 120  # no real date string is longer; dateparser is slow on long text

_DATEPARSER_LANGUAGES = ["zh", "en"]


@functools.cache
def _zoneinfo(tz: str) -> ZoneInfo:
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise NormaliseError(f"unknown time zone {tz!r}") from exc


def _zone(name: str | None, tz: str) -> tzinfo | None:
    """The tzinfo a zone designator means for a source in `tz`; None means local time.

    Raises ValueError for a designator we do not know (the string is then not strict).
    """
    if name is None:
        return None
    name = name.strip()
    upper = name.upper()
    if upper == "CST":
        return _CHINA_STANDARD if tz in CHINA_ZONES else _US_CENTRAL_STANDARD
    if upper in _NAMED_ZONES:
        return timezone(timedelta(hours=_NAMED_ZONES[upper]))
    if len(upper) == 1 and upper.isalpha() and upper != "J":
        return UTC  # RFC 5322 § 4.3: military zones are unreliable, read as -0000
    match = re.fullmatch(r"(?:GMT|UTC)?\s?([+-])(\d{1,2})(?::?(\d{2}))?", upper)
    if not match:
        raise ValueError(f"unknown zone {name!r}")
    sign = -1 if match.group(1) == "-" else 1
    hours, minutes = int(match.group(2)), int(match.group(3) or 0)
    if hours > 23 or minutes > 59:
        raise ValueError(f"zone offset out of range: {name!r}")
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def _build(fields: dict[str, str | None], year: int, month: int, tz: str) -> datetime:
    """A UTC datetime from matched fields; ValueError when they are out of range."""
    hour = int(fields.get("h") or 0)
    minute = int(fields.get("mi") or 0)
    second = min(int(fields.get("s") or 0), 59)  # a leap second reads as :59
    micro = int((fields.get("frac") or "0")[:6].ljust(6, "0"))
    day = int(fields["d"] or 0)
    extra = timedelta()
    if hour == 24 and minute == second == micro == 0:  # ISO 8601 end-of-day midnight
        hour, extra = 0, timedelta(days=1)
    zone = _zone(fields.get("zone"), tz) or _zoneinfo(tz)
    try:
        local = datetime(year, month, day, hour, minute, second, micro, tzinfo=zone) + extra
        return local.astimezone(UTC)
    except OverflowError:
        # 9999-12-31T23:00-12:00 or 0001-01-01T00:00+14:00: a valid local time whose UTC
        # instant lies outside what a datetime can hold (and no real article has).
        raise OutOfRange(f"date out of range in UTC: {year:04d}-{month:02d}-{day:02d}") from None


class OutOfRange(NormaliseError, ValueError):
    """A date whose fields are well formed but whose UTC instant no datetime can hold.

    A ValueError like every other impossible field (month 13), so `_strict`'s callers read
    it as no date; its own class only so that `parse_date` can say so in a warning.
    """


def _strict(text: str, tz: str) -> datetime | None:
    """RFC 822/1123 and ISO 8601/RFC 3339 (and `2023/11/23 10:20`); None if not one of them."""
    if match := _RFC822.match(text):
        mon = match["mon"].lower()
        month = next((i for i, m in enumerate(_MONTHS, 1) if m.startswith(mon[:3])), 0)
        if not month or not (_MONTHS[month - 1].startswith(mon) or mon == "sept"):
            return None
        year = int(match["y"])
        if len(match["y"]) == 2:  # RFC 5322 § 4.3
            year += 2000 if year < 50 else 1900
        return _build(match.groupdict(), year, month, tz)
    match = _ISO.match(text) or _ISO_BASIC.match(text)
    if match:
        return _build(match.groupdict(), int(match["y"]), int(match["mon"]), tz)
    return None


@functools.cache
def _dateparser() -> ModuleType:
    """dateparser, imported and warmed on first use (the first parse costs ~100 ms)."""
    import dateparser

    dateparser.parse("2023年11月23日 10:20", languages=_DATEPARSER_LANGUAGES)
    return dateparser


def warm_dates() -> None:
    """Load dateparser's language data now (at worker start) rather than on the first entry."""
    _dateparser()


def _natural(text: str, tz: str, now: datetime) -> datetime | None:
    """Natural-language and relative dates (2023年11月23日 10:20, 昨天 18:47, 3小时前)."""
    if tz in CHINA_ZONES:
        text = _CST.sub("+0800", text)
    local_now = now.astimezone(_zoneinfo(tz)).replace(tzinfo=None)
    settings = {
        "TIMEZONE": tz,
        "RETURN_AS_TIMEZONE_AWARE": True,
        "RELATIVE_BASE": local_now,  # naive local time: "昨天 18:47" is 18:47 in the source's zone
        "PREFER_DATES_FROM": "past",
    }
    try:
        result = _dateparser().parse(text, languages=_DATEPARSER_LANGUAGES, settings=settings)
    except Exception:  # dateparser has raised odd errors on odd input; unreadable is None
        return None
    if result is None:
        return None
    if result.tzinfo is None:
        result = result.replace(tzinfo=_zoneinfo(tz))
    try:
        return result.astimezone(UTC)
    except OverflowError:
        raise OutOfRange(f"date out of range in UTC: {text!r}") from None


def _without_year(text: str, tz: str, now: datetime) -> datetime | None:
    """`11月22日 10:20` / `11-22 10:20`: the latest such date not after (about) now."""
    match = _NO_YEAR.match(text)
    if not match:
        return None
    fields = {**match.groupdict(), "d": match["d1"] or match["d2"]}
    local_now = now.astimezone(_zoneinfo(tz))
    for year in (local_now.year, local_now.year - 1):
        try:
            result = _build(fields, year, int(match["mon"]), tz)
        except ValueError:
            continue  # e.g. 2月29日 in a non-leap year
        if result <= now + timedelta(days=1):
            return result
    return None


def clean_date_text(raw: str) -> str:
    """The raw string without control characters, extra whitespace or a leading label."""
    text = collapse_whitespace(strip_xml_illegal(raw))
    return _LABEL.sub("", text, count=1).strip() if text else text


def parse_date(raw: str | None, tz: str, *, now: datetime) -> datetime | None:
    """`raw` as a tz-aware UTC datetime, or None when it is missing or unreadable.

    `tz` is the source's IANA zone (for times without one); `now` (tz-aware) anchors
    relative forms. Raises NormaliseError for an unknown `tz` or a naive `now`.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise NormaliseError(f"`now` must be timezone-aware, got {now!r}")
    _zoneinfo(tz)  # validate even when raw is empty: a bad zone is a config error
    if raw is None:
        return None
    text = clean_date_text(raw)
    if not text or len(text) > _MAX_LEN or text.isdigit():
        return None  # a bare number is not a date we can trust dateparser to read
    try:
        return _read(text, tz, now)
    except OutOfRange as exc:
        log.debug("%s (%r); treated as no date", exc, text)  # the ingest counts these
        return None


def out_of_range(raw: str | None, tz: str, *, now: datetime) -> bool:
    """True when `raw` is a well-formed date whose UTC instant no datetime can hold.

    `parse_date` reads such a date as no date, like any unreadable one; the ingest asks
    this of the entries that ended up without a date, so that the source's warnings can
    say why (a feed's own bug its owner can fix) rather than only the log.
    """
    if raw is None:
        return False
    text = clean_date_text(raw)
    if not text or len(text) > _MAX_LEN or text.isdigit():
        return False
    try:
        _read(text, tz, now)
    except OutOfRange:
        return True
    return False


def _read(text: str, tz: str, now: datetime) -> datetime | None:
    """`parse_date` on cleaned text; raises OutOfRange for a date beyond datetime's range."""
    try:
        strict = _strict(text, tz)
    except OutOfRange:
        raise
    except ValueError:
        return None  # a well-formed string with impossible fields (month 13, zone +99)
    if strict is not None:
        return strict
    return _natural(text, tz, now) or _without_year(text, tz, now)

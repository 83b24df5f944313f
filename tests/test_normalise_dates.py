"""parse_date: every upstream date form we promise, to the exact UTC instant."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from syndicator.normalise import NormaliseError, parse_date

# 20:00 in Shanghai, 12:00 UTC: far enough from midnight that "yesterday" is unambiguous.
NOW = datetime(2023, 11, 24, 12, 0, tzinfo=UTC)
SH = "Asia/Shanghai"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "tz", "expected"),
    [
        # RFC 822 / 1123, numeric and obsolete zones
        ("Thu, 23 Nov 2023 10:20:35 +0800", SH, utc(2023, 11, 23, 2, 20, 35)),
        ("Thu, 23 Nov 2023 10:20:35 +0800", "UTC", utc(2023, 11, 23, 2, 20, 35)),
        ("Thu, 23 Nov 2023 10:20:35 GMT", SH, utc(2023, 11, 23, 10, 20, 35)),
        ("Thu, 23 Nov 2023 10:20:35 EST", SH, utc(2023, 11, 23, 15, 20, 35)),
        ("Thu, 23 Nov 2023 10:20:35 PDT", "UTC", utc(2023, 11, 23, 17, 20, 35)),
        ("23 Nov 23 10:20 UT", "UTC", utc(2023, 11, 23, 10, 20)),
        ("Thursday, 23 November 2023 10:20:35 -0130", "UTC", utc(2023, 11, 23, 11, 50, 35)),
        ("thu, 23 nov 2023 10:20:35 z", "UTC", utc(2023, 11, 23, 10, 20, 35)),
        # CST: China Standard Time for Chinese sources, US Central for everyone else
        ("Thu, 23 Nov 2023 10:20:35 CST", SH, utc(2023, 11, 23, 2, 20, 35)),
        ("Thu, 23 Nov 2023 10:20:35 CST", "Asia/Taipei", utc(2023, 11, 23, 2, 20, 35)),
        ("Thu, 23 Nov 2023 10:20:35 CST", "UTC", utc(2023, 11, 23, 16, 20, 35)),
        ("Thu, 23 Nov 2023 10:20:35 CST", "America/Chicago", utc(2023, 11, 23, 16, 20, 35)),
        # RFC 822 without a zone: the source's local time
        ("Thu, 23 Nov 2023 10:20:35", SH, utc(2023, 11, 23, 2, 20, 35)),
        # RFC 3339 / ISO 8601
        ("2023-11-23T10:20:35Z", SH, utc(2023, 11, 23, 10, 20, 35)),
        ("2023-11-23T10:20:35+08:00", "UTC", utc(2023, 11, 23, 2, 20, 35)),
        ("2023-11-23T10:20:35.250-05:00", SH, datetime(2023, 11, 23, 15, 20, 35, 250000, UTC)),
        ("20231123T102035Z", SH, utc(2023, 11, 23, 10, 20, 35)),
        ("2023-11-23T24:00:00Z", SH, utc(2023, 11, 24)),
        # naive: the source's zone (DST-aware through zoneinfo)
        ("2023-11-23T10:20:35", SH, utc(2023, 11, 23, 2, 20, 35)),
        ("2023-11-23T10:20:35", "UTC", utc(2023, 11, 23, 10, 20, 35)),
        ("2023-07-01T10:00:00", "America/New_York", utc(2023, 7, 1, 14)),
        ("2023-12-01T10:00:00", "America/New_York", utc(2023, 12, 1, 15)),
        ("2023-11-23 10:20", SH, utc(2023, 11, 23, 2, 20)),
        ("2023-11-23 10:20:35", SH, utc(2023, 11, 23, 2, 20, 35)),
        ("2023-11-23", SH, utc(2023, 11, 22, 16)),
        ("2023/11/23", SH, utc(2023, 11, 22, 16)),
        ("2023/11/23 10:20", "UTC", utc(2023, 11, 23, 10, 20)),
        # labels before the date
        ("发布时间：2023-11-23 10:20:35", SH, utc(2023, 11, 23, 2, 20, 35)),
        ("时间: 2023-11-23 10:20", SH, utc(2023, 11, 23, 2, 20)),
        ("Published: 2023-11-23T10:20:35Z", SH, utc(2023, 11, 23, 10, 20, 35)),
        ("Posted on Thu, 23 Nov 2023 10:20:35 +0000", SH, utc(2023, 11, 23, 10, 20, 35)),
        # natural language and relative forms (dateparser), relative to NOW in the source zone
        ("2023年11月23日 10:20", SH, utc(2023, 11, 23, 2, 20)),
        ("2023年11月23日", SH, utc(2023, 11, 22, 16)),
        ("昨天 18:47", SH, utc(2023, 11, 23, 10, 47)),
        ("昨天 18:47", "UTC", utc(2023, 11, 23, 18, 47)),
        ("3小时前", SH, utc(2023, 11, 24, 9)),
        ("5 minutes ago", "UTC", utc(2023, 11, 24, 11, 55)),
        ("23 November 2023", "UTC", utc(2023, 11, 23)),
        # no year: this year's date, or last year's when this year's would be in the future
        ("11月22日 10:20", SH, utc(2023, 11, 22, 2, 20)),
        ("11-22 10:20", SH, utc(2023, 11, 22, 2, 20)),
        ("12月30日", SH, utc(2022, 12, 29, 16)),
    ],
)
def test_date_forms_give_the_exact_utc_instant(raw: str, tz: str, expected: datetime) -> None:
    parsed = parse_date(raw, tz, now=NOW)
    assert parsed == expected
    assert parsed is not None and parsed.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "raw",
    [None, "", "   ", "not a date", "2023-13-45", "2023-02-30T10:00:00Z", "12345", "x" * 500,
     "Thu, 23 Foo 2023 10:20:35 GMT", "\x00\x0b"],
)  # fmt: skip
def test_unreadable_dates_are_none(raw: str | None) -> None:
    assert parse_date(raw, SH, now=NOW) is None


def test_control_characters_do_not_hide_a_date() -> None:
    assert parse_date("\x85 2023-11-23T10:20:35Z\x00", SH, now=NOW) == utc(2023, 11, 23, 10, 20, 35)


def test_now_in_another_offset_is_the_same_instant() -> None:
    now_sh = NOW.astimezone(timezone(timedelta(hours=8)))
    assert parse_date("3小时前", SH, now=now_sh) == utc(2023, 11, 24, 9)


def test_unknown_time_zone_is_a_clear_error() -> None:
    with pytest.raises(NormaliseError, match="Mars/Olympus"):
        parse_date("2023-11-23", "Mars/Olympus", now=NOW)


def test_naive_now_is_a_clear_error() -> None:
    with pytest.raises(NormaliseError, match="timezone-aware"):
        parse_date("3小时前", SH, now=datetime(2023, 11, 24, 12))

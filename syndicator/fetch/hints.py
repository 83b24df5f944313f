"""What an upstream says about when to poll it next, read off its response and its feed.

Each reader returns a `PollHint` (seconds from now, and which hint it was) or None. A
value that cannot be read — a negative or absurd max-age, an unparseable date, an unknown
`sy:updatePeriod` — is ignored, never raised: a hint is advice, and a broken one must not
cost the source its poll. HTTP headers are parsed with werkzeug's `http` helpers
(Cache-Control directives, HTTP dates in all three RFC 9110 forms), not by hand.

- `Cache-Control: max-age` (less the response's `Age`), else `Expires` less `Date` (RFC
  9111: max-age wins over Expires; `no-store`/`no-cache` give no hint);
- RSS `<ttl>` (minutes) and `sy:updatePeriod` / `sy:updateFrequency` (the period divided
  by the frequency);
- `Retry-After` (delta-seconds or an HTTP date) on a 429 or 503, capped by the caller
  (`fetch.max_retry_after`).

`strongest` picks the longest: the upstream asked for each, so honouring the longest
honours them all. The scheduler (`store/polling.py`) does the rest.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from werkzeug.datastructures import ResponseCacheControl
from werkzeug.http import parse_cache_control_header, parse_date

from syndicator.models import FeedRefresh, PollHint

MAX_HINT = 365 * 86400.0  # beyond a year a value is garbage, not advice
COOLDOWN_STATUSES = frozenset({429, 503})

SY_PERIODS = {"hourly": 3600.0, "daily": 86400.0, "weekly": 7 * 86400.0}
SY_PERIODS.update({"monthly": 30 * 86400.0, "yearly": 365 * 86400.0})


def _sane(seconds: float | None) -> float | None:
    if seconds is None or seconds != seconds or seconds <= 0 or seconds > MAX_HINT:
        return None
    return float(seconds)


def _date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        when = parse_date(value)
    except (TypeError, ValueError, OverflowError):
        return None
    if when is None:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _int(value: str | None) -> int | None:
    text = (value or "").strip()
    if not text.isascii() or not text.isdigit() or len(text) > 12:
        return None
    return int(text)


def header_hint(headers: Mapping[str, str], now: datetime | None = None) -> PollHint | None:
    """`Cache-Control: max-age` (minus `Age`), else `Expires` (minus `Date`, else `now`).

    `headers` have lowercase names (as `FetchResult.headers`)."""
    control = headers.get("cache-control")
    if control:
        try:
            parsed = parse_cache_control_header(control, cls=ResponseCacheControl)
            no_store, no_cache, max_age = parsed.no_store, parsed.no_cache, parsed.max_age
        except (TypeError, ValueError):
            no_store, no_cache, max_age = False, False, None
        if no_store or no_cache:
            return None
        if isinstance(max_age, int):
            age = _int(headers.get("age")) or 0
            seconds = _sane(max_age - age)
            return PollHint(seconds, "Cache-Control max-age") if seconds else None
    expires = _date(headers.get("expires"))
    if expires is not None:
        base = _date(headers.get("date")) or now or datetime.now(UTC)
        seconds = _sane((expires - base).total_seconds())
        return PollHint(seconds, "Expires") if seconds else None
    return None


def feed_hint(refresh: FeedRefresh) -> PollHint | None:
    """The feed's own `<ttl>` (minutes), or its `sy:updatePeriod` / `sy:updateFrequency`."""
    ttl = _int(refresh.ttl)
    ttl_seconds = _sane(ttl * 60.0) if ttl is not None else None
    sy_seconds = None
    if refresh.update_period is not None or refresh.update_frequency is not None:
        period = SY_PERIODS.get((refresh.update_period or "daily").strip().lower())
        frequency = _int(refresh.update_frequency) if refresh.update_frequency is not None else 1
        if period is not None and frequency:
            sy_seconds = _sane(period / frequency)
    return strongest(
        PollHint(ttl_seconds, "RSS <ttl>") if ttl_seconds else None,
        PollHint(sy_seconds, "sy:updatePeriod") if sy_seconds else None,
    )


def parse_retry_after(
    value: str | None, date_header: str | None = None, *, cap: float = 86400.0
) -> float | None:
    """Retry-After as seconds (delta-seconds or HTTP date), clamped to [0, `cap`].

    An HTTP date is measured from the response's own Date header when there is one, so a
    clock difference between us and the upstream does not distort the wait."""
    if not value:
        return None
    value = value.strip()
    delta = _int(value)
    if delta is not None:
        seconds = float(delta)
    else:
        when = _date(value)
        if when is None:
            return None
        seconds = (when - (_date(date_header) or datetime.now(UTC))).total_seconds()
    return min(max(seconds, 0.0), cap)


def retry_hint(status: int | None, retry_after: float | None) -> PollHint | None:
    """A 429's or 503's Retry-After as a hint (already capped by the fetcher)."""
    if status not in COOLDOWN_STATUSES or not retry_after or retry_after <= 0:
        return None
    return PollHint(float(retry_after), f"Retry-After (HTTP {status})")


def strongest(*hints: PollHint | None) -> PollHint | None:
    """The longest of the hints given (None when there is none)."""
    present = [h for h in hints if h is not None]
    return max(present, key=lambda h: h.seconds) if present else None

"""Parsers for single configuration values: durations, sizes, slugs, URLs, CIDRs, zones.

Each function takes the raw TOML (or environment) value and returns the typed value, or
raises `BadValue` with a one-line problem. They know nothing about files or keys: the
loader in `config.py` adds those, so every message has the same `path: key: problem` shape.
"""

from __future__ import annotations

import contextlib
import difflib
import ipaddress
import re
from collections.abc import Callable, Mapping
from datetime import timedelta
from pathlib import Path
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cssselect import GenericTranslator, SelectorError

from syndicator.errors import SyndicatorError
from syndicator.models import Category, CategoryRule


class BadValue(SyndicatorError, ValueError):
    """A value is wrong; the message says how, without naming the file or the key."""


def type_name(value: object) -> str:
    """The TOML name of a value's type, for messages a config author understands."""
    names = {bool: "boolean", int: "integer", float: "float", str: "string"}
    names.update({list: "array", dict: "table"})
    return names.get(type(value), type(value).__name__)


def expect_str(value: object) -> str:
    if not isinstance(value, str):
        raise BadValue(f"expected a string, got {type_name(value)} {value!r}")
    return value


def expect_nonempty_str(value: object) -> str:
    text = expect_str(value)
    if not text.strip():
        raise BadValue("must not be empty")
    return text


def expect_bool(value: object) -> bool:
    if not isinstance(value, bool):
        raise BadValue(f"expected true or false, got {type_name(value)} {value!r}")
    return value


def expect_int(value: object, *, minimum: int = 1) -> int:
    """An integer ≥ `minimum` (bool is not an integer here, although Python says so)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadValue(f"expected an integer, got {type_name(value)} {value!r}")
    if value < minimum:
        what = "a positive integer" if minimum == 1 else f"an integer ≥ {minimum}"
        raise BadValue(f"must be {what}, got {value}")
    return value


def env_int(parse: Callable[[object], int]) -> Callable[[object], int]:
    """Wrap an integer parser for environment variables, whose values arrive as text."""

    def parse_text(value: object) -> int:
        if isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d+\s*", value):
            value = int(value)
        return parse(value)

    return parse_text


def expect_port(value: object) -> int:
    port = expect_int(value)
    if port > 65535:
        raise BadValue(f"must be a port number between 1 and 65535, got {port}")
    return port


_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"(?:\d+(?:\.\d+)?(?:ms|s|m|h|d|w))+")
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")
DURATION_HINT = 'use seconds or a string such as "90s", "10m", "1h30m", "7d", "2w"'


def parse_duration(value: object) -> timedelta:
    """Seconds (int or float) or a string of number+unit parts: "90s", "1h30m", "2w"."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise BadValue(f"expected a duration, got {type_name(value)} {value!r} ({DURATION_HINT})")
    if isinstance(value, str):
        text = value.strip().replace(" ", "")
        if re.fullmatch(r"\d+(?:\.\d+)?", text):
            seconds = float(text)
        elif _DURATION.fullmatch(text):
            seconds = sum(float(n) * _UNIT_SECONDS[u] for n, u in _DURATION_PART.findall(text))
        else:
            raise BadValue(f"bad duration {value!r} ({DURATION_HINT})")
    else:
        seconds = float(value)
    if not seconds > 0:
        raise BadValue(f"duration must be positive, got {value!r}")
    return timedelta(seconds=seconds)


def parse_whole_seconds(value: object) -> int:
    """A duration that must come to whole seconds (the scheduler ticks in seconds)."""
    seconds = parse_duration(value).total_seconds()
    if seconds != int(seconds):
        raise BadValue(f"must be a whole number of seconds, got {value!r}")
    return int(seconds)


_SIZE_FACTORS = {"": 1, "b": 1, "kb": 1024, "kib": 1024, "mb": 1024**2, "mib": 1024**2}
_SIZE_FACTORS.update({"gb": 1024**3, "gib": 1024**3})


def parse_size(value: object) -> int:
    """Bytes as an integer, or a string "512KB" / "10MB" / "1GB" (binary multiples)."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise BadValue(f"expected a size, got {type_name(value)} {value!r}")
    if isinstance(value, int):
        size = value
    else:
        match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([a-zA-Z]*)", value.strip())
        if not match or match.group(2).lower() not in _SIZE_FACTORS:
            raise BadValue(f'bad size {value!r} (use bytes or a string such as "512KB", "10MB")')
        size = int(float(match.group(1)) * _SIZE_FACTORS[match.group(2).lower()])
    if size <= 0:
        raise BadValue(f"size must be positive, got {value!r}")
    return size


MAX_SLUG_DEPTH = 8
_SEGMENT = re.compile(r"[a-z0-9_-]+")


def parse_slug(value: object) -> str:
    slug = expect_str(value)
    segments = slug.split("/")
    if not all(_SEGMENT.fullmatch(s) for s in segments) or len(segments) > MAX_SLUG_DEPTH:
        raise BadValue(
            f"bad slug {slug!r} (lowercase segments of a-z, 0-9, '-', '_' joined by '/', "
            f"at most {MAX_SLUG_DEPTH} deep)"
        )
    return slug


def derived_title(slug: str) -> str:
    """A readable title for an implied parent category: `machine-learning` → `Machine learning`."""
    words = slug.rsplit("/", 1)[-1].replace("-", " ").replace("_", " ")
    return words[:1].upper() + words[1:]


_SOURCE_ID = re.compile(r"[a-z0-9][a-z0-9._-]*")


def parse_source_id(value: object) -> str:
    ident = expect_str(value)
    if not _SOURCE_ID.fullmatch(ident):
        raise BadValue(
            f"bad source id {ident!r} (lowercase letters, digits, '.', '_', '-'; "
            "starting with a letter or digit)"
        )
    return ident


_LANGUAGE = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*")


def parse_language(value: object) -> str:
    lang = expect_str(value)
    if not _LANGUAGE.fullmatch(lang):
        raise BadValue(f"bad language tag {lang!r} (use e.g. 'en', 'zh-CN')")
    return lang


def parse_timezone(value: object) -> str:
    name = expect_nonempty_str(value)
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise BadValue(f"unknown time zone {name!r} (use an IANA name such as 'Asia/Shanghai')") from None
    return name


def _check_http_url(url: str) -> None:
    """Raise unless `url` is an absolute http(s) URL with a host and a valid port."""
    if any(c.isspace() for c in url):
        raise BadValue(f"URL {url!r} contains whitespace")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise BadValue(f"bad URL {url!r} (expected http://, https:// or file:)")
    if not parts.hostname:
        raise BadValue(f"URL {url!r} has no host")
    try:
        parts.port  # noqa: B018 - raises ValueError for a port out of range or not a number
    except ValueError:
        raise BadValue(f"URL {url!r} has a bad port") from None


def parse_source_url(value: object, base_dir: Path) -> str:
    """An http(s) URL as written, or a `file:` path turned into an absolute `file:///` URI.

    A relative `file:` path is resolved against the config file's directory, so the same
    config works from any current directory. The file must exist: a typo here would
    otherwise surface only as a failing fetch long after start.
    """
    url = expect_nonempty_str(value).strip()
    if not url.lower().startswith("file:"):
        _check_http_url(url)
        return url
    rest = url[5:]
    if rest.startswith("//"):  # file://host/path: only the local host makes sense
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost"):
            raise BadValue(f"file: URL {url!r} names a remote host {parts.netloc!r}")
        rest = parts.path
    if not rest:
        raise BadValue(f"file: URL {url!r} has no path")
    target = (base_dir / unquote(rest)).resolve()
    if not target.is_file():
        raise BadValue(f"file: URL {url!r} points at {str(target)!r}, which is not a file")
    return target.as_uri()


def parse_public_url(value: object) -> str | None:
    """The site's external base URL, always ending in "/" so joins behave; "" means none."""
    url = expect_str(value).strip()
    if not url:
        return None
    _check_http_url(url)
    parts = urlsplit(url)
    if parts.query or parts.fragment:
        raise BadValue(f"public URL {url!r} must not have a query or fragment")
    return url if url.endswith("/") else url + "/"


def parse_redis_url(value: object) -> str | None:
    """A redis://, rediss:// or unix:// URL; "" means the embedded server."""
    url = expect_str(value).strip()
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss", "unix"):
        raise BadValue(
            f"unsupported scheme in {url!r} (use redis://, rediss:// or unix://, "
            "or leave empty for the embedded server)"
        )
    if parts.scheme == "unix" and not parts.path:
        raise BadValue(f"unix:// URL {url!r} has no socket path")
    try:
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        raise BadValue(f"redis URL {url!r} has a bad port") from None
    return url


def parse_cidr(value: object) -> str:
    text = expect_str(value).strip()
    try:
        return str(ipaddress.ip_network(text, strict=True))
    except ValueError as err:
        hint = ""
        with contextlib.suppress(ValueError):
            hint = f" (did you mean {ipaddress.ip_network(text, strict=False)}?)"
        raise BadValue(f"bad CIDR {text!r}: {err}{hint}") from None


def parse_user_agent(value: object) -> str:
    agent = expect_nonempty_str(value)
    if any(c in agent for c in "\r\n\x00"):
        raise BadValue("must not contain line breaks or NUL (it is sent as an HTTP header)")
    return agent


def parse_known_slug(value: object, categories: Mapping[str, Category]) -> str:
    slug = expect_str(value)
    if slug not in categories:
        close = difflib.get_close_matches(slug, list(categories), n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"known: {', '.join(categories)}"
        raise BadValue(f"unknown category {slug!r} ({hint})")
    return slug


def parse_category_rule(path: str, slug: object, categories: Mapping[str, Category]) -> CategoryRule:
    """One `category_map` entry: an upstream path (`情感/故事`, or `情感/*` for a prefix)."""
    prefix = path.endswith("/*")
    segments = tuple(part.strip() for part in (path[:-2] if prefix else path).split("/"))
    if not segments or any(not part for part in segments):
        raise BadValue(f"upstream path {path!r} has an empty segment")
    return CategoryRule(segments, parse_known_slug(slug, categories), "prefix" if prefix else "exact")


def parse_css_selector(value: object) -> str:
    """A CSS selector, compiled now so a typo stops start-up rather than every extraction."""
    selector = expect_nonempty_str(value)
    try:
        GenericTranslator().css_to_xpath(selector)
    except SelectorError as err:
        raise BadValue(f"invalid CSS selector {selector!r}: {err}") from None
    return selector

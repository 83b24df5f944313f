"""The value types pydantic lacks, as `Annotated` types: durations, sizes, CIDRs, zones, URLs.

The config records of `syndicator.models` use them as their field types, and the config
schema validates the TOML file with them; constructing a record in Python checks nothing.
This module imports no project code, so `models` can import it without a circle.

Each validator raises `ValueError` with a one-line problem that names neither the file
nor the key; `syndicator.config.errors` adds those, so every message has the
`path: key: problem` shape.
Where the TOML type is fixed (a string), pydantic checks it first and the validator runs
after; durations and sizes accept a number or a string, so they check the type themselves.
"""

from __future__ import annotations

import codecs
import contextlib
import ipaddress
import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Annotated
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import regex
from cssselect import GenericTranslator, SelectorError
from pydantic import AfterValidator, BeforeValidator, Field, PlainValidator, ValidationInfo


def type_name(value: object) -> str:
    """The TOML name of a value's type, for messages a config author understands."""
    names = {bool: "boolean", int: "integer", float: "float", str: "string", list: "array", dict: "table"}
    return names.get(type(value), type(value).__name__)


def _not_empty(text: str) -> str:
    if not text.strip():
        raise ValueError("must not be empty")
    return text


def _port(port: int) -> int:
    if port > 65535:
        raise ValueError(f"must be a port number between 1 and 65535, got {port}")
    return port


NonEmptyStr = Annotated[str, AfterValidator(_not_empty)]
PositiveInt = Annotated[int, Field(ge=1)]
NonNegativeInt = Annotated[int, Field(ge=0)]
Share = Annotated[float, Field(gt=0, le=1)]  # a fraction of a whole: (0, 1]
Port = Annotated[int, Field(ge=1), AfterValidator(_port)]


def one_of(what: str, choices: tuple[str, ...]) -> BeforeValidator:
    """For a `Literal`: a string not in `choices` is an unknown `what`, named with the choices.

    (pydantic's own message would say "Input should be 'feed', 'page' ...".)
    """

    def check(value: object) -> object:
        if not isinstance(value, str):
            raise ValueError(f"expected a string, got {type_name(value)} {value!r}")
        if value not in choices:
            raise ValueError(f"unknown {what} {value!r} (supported: {', '.join(choices)})")
        return value

    return BeforeValidator(check)


# ---------------------------------------------------------------- durations and sizes

_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"(?:\d+(?:\.\d+)?(?:ms|s|m|h|d|w))+")
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")
_DURATION_HINT = 'use seconds or a string such as "90s", "10m", "1h30m", "7d", "2w"'


def format_duration(seconds: float) -> str:
    """`1h30m`, `45s`, `2d3h`: a duration in the configuration's own spelling (the inverse
    of `parse_duration`, to two units), for what health and errors show."""
    total = round(seconds)
    if total <= 0:
        return "0s"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if total >= size:
            parts.append(f"{total // size}{unit}")
            total %= size
    return "".join(parts[:2])


def parse_duration(value: object) -> timedelta:
    """Seconds (int or float) or a string of number+unit parts: "90s", "1h30m", "2w"."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"expected a duration, got {type_name(value)} {value!r} ({_DURATION_HINT})")
    if isinstance(value, str):
        text = value.strip().replace(" ", "")
        if re.fullmatch(r"\d+(?:\.\d+)?", text):
            seconds = float(text)
        elif _DURATION.fullmatch(text):
            seconds = sum(float(n) * _UNIT_SECONDS[u] for n, u in _DURATION_PART.findall(text))
        else:
            raise ValueError(f"bad duration {value!r} ({_DURATION_HINT})")
    else:
        seconds = float(value)
    if not seconds > 0:
        raise ValueError(f"duration must be positive, got {value!r}")
    return timedelta(seconds=seconds)


def _seconds(value: object) -> float:
    return parse_duration(value).total_seconds()


def _whole_seconds(value: object) -> int:
    """The scheduler ticks in whole seconds, so "1500ms" is a mistake, not 1 s."""
    seconds = _seconds(value)
    if seconds != int(seconds):
        raise ValueError(f"must be a whole number of seconds, got {value!r}")
    return int(seconds)


_SIZE_FACTORS = {"": 1, "b": 1, "kb": 1024, "kib": 1024, "mb": 1024**2, "mib": 1024**2}
_SIZE_FACTORS.update({"gb": 1024**3, "gib": 1024**3})


def _size(value: object) -> int:
    """Bytes as an integer, or a string "512KB" / "10MB" / "1GB" (binary multiples)."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"expected a size, got {type_name(value)} {value!r}")
    if isinstance(value, int):
        size = value
    else:
        match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([a-zA-Z]*)", value.strip())
        if not match or match.group(2).lower() not in _SIZE_FACTORS:
            raise ValueError(f'bad size {value!r} (use bytes or a string such as "512KB", "10MB")')
        size = int(float(match.group(1)) * _SIZE_FACTORS[match.group(2).lower()])
    if size <= 0:
        raise ValueError(f"size must be positive, got {value!r}")
    return size


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
Seconds = Annotated[float, BeforeValidator(_seconds)]
WholeSeconds = Annotated[int, BeforeValidator(_whole_seconds)]
Size = Annotated[int, BeforeValidator(_size)]


# ---------------------------------------------------------------- names


def _matching(regex: str, problem: str) -> AfterValidator:
    """A string matching `regex` whole; `problem` is formatted with the bad value."""
    compiled = re.compile(regex)

    def check(text: str) -> str:
        if not compiled.fullmatch(text):
            raise ValueError(problem.format(text))
        return text

    return AfterValidator(check)


MAX_SLUG_DEPTH = 8
_SLUG_PROBLEM = (
    f"bad slug {{!r}} (lowercase segments of a-z, 0-9, '-', '_' joined by '/', at most {MAX_SLUG_DEPTH} deep)"
)
_ID_PROBLEM = "bad source id {!r} (lowercase letters, digits, '.', '_', '-'; starting with a letter or digit)"
_LANGUAGE_PROBLEM = "bad language tag {!r} (use e.g. 'en', 'zh-CN')"

Slug = Annotated[str, _matching(rf"[a-z0-9_-]+(?:/[a-z0-9_-]+){{0,{MAX_SLUG_DEPTH - 1}}}", _SLUG_PROBLEM)]
SourceId = Annotated[str, _matching(r"[a-z0-9][a-z0-9._-]*", _ID_PROBLEM)]
Language = Annotated[str, _matching(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*", _LANGUAGE_PROBLEM)]


def _timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r} (use an IANA name such as 'Asia/Shanghai')") from None
    return name


TimeZone = Annotated[str, AfterValidator(_not_empty), AfterValidator(_timezone)]


def _cidr(text: str) -> str:
    text = text.strip()
    try:
        return str(ipaddress.ip_network(text, strict=True))
    except ValueError as err:
        hint = ""
        with contextlib.suppress(ValueError):
            hint = f" (did you mean {ipaddress.ip_network(text, strict=False)}?)"
        raise ValueError(f"bad CIDR {text!r}: {err}{hint}") from None


Cidr = Annotated[str, AfterValidator(_cidr)]


def _header_safe(agent: str) -> str:
    if any(c in agent for c in "\r\n\x00"):
        raise ValueError("must not contain line breaks or NUL (it is sent as an HTTP header)")
    return agent


UserAgent = Annotated[str, AfterValidator(_not_empty), AfterValidator(_header_safe)]


def _css_selector(selector: str) -> str:
    """Compiled now, so a typo stops start-up rather than every extraction."""
    try:
        GenericTranslator().css_to_xpath(selector)
    except SelectorError as err:
        raise ValueError(f"invalid CSS selector {selector!r}: {err}") from None
    return selector


CssSelector = Annotated[str, AfterValidator(_not_empty), AfterValidator(_css_selector)]


MAX_REGEX_CHARS = 1000


@dataclass(frozen=True)
class CompiledRegex:
    """A regular expression of the config, compiled once when the file is loaded.

    Compiled with the `regex` module, whose matching takes a `timeout=`: a pattern that
    backtracks catastrophically on some article costs at most that long, where the
    standard `re` would hold the worker for minutes. Two records compare by the text.
    """

    text: str
    compiled: regex.Pattern[str] = field(compare=False, repr=False)

    @classmethod
    def of(cls, text: str) -> CompiledRegex:
        """Compile `text`; ValueError with the regex module's own reason when it is bad."""
        try:
            return cls(text, regex.compile(text))
        except (regex.error, ValueError, OverflowError, RecursionError) as err:
            raise ValueError(f"bad regular expression {text!r}: {err}") from None


def _regex(value: object) -> CompiledRegex:
    """A string compiled now: a typo stops start-up (naming the key), not every ingest."""
    if isinstance(value, CompiledRegex):
        return value
    if not isinstance(value, str):
        raise ValueError(f"expected a string (a regular expression), got {type_name(value)} {value!r}")
    if not value:
        raise ValueError("must not be empty (an empty pattern matches every article)")
    if len(value) > MAX_REGEX_CHARS:
        raise ValueError(f"at most {MAX_REGEX_CHARS} characters, got {len(value)}")
    return CompiledRegex.of(value)


Regex = Annotated[CompiledRegex, PlainValidator(_regex)]


# ---------------------------------------------------------------- URLs


def _check_http_url(url: str) -> None:
    """Raise unless `url` is an absolute http(s) URL with a host and a valid port."""
    if any(c.isspace() for c in url):
        raise ValueError(f"URL {url!r} contains whitespace")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"bad URL {url!r} (expected http://, https:// or file:)")
    if not parts.hostname:
        raise ValueError(f"URL {url!r} has no host")
    try:
        parts.port  # noqa: B018 - raises ValueError for a port out of range or not a number
    except ValueError:
        raise ValueError(f"URL {url!r} has a bad port") from None


def _source_url(url: str, info: ValidationInfo) -> str:
    """An http(s) URL as written, or a `file:` path turned into an absolute `file:///` URI.

    A relative `file:` path is resolved against the config file's directory (the
    validation context's `base_dir`), so the same config works from any current
    directory. The file must exist: a typo here would otherwise surface only as a failing
    fetch long after start.
    """
    url = url.strip()
    if not url.lower().startswith("file:"):
        _check_http_url(url)
        return url
    rest = url[5:]
    if rest.startswith("//"):  # file://host/path: only the local host makes sense
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost"):
            raise ValueError(f"file: URL {url!r} names a remote host {parts.netloc!r}")
        rest = parts.path
    if not rest:
        raise ValueError(f"file: URL {url!r} has no path")
    base_dir: Path = (info.context or {}).get("base_dir", Path.cwd())
    target = (base_dir / unquote(rest)).resolve()
    if not target.is_file():
        raise ValueError(f"file: URL {url!r} points at {str(target)!r}, which is not a file")
    return target.as_uri()


def _public_url(url: str | None) -> str | None:
    """The site's external base URL, always ending in "/" so joins behave; "" means none."""
    url = (url or "").strip()
    if not url:
        return None
    _check_http_url(url)
    parts = urlsplit(url)
    if parts.query or parts.fragment:
        raise ValueError(f"public URL {url!r} must not have a query or fragment")
    return url if url.endswith("/") else url + "/"


SENTINEL_SCHEME = "redis+sentinel"


@dataclass(frozen=True)
class SentinelUrl:
    """The parts of a `redis+sentinel://` URL."""

    sentinels: list[tuple[str, int]]
    master: str
    db: int = 0
    password: str | None = None


def _servers(url: str, scheme: str, what: str) -> tuple[list[tuple[str, int]], str | None, str]:
    """The `host:port[,host:port…]` list, the password and the path of a `scheme://` URL
    that names several servers (sentinels, cluster nodes). Parsed by hand: a
    comma-separated host list is not a netloc `urlsplit` can read."""
    rest = url.strip()[len(scheme) + 3 :]
    netloc, _, path = rest.partition("/")
    password = None
    if "@" in netloc:
        userinfo, _, netloc = netloc.rpartition("@")
        password = unquote(userinfo.partition(":")[2]) or None
    servers: list[tuple[str, int]] = []
    for hostport in netloc.split(",") if netloc else []:
        host, _, port = hostport.strip().rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"{what} URL {mask_url(url)!r}: {hostport!r} is not host:port")
        servers.append((host.strip("[]"), int(port)))
    return servers, password, path


def parse_sentinel_url(url: str) -> SentinelUrl:
    """`redis+sentinel://[:password@]host:port[,host:port…]/master[/db]` → its parts."""
    sentinels, password, path = _servers(url, SENTINEL_SCHEME, "sentinel")
    if not sentinels:
        raise ValueError(f"sentinel URL {mask_url(url)!r} names no sentinel (host:port)")
    master, _, db = path.strip("/").partition("/")
    if not master:
        raise ValueError(f"sentinel URL {mask_url(url)!r} names no master group (…/mymaster)")
    if db and not db.isdigit():
        raise ValueError(f"sentinel URL {mask_url(url)!r}: database {db!r} is not a number")
    return SentinelUrl(sentinels, master, int(db or 0), password)


def is_sentinel(url: str) -> bool:
    return url.strip().lower().startswith(SENTINEL_SCHEME + "://")


CLUSTER_SCHEME = "redis+cluster"


@dataclass(frozen=True)
class ClusterUrl:
    """The parts of a `redis+cluster://` URL: some of the cluster's nodes (the client
    learns the rest from them) and the password."""

    nodes: list[tuple[str, int]]
    password: str | None = None


def parse_cluster_url(url: str) -> ClusterUrl:
    """`redis+cluster://[:password@]host:port[,host:port…]` → its parts (no database: a
    cluster has only database 0)."""
    nodes, password, path = _servers(url, CLUSTER_SCHEME, "cluster")
    if path.strip("/") not in ("", "0"):
        raise ValueError(f"cluster URL {mask_url(url)!r}: a Redis Cluster has no database {path!r}")
    if not nodes:
        raise ValueError(f"cluster URL {mask_url(url)!r} names no node (host:port)")
    return ClusterUrl(nodes, password)


def is_cluster(url: str) -> bool:
    return url.strip().lower().startswith(CLUSTER_SCHEME + "://")


def mask_url(url: str) -> str:
    """`url` with its password replaced by `***`, for messages and logs."""
    scheme, sep, rest = url.partition("://")
    netloc, slash, path = rest.partition("/")
    if "@" not in netloc:
        return url
    userinfo, _, hosts = netloc.rpartition("@")
    user, colon, _password = userinfo.partition(":")
    masked = f"{user}:***" if colon else "***"
    return f"{scheme}{sep}{masked}@{hosts}{slash}{path}"


def _redis_url(url: str | None) -> str | None:
    """A redis://, rediss://, unix://, redis+sentinel:// or redis+cluster:// URL; "" means
    the embedded server."""
    url = (url or "").strip()
    if not url:
        return None
    if is_sentinel(url):
        parse_sentinel_url(url)
        return url
    if is_cluster(url):
        parse_cluster_url(url)
        return url
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss", "unix"):
        raise ValueError(
            f"unsupported scheme in {mask_url(url)!r} (use redis://, rediss://, unix:// or "
            "redis+sentinel://host:26379,host2:26379/mymaster, or leave empty for the embedded server)"
        )
    if parts.scheme == "unix" and not parts.path:
        raise ValueError(f"unix:// URL {url!r} has no socket path")
    try:
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        raise ValueError(f"redis URL {url!r} has a bad port") from None
    return url


SourceUrl = Annotated[str, AfterValidator(_not_empty), AfterValidator(_source_url)]
PublicUrl = Annotated[str | None, AfterValidator(_public_url)]
RedisUrl = Annotated[str | None, AfterValidator(_redis_url)]


# ---------------------------------------------------------------- request headers, encodings

# Headers the fetcher owns: conditional GET, decompression (the size limit is counted after
# it), the connection and the message framing. A source that set them would break those.
MANAGED_HEADERS = frozenset(
    {
        "host",
        "content-length",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "te",
        "upgrade",
        "trailer",
        "accept-encoding",
        "if-none-match",
        "if-modified-since",
        "proxy-authorization",
    }
)
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # an RFC 9110 token


def _headers(value: object) -> tuple[tuple[str, str], ...]:
    """A TOML table of header name → value as a tuple of (name, value) pairs.

    Names are RFC 9110 tokens, unique ignoring case, and not one the fetcher manages;
    values are strings without line breaks or NUL. No message ever quotes a value: it may
    be a cookie or a token.
    """
    if isinstance(value, tuple):  # already pairs (a record built in Python, re-validated)
        value = dict(value)
    if not isinstance(value, dict):
        raise ValueError(f'expected a table of header name = "value", got {type_name(value)}')
    pairs: list[tuple[str, str]] = []
    seen: set[str] = set()
    for name, text in value.items():
        if not isinstance(name, str) or not _HEADER_NAME.fullmatch(name):
            raise ValueError(f"bad header name {name!r} (letters, digits and !#$%&'*+.^_`|~-)")
        if name.lower() in MANAGED_HEADERS:
            raise ValueError(f"header {name!r} is set by the fetcher itself and cannot be configured")
        if name.lower() in seen:
            raise ValueError(f"header {name!r} is given twice (names ignore case)")
        if not isinstance(text, str):
            raise ValueError(f"header {name!r}: expected a string value, got {type_name(text)}")
        if any(c in text for c in "\r\n\x00"):
            raise ValueError(f"header {name!r}: the value must not contain line breaks or NUL")
        seen.add(name.lower())
        pairs.append((name, text))
    return tuple(pairs)


Headers = Annotated[tuple[tuple[str, str], ...], BeforeValidator(_headers)]


def _encoding(label: str) -> str:
    try:
        codecs.lookup(label.strip())
    except LookupError:
        raise ValueError(
            f"unknown encoding {label!r} (use a label such as 'gbk', 'big5', 'shift_jis')"
        ) from None
    return label.strip()


Encoding = Annotated[str, AfterValidator(_not_empty), AfterValidator(_encoding)]

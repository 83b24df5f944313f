"""Log output: one JSON object per line for machines, human lines on a terminal; the access log.

`configure_output(fmt)` installs the one stderr handler every logger of the process writes
through. `fmt` is `json`, `human` or `auto` (the default: JSON when stderr is not a
terminal — a container, a service manager, a pipe — human lines on one). The command
line takes it from `--log-format` or `SYNDICATOR_LOG_FORMAT`.

A JSON line has `time` (UTC, ISO 8601), `level`, `logger` and `message`, then the
attributes a record was given with `extra=` by the conventions every module follows:
`event` (a short snake_case name), `source_id`, `run_id`, `url`, `outcome` and `duration`
(seconds), and the access log's `method`, `path`, `status`, `remote`, `bytes`,
`user_agent`; a traceback goes in `exception`. Secrets in URLs are redacted in both formats,
in `url` and wherever a URL appears in the message (`syndicator.redact`).

The access log (web processes, on unless `--no-access-log`) goes through a queue: the
request handler only appends the request's fields to a list that is put on an in-memory
queue every 50 ms, and a `QueueListener` thread makes the records, formats and writes
them, so a slow or blocked stderr never stalls the event loop serving feeds.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import queue
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from json.encoder import encode_basestring as _json_string  # what _JSON does to a str (C)
from logging.handlers import QueueHandler, QueueListener
from time import time as _now
from typing import Any, Literal

from aiohttp.abc import AbstractAccessLogger
from aiohttp.web import BaseRequest, StreamResponse

from syndicator.redact import redact_text, redact_url

LogFormat = Literal["auto", "json", "human"]
FORMATS: tuple[str, ...] = ("auto", "json", "human")
FORMAT_ENV = "SYNDICATOR_LOG_FORMAT"
HUMAN_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
ACCESS_LOGGER = "syndicator.access"

# The `extra=` attributes a JSON line carries as keys, in this order.
CONTRACT_KEYS = ("event", "source_id", "run_id", "url", "outcome", "duration")
ACCESS_KEYS = ("method", "path", "status", "remote", "bytes", "user_agent")
EXTRA_KEYS = CONTRACT_KEYS + ACCESS_KEYS


class _RedactingFormatter(logging.Formatter):
    def formatMessage(self, record: logging.LogRecord) -> str:
        return redact_text(super().formatMessage(record))

    def formatException(self, ei: Any) -> str:
        return redact_text(super().formatException(ei))


class HumanFormatter(_RedactingFormatter):
    """The terminal's lines: `time LEVEL logger: message` (the format before JSON logs)."""

    def __init__(self) -> None:
        super().__init__(HUMAN_FORMAT)


class JsonFormatter(_RedactingFormatter):
    """One JSON object per record, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        entry = self.entry(
            record.created, record.levelname, record.name, record.getMessage(), record.__dict__
        )
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = redact_text(record.exc_text)
        if record.stack_info:
            entry["stack"] = record.stack_info
        return _JSON.encode(entry)

    def entry(
        self, created: float, level: str, name: str, message: str, extra: Mapping[str, Any]
    ) -> dict[str, Any]:
        """A line's object before exception and stack: what a record's attributes give, and
        what the access log's fast path (`AccessListener`) gives without making a record."""
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds"),
            "level": level,
            "logger": name,
            "message": redact_text(message),
        }
        for key in EXTRA_KEYS:
            value = extra.get(key)
            if value is None:
                continue
            if key == "url":
                value = redact_url(str(value))
            elif key == "duration":
                value = round(float(value), 6)
            elif not isinstance(value, _PLAIN):
                value = str(value)
            entry[key] = value
        return entry

    def access_line(self, logger: str, created: float, fields: AccessFields) -> str:
        """What `format` writes for the access record of `fields`, byte for byte (a test
        compares them), without making the record or the dict: the access log writes one
        line per request, the most of any log, so its line is assembled directly.

        Only the time and the duration differ between two polls of the same URL by the
        same client, so everything else of a line is made once per (logger, fields
        without the duration) and kept (`_ACCESS_PARTS`, bounded)."""
        remote, method, path, status, size, duration, user_agent = fields
        key = (logger, remote, method, path, status, size, user_agent)
        head, message_start, tail = _ACCESS_PARTS.get(key) or _access_parts(key)
        if message_start is None:  # a URL in the message: redacted as a whole, every time
            message = _json_string(redact_text(access_message(fields)))
        else:
            message = f'{message_start} {duration * 1000:.1f}ms"'
        return (
            f'{{"time": "{self.utc_millis(created)}", {head}"message": {message}, '
            f'"event": "http_request", "outcome": "{status:d}", '
            f'"duration": {round(float(duration), 6)!r}, {tail}'
        )

    _second: tuple[int, str] = (-1, "")  # the last whole second `utc_millis` wrote, and its text

    def utc_millis(self, created: float) -> str:
        """`datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")`, with
        the date and time of day made once a second (most of that call's cost), the
        microseconds rounded half-even as `fromtimestamp` rounds them."""
        seconds = math.floor(created)
        micros = round((created - seconds) * 1e6)
        if micros >= 1_000_000:
            seconds, micros = seconds + 1, micros - 1_000_000
        held, day_and_time = self._second
        if held != seconds:
            day_and_time = datetime.fromtimestamp(seconds, UTC).isoformat()[:19]
            self._second = (seconds, day_and_time)
        return f"{day_and_time}.{micros // 1000:03d}+00:00"


_JSON = json.JSONEncoder(ensure_ascii=False, default=str)  # what json.dumps(…, these) uses

# (logger, remote, method, path, status, bytes, user agent) → the made parts of its access
# line; cleared when full (distinct paths and clients are few where the log is busiest).
_AccessKey = tuple[str, str, str, str, int, int, str]
_ACCESS_PARTS: dict[_AccessKey, tuple[str, str | None, str]] = {}
_ACCESS_PARTS_MAX = 4096


def _access_parts(key: _AccessKey) -> tuple[str, str | None, str]:
    """The parts of an access line that `key` decides: before the message; the message up
    to its duration (JSON-escaped, without the closing quote: the duration added after it
    is digits, '.', and 'ms', which JSON escaping leaves alone), None when the message
    holds a URL (`redact_text` must see it whole); after the duration."""
    logger, remote, method, path, status, size, user_agent = key
    text = _json_string
    start = f'{remote} "{method} {path}" {status:d} {size:d}'
    parts = (
        f'"level": "INFO", "logger": {text(logger)}, ',
        None if "://" in start else text(start)[:-1],
        f'"method": {text(method)}, "path": {text(path)}, "status": {status:d}, '
        f'"remote": {text(remote)}, "bytes": {size:d}, "user_agent": {text(user_agent)}}}',
    )
    if len(_ACCESS_PARTS) >= _ACCESS_PARTS_MAX:
        _ACCESS_PARTS.clear()
    _ACCESS_PARTS[key] = parts
    return parts


_PLAIN = (int, float, bool)  # written as JSON numbers and booleans; anything else as text


def resolve_format(fmt: str | None, stream: Any = None) -> Literal["json", "human"]:
    """`json` or `human` for `fmt` (`auto`/None: JSON unless `stream` is a terminal)."""
    if fmt in ("json", "human"):
        return fmt  # type: ignore[return-value]
    stream = sys.stderr if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    return "human" if isatty is not None and isatty() else "json"


def formatter_for(fmt: str) -> logging.Formatter:
    return JsonFormatter() if resolve_format(fmt) == "json" else HumanFormatter()


def configure_output(fmt: str | None = "auto", *, level: int = logging.INFO) -> str:
    """One stderr handler on the root logger, writing `fmt`; returns the format chosen.

    Replaces what an earlier call installed, so it may run more than once in a process.
    """
    chosen = resolve_format(fmt)
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "_syndicator", False)]:
        root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter_for(chosen))
    handler._syndicator = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    return chosen


# ---------------------------------------------------------------- access log


class AccessLogger(AbstractAccessLogger):
    """aiohttp's access logger, one record per request with the access keys as `extra`.

    The record's logger (`syndicator.access`) writes only to the queue (see `access_log`).
    While `access_log` runs, a request only appends its fields to the process's
    `AccessBatch` (no LogRecord, no lock, no thread wake-up per request): the batch goes to
    the listener thread every ACCESS_FLUSH_SECONDS, which makes the records and writes
    them, each line exactly as before, with one write per batch."""

    def __init__(self, logger: logging.Logger, log_format: str) -> None:
        super().__init__(logger, log_format)
        self.batch = _BATCHES.get(logger)
        # aiohttp makes one logger per connection, and a connection has one peer.
        self.remote: str | None = None

    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        # The path as aiohttp normalised it, redacted: a function of the request target
        # as sent, so kept per target (building it from the URL took a fifth of a line).
        raw = request.raw_path
        path = _LOGGED_PATHS.get(raw)
        if path is None:
            path = _logged_path(raw, request.path_qs)
        remote = self.remote
        if remote is None:
            remote = self.remote = request.remote or "-"
        fields = (
            remote,
            request.method,
            path,
            response.status,
            response.body_length,
            time,
            request.headers.get("User-Agent", ""),
        )
        batch = self.batch
        if batch is None:
            emit_access(self.logger, fields)
        elif batch.pending:  # a flush is due already: the entry joins it, without a call
            batch.pending.append((_now(), fields))
        else:
            batch.add(fields)


# The request target as sent → the path the access log writes for it; cleared when full.
_LOGGED_PATHS: dict[str, str] = {}
_LOGGED_PATHS_MAX = 4096


def _logged_path(raw: str, path_qs: str) -> str:
    """`path_qs` with its secrets hidden: its own (`redact_url`: secret parameters,
    credentials) and those of a URL inside it (`redact_text`: `?u=http://user:pw@host/`)."""
    path = redact_url(path_qs) if "?" in path_qs or "@" in path_qs else path_qs  # else nothing to hide
    if "://" in path:
        path = redact_text(path)
    if len(_LOGGED_PATHS) >= _LOGGED_PATHS_MAX:
        _LOGGED_PATHS.clear()
    _LOGGED_PATHS[raw] = path
    return path


# remote, method, path, status, bytes, duration, user agent
AccessFields = tuple[str, str, str, int, int, float, str]
ACCESS_FLUSH_SECONDS = 0.05


def access_message(fields: AccessFields) -> str:
    remote, method, path, status, size, duration, _user_agent = fields
    return f'{remote} "{method} {path}" {status:d} {size:d} {duration * 1000:.1f}ms'


def access_extra(fields: AccessFields) -> dict[str, Any]:
    remote, method, path, status, size, duration, user_agent = fields
    return {
        "event": "http_request",
        "method": method,
        "path": path,
        "status": status,
        "remote": remote,
        "bytes": size,
        "user_agent": user_agent,
        "duration": duration,
        "outcome": str(status),
    }


def access_record(
    logger: logging.Logger, fields: AccessFields, created: float | None = None
) -> logging.LogRecord:
    record = logger.makeRecord(
        logger.name, logging.INFO, __file__, 0, access_message(fields), (), None, extra=access_extra(fields)
    )
    if created is not None:
        record.created, record.msecs = created, int((created - int(created)) * 1000) + 0.0
    return record


def emit_access(logger: logging.Logger, fields: AccessFields) -> None:
    logger.handle(access_record(logger, fields))


class AccessBatch:
    """The access log entries of requests answered in the last ACCESS_FLUSH_SECONDS,
    collected in the event loop and handed to the listener thread as one queue item."""

    def __init__(self, records: queue.SimpleQueue[Any]) -> None:
        self.records = records
        self.pending: list[tuple[float, AccessFields]] = []

    def add(self, fields: AccessFields) -> None:
        self.pending.append((_now(), fields))
        if len(self.pending) == 1:
            try:
                asyncio.get_running_loop().call_later(ACCESS_FLUSH_SECONDS, self.flush)
            except RuntimeError:  # not in an event loop: nothing would flush it later
                self.flush()

    def flush(self) -> None:
        if self.pending:
            entries, self.pending = self.pending, []
            self.records.put(entries)


class AccessListener(QueueListener):
    """The QueueListener, for which a list from `AccessBatch` is many records in one write."""

    def __init__(
        self, records: queue.SimpleQueue[Any], output: logging.StreamHandler[Any], logger: logging.Logger
    ):
        super().__init__(records, output, respect_handler_level=False)
        self.output = output
        self.logger = logger

    def handle(self, record: Any) -> None:
        if not isinstance(record, list):
            super().handle(record)
            return
        formatter = self.output.formatter
        if isinstance(formatter, JsonFormatter):  # the default off a terminal: no records made
            name = self.logger.name
            lines = [formatter.access_line(name, created, fields) for created, fields in record]
        else:
            lines = [
                self.output.format(access_record(self.logger, fields, created)) for created, fields in record
            ]
        with self.output.lock:  # type: ignore[union-attr]
            self.output.stream.write("\n".join(lines) + "\n")
            self.output.flush()


# The batch of each access logger `access_log` set up (aiohttp makes an AccessLogger per
# connection; they all add to the one batch of their logger).
_BATCHES: dict[logging.Logger, AccessBatch] = {}


@contextmanager
def access_log(enabled: bool, fmt: str | None = "auto") -> Iterator[logging.Logger | None]:
    """The access logger while the block runs (None when `enabled` is false).

    Records go to a `QueueHandler`; a `QueueListener` thread writes them to stderr in
    `fmt` and is drained and stopped when the block ends."""
    if not enabled:
        yield None
        return
    records: queue.SimpleQueue[Any] = queue.SimpleQueue()
    output = logging.StreamHandler(sys.stderr)
    output.setFormatter(formatter_for(resolve_format(fmt)))
    logger = logging.getLogger(ACCESS_LOGGER)
    listener = AccessListener(records, output, logger)
    handler = QueueHandler(records)
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False  # written by the listener only, never by the request's task
    batch = _BATCHES[logger] = AccessBatch(records)
    listener.start()
    try:
        yield logger
    finally:
        _BATCHES.pop(logger, None)
        batch.flush()  # the event loop is gone: its timer will not
        logger.removeHandler(handler)
        listener.stop()  # writes what is still queued

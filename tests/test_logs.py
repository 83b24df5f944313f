"""Log lines: one JSON object a line off a terminal, human lines on one; secrets in URLs
redacted in both; the web process's access log, on by default and off with a flag."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import random
import signal
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

from aiohttp import web

from syndicator.logs import (
    ACCESS_LOGGER,
    AccessLogger,
    HumanFormatter,
    JsonFormatter,
    access_record,
    resolve_format,
)
from syndicator.redact import redact_text, redact_url
from tests.builders import items, rss, write_config
from tests.processes import free_port, store_environment
from tests.test_cli_serve import Running

SECRET_URL = "https://reader:pa55word@feeds.example/feed.xml?token=abc123&page=2"
CONTRACT = {"event", "source_id", "run_id", "url", "outcome", "duration"}


def emit(formatter: logging.Formatter, *, exc: bool = False) -> str:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    logger = logging.getLogger("syndicator.test_logs")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        extra = {
            "event": "ingest_failed",
            "source_id": "blog",
            "run_id": "r-1",
            "url": SECRET_URL,
            "outcome": "error",
            "duration": 0.25,
        }
        if exc:
            try:
                raise ValueError(f"bad answer from {SECRET_URL}")
            except ValueError:
                logger.exception("source blog (%s): failed", SECRET_URL, extra=extra)
        else:
            logger.warning("source blog (%s): HTTP 503", SECRET_URL, extra=extra)
    finally:
        logger.removeHandler(handler)
    return stream.getvalue()


def test_a_json_line_carries_the_contract_keys_with_urls_redacted() -> None:
    out = emit(JsonFormatter())
    assert out.count("\n") == 1
    line = json.loads(out)
    assert set(line) == {"time", "level", "logger", "message"} | CONTRACT
    assert line["level"] == "WARNING" and line["logger"] == "syndicator.test_logs"
    assert line["time"].endswith("+00:00")
    assert (line["event"], line["source_id"], line["run_id"], line["outcome"]) == (
        "ingest_failed",
        "blog",
        "r-1",
        "error",
    )
    assert line["duration"] == 0.25
    assert line["url"] == "https://reader:***@feeds.example/feed.xml?token=***&page=2"
    assert line["message"] == f"source blog ({line['url']}): HTTP 503"
    assert "pa55word" not in out and "abc123" not in out


def test_a_traceback_stays_inside_its_json_line_and_is_redacted() -> None:
    out = emit(JsonFormatter(), exc=True)
    assert out.count("\n") == 1
    line = json.loads(out)
    assert "ValueError: bad answer from https://reader:***@" in line["exception"]
    assert "pa55word" not in out and "abc123" not in out


def test_human_lines_are_redacted_too() -> None:
    out = emit(HumanFormatter())
    assert " WARNING syndicator.test_logs: source blog (https://reader:***@feeds.example/" in out
    assert "pa55word" not in out and "abc123" not in out


def test_auto_is_json_off_a_terminal_and_human_on_one() -> None:
    controller, terminal = os.openpty()
    read_end, write_end = os.pipe()
    try:
        with open(terminal, "w", closefd=False) as tty, open(write_end, "w", closefd=False) as pipe:
            assert resolve_format("auto", tty) == "human"
            assert resolve_format("auto", pipe) == "json"
            assert resolve_format("json", tty) == "json" and resolve_format("human", pipe) == "human"
    finally:
        for fd in (controller, terminal, read_end, write_end):
            os.close(fd)


def get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def start_web(tmp_path: Path, redis_url: str, prefix: str, *flags: str) -> tuple[Running, int]:
    (tmp_path / "feed.rss").write_bytes(rss(items("l", 2)))
    config = write_config(
        tmp_path,
        redis_url=redis_url,
        prefix=prefix,
        categories=[{"slug": "tech", "title": "Technology"}],
        sources=[{"id": "local", "url": "file:feed.rss", "categories": ["tech"]}],
    )
    port = free_port()
    web = Running(
        ("web", "--config", config.path, "--port", str(port), *flags),
        tmp_path,
        store_environment(redis_url, prefix) | {"SYNDICATOR_LOG_FORMAT": "json"},
        tmp_path / "web.log",
    )
    web.wait_for("serving feeds at")
    return web, port


# What the CLI prints itself (not log records): they stay plain lines.
PRINTED = ("config: ", "feeds: ", "serving feeds at ")


def test_the_web_process_logs_json_and_an_access_line_per_request(tmp_path, redis, redis_url, prefix):
    web, port = start_web(tmp_path, redis_url, prefix)
    try:
        assert get(f"http://127.0.0.1:{port}/healthz") == 200
        assert get(f"http://127.0.0.1:{port}/feeds/nope.rss?token=abc123") == 404
    finally:
        assert web.stop(signal.SIGTERM) == 0, web.log
    records = [json.loads(line) for line in web.log.splitlines() if not line.startswith(PRINTED)]
    access = [r for r in records if r.get("event") == "http_request"]
    assert [(r["method"], r["path"], r["status"]) for r in access] == [
        ("GET", "/healthz", 200),
        ("GET", "/feeds/nope.rss?token=***", 404),
    ]
    assert all(r["logger"] == "syndicator.access" and r["duration"] >= 0 for r in access)
    assert "abc123" not in web.log
    # Written by the process's own handler, not through the access log's queue: it may come
    # before or after the access lines the listener thread writes.
    [shutdown] = [r for r in records if r["message"] == "shutdown on SIGTERM"]
    assert set(shutdown) == {"time", "level", "logger", "message"} and shutdown["level"] == "INFO"


def test_no_access_log_turns_the_access_log_off(tmp_path, redis, redis_url, prefix):
    web, port = start_web(tmp_path, redis_url, prefix, "--no-access-log")
    try:
        assert get(f"http://127.0.0.1:{port}/healthz") == 200
    finally:
        assert web.stop(signal.SIGTERM) == 0, web.log
    assert "http_request" not in web.log and "/healthz" not in web.log


def test_the_access_log_writes_each_request_exactly_as_the_json_formatter_writes_its_record():
    """The access log assembles its JSON lines directly (no LogRecord per request); every
    line must be the one `JsonFormatter` gives for the same record: quotes, control and
    non-ASCII characters, a URL in the path (redacted), sub-microsecond durations."""
    logger = logging.getLogger(ACCESS_LOGGER)
    formatter = JsonFormatter()
    cases = [
        ("127.0.0.1", "GET", "/feeds/all.rss", 200, 41_234, 0.00123, "wrk/4.1"),
        ("::1", "HEAD", '/a"b\\c\u2028é\x01', 304, 0, 1e-9, ""),
        ("-", "GET", "/x?u=http://user:pw@host/&token=***", 404, 12, 12.5, 'UA "quoted"\n'),
    ]
    # The same request again with other durations and times: the second and later lines
    # are assembled from the parts kept for the first (logs._ACCESS_PARTS).
    for created in (1_700_000_000.0, 1_700_000_000.9999996, 1_700_000_123.0004):
        for case in cases:
            for duration in (case[5], 0.25, 3e-7, 99.99996):
                fields = (*case[:5], duration, case[6])
                line = formatter.access_line(logger.name, created, fields)
                assert line == formatter.format(access_record(logger, fields, created))
                assert json.loads(line)["path"] == fields[2]
    assert "pw@" not in json.loads(formatter.access_line(logger.name, 1.0, cases[2]))["message"]


def test_the_access_lines_time_is_the_one_datetime_gives_for_every_instant():
    """`utc_millis` makes the date and time of day once a second: across second
    boundaries, half-way microseconds and out of order it must still say what
    `datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")` says."""
    formatter = JsonFormatter()
    rng = random.Random(15)
    instants = [1_700_000_000 + rng.random() * 5 for _ in range(3000)]
    edges = (0.0, 0.0005, 0.9995, 0.9999995, 0.99999951)
    instants += [1_700_000_000 + s + f for s in range(3) for f in edges]
    rng.shuffle(instants)
    for created in sorted(instants[:1500]) + instants[1500:]:
        expected = datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")
        assert formatter.utc_millis(created) == expected, created


async def test_the_logged_path_is_the_redacted_normalised_target_on_every_repeat():
    """The access log keeps the path it wrote per request target as sent (logs._LOGGED_PATHS):
    a target seen again — percent-encoded, with a secret in the query, in absolute form —
    must be logged exactly as the first time, i.e. aiohttp's normalised `path_qs` with the
    secrets hidden, a URL's inside the query too."""
    seen: list[str] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append(request.path_qs)
        return web.Response(text="ok")

    logger = logging.getLogger("syndicator.test_access_paths")
    records: list[logging.LogRecord] = []
    catcher = logging.Handler()
    catcher.emit = records.append  # type: ignore[method-assign]
    logger.addHandler(catcher)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app, access_log=logger, access_log_class=AccessLogger)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    targets = [
        "/feeds/all.rss",
        "/feeds/%61ll.rss?x=%7E1",
        "/a/../b/./c%2Fd",
        "/feeds/x.rss?token=abc123&u=http://user:pw@host/",
        f"http://127.0.0.1:{port}/absolute?key=s3cret",
    ]
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for target in targets * 2:
            writer.write(f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
            await writer.drain()
            assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 200")
            await reader.readexactly(2)  # "ok"
        writer.close()
    finally:
        await runner.cleanup()
        logger.removeHandler(catcher)
    logged = [record.path for record in records]  # type: ignore[attr-defined]
    assert {record.remote for record in records} == {"127.0.0.1"}  # type: ignore[attr-defined]
    assert logged == [redact_text(redact_url(path)) if "?" in path else path for path in seen]
    assert logged[: len(targets)] == logged[len(targets) :]
    assert not any("abc123" in p or "pw@" in p or "s3cret" in p for p in logged)

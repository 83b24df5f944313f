"""Per-source request headers: they reach the upstream, Cookie and Authorization stop at
the origin on a redirect, and their values are never logged nor shown (health, API, preview).

Two real loopback origins: `127.0.0.1:A` and `127.0.0.1:B` (another port), and `localhost:A`
(another host, the same server); each records the headers it received.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from yarl import URL

from syndicator.config.errors import ConfigError
from syndicator.config.schema import build_source
from syndicator.fetch import Fetcher
from syndicator.fetch.client import same_origin
from syndicator.ingest import ingest_source
from syndicator.models import FetchLimits, Source, Validators
from syndicator.operate.health import source_health
from syndicator.operate.preview import preview_source
from syndicator.runtime import Runtime
from tests.admin_helpers import TOKEN, admin_serving
from tests.builders import items, one_feed_config, rss
from tests.conftest import running_upstream
from tests.harness import run_burst_worker
from tests.upstream import Upstream

COOKIE = "sid=s3cr3t-cookie-value"
BEARER = "Bearer s3cr3t-bearer-token"
SECRETS = ("s3cr3t-cookie-value", "s3cr3t-bearer-token", "s3cr3t-referer")
HEADERS = {
    "User-Agent": "MyReader/2.0 (+https://reader.example/)",
    "Cookie": COOKIE,
    "Authorization": BEARER,
    "Referer": "https://ref.example/?s3cr3t-referer",
    "X-Custom": "kept",
}
FEED = rss(items("hdr", 2))


@pytest.fixture
async def other() -> AsyncIterator[Upstream]:
    async with running_upstream() as server:
        yield server


def with_headers(url: str, headers: dict[str, str] = HEADERS) -> Source:
    return Source(id="s", url=url, allow_private_network=True, headers=tuple(headers.items()))


async def fetch(source: Source) -> None:
    async with Fetcher(FetchLimits(user_agent="Syndicator/test")) as fetcher:
        await fetcher.fetch(source, Validators())


async def test_the_sources_headers_reach_the_upstream_and_replace_our_user_agent(upstream):
    url = upstream.put("/feed.xml", FEED, "application/rss+xml")
    await fetch(with_headers(url))
    (seen,) = upstream.seen("/feed.xml")
    for name, value in HEADERS.items():
        assert seen.headers[name] == value
    assert seen.headers["Accept-Encoding"] == "gzip, deflate, br"  # ours stay
    assert "Syndicator/test" not in seen.headers["User-Agent"]


async def test_credentials_are_dropped_on_a_redirect_to_another_port(upstream, other):
    target = other.put("/feed.xml", FEED, "application/rss+xml")
    start = upstream.put("/start", b"", "text/plain", status=302, headers={"Location": target})
    await fetch(with_headers(start))
    (first,) = upstream.seen("/start")
    (second,) = other.seen("/feed.xml")
    assert first.headers["Cookie"] == COOKIE and first.headers["Authorization"] == BEARER
    assert "Cookie" not in second.headers and "Authorization" not in second.headers
    assert second.headers["X-Custom"] == "kept"  # only the credentials stop at the origin
    assert second.headers["User-Agent"] == HEADERS["User-Agent"]


async def test_credentials_are_dropped_on_a_redirect_to_another_host_and_stay_dropped(upstream):
    """127.0.0.1:A → localhost:A (the same server, another origin) → 127.0.0.1:A again."""
    upstream.put("/feed.xml", FEED, "application/rss+xml")
    back = upstream.put(
        "/back", b"", "text/plain", status=302, headers={"Location": upstream.url("/feed.xml")}
    )
    via_localhost = back.replace("127.0.0.1", "localhost")
    start = upstream.put("/start", b"", "text/plain", status=302, headers={"Location": via_localhost})
    await fetch(with_headers(start))
    assert upstream.seen("/start")[0].headers["Cookie"] == COOKIE
    for path in ("/back", "/feed.xml"):
        (seen,) = upstream.seen(path)
        assert "Cookie" not in seen.headers and "Authorization" not in seen.headers, path


async def test_a_same_origin_redirect_keeps_the_credentials(upstream):
    upstream.put("/feed.xml", FEED, "application/rss+xml")
    start = upstream.put("/old", b"", "text/plain", status=301, headers={"Location": "/feed.xml"})
    await fetch(with_headers(start))
    (seen,) = upstream.seen("/feed.xml")
    assert seen.headers["Cookie"] == COOKIE and seen.headers["Authorization"] == BEARER


def test_same_origin_rules() -> None:
    assert same_origin(URL("http://a.example/x"), URL("http://A.example:80/y"))
    assert same_origin(URL("http://a.example/x"), URL("https://a.example/x"))  # the TLS upgrade
    assert not same_origin(URL("https://a.example/x"), URL("http://a.example/x"))  # never a downgrade
    assert not same_origin(URL("http://a.example/x"), URL("http://a.example:8080/x"))
    assert not same_origin(URL("http://a.example/x"), URL("http://b.a.example/x"))


async def test_header_values_are_never_logged(tmp_path, upstream, other, redis, redis_url, prefix, caplog):
    """A worker polls a source whose feed redirects to another origin and 404s there: every
    log line of the run (ours, arq's, aiohttp's, at DEBUG) is free of the header values."""
    target = other.url("/missing.xml")
    upstream.put("/start", b"", "text/plain", status=302, headers={"Location": target})
    config = one_feed_config(
        tmp_path, upstream, redis_url=redis_url, prefix=prefix, path="/start", headers=HEADERS
    )
    caplog.set_level(logging.DEBUG)
    await run_burst_worker(config, redis_url)
    source = config.sources["feed"]
    logging.getLogger("test").error("source %r", source)  # even a repr of the Source
    logged = caplog.text + "".join(json.dumps(r.__dict__, default=str) for r in caplog.records)
    assert "HTTP 404" in caplog.text, caplog.text  # the failure is logged
    assert other.seen("/missing.xml") and upstream.seen("/start")[0].headers["Cookie"] == COOKIE
    for secret in SECRETS:
        assert secret not in logged


async def test_health_api_and_preview_show_the_header_names_with_values_redacted(
    tmp_path, upstream, redis, redis_url, prefix, monkeypatch
):
    monkeypatch.delenv("SYNDICATOR_ADMIN_TOKEN_FILE", raising=False)
    monkeypatch.setenv("SYNDICATOR_ADMIN_TOKEN", TOKEN)
    upstream.put("/feed.rss", FEED, "application/rss+xml")
    config = one_feed_config(
        tmp_path, upstream, redis_url=redis_url, prefix=prefix, path="/feed.rss", headers=HEADERS
    )
    redacted = dict.fromkeys(HEADERS, "***")
    async with admin_serving(config, redis_url) as (runtime, client):
        await ingest_source(runtime, "feed")
        health = await source_health(runtime, "feed")
        one = await client.call("GET", "/sources/feed")
        listed = await client.call("GET", "/sources")
        by_id = await client.call("POST", "/preview", json_body={"source_id": "feed"})
        table = {"url": upstream.url("/feed.rss"), "allow_private_network": True, "headers": HEADERS}
        by_table = await client.call("POST", "/preview", json_body={"source": table})
    assert upstream.seen("/feed.rss")[0].headers["Cookie"] == COOKIE  # the ingest sent them
    assert health.headers == redacted
    assert one.status == 200 and one.body["headers"] == redacted, one.text
    assert by_id.status == 200 and by_id.body["headers"] == redacted, by_id.text
    assert by_table.status == 200 and by_table.body["headers"] == redacted, by_table.text
    for answer in (one, listed, by_id, by_table):
        for secret in SECRETS:
            assert secret not in answer.text


async def test_preview_in_process_redacts_too(tmp_path, upstream, redis, redis_url, prefix):
    upstream.put("/feed.rss", FEED, "application/rss+xml")
    config = one_feed_config(
        tmp_path, upstream, redis_url=redis_url, prefix=prefix, path="/feed.rss", headers=HEADERS
    )
    runtime = Runtime.open(config, redis_url)
    try:
        preview = await preview_source(runtime, config.sources["feed"])
    finally:
        await runtime.close()
    assert preview.headers == dict.fromkeys(HEADERS, "***")
    assert not any(secret in json.dumps(preview.as_dict()) for secret in SECRETS)


@pytest.mark.parametrize(
    ("headers", "problem"),
    [
        ({"Host": "a"}, "header 'Host' is set by the fetcher itself and cannot be configured"),
        (
            {"If-None-Match": "x"},
            "header 'If-None-Match' is set by the fetcher itself and cannot be configured",
        ),
        ({"X-A": "1\r\nX-B: 2"}, "header 'X-A': the value must not contain line breaks or NUL"),
        ({"X-A": 1}, "header 'X-A': expected a string value, got integer"),
        ({"Bad Name": "s3cr3t-referer"}, "bad header name 'Bad Name' (letters, digits and !#$%&'*+.^_`|~-)"),
        ({"Cookie": "a", "cookie": "b"}, "header 'cookie' is given twice (names ignore case)"),
        ("Cookie: a", 'expected a table of header name = "value", got string'),
    ],
)
def test_bad_headers_are_config_errors_that_never_quote_a_value(headers, problem) -> None:
    table = {"id": "s", "url": "https://a.example/feed", "headers": headers}
    with pytest.raises(ConfigError) as error:
        build_source(table, Path("/etc/syndicator.toml"), {})
    assert str(error.value) == f"/etc/syndicator.toml: source.headers: {problem}"
    assert "s3cr3t" not in str(error.value)

"""`file:` sources (syndicator/fetch/local.py): like an HTTP upstream, and no wider.

The bundled samples are `file:` sources, so a first run polls them every few minutes;
they must answer 304 when nothing changed, as an HTTP upstream would. And since a
`file:` URL reads the local disk, it must read only the one regular file it names.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from yarl import URL

from syndicator.fetch.errors import FetchError
from syndicator.fetch.local import read_file_url
from syndicator.models import Source, Validators

BODY = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'


def file_source(path: Path) -> tuple[Source, URL]:
    url = path.as_uri()
    return Source(id="local", url=url), URL(url)


async def test_a_file_is_read_with_validators_and_a_content_type(tmp_path: Path) -> None:
    path = tmp_path / "feed.rss"
    path.write_bytes(BODY)
    os.utime(path, ns=(1_700_000_000_000_000_000, 1_700_000_000_000_000_000))
    source, url = file_source(path)

    result = await read_file_url(source, url, Validators(), max_bytes=1000)

    assert (result.status, result.body) == (200, BODY)
    assert result.headers["content-type"] == "application/rss+xml"
    assert result.headers["content-length"] == str(len(BODY))
    assert result.validators.last_modified == "Tue, 14 Nov 2023 22:13:20 GMT"
    assert result.validators.etag == f'"{1_700_000_000_000_000_000:x}-{len(BODY):x}"'


async def test_an_unchanged_file_is_304_and_a_rewritten_one_is_read_again(tmp_path: Path) -> None:
    path = tmp_path / "feed.xml"
    path.write_bytes(BODY)
    source, url = file_source(path)
    first = await read_file_url(source, url, Validators(), max_bytes=1000)

    again = await read_file_url(source, url, first.validators, max_bytes=1000)
    assert (again.status, again.body) == (304, b"")

    # Rewritten within the same second: Last-Modified alone could not tell; the ETag does.
    stat = path.stat()
    path.write_bytes(BODY.replace(b"<title>t", b"<title>u"))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1000))
    changed = await read_file_url(source, url, first.validators, max_bytes=1000)
    assert changed.status == 200 and b"<title>u" in changed.body


async def test_unknown_extension_has_no_content_type(tmp_path: Path) -> None:
    path = tmp_path / "feed.txt"
    path.write_bytes(BODY)

    result = await read_file_url(*file_source(path), Validators(), max_bytes=1000)

    assert "content-type" not in result.headers


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda d: d / "missing.xml", "no such file: {path}"),
        (lambda d: d, "not a regular file: {path}"),
    ],
)
async def test_only_an_existing_regular_file_is_read(
    tmp_path: Path, make: Callable[[Path], Path], reason: str
) -> None:
    path = make(tmp_path)
    with pytest.raises(FetchError) as caught:
        await read_file_url(*file_source(path), Validators(), max_bytes=1000)

    assert caught.value.reason == reason.format(path=path)
    assert caught.value.retryable is False


async def test_a_file_over_the_size_limit_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "big.xml"
    path.write_bytes(BODY)

    with pytest.raises(FetchError) as caught:
        await read_file_url(*file_source(path), Validators(), max_bytes=len(BODY) - 1)

    assert caught.value.reason == f"response larger than {len(BODY) - 1} bytes"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        (
            "file://fileserver.example/etc/feed.xml",
            "file: URL names host 'fileserver.example'; only local files can be read",
        ),
        ("file:feed.xml", "file: URL path is not absolute"),
    ],
)
async def test_remote_hosts_and_relative_paths_are_refused(url: str, reason: str) -> None:
    source = Source(id="local", url=url)
    with pytest.raises(FetchError) as caught:
        await read_file_url(source, URL(url), Validators(), max_bytes=1000)

    assert caught.value.reason == reason
    assert str(caught.value) == f"local: {url}: {reason}"


async def test_localhost_names_the_local_disk(tmp_path: Path) -> None:
    path = tmp_path / "feed.json"
    path.write_bytes(b"{}")
    url = f"file://localhost{path}"

    result = await read_file_url(Source(id="local", url=url), URL(url), Validators(), max_bytes=10)

    assert (result.body, result.headers["content-type"]) == (b"{}", "application/json")

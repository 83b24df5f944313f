"""`file:` sources: the bundled samples and operators' local feeds.

They behave like an HTTP upstream so the rest of the pipeline cannot tell the
difference: the same size limit, a Last-Modified (from the file's mtime) that makes the
next poll a cheap 304, and a Content-Type from the extension for feedparser. Only the
config loader produces `file:` sources; a redirect to `file:` is refused by the client.
"""

from __future__ import annotations

import asyncio
import stat
from datetime import UTC, datetime
from email.utils import formatdate
from pathlib import Path

from yarl import URL

from syndicator.fetch.errors import FetchError
from syndicator.models import FetchResult, Source, Validators

CONTENT_TYPES = {
    ".xml": "application/xml",
    ".rss": "application/rss+xml",
    ".atom": "application/atom+xml",
    ".json": "application/json",
    ".html": "text/html",
    ".htm": "text/html",
}


def _read(source: Source, url: URL, validators: Validators, max_bytes: int) -> FetchResult:
    """Blocking part, run in a thread: stat, compare validators, read at most max_bytes."""

    def fail(reason: str) -> FetchError:
        return FetchError(source.id, source.url, reason, retryable=False)

    if url.host not in (None, "", "localhost"):
        raise fail(f"file: URL names host {url.host!r}; only local files can be read")
    path = Path(url.path)
    if not path.is_absolute():
        raise fail("file: URL path is not absolute")
    try:
        info = path.stat()
    except FileNotFoundError:
        raise fail(f"no such file: {path}") from None
    except OSError as exc:
        raise fail(f"cannot read {path}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(info.st_mode):
        raise fail(f"not a regular file: {path}")
    if info.st_size > max_bytes:
        raise fail(f"response larger than {max_bytes} bytes")

    # Stat before reading: if the file changes meanwhile, these validators are older than
    # the bytes, so the next poll sees a change and reads again — never the reverse.
    last_modified = formatdate(info.st_mtime, usegmt=True)
    # Last-Modified has one-second resolution; the ETag tells apart two writes within it.
    etag = f'"{info.st_mtime_ns:x}-{info.st_size:x}"'
    headers = {"last-modified": last_modified, "etag": etag}
    content_type = CONTENT_TYPES.get(path.suffix.lower())
    if content_type is not None:
        headers["content-type"] = content_type
    fetched_at = datetime.now(UTC)
    new_validators = Validators(etag=etag, last_modified=last_modified)

    if validators.last_modified == last_modified and validators.etag in (None, etag):
        return FetchResult(
            url=source.url,
            final_url=source.url,
            status=304,
            body=b"",
            headers=headers,
            validators=new_validators,
            fetched_at=fetched_at,
        )
    try:
        with path.open("rb") as handle:
            body = handle.read(max_bytes + 1)
    except OSError as exc:
        raise fail(f"cannot read {path}: {exc.strerror or exc}") from None
    if len(body) > max_bytes:  # it grew after the stat
        raise fail(f"response larger than {max_bytes} bytes")
    headers["content-length"] = str(len(body))
    return FetchResult(
        url=source.url,
        final_url=source.url,
        status=200,
        body=body,
        headers=headers,
        validators=new_validators,
        fetched_at=fetched_at,
    )


async def read_file_url(source: Source, url: URL, validators: Validators, max_bytes: int) -> FetchResult:
    """Fetch a `file:` URL like an HTTP resource (200 with validators, or 304)."""
    return await asyncio.to_thread(_read, source, url, validators, max_bytes)

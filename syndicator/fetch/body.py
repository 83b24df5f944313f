"""Reading a body of at most N bytes, the one way: a fetched response, a callback's answer
and a push sent to us all stop reading at the limit instead of buffering what a hostile
peer sends (and a declared `Content-Length` over the limit is refused before any read)."""

from __future__ import annotations

from aiohttp import StreamReader


async def read_at_most(content: StreamReader, content_length: int | None, limit: int) -> bytes | None:
    """The whole body, or None as soon as it is known to be longer than `limit` bytes."""
    if content_length is not None and content_length > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in content.iter_any():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)

"""JSON bodies of the admin API: results, and errors as `{"error": "one line"}` (never a traceback)."""

from __future__ import annotations

import dataclasses
import enum
import json
from collections.abc import Mapping
from datetime import date, datetime, timedelta

from aiohttp import web


def plain(value: object) -> object:
    """`value` as JSON-ready data: dataclasses as objects, times in ISO 8601 (UTC kept),
    durations in seconds, tuples and sets as lists."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, enum.Enum):
        return plain(value.value)
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [plain(v) for v in value]
        return sorted(items, key=str) if isinstance(value, set | frozenset) else items
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def json_response(
    body: object, *, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    return web.Response(
        status=status,
        text=json.dumps(plain(body), ensure_ascii=False) + "\n",
        content_type="application/json",
        headers=headers,
    )


def json_error(status: int, message: str, *, headers: Mapping[str, str] | None = None) -> web.Response:
    """`{"error": message}` with `status`; `message` is one line and names no secret."""
    return json_response({"error": message}, status=status, headers=headers)

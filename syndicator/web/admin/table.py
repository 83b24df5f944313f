"""What one admin API operation is: the one record both the router and the OpenAPI document
are built from, and the JSON schemas the operations share."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from syndicator.web.admin.params import Param, Schema

PREFIX = "/admin/api"


@dataclass(frozen=True)
class Call:
    """A request that passed auth and whose parameters and body fit their schemas."""

    request: web.Request
    params: Mapping[str, Any]
    body: Mapping[str, Any]


CallHandler = Callable[[Call], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Response:
    description: str
    schema: Schema | None = None
    headers: Mapping[str, str] = field(default_factory=dict)  # name → description


@dataclass(frozen=True)
class Operation:
    """One method on one path (relative to `PREFIX`, in OpenAPI's `{name}` template form)."""

    method: str
    path: str
    operation_id: str
    summary: str
    handler: CallHandler
    params: tuple[Param, ...] = ()
    body: Schema | None = None  # JSON schema of the request body; None: takes none
    responses: Mapping[int, Response] = field(default_factory=dict)
    description: str = ""
    tag: str = "admin"


# Shared schemas (they appear under components/schemas in the document).
ERROR: Schema = {
    "type": "object",
    "properties": {"error": {"type": "string", "description": "what was wrong, in one line"}},
    "required": ["error"],
}

SOURCE_ID: Schema = {
    "type": "string",
    "title": "a source id (lower-case letters, digits, '.', '_', '-')",
    "pattern": r"^[a-z0-9][a-z0-9._-]*$",
    "maxLength": 200,
}

SLUG: Schema = {
    "type": "string",
    "title": "a category slug (like tech or tech/python)",
    "pattern": r"^[a-z0-9_-]+(?:/[a-z0-9_-]+)*$",
    "maxLength": 200,
}

RUN_ID: Schema = {
    "type": "string",
    "title": "a run id",
    "pattern": r"^[A-Za-z0-9._:-]+$",
    "maxLength": 200,
}

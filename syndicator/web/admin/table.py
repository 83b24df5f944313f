"""What one admin API operation is: the one record both the router and the OpenAPI document
are built from, and the JSON schemas the operations share."""

from __future__ import annotations

import dataclasses
import types
import typing
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
    action: str = ""  # its name in the audit log (POST and DELETE); empty: the operation_id


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


_SCALARS: dict[object, str] = {str: "string", int: "integer", float: "number", bool: "boolean"}


def type_schema(hint: object) -> dict[str, Any]:
    """The JSON schema of a field type: scalars, `X | None`, tuples and lists of one type,
    dicts of string keys."""
    if hint in _SCALARS:
        return {"type": _SCALARS[hint]}
    args = typing.get_args(hint)
    origin = typing.get_origin(hint)
    if origin in (types.UnionType, typing.Union):
        inner = [a for a in args if a is not type(None)]
        if len(inner) == 1 and len(args) == 2:
            schema = type_schema(inner[0])
            if isinstance(schema.get("type"), str):
                return {**schema, "type": [schema["type"], "null"]}
            return {"anyOf": [schema, {"type": "null"}]}
        return {"anyOf": [type_schema(a) for a in args]}
    if origin in (tuple, list) and args:
        return {"type": "array", "items": type_schema(args[0])}
    if origin is dict and len(args) == 2:
        return {"type": "object", "additionalProperties": type_schema(args[1])}
    return {}  # anything: said no more precisely than the type does


def dataclass_schema(cls: type, **extra: Schema) -> dict[str, Any]:
    """The JSON schema of a dataclass as `dataclasses.asdict` writes it (every field,
    always present), plus `extra` properties; built from the class, so it follows it."""
    hints = typing.get_type_hints(cls)
    properties = {f.name: type_schema(hints[f.name]) for f in dataclasses.fields(cls)}
    properties.update(extra)
    return {"type": "object", "properties": properties, "required": list(properties)}

"""Reading an admin request's path, query and JSON body against the schemas the route table
declares (the same schemas the OpenAPI document shows), with a specific message for each
problem: `state: must be one of ok, failing, paused, gone`, `unknown query parameter 'x'`,
`body: force: must be true or false`.

Only the subset of JSON Schema the table uses is read: `type` (object, array, string,
boolean, integer), `enum`, `pattern` (matched in full), `minLength`/`maxLength`,
`minimum`/`maximum`, `properties`, `required`, `additionalProperties: false`, `items`,
`minItems`/`maxItems`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from syndicator.errors import SyndicatorError

Schema = Mapping[str, Any]


class AdminRequestError(SyndicatorError, ValueError):
    """A query string, path parameter or body the admin API cannot take; answered 400."""


@dataclass(frozen=True)
class Param:
    """One path or query parameter: its name, where it is, its schema and what it means."""

    name: str
    where: Literal["path", "query"]
    schema: Schema
    description: str
    required: bool = False


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def check(value: object, schema: Schema, where: str) -> object:
    """`value` if it fits `schema`; otherwise `AdminRequestError` naming `where` and why."""
    kind = schema.get("type")
    if kind == "object":
        if not isinstance(value, dict):
            raise AdminRequestError(f"{where}: must be a JSON object, not {_kind(value)}")
        properties: Mapping[str, Schema] = schema.get("properties", {})
        if schema.get("additionalProperties") is False:
            extra = sorted(set(value) - set(properties))
            if extra:
                known = ", ".join(properties) or "none"
                raise AdminRequestError(f"{where}: unknown field {extra[0]!r} (known: {known})")
        for name in schema.get("required", ()):
            if name not in value:
                raise AdminRequestError(f"{where}: {name}: required")
        for name, item in value.items():
            if name in properties:
                check(item, properties[name], f"{where}: {name}")
    elif kind == "array":
        if not isinstance(value, list):
            raise AdminRequestError(f"{where}: must be an array, not {_kind(value)}")
        if len(value) < schema.get("minItems", 0):
            raise AdminRequestError(f"{where}: needs at least {schema['minItems']} item(s)")
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            raise AdminRequestError(f"{where}: at most {schema['maxItems']} items")
        for n, item in enumerate(value):
            check(item, schema.get("items", {}), f"{where}[{n}]")
    elif kind == "boolean":
        if not isinstance(value, bool):
            raise AdminRequestError(f"{where}: must be true or false, not {_kind(value)}")
    elif kind == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            raise AdminRequestError(f"{where}: must be an integer, not {_kind(value)}")
        if "minimum" in schema and value < schema["minimum"]:
            raise AdminRequestError(f"{where}: must be at least {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            raise AdminRequestError(f"{where}: must be at most {schema['maximum']}")
    elif kind == "string":
        if not isinstance(value, str):
            raise AdminRequestError(f"{where}: must be a string, not {_kind(value)}")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate, as JSON's \ud800 escape can give
            raise AdminRequestError(f"{where}: not valid Unicode text") from None
        if len(value) < schema.get("minLength", 0):
            raise AdminRequestError(f"{where}: must not be empty")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            raise AdminRequestError(f"{where}: longer than {schema['maxLength']} characters")
        if "pattern" in schema and not re.fullmatch(schema["pattern"], value):
            raise AdminRequestError(f"{where}: {value[:80]!r} is not {schema.get('title', 'valid here')}")
    if "enum" in schema and value not in schema["enum"]:
        raise AdminRequestError(f"{where}: must be one of {', '.join(map(str, schema['enum']))}")
    return value


def _from_text(text: str, schema: Schema, where: str) -> object:
    """A query or path value (always text) as the type its schema names."""
    kind = schema.get("type")
    if kind == "boolean":
        if text.lower() in ("true", "1", "yes"):
            return True
        if text.lower() in ("false", "0", "no"):
            return False
        raise AdminRequestError(f"{where}: must be true or false, not {text[:40]!r}")
    if kind == "integer":
        try:
            number = int(text)
        except ValueError:
            raise AdminRequestError(f"{where}: must be an integer, not {text[:40]!r}") from None
        return check(number, schema, where)
    return check(text, schema, where)


def read_params(
    params: Iterable[Param], path: Mapping[str, str], query: Iterable[tuple[str, str]]
) -> dict[str, object]:
    """The declared parameters' values by name (absent optional ones left out)."""
    params = tuple(params)
    values: dict[str, object] = {}
    for param in params:
        if param.where == "path":
            values[param.name] = _from_text(path[param.name], param.schema, param.name)
    declared = {p.name: p for p in params if p.where == "query"}
    seen: set[str] = set()
    for name, text in query:
        param = declared.get(name)
        if param is None:
            known = ", ".join(declared) or "none"
            raise AdminRequestError(f"unknown query parameter {name[:40]!r} (known: {known})")
        if name in seen:
            raise AdminRequestError(f"{name}: given more than once")
        seen.add(name)
        values[name] = _from_text(text, param.schema, name)
    for name, param in declared.items():
        if param.required and name not in values:
            raise AdminRequestError(f"{name}: required")
    return values


def read_body(raw: bytes, schema: Schema | None) -> dict[str, object]:
    """The JSON object in `raw`, checked against `schema` (an empty body is `{}`);
    a route that takes no body refuses one."""
    if schema is None:
        if raw.strip():
            raise AdminRequestError("this endpoint takes no request body")
        return {}
    if not raw.strip():
        value: object = {}
    else:
        try:
            value = json.loads(raw)
        except UnicodeDecodeError:
            raise AdminRequestError("body: not UTF-8 text") from None
        except json.JSONDecodeError as exc:
            raise AdminRequestError(
                f"body: not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
            ) from None
        except RecursionError:
            raise AdminRequestError("body: nested too deeply") from None
    checked = check(value, schema, "body")
    assert isinstance(checked, dict)  # the table's bodies are objects
    return checked

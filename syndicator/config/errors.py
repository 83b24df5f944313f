"""`ConfigError` and the formatter that turns pydantic's `ValidationError` into one line.

An operator sees one line: `path: key: problem`, with keys written as the TOML author
would (`server.port`, `sources[2].poll_interval`, `sources[0].category_map."情感/故事"`,
0-based indexes in file order) and problems in the file's terms ("expected an integer",
"unknown key (did you mean poll_interval?)"), not pydantic's ("Input should be ...").
"""

from __future__ import annotations

import difflib
import re
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from syndicator.errors import SyndicatorError
from syndicator.values import type_name


class ConfigError(SyndicatorError):
    """A configuration problem; `str(err)` is one line: `{path}: {key}: {problem}`."""

    def __init__(self, path: str | Path, key: str, problem: str) -> None:
        self.path = str(path)
        self.key = key
        self.problem = " ".join(problem.splitlines())
        super().__init__(f"{self.path}: {self.key}: {self.problem}")


def from_validation_error(
    path: str | Path, err: ValidationError, schema: type[BaseModel], names: dict[str, str] | None = None
) -> ConfigError:
    """One error of `err` as a `ConfigError`; `names` renames a top-level key (for env vars).

    An unknown key comes first, because a misspelt key is often the cause of the others
    (`uurl = ...` also makes `url` missing); otherwise pydantic's first, in schema order.
    """
    details = err.errors(include_url=False)
    detail = next((d for d in details if d["type"] == "extra_forbidden"), details[0])
    loc = detail["loc"]
    if names and loc and loc[0] in names:
        key = names[str(loc[0])] + key_of(loc[1:], leading_dot=True)
    else:
        key = key_of(loc)
    return ConfigError(path, key, problem_of(detail, schema))


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def key_of(loc: tuple[int | str, ...], *, leading_dot: bool = False) -> str:
    """`("sources", 2, "rules", "drop", 1)` → `sources[2].rules.drop[1]`; odd keys are quoted."""
    key = ""
    for part in loc:
        if isinstance(part, int):
            key += f"[{part}]"
        else:
            name = part if _BARE_KEY.fullmatch(part) else f'"{part}"'
            key += f".{name}" if key or leading_dot else name
    return key


def problem_of(detail: ErrorDetails, schema: type[BaseModel]) -> str:
    """Today's wording for the pydantic error types a TOML file can cause; pydantic's otherwise."""
    kind, value, ctx = detail["type"], detail["input"], detail.get("ctx", {})
    got = f"{type_name(value)} {value!r}"
    if kind == "value_error":
        return str(ctx["error"])
    if kind == "missing":
        return "required key is missing"
    if kind == "extra_forbidden":
        return _unknown_key(str(detail["loc"][-1]), _table_at(schema, detail["loc"][:-1]))
    if kind in ("int_type", "int_parsing"):
        return f"expected an integer, got {got}"
    if kind == "bool_type":
        return f"expected true or false, got {got}"
    if kind == "string_type":
        return f"expected a string, got {got}"
    if kind in ("model_type", "dict_type"):
        return f"expected a table, got {type_name(value)}"
    if kind == "list_type":
        name = str(detail["loc"][-1])
        if _table_at(schema, detail["loc"] + (0,)):
            return f"expected an array of tables ([[{name}]]), got a {type_name(value)}"
        return f"expected an array, got {got}"
    if kind == "greater_than_equal":
        what = "a positive integer" if ctx["ge"] == 1 else f"an integer ≥ {ctx['ge']}"
        return f"must be {what}, got {value}"
    return detail["msg"]


def _unknown_key(name: str, table: type[BaseModel] | None) -> str:
    """A misspelt key silently falling back to its default is the hardest bug to see: name it."""
    if table is None:
        return "unknown key"
    fields = table.model_fields
    # Required keys first: they are what a table is about (`slug`, `id`, `url`).
    known = sorted(fields, key=lambda n: not fields[n].is_required())
    close = difflib.get_close_matches(name, known, n=1)
    return (
        f"unknown key (did you mean {close[0]}?)"
        if close
        else f"unknown key (expected one of: {', '.join(known)})"
    )


def _table_at(schema: type[BaseModel], loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The model class that validates the value at `loc`, if that value is a table."""
    current: Any = schema
    for part in loc:
        if isinstance(current, type) and issubclass(current, BaseModel) and isinstance(part, str):
            field = current.model_fields.get(part)
            current = field.annotation if field else None
        elif typing.get_origin(current) is list and isinstance(part, int):
            current = typing.get_args(current)[0]
        else:
            return None
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None

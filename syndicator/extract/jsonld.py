"""JSON-LD blocks of a page, read leniently.

Publishers hand-write or template their JSON-LD, so real blocks carry HTML comments, CDATA
wrappers, trailing commas and the odd stray control character. We repair what is cheap to
repair and skip a block that still is not JSON: one broken block must not hide the others.
`@graph` containers and top-level lists are flattened so callers just filter by `@type`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from lxml.html import HtmlElement

_COMMENT = re.compile(r"<!--|-->")
_CDATA = re.compile(r"(?://\s*)?<!\[CDATA\[|(?://\s*)?\]\]>")
_TRAILING_COMMA = re.compile(r",\s*([}\]])")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
_MAX_DEPTH = 20  # nested @graph/lists deeper than this are not real metadata


def _load(raw: str) -> Any:
    """The parsed block, or None when it is not JSON even after the cheap repairs."""
    text = _CONTROL.sub(" ", _CDATA.sub("", _COMMENT.sub("", raw))).strip().rstrip(";")
    if not text:
        return None
    for candidate in (text, _TRAILING_COMMA.sub(r"\1", text)):
        try:
            return json.loads(candidate, strict=False)  # strict=False: raw newlines in strings
        except (ValueError, RecursionError):
            continue
    return None


def _flatten(value: Any, depth: int = 0) -> Iterator[dict[str, Any]]:
    if depth > _MAX_DEPTH:
        return
    if isinstance(value, list):
        for item in value:
            yield from _flatten(item, depth + 1)
    elif isinstance(value, dict):
        graph = value.get("@graph")
        # A bare {"@context", "@graph"} wrapper is not an object of its own.
        if graph is None or set(value) - {"@context", "@graph", "@id"}:
            yield value
        if graph is not None:
            yield from _flatten(graph, depth + 1)


def json_ld_objects(tree: HtmlElement) -> list[dict[str, Any]]:
    """Every JSON-LD object on the page in document order; @graph and lists flattened."""
    objects: list[dict[str, Any]] = []
    for script in tree.iter("script"):
        kind = (script.get("type") or "").strip().lower()
        if not kind.startswith("application/ld+json"):
            continue
        objects.extend(_flatten(_load(script.text or "")))
    return objects


def ld_types(obj: dict[str, Any]) -> set[str]:
    """The object's @type names without vocabulary prefixes (`schema:NewsArticle` → NewsArticle)."""
    raw = obj.get("@type")
    names = raw if isinstance(raw, list) else [raw]
    return {re.split(r"[/:#]", name)[-1] for name in names if isinstance(name, str) and name}


def ld_name(value: Any) -> str | None:
    """A person/organisation/thing's display name: a string, {"name": …}, or the first of a list."""
    if isinstance(value, list):
        for item in value:
            if name := ld_name(item):
                return name
        return None
    if isinstance(value, dict):
        value = value.get("name")
        if isinstance(value, list | dict):
            return ld_name(value)
    if isinstance(value, str):
        text = " ".join(value.split())
        return text or None
    return None

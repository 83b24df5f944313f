"""The admin API's OpenAPI 3.1 document, built from the same route table as the router, so
the two cannot disagree: every operation the router serves is described, and nothing else.

Every operation requires the bearer token and may answer 400 (a bad query or body, with a
specific message), 401 (missing or wrong token), 404 (unknown id, or the API is off) and
429 (too many failed attempts; `Retry-After`); these are added to each operation here, so
the table only lists what is particular to it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from syndicator.web.admin.params import Param
from syndicator.web.admin.table import ERROR, PREFIX, Operation, Response

TITLE = "Syndicator admin API"
VERSION = "1"

_ERROR_REF = {"$ref": "#/components/schemas/Error"}

COMMON: dict[int, Response] = {
    400: Response("a query parameter, path parameter or body the API cannot take; the body says which"),
    401: Response(
        "missing or wrong bearer token; nothing was changed",
        headers={"WWW-Authenticate": "Bearer"},
    ),
    404: Response("no such source, run, category or article, or the admin API is off (no token configured)"),
    429: Response(
        "too many failed attempts from this address in the last minute",
        headers={"Retry-After": "seconds until an attempt is counted again"},
    ),
}


def _parameter(param: Param) -> dict[str, Any]:
    schema = {k: v for k, v in param.schema.items() if k != "title"}
    return {
        "name": param.name,
        "in": param.where,
        "required": param.where == "path" or param.required,
        "description": param.description,
        "schema": schema,
    }


def _response(response: Response, *, error: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"description": response.description}
    schema = _ERROR_REF if error else response.schema
    if schema is not None:
        out["content"] = {"application/json": {"schema": schema}}
    if response.headers:
        out["headers"] = {
            name: {"description": text, "schema": {"type": "string"}}
            for name, text in response.headers.items()
        }
    return out


def _operation(op: Operation) -> dict[str, Any]:
    out: dict[str, Any] = {
        "operationId": op.operation_id,
        "summary": op.summary,
        "tags": [op.tag],
    }
    if op.description:
        out["description"] = op.description
    if op.params:
        out["parameters"] = [_parameter(p) for p in op.params]
    if op.body is not None:
        out["requestBody"] = {
            "required": False,
            "content": {"application/json": {"schema": op.body}},
        }
    responses = {str(status): _response(r, error=status >= 400) for status, r in sorted(op.responses.items())}
    for status, common in COMMON.items():
        if str(status) in responses:
            continue
        responses[str(status)] = _response(common, error=True)
    out["responses"] = dict(sorted(responses.items()))
    return out


def build_document(operations: Iterable[Operation]) -> dict[str, Any]:
    """The OpenAPI 3.1 document describing `operations`."""
    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": TITLE,
            "version": VERSION,
            "description": (
                "Operate Syndicator: sources and their health, runs, re-ingest, pause and resume, "
                "re-render, config reload, the queue. Every request needs `Authorization: Bearer TOKEN` "
                "(the token set in SYNDICATOR_ADMIN_TOKEN or SYNDICATOR_ADMIN_TOKEN_FILE)."
            ),
        },
        "servers": [{"url": PREFIX}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Error": ERROR},
        },
    }

"""The admin API's operations: one table (`OPERATIONS`) from which `api.install` builds the
router and `openapi.build_document` the OpenAPI document.

Handlers only translate between HTTP and the service layer: sources, runs, re-ingest,
pause and resume, and the queue are `syndicator.operate`'s (the CLI calls the same
functions); reload is the config reloader's (`config/reload.py`), re-render is publish's.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from syndicator.config.reload import ConfigReloader
from syndicator.publish import request_publish
from syndicator.web.admin.openapi import build_document
from syndicator.web.admin.responses import json_error, json_response
from syndicator.web.admin.table import SLUG, Call, Operation, Response
from syndicator.web.feeds import RUNTIME
from syndicator.web.pages import RELOADER


@dataclass
class AdminState:
    """Per-process state of the admin API: the reloader it uses when the process has none
    of its own (tests; a process that follows no reloads), made on first use."""

    own_reloader: ConfigReloader | None = None

    async def close(self) -> None:
        if self.own_reloader is not None:
            await self.own_reloader.stop()


ADMIN_STATE = web.AppKey("admin_state", AdminState)

# The service layer's "no such source / run / category" errors: answered 404.
NOT_FOUND_ERRORS: tuple[type[Exception], ...] = ()


# --- openapi ----------------------------------------------------------------------------


async def openapi_document(call: Call) -> web.Response:
    return json_response(build_document(OPERATIONS))


# --- reload -----------------------------------------------------------------------------

RELOAD_RESULT = {
    "type": "object",
    "properties": {
        "digest": {"type": "string", "description": "sha256 of the configuration file now running"},
        "summary": {"type": "string", "description": "what changed, in one line"},
        "added_sources": {"type": "array", "items": {"type": "string"}},
        "removed_sources": {"type": "array", "items": {"type": "string"}},
        "changed_sources": {"type": "array", "items": {"type": "string"}},
        "needs_restart": {
            "type": "array",
            "items": {"type": "string"},
            "description": "changed settings a running process cannot apply (kept as running)",
        },
    },
    "required": ["digest", "summary", "needs_restart"],
}


async def reload_config(call: Call) -> web.Response:
    app = call.request.app
    reloader = call.request.config_dict.get(RELOADER)
    if reloader is None:
        state = app[ADMIN_STATE]
        if state.own_reloader is None:
            state.own_reloader = ConfigReloader(call.request.config_dict[RUNTIME])
        reloader = state.own_reloader
    outcome = await reloader.reload_and_announce()
    if outcome.change is None:
        return json_error(409, f"config reload refused, the running config stays: {outcome.error}")
    change = outcome.change
    return json_response(
        {
            "digest": change.config.digest,
            "summary": change.summary(),
            "added_sources": change.added_sources,
            "removed_sources": change.removed_sources,
            "changed_sources": change.changed_sources,
            "needs_restart": change.needs_restart,
        }
    )


# --- re-render --------------------------------------------------------------------------

RENDER_BODY = {
    "type": "object",
    "properties": {"category": {**SLUG, "description": "the category to render again"}},
    "required": ["category"],
    "additionalProperties": False,
}

RENDER_RESULT = {
    "type": "object",
    "properties": {
        "category": {"type": "string"},
        "queued": {"type": "boolean", "description": "true: a publish job will render it; false: rendered"},
    },
    "required": ["category", "queued"],
}


async def render_category(call: Call) -> web.Response:
    runtime = call.request.config_dict[RUNTIME]
    slug = str(call.body["category"])
    if slug not in runtime.config.categories:
        return json_error(404, f"unknown category {slug!r}")
    await request_publish(runtime, [slug])
    queued = runtime.queue is not None
    return json_response({"category": slug, "queued": queued}, status=202 if queued else 200)


OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "GET",
        "/openapi.json",
        "getOpenAPI",
        "This document",
        openapi_document,
        responses={200: Response("the OpenAPI 3.1 document of this API", {"type": "object"})},
    ),
    Operation(
        "POST",
        "/reload",
        "reloadConfig",
        "Reload the configuration file, in this process and (announced through Redis) every other",
        reload_config,
        responses={
            200: Response("the file validated and is applied", RELOAD_RESULT),
            409: Response("the file does not validate; the running configuration stays"),
        },
    ),
    Operation(
        "POST",
        "/render",
        "renderCategory",
        "Render a category's feeds again",
        render_category,
        body=RENDER_BODY,
        responses={
            202: Response("a publish job will render it", RENDER_RESULT),
            200: Response("rendered (a process without a queue renders inline)", RENDER_RESULT),
        },
    ),
)

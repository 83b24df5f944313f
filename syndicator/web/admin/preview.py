"""`POST /admin/api/preview`: what a source would produce, storing nothing
(`syndicator.operate.preview`, which `syndicator preview` calls too).

The body names a configured source (`{"source_id": "…"}`) or gives a source table in
JSON (`{"source": {"url": "…", "kind": "listing", …}}`), validated exactly as a
`[[sources]]` table of the configuration. `file:` URLs are refused here: they would read
the server's own files. The admin API previews sources; it never adds one (the
configuration file stays the single source of truth: `syndicator add-source`).
"""

from __future__ import annotations

from aiohttp import web

from syndicator.operate.preview import (
    InvalidSource,
    Preview,
    PreviewArticle,
    configured_source,
    preview_source,
    source_from_table,
)
from syndicator.web.admin.params import AdminRequestError
from syndicator.web.admin.responses import json_response
from syndicator.web.admin.table import SOURCE_ID, Call, Operation, Response, dataclass_schema
from syndicator.web.feeds import RUNTIME

PREVIEW_BODY = {
    "type": "object",
    "description": "Exactly one of `source_id` (a configured source) and `source` (a [[sources]] table).",
    "properties": {
        "source_id": {**SOURCE_ID, "description": "a source of the running configuration"},
        "source": {
            "type": "object",
            "description": (
                "a [[sources]] table as JSON, validated like the configuration's (`id` may be left "
                'out; durations and sizes as strings, e.g. "10s"); file: URLs are refused'
            ),
        },
    },
    "additionalProperties": False,
}

PREVIEW_RESULT = dataclass_schema(
    Preview,
    articles={"type": "array", "items": dataclass_schema(PreviewArticle)},
    stopped={
        "type": "array",
        "items": {"type": "string"},
        "description": "the limits that ended the preview (20 items, 3 pages, 30 s)",
    },
    warnings={"type": "array", "items": {"type": "string"}},
    ok={"type": "boolean", "description": "false when `error` says why it produced nothing more"},
)


async def preview(call: Call) -> web.Response:
    body = call.body
    if ("source_id" in body) == ("source" in body):
        raise AdminRequestError("body: give exactly one of source_id and source")
    runtime = call.request.config_dict[RUNTIME]
    if "source_id" in body:
        source = configured_source(runtime, str(body["source_id"]))
    else:
        try:
            source = source_from_table(runtime, body["source"], allow_file=False)  # type: ignore[arg-type]
        except InvalidSource as exc:
            raise AdminRequestError(str(exc)) from None
    result = await preview_source(runtime, source)
    return json_response(result.as_dict())


PREVIEW_OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "POST",
        "/preview",
        "previewSource",
        "What a source would produce (fetch, parse or extract, normalise, categories), storing nothing",
        preview,
        body=PREVIEW_BODY,
        action="preview",
        description=(
            "Runs the whole pipeline in the parse processes, through the address guard and the "
            "host's politeness slot, and stops at 20 articles, 3 listing pages or 30 s. An upstream "
            "failure (refused address, HTTP error, unusable document) is a 200 with `ok: false` "
            "and `error` saying why."
        ),
        responses={200: Response("the articles it would produce", PREVIEW_RESULT)},
    ),
)

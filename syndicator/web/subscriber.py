"""The callback the upstream hubs call: `/websub/callback/{path}` (syndicator/subscriber/).

GET is the hub's verification of intent (the challenge echoed as text/plain), POST a push.
`path` is the random per-subscription token; anything else answers 404. The push body is
read here within `fetch.max_bytes` — the app's own request limit is for GETs — and judged
and handed on by `syndicator.subscriber.push`.
"""

from __future__ import annotations

from aiohttp import web

from syndicator.fetch.body import read_at_most
from syndicator.ingest.push import ingest_push
from syndicator.subscriber.push import JOB_NAME as PUSH_JOB
from syndicator.subscriber.push import accept_push
from syndicator.subscriber.subscribe import verify_intent
from syndicator.web.errors import guarded
from syndicator.web.feeds import RUNTIME


async def verify(request: web.Request) -> web.Response:
    status, text = await verify_intent(request.app[RUNTIME], request.match_info["path"], dict(request.query))
    return web.Response(status=status, text=text, content_type="text/plain")


async def push(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    body = await read_at_most(request.content, request.content_length, runtime.config.fetch.max_bytes)
    status, text, accepted = await accept_push(runtime, request.match_info["path"], body, request.headers)
    if accepted is not None and runtime.queue is not None:  # a worker ingests it
        await runtime.queue.enqueue_job(
            PUSH_JOB, accepted.source_id, accepted.push_id, _queue_name=runtime.config.settings.queue_name
        )
    elif accepted is not None:  # no worker queue (tests, an embedded one-off): ingest inline
        await ingest_push(runtime, accepted.source_id, accepted.push_id)
    response = web.Response(status=status, text=text, content_type="text/plain")
    if body is None:
        response.force_close()  # the unread rest of an oversized body is not waited for
    return response


def install(app: web.Application) -> None:
    app.router.add_get("/websub/callback/{path}", guarded(verify))
    app.router.add_post("/websub/callback/{path}", guarded(push))

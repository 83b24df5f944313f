"""POST /hub: the hub's front door for subscribers (WebSub §5.1).

Everything that can be decided from the request alone is decided here, synchronously,
with a 4xx and a one-line reason, and nothing is sent to the callback: a malformed form,
a topic that is not one of our feeds, a secret too long, a client over its request rate
(`server.hub_requests_per_minute`, per client address like the variant renders: see
web/ratelimit.py), a callback host or the filtered/combined topics at their limit.
Otherwise the answer is 202 Accepted and the verification of intent happens afterwards
(hub/intent.py): as an arq job when this process has a queue, else as a task of this
process (tests, single-process use), kept referenced and cancelled at shutdown.
"""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from syndicator.hub.intent import Intent, VerifyRetry, accept, new_intent, over_limits, verify
from syndicator.hub.requests import HubRequestError, parse_hub_request
from syndicator.runtime import Runtime
from syndicator.web.errors import guarded
from syndicator.web.feeds import RUNTIME
from syndicator.web.ratelimit import RenderLimiter, client_key
from syndicator.web.representation import error_response
from syndicator.web.topics import TopicRefused, normalise_topic, served_by

log = logging.getLogger("syndicator.hub")

FORM = "application/x-www-form-urlencoded"
HUB_LIMITER = web.AppKey("hub_limiter", RenderLimiter)
VERIFYING = web.AppKey("hub_verifying", set)


async def hub_post(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    settings = runtime.config.settings
    wait = request.app[HUB_LIMITER].acquire(
        client_key(request, settings.trusted_proxies), settings.hub_requests_per_minute
    )
    if wait:
        return error_response(
            429,
            f"too many hub requests: at most {settings.hub_requests_per_minute} a minute per client",
            **{"Retry-After": str(wait)},
        )
    if request.content_type != FORM:
        return error_response(415, f"the hub takes a {FORM} body (WebSub §5.1)")
    try:
        form = await request.post()
    except ValueError:  # UnicodeDecodeError among them
        return error_response(400, "the form is not valid UTF-8 URL-encoded text")
    try:
        hub_request = parse_hub_request((name, str(value)) for name, value in form.items())
        topic = normalise_topic(runtime, hub_request.topic)
    except (HubRequestError, TopicRefused) as exc:
        return error_response(400, str(exc))
    if hub_request.mode == "subscribe":
        refusal = await over_limits(runtime, topic.url, hub_request.callback)
        if refusal is not None:
            return error_response(403, refusal)
    intent = new_intent(
        hub_request.mode, topic.url, hub_request.callback, hub_request.lease_seconds, hub_request.secret
    )
    await accept(runtime, intent)
    if runtime.queue is None:
        tasks = request.app[VERIFYING]
        task = asyncio.create_task(_verify_here(runtime, intent))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    return web.Response(
        status=202, text=f"accepted: the hub will verify this {intent.mode} with the callback\n"
    )


async def _verify_here(runtime: Runtime, intent: Intent) -> None:
    """Verification without a queue: one try, after which the request is finished."""
    try:
        log.info("%s", await verify(runtime, intent, served_by(runtime)))
    except VerifyRetry as exc:
        log.info("hub: %s of %s not verified: %s", intent.mode, intent.callback, exc)
    except Exception:
        log.exception("hub: verifying %s of %s failed", intent.mode, intent.callback)


async def _cancel_verifying(app: web.Application) -> None:
    tasks = list(app[VERIFYING])
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def install(app: web.Application) -> None:
    """POST /hub, its per-client request limiter, and the verifications of this process."""
    app[HUB_LIMITER] = RenderLimiter()
    app[VERIFYING] = set()
    app.router.add_post("/hub", guarded(hub_post))
    app.on_cleanup.append(_cancel_verifying)

"""The hub's arq jobs: fan-out on publish, fan-out chunks, one delivery per (subscription, version).

Their own module so the worker settings register them with one line. They pass the web
layer's topic views (web/push.py) to the hub, which does not import the web package.
Every job keeps no result (`keep_result=0`): a finished job's id may be queued again.
"""

from __future__ import annotations

import logging
from typing import Any

from arq import func

from syndicator.hub.deliver import POST_TIMEOUT, Pusher, deliver
from syndicator.hub.fanout import deliver_chunk, fan_out
from syndicator.runtime import Runtime
from syndicator.web.push import WebTopicViews

log = logging.getLogger("syndicator.worker")

VIEWS = WebTopicViews()
PUSHER = "hub_pusher"


def pusher(ctx: dict[str, Any], runtime: Runtime) -> Pusher:
    """This worker's delivery client, built again when a reload changed the fetch limits
    (the address guard's `allowed_networks` among them)."""
    current: tuple[Any, Pusher] | None = ctx.get(PUSHER)
    if current is None or current[0] != runtime.config.fetch:
        if current is not None:
            ctx.setdefault("hub_retired", []).append(current[1])
        current = ctx[PUSHER] = (runtime.config.fetch, Pusher(runtime.config.fetch))
    return current[1]


async def close_pushers(ctx: dict[str, Any]) -> None:
    """At shutdown: close every delivery client this worker opened."""
    current = ctx.pop(PUSHER, None)
    for one in [*ctx.pop("hub_retired", []), *([current[1]] if current else [])]:
        await one.close()


async def hub_fanout_job(ctx: dict[str, Any], slug: str, version: int) -> str:
    runtime: Runtime = ctx["runtime"]
    done = await fan_out(runtime, VIEWS, pusher(ctx, runtime), slug)
    return f"{slug} v{version}: " + (
        ", ".join(f"{d.topic} v{d.version} ({d.subscribers})" for d in done) or "-"
    )


async def hub_fanout_chunk_job(ctx: dict[str, Any], topic: str, version: int, start: int) -> str:
    runtime: Runtime = ctx["runtime"]
    outcomes = await deliver_chunk(runtime, VIEWS, pusher(ctx, runtime), topic, version, start)
    kinds = sorted({o.kind for o in outcomes})
    return f"{topic} v{version} [{start}:]: " + ", ".join(
        f"{sum(o.kind == k for o in outcomes)} {k}" for k in kinds
    )


async def hub_deliver_job(
    ctx: dict[str, Any], subscription_id: str, version: int, first_try: float, attempt: int
) -> str:
    runtime: Runtime = ctx["runtime"]
    outcome = await deliver(
        runtime, VIEWS, pusher(ctx, runtime), subscription_id, version, first_try, attempt
    )
    covered = f"{outcome.after}-{outcome.upto}"
    return f"{subscription_id} v{version}: {outcome.kind} {covered} {outcome.detail}".strip()


def hub_functions(timeout: float) -> list[Any]:
    """The hub's jobs for `worker_settings`. A delivery's timeout is its POST's and a margin,
    a chunk's (its POSTs run at once) twice that: a killed worker's job is run again after
    its timeout (arq's in-progress key expires); the fan-out also renders topics."""
    chunk = 2 * (POST_TIMEOUT + 5)
    return [
        func(hub_fanout_job, name="hub_fanout", keep_result=0, timeout=max(timeout, chunk), max_tries=5),
        func(hub_fanout_chunk_job, name="hub_fanout_chunk", keep_result=0, timeout=chunk, max_tries=5),
        func(hub_deliver_job, name="hub_deliver", keep_result=0, timeout=POST_TIMEOUT + 5, max_tries=5),
    ]

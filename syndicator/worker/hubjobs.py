"""The hub's arq jobs: fan-out on publish, fan-out chunks, one delivery per (subscription, version).

Their own module so the worker settings register them with one line. They pass the web
layer's topic views (web/push.py) to the hub, which does not import the web package.
Every job keeps no result (`keep_result=0`): a finished job's id may be queued again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from arq import func

from syndicator.hub.deliver import POST_TIMEOUT, Pusher, deliver
from syndicator.hub.fanout import deliver_chunk, fan_out
from syndicator.models import FetchLimits
from syndicator.runtime import Runtime
from syndicator.web.push import WebTopicViews

log = logging.getLogger("syndicator.worker")

VIEWS = WebTopicViews()
PUSHERS = "hub_pushers"


@dataclass
class Pushers:
    """A worker's delivery clients: the current one, and those a reload replaced (closed
    at shutdown: a job may still be using one). Made at worker start-up, because arq gives
    each job a copy of the worker's ctx: what a job stores in it is gone after the job."""

    current: tuple[FetchLimits, Pusher] | None = None
    retired: list[Pusher] = field(default_factory=list)

    def pusher(self, limits: FetchLimits) -> Pusher:
        """The client for `limits`, built again when a reload changed them (the address
        guard's `allowed_networks` among them)."""
        if self.current is None or self.current[0] != limits:
            if self.current is not None:
                self.retired.append(self.current[1])
            self.current = (limits, Pusher(limits))
        return self.current[1]


def start_pushers(ctx: dict[str, Any]) -> None:
    ctx[PUSHERS] = Pushers()


def pusher(ctx: dict[str, Any], runtime: Runtime) -> Pusher:
    return ctx[PUSHERS].pusher(runtime.config.fetch)


async def close_pushers(ctx: dict[str, Any]) -> None:
    """At shutdown: close every delivery client this worker opened."""
    pushers: Pushers | None = ctx.pop(PUSHERS, None)
    if pushers is None:
        return
    for one in [*pushers.retired, *([pushers.current[1]] if pushers.current else [])]:
        await one.close()


async def hub_fanout_job(ctx: dict[str, Any], slug: str, version: int) -> str:
    runtime: Runtime = ctx["runtime"]
    done = await fan_out(runtime, VIEWS, pusher(ctx, runtime), slug, version)
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

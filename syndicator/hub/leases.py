"""Keeping the subscription store honest over time: leases that ended, topics that went.

Run once a minute by a worker cron (`hub_maintain`), and safe to run twice at once (arq
cron can, arq #196): a subscription is removed by one `remove_subscription`, and only the
caller that removed it sends the `denied` notice.
- A lease that ended is removed silently: the subscriber knew when it would end
  (§5.1); `subscriptions_for` stopped returning it at that moment already.
- A topic that is no longer one of our feeds (its category removed by a config reload)
  ends every subscription to it, each callback told with `hub.mode=denied` and the
  reason (§5.2), instead of being left waiting for deliveries that never come.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from syndicator.hub.intent import send_denied
from syndicator.hub.topics import Served
from syndicator.runtime import Runtime
from syndicator.store.hub import expired_ids, remove_subscription, topic_ids, topics

MAINTAIN_JOB = "hub_maintain"


@dataclass(frozen=True)
class Maintained:
    """What one pass did: subscriptions whose lease ended, and those denied."""

    expired: int
    denied: int

    def line(self) -> str:
        return f"hub: {self.expired} leases ended, {self.denied} subscriptions denied"


async def maintain(runtime: Runtime, served: Served, *, now: datetime | None = None) -> Maintained:
    """One pass; `served` says whether a topic is still one of our feeds (web/topics.py)."""
    now = now or datetime.now(UTC)
    redis, keys = runtime.redis, runtime.keys
    expired = 0
    for sid in await expired_ids(redis, keys, now=now):
        expired += await remove_subscription(redis, keys, sid) is not None
    denied = 0
    for topic in await topics(redis, keys):
        reason = served(topic)
        if reason is None:
            continue
        for sid in await topic_ids(redis, keys, topic):
            sub = await remove_subscription(redis, keys, sid)
            if sub is not None:
                denied += 1
                await send_denied(runtime, sub.topic, sub.callback, reason)
    return Maintained(expired, denied)

"""Verification of intent (WebSub §5.3), done after the hub has answered 202, and the
`denied` notice (§5.2).

Every (un)subscription request — a renewal too — is confirmed by the callback before it
takes effect: the hub GETs the callback with `hub.mode`, `hub.topic`, `hub.challenge` (and
for a subscription the granted `hub.lease_seconds`) added to its query, and only a 2xx
whose body is exactly the challenge confirms. Anything else (another status, another
body, a redirect, an address the guard refuses, a timeout) leaves the store as it was: a
failed renewal does not end the lease already granted, a failed unsubscription does not
end the subscription. The GET goes through `Fetcher.call`: the address guard, timeouts
and a small answer limit, like any request to a URL a stranger gave us.

Requests for one (topic, callback) pair may be verified out of order (several workers);
the latest wins: each carries a nonce, the store keeps the latest one per pair
(`Keys.hub_pending`), and a verification whose nonce was superseded changes nothing.

The limits are checked again before the callback is asked, and the per-host one once
more, atomically, when the subscription is stored, since requests accepted together
may together exceed them; one refused then is sent `denied` (§5.2). The limit on
filtered or combined topics is not re-checked atomically: concurrent verifications can
pass it by a few, which bounds it all the same.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from syndicator.errors import SyndicatorError
from syndicator.fetch import FetchError
from syndicator.hub.topics import Served, is_variant_url
from syndicator.runtime import Runtime
from syndicator.store.hub import (
    HubSubscription,
    callback_host,
    host_count,
    is_pending,
    load_subscription,
    remove_subscription,
    save_within_limit,
    set_pending,
    subscription_id,
    take_pending,
    topics,
)
from syndicator.store.hub_deliveries import begin_deliveries, latest_topic_version

log = logging.getLogger("syndicator.hub")

PENDING_TTL = 86400
MAX_ANSWER_BYTES = 4096
VERIFY_JOB = "hub_verify"


class VerifyRetry(SyndicatorError):
    """The callback could not be reached for a reason that may pass (timeout, 5xx)."""


@dataclass(frozen=True)
class Intent:
    """One accepted request awaiting verification; `topic` is normalised, `lease_seconds`
    the granted lease, `nonce` its identity among requests for the same pair."""

    mode: str
    topic: str
    callback: str
    lease_seconds: int
    secret: str
    nonce: str

    @property
    def subscription_id(self) -> str:
        return subscription_id(self.topic, self.callback)

    def to_args(self) -> dict[str, object]:
        """The job argument (arq pickles it; a plain dict survives a code change)."""
        return asdict(self)

    @classmethod
    def from_args(cls, args: dict[str, object]) -> Intent:
        return cls(**args)  # type: ignore[arg-type]


def new_intent(mode: str, topic: str, callback: str, lease_seconds: int, secret: str) -> Intent:
    return Intent(mode, topic, callback, lease_seconds, secret, secrets.token_hex(8))


def with_query(callback: str, params: dict[str, str]) -> str:
    """`callback` with `params` added to its query (it may have one of its own: §5.3)."""
    separator = "&" if "?" in callback else "?"
    if callback.endswith(("?", "&")):
        separator = ""
    return callback + separator + urlencode(params)


async def accept(runtime: Runtime, intent: Intent) -> None:
    """Record `intent` as the latest request for its pair and queue its verification (an
    arq job when there is a queue; the caller runs `verify` itself when there is none)."""
    await set_pending(runtime.redis, runtime.keys, intent.subscription_id, intent.nonce, ttl=PENDING_TTL)
    if runtime.queue is not None:
        await runtime.queue.enqueue_job(
            VERIFY_JOB,
            intent.to_args(),
            _job_id=runtime.keys.job_id("hub-verify", intent.nonce),
            _queue_name=runtime.config.settings.queue_name,
        )


async def over_limits(runtime: Runtime, topic: str, callback: str) -> str | None:
    """Why a new subscription of `callback` to `topic` would exceed a limit, or None.
    A renewal (the pair exists) never does; a limit of 0 is no limit."""
    settings = runtime.config.settings
    redis, keys = runtime.redis, runtime.keys
    if await redis.exists(keys.hub_subscription(subscription_id(topic, callback))):
        return None
    host = callback_host(callback)
    per_host = settings.hub_subscriptions_per_host
    if per_host and await host_count(redis, keys, host) >= per_host:
        return (
            f"callback host {host} has {settings.hub_subscriptions_per_host} subscriptions, the most allowed"
        )
    if settings.hub_variant_topics and is_variant_url(topic):
        known = await topics(redis, keys)
        if topic not in known and sum(map(is_variant_url, known)) >= settings.hub_variant_topics:
            return (
                f"the hub serves {settings.hub_variant_topics} filtered or combined topics, "
                "the most allowed; subscribe to a plain feed"
            )
    return None


async def _confirmed(runtime: Runtime, intent: Intent) -> str | None:
    """None if the callback confirmed `intent`; else why not. Raises VerifyRetry when
    trying again later may help."""
    challenge = secrets.token_urlsafe(24)
    params = {"hub.mode": intent.mode, "hub.topic": intent.topic, "hub.challenge": challenge}
    if intent.mode == "subscribe":
        params["hub.lease_seconds"] = str(intent.lease_seconds)
    try:
        answer = await runtime.fetcher.call(
            "GET", with_query(intent.callback, params), max_bytes=MAX_ANSWER_BYTES
        )
    except FetchError as exc:
        if exc.retryable:
            raise VerifyRetry(exc.reason) from None
        return exc.reason
    if answer.status >= 500 or answer.status == 429:
        raise VerifyRetry(f"callback answered HTTP {answer.status}")
    if not 200 <= answer.status < 300:
        return f"callback answered HTTP {answer.status}"
    if answer.body != challenge.encode():
        return "callback did not echo hub.challenge"
    return None


async def verify(runtime: Runtime, intent: Intent, served: Served, *, now: datetime | None = None) -> str:
    """Verify `intent` with its callback and apply it; returns a one-line outcome.
    `served` says whether the topic is still one of our feeds (web/topics.py).
    Raises VerifyRetry when the callback could not be reached for a passing reason."""
    redis, keys = runtime.redis, runtime.keys
    sid = intent.subscription_id
    if not await is_pending(redis, keys, sid, intent.nonce):
        return f"{intent.mode} {intent.callback}: superseded by a newer request"
    if intent.mode == "subscribe":
        refusal = served(intent.topic) or await over_limits(runtime, intent.topic, intent.callback)
        if refusal is not None:
            if await take_pending(redis, keys, sid, intent.nonce):
                await send_denied(runtime, intent.topic, intent.callback, refusal)
            return f"subscribe {intent.callback}: denied: {refusal}"
    failure = await _confirmed(runtime, intent)
    if failure is not None:
        await take_pending(redis, keys, sid, intent.nonce)
        log.info("hub: %s of %s to %s not verified: %s", intent.mode, intent.callback, intent.topic, failure)
        return f"{intent.mode} {intent.callback}: not verified: {failure}"
    if not await take_pending(redis, keys, sid, intent.nonce):
        return f"{intent.mode} {intent.callback}: superseded by a newer request"
    if intent.mode == "unsubscribe":
        await remove_subscription(redis, keys, sid)
        return f"unsubscribe {intent.callback}: verified, removed"
    now = now or datetime.now(UTC)
    old = await load_subscription(redis, keys, sid)
    sub = HubSubscription(
        id=sid,
        topic=intent.topic,
        callback=intent.callback,
        secret=intent.secret,
        lease_seconds=intent.lease_seconds,
        expires_at=now + timedelta(seconds=intent.lease_seconds),
        created_at=old.created_at if old else now,
        verified_at=now,
        acked_version=old.acked_version if old else None,
        failing_since=old.failing_since if old else None,
    )
    if not await keep_subscription(runtime, sub, per_host=runtime.config.settings.hub_subscriptions_per_host):
        refusal = f"callback host {callback_host(intent.callback)} has reached its subscription limit"
        await send_denied(runtime, intent.topic, intent.callback, refusal)
        return f"subscribe {intent.callback}: denied: {refusal}"
    return f"subscribe {intent.callback}: verified, lease {intent.lease_seconds} s"


async def keep_subscription(runtime: Runtime, sub: HubSubscription, *, per_host: int) -> bool:
    """Store a verified subscription (new or renewed) and the topic version its deliveries
    count from: the latest one, read before the subscription joins the topic, so a version
    made while it is stored reaches it too, and a fan-out cut off before this subscriber's
    job ran (its worker killed) leaves nothing out: the next version's delivery carries it.
    False, with nothing written, if `sub` is new and its callback's host already has
    `per_host` subscriptions (0: no limit)."""
    latest = await latest_topic_version(runtime.redis, runtime.keys, sub.topic, with_body=False)
    if not await save_within_limit(runtime.redis, runtime.keys, sub, per_host=per_host):
        return False
    counts_from = latest.version if latest is not None else 0
    await begin_deliveries(runtime.redis, runtime.keys, sub.id, counts_from, sub.created_at.isoformat())
    return True


async def send_denied(runtime: Runtime, topic: str, callback: str, reason: str) -> bool:
    """Tell `callback` its subscription to `topic` is denied or ended (§5.2); best effort:
    the subscriber need not answer, and nothing is retried. True if it answered 2xx."""
    params = {"hub.mode": "denied", "hub.topic": topic, "hub.reason": reason[:200]}
    try:
        answer = await runtime.fetcher.call("GET", with_query(callback, params), max_bytes=MAX_ANSWER_BYTES)
    except FetchError as exc:
        log.info("hub: denied notice to %s failed: %s", callback, exc.reason)
        return False
    return 200 <= answer.status < 300

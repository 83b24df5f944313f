"""Subscribing to an upstream's hub, answering its verification of intent, renewing.

When it runs: a feed poll that got the document (200) calls `consider_hub`; the schedule
calls `renew_due` every tick; the web process calls `verify_intent` for the hub's GET to
our callback. Only when `inactive_reason` is None: the hub must be able to reach us, so
`server.public_url` must be set and public — not loopback, private, link-local or a
reserved name (`localhost`, `*.test`, `*.example`, `*.invalid`, `*.local`, …). The one
exception is the honest one the fetch side already has: an address inside
`fetch.allowed_networks` counts as reachable (a private deployment whose hub is inside
the same network; the tests on loopback).

Each subscription gets a random callback path (`/websub/callback/{path}`) and a random
secret; the record is saved as `pending` BEFORE the request goes out, since a hub may
verify before it answers. The topic is the feed's `rel=self` (websub.rocks 200), found at
the URL the fetch ended at after redirects (201, 202).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from syndicator.fetch.guard import AddressBlocked, AddressGuard, parse_ip_literal
from syndicator.models import Config, FetchResult, PollHint, Source
from syndicator.redact import redact_url
from syndicator.runtime import Runtime, base_url
from syndicator.store import subscriber as store
from syndicator.store.subscriber import UpstreamSubscription
from syndicator.subscriber.discovery import discover
from syndicator.subscriber.hubclient import post_to_hub

log = logging.getLogger(__name__)

CALLBACK_PREFIX = "websub/callback/"
RETRY_AFTER = timedelta(hours=1)  # a failed or unverified request is tried again after this
DENIED_RETRY = timedelta(days=1)  # a hub that said no is asked again after this
SAFETY_NET_SOURCE = "WebSub safety-net poll"

# Special-use and conventional private names (RFC 6761, RFC 6762, RFC 8375, ICANN .internal):
# a hub on the internet cannot reach a callback there.
RESERVED_SUFFIXES = (
    ".test",
    ".example",
    ".invalid",
    ".local",
    ".localhost",
    ".internal",
    ".lan",
    ".home.arpa",
)


def inactive_reason(config: Config) -> str | None:
    """Why the subscriber is off (one line for logs and health), or None when it is on."""
    settings = config.settings
    if not settings.websub_subscribe:
        return "server.websub_subscribe is false"
    if not settings.public_url:
        return "server.public_url is not set (a hub could not reach our callback)"
    host = (urlsplit(settings.public_url).hostname or "").lower().rstrip(".")
    guard = AddressGuard(config.fetch.allowed_networks)
    ip = parse_ip_literal(host)
    try:
        if ip is not None:
            guard.check_address(ip, host=host)
            return None
        guard.check_host(host)
    except AddressBlocked as exc:
        return f"server.public_url is not public: {exc.reason}"
    if (
        "." not in host
        or host.endswith(RESERVED_SUFFIXES)
        or host in {s.lstrip(".") for s in RESERVED_SUFFIXES}
    ):
        return f"server.public_url is not public: {host} is a reserved or local name"
    return None


def callback_url(config: Config, path: str) -> str:
    """The URL the hub calls for the subscription with `path`."""
    return f"{base_url(config.settings)}{CALLBACK_PREFIX}{path}"


def renewal_time(now: datetime, lease_seconds: int) -> datetime:
    """When to renew a lease granted at `now`: a tenth of it before its end, at most a day
    before (a 10-day lease is renewed on day 9, a 1-hour lease 6 minutes before)."""
    margin = min(lease_seconds * 0.1, 86400.0)
    return now + timedelta(seconds=max(lease_seconds - margin, 1.0))


async def safety_net_hint(runtime: Runtime, source: Source, now: datetime) -> PollHint | None:
    """The poll hint of a source whose hub pushes to us: polled only as a safety net."""
    sub = await store.load_subscription(runtime.redis, runtime.keys, source.id)
    if sub is None or not sub.live(now):
        return None
    return PollHint(runtime.config.settings.websub_poll_interval.total_seconds(), SAFETY_NET_SOURCE)


async def consider_hub(
    runtime: Runtime, source: Source, fetched: FetchResult, *, now: datetime
) -> UpstreamSubscription | None:
    """After a poll got `fetched` (200): subscribe when the feed advertises a hub and we
    have no current subscription for that hub and topic. Returns the subscription (None:
    the subscriber is off, or the feed advertises no hub)."""
    if source.kind != "feed" or inactive_reason(runtime.config) is not None:
        return None
    found = discover(fetched.headers, fetched.body, fetched.final_url)
    current = await store.load_subscription(runtime.redis, runtime.keys, source.id)
    if found.hub is None or found.self_url is None:
        if current is not None and current.state in ("pending", "active"):  # no longer advertised
            await store.set_state(
                runtime.redis, runtime.keys, source.id, "failed", "the feed no longer advertises a hub"
            )
        return None
    if current is not None and (current.hub, current.topic) == (found.hub, found.self_url):
        wait = {"pending": RETRY_AFTER, "failed": RETRY_AFTER, "denied": DENIED_RETRY}.get(current.state)
        if current.state == "active" or wait is None or now - current.requested_at < wait:
            return current
    return await subscribe(runtime, source, found.hub, found.self_url, now=now)


async def subscribe(
    runtime: Runtime,
    source: Source,
    hub: str,
    topic: str,
    *,
    now: datetime,
    renewing: UpstreamSubscription | None = None,
) -> UpstreamSubscription:
    """Ask `hub` for `topic`; a renewal keeps its callback path and secret (pushes in
    flight still verify) and stays active while the hub verifies again."""
    redis, keys = runtime.redis, runtime.keys
    lease = int(runtime.config.settings.websub_lease.total_seconds())
    if renewing is not None:
        sub = replace(renewing, hub=hub, topic=topic, requested_at=now, lease_seconds=lease)
    else:
        sub = UpstreamSubscription(
            source_id=source.id,
            hub=hub,
            topic=topic,
            callback_path=store.new_callback_path(),
            secret=store.new_secret(),
            lease_seconds=lease,
            state="pending",
            requested_at=now,
        )
    await store.save_subscription(redis, keys, sub)
    form = {
        "hub.mode": "subscribe",
        "hub.topic": topic,
        "hub.callback": callback_url(runtime.config, sub.callback_path),
        "hub.secret": sub.secret,
        "hub.lease_seconds": str(lease),
    }
    answer = await post_to_hub(hub, form, runtime.config.fetch, guarded=not source.allow_private_network)
    if answer.hub != hub:  # a permanent redirect: the hub lives there now (websub.rocks 204)
        sub = replace(sub, hub=answer.hub)
        await store.save_subscription(redis, keys, sub)
    if answer.ok:
        log.info("%s: subscribed to hub %s (%s)", source.id, redact_url(sub.hub), answer.reason)
    elif renewing is not None and renewing.live(now):  # still live: try again before it ends
        again = min(now + RETRY_AFTER, renewing.expires_at or now)
        await store.reschedule_renewal(redis, keys, source.id, again, f"renewal failed: {answer.reason}")
        log.warning("%s: renewing at hub %s failed: %s", source.id, redact_url(sub.hub), answer.reason)
    else:
        await store.set_state(redis, keys, source.id, "failed", answer.reason)
        log.warning("%s: subscribing at hub %s failed: %s", source.id, redact_url(sub.hub), answer.reason)
    return await store.load_subscription(redis, keys, source.id) or sub


async def renew_due(runtime: Runtime, *, now: datetime | None = None) -> int:
    """Renew every subscription whose renewal time has come (the schedule calls this each
    tick); a source removed from the configuration, or a subscriber switched off, is not
    renewed (its lease runs out). Returns how many were asked again."""
    now = now or datetime.now(UTC)
    redis, keys = runtime.redis, runtime.keys
    renewed = 0
    off = inactive_reason(runtime.config)
    for source_id in await store.due_renewals(redis, keys, now):
        source = runtime.config.sources.get(source_id)
        sub = await store.load_subscription(redis, keys, source_id)
        if sub is None:
            await store.remove_subscription(redis, keys, source_id)
            continue
        if source is None:  # removed: `unsubscribe_removed` tells the hub
            await store.stop_renewing(redis, keys, source_id, "source removed")
            continue
        if off is not None:
            await store.stop_renewing(redis, keys, source_id, f"not renewed: {off}")
            continue
        # Not again on the next tick while this request is out.
        await store.reschedule_renewal(redis, keys, source_id, now + RETRY_AFTER, "")
        await subscribe(runtime, source, sub.hub, sub.topic, now=now, renewing=sub)
        renewed += 1
    return renewed


async def unsubscribe_removed(runtime: Runtime, *, now: datetime | None = None) -> int:
    """Unsubscribe (§5.1, `hub.mode=unsubscribe`) the subscriptions of sources a reload
    removed; the hub's verification of that removes our record (`verify_intent`). One the
    hub never confirms is forgotten when its lease ends. Returns how many were asked."""
    now = now or datetime.now(UTC)
    redis, keys = runtime.redis, runtime.keys
    asked = 0
    for source_id in sorted(set(await store.subscribed_sources(redis, keys)) - set(runtime.config.sources)):
        sub = await store.load_subscription(redis, keys, source_id)
        if sub is None:
            continue
        if sub.state not in ("pending", "active", "unsubscribing") or (
            sub.expires_at and sub.expires_at <= now
        ):
            await store.remove_subscription(redis, keys, source_id)
            continue
        if sub.state == "unsubscribing" and now - sub.requested_at < RETRY_AFTER:
            continue
        await store.save_subscription(redis, keys, replace(sub, state="unsubscribing", requested_at=now))
        await store.stop_renewing(redis, keys, source_id, "source removed: unsubscribing")
        form = {
            "hub.mode": "unsubscribe",
            "hub.topic": sub.topic,
            "hub.callback": callback_url(runtime.config, sub.callback_path),
        }
        answer = await post_to_hub(sub.hub, form, runtime.config.fetch)  # the source is gone: guarded
        log.info(
            "%s: source removed, unsubscribing at hub %s: %s", source_id, redact_url(sub.hub), answer.reason
        )
        asked += 1
    return asked


def _lease(raw: str | None, asked: int) -> int | None:
    if raw is None or raw == "":
        return asked
    try:
        lease = int(raw)
    except ValueError:
        return None
    return lease if lease > 0 else None


async def verify_intent(
    runtime: Runtime, path: str, query: dict[str, str], *, now: datetime | None = None
) -> tuple[int, str]:
    """The answer to the hub's GET on our callback `path` (WebSub §5.3): the challenge
    echoed (200) for a subscribe or unsubscribe we asked for, on the topic we asked for;
    200 for a denial (recorded); 404 for anything else (websub.rocks 205: a wrong topic)."""
    now = now or datetime.now(UTC)
    redis, keys = runtime.redis, runtime.keys
    source_id = await store.source_for_callback(redis, keys, path)
    sub = await store.load_subscription(redis, keys, source_id) if source_id else None
    mode, topic = query.get("hub.mode", ""), query.get("hub.topic", "")
    if sub is None or sub.callback_path != path:
        return 404, "no such subscription\n"
    if source_id not in runtime.config.sources and mode != "unsubscribe":  # removed since
        return 404, "no such subscription\n"
    if topic != sub.topic:
        return 404, "not the topic of this subscription\n"
    if mode == "denied":
        reason = " ".join(query.get("hub.reason", "").split())[:300]
        await store.set_state(
            redis, keys, sub.source_id, "denied", f"the hub denied it: {reason or 'no reason'}"
        )
        return 200, "ok\n"
    challenge = query.get("hub.challenge")
    if not challenge:
        return 400, "hub.challenge missing\n"
    if mode == "subscribe" and sub.state in ("pending", "active"):
        lease = _lease(query.get("hub.lease_seconds"), sub.lease_seconds)
        if lease is None:
            return 400, "hub.lease_seconds is not a positive integer\n"
        await store.mark_verified(
            redis, keys, sub.source_id, now=now, lease_seconds=lease, renew_at=renewal_time(now, lease)
        )
        return 200, challenge
    if mode == "unsubscribe" and sub.state == "unsubscribing":
        await store.remove_subscription(redis, keys, sub.source_id)
        return 200, challenge
    return 404, f"no {mode or 'such'} request pending for this subscription\n"

"""One delivery: POST a subscriber the topic's new and changed items, signed, in order.

A delivery job names (subscription, topic version). Under the subscription's lock it
reads what the subscriber acknowledged (`acked`) and the topic's latest version, and
sends the items of the latest version whose rendered form the acknowledged version did
not have — in ONE POST, however far behind the subscriber is. A job whose version is
already acknowledged sends nothing (idempotency per (subscription, version)); so does a
job for an older version after a newer one was delivered: versions never go backwards.
A subscriber counts from the topic's latest version when its subscription was verified
(hub/intent.py `keep_subscription`), so a version whose fan-out was cut off before this
subscriber's job ran still reaches it with the next one. One with no delivery state at
all (stored before that was recorded, or its state expired) counts from the version
before the one its first job names, recorded once.

The body is the topic's document cut to those items (web/delta.py's cut, through
`TopicViews`), with the topic's Content-Type, `Link: <hub>; rel="hub", <topic>;
rel="self"` (WebSub §7), `X-Hub-Signature: sha256=…` when the subscriber gave a secret
(hub/signature.py), and `X-Hub-Delivery: {from}-{to}`, the versions it covers.

Outcomes: 2xx acknowledges up to the latest version. 410 Gone removes the subscription
(WebSub §7: a subscriber may refuse further deliveries). Anything else — another status,
a refused redirect, a connection error, a timeout — is retried with exponential backoff
(RETRY_FIRST doubling to RETRY_CAP) for up to RETRY_FOR after the version's first try;
a later version's delivery still carries this one's items. A subscription whose
deliveries have failed for DROP_AFTER is removed. A callback the address guard refuses
(a loopback or private address not in `fetch.allowed_networks`) counts as a failure and is
not retried.

Cut off: a POST is marked in flight before it starts. If no answer is recorded — its
worker was killed, the connection dropped, it timed out — the subscriber may have taken
it, so the next try sends that same delivery again, byte for byte (kept in Redis 2 days,
`Keys.hub_payload`), before anything newer: a version is never carried by two different
deliveries, and a subscriber can drop the repeat by its `X-Hub-Delivery`. (No HTTP
sender can rule out that repeat: the 2xx may be on its way when the worker dies.)
"""

from __future__ import annotations

import logging
import random
import secrets
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import aiohttp
from yarl import URL

from syndicator.fetch.guard import AddressBlocked, AddressGuard, GuardedResolver
from syndicator.hub.signature import sign
from syndicator.hub.views import TopicViews, enqueue
from syndicator.models import FetchLimits
from syndicator.redact import redact_url
from syndicator.runtime import Runtime
from syndicator.store.hub import HubSubscription, load_subscription, remove_subscription
from syndicator.store.hub_deliveries import (
    begin_deliveries,
    delivery_state,
    forget_deliveries,
    keep_payload,
    latest_topic_version,
    load_payload,
    mark_inflight,
    record_delivered,
    record_failure,
    release_lock,
    take_lock,
    topic_body,
    topic_manifest,
)

log = logging.getLogger(__name__)

RETRY_FIRST = 1.0  # seconds before the first retry; doubled each try
RETRY_CAP = 3600.0  # the longest wait between two tries
RETRY_FOR = timedelta(hours=24)  # a version is retried this long after its first try
DROP_AFTER = timedelta(days=7)  # a subscription failing this long is removed
POST_TIMEOUT = 15.0  # seconds for one POST, connect to last byte
LOCK_SECONDS = POST_TIMEOUT + 10.0  # a killed holder's lock frees itself after this
LOCK_WAIT = 0.2  # seconds a job waits before trying a held lock again
CUTS_KEPT = 64  # cut delivery bodies a worker keeps


def retry_delay(attempt: int) -> float:
    """The wait before try `attempt + 1`: 1, 2, 4 … s (±20 %), at most RETRY_CAP."""
    return min(RETRY_CAP, RETRY_FIRST * 2.0**attempt) * random.uniform(0.8, 1.2)


def hub_url(runtime: Runtime) -> str:
    return f"{runtime.site_url}hub"


class Pusher:
    """The HTTP client deliveries go out through: one per worker, closed at shutdown.

    Connections go through the fetch client's address guard (`GuardedResolver` for names,
    `check_host` for IP literals), with the same `fetch.allowed_networks`; no redirect is
    followed (a callback that redirects has not accepted the delivery), no cookies, no
    proxy from the environment.
    """

    def __init__(self, limits: FetchLimits) -> None:
        self._guard = AddressGuard(limits.allowed_networks)
        self._user_agent = limits.user_agent
        self._session: aiohttp.ClientSession | None = None
        # Cut bodies by (key prefix, topic, from, to): the subscribers of one topic that
        # are equally up to date get the same bytes, cut once per worker.
        self.cuts: OrderedDict[tuple[str, str, int, int], bytes] = OrderedDict()

    def cut(self, key: tuple[str, str, int, int]) -> bytes | None:
        body = self.cuts.get(key)
        if body is not None:
            self.cuts.move_to_end(key)
        return body

    def keep_cut(self, key: tuple[str, str, int, int], body: bytes) -> None:
        self.cuts[key] = body
        while len(self.cuts) > CUTS_KEPT:
            self.cuts.popitem(last=False)

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(
                    resolver=GuardedResolver(aiohttp.DefaultResolver(), self._guard), limit=256
                ),
                timeout=aiohttp.ClientTimeout(total=POST_TIMEOUT),
                cookie_jar=aiohttp.DummyCookieJar(),
                trust_env=False,
            )
        return self._session

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        """POST `body`; the status. Raises AddressBlocked, aiohttp.ClientError, TimeoutError."""
        target = URL(url)
        self._guard.check_host(target.raw_host or "")
        async with self._client().post(
            target, data=body, headers={"User-Agent": self._user_agent, **headers}, allow_redirects=False
        ) as resp:
            await resp.read()
            return resp.status

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


@dataclass(frozen=True)
class Outcome:
    """What one delivery job did: `delivered`, `nothing` (already acknowledged or no
    items), `busy` (another job holds the lock; queued again), `retry`, `removed` (410,
    dropped after failing, or no subscription), `gave_up` (the version's retry time is
    over), `refused` (the address guard)."""

    kind: str
    after: int | None = None
    upto: int | None = None
    status: int | None = None
    detail: str = ""


@dataclass(frozen=True)
class Payload:
    after: int  # acknowledged version the items are counted from
    upto: int  # the latest topic version, acknowledged on 2xx
    body: bytes | None  # None: nothing new to send (e.g. only removals)
    headers: dict[str, str]


async def build_payload(
    runtime: Runtime, views: TopicViews, pusher: Pusher, sub: HubSubscription, after: int
) -> Payload | None:
    """What to POST to bring a subscriber from version `after` to the topic's latest
    (None: it has that already)."""
    latest = await latest_topic_version(runtime.redis, runtime.keys, sub.topic, with_body=False)
    if latest is None or latest.version <= after:
        return None
    had = await topic_manifest(runtime.redis, runtime.keys, sub.topic, after)
    now = await topic_manifest(runtime.redis, runtime.keys, sub.topic, latest.version)
    if now is None:
        return None
    seen = had.digests() if had is not None else {}  # too far behind: everything is new
    keep = {item.id for item in now.items if seen.get(item.id) != item.digest}
    if not keep:
        return Payload(
            after, latest.version, None, headers_for(runtime, sub, after, latest.version, latest.media_type)
        )
    cut_key = (runtime.keys.prefix, sub.topic, after, latest.version)
    body = pusher.cut(cut_key)
    if body is None:
        full = await topic_body(runtime.redis, runtime.keys, sub.topic, latest.version)
        if full is None:  # a newer version landed meanwhile: deliver up to that one
            return await build_payload(runtime, views, pusher, sub, after)
        body = views.cut(latest.fmt, full, keep)
        pusher.keep_cut(cut_key, body)
        await keep_payload(
            runtime.redis, runtime.keys, sub.topic, after, latest.version, body, latest.media_type
        )
    headers = headers_for(runtime, sub, after, latest.version, latest.media_type, body)
    return Payload(after, latest.version, body, headers)


def headers_for(
    runtime: Runtime, sub: HubSubscription, after: int, upto: int, media_type: str, body: bytes | None = None
) -> dict[str, str]:
    """A delivery's headers: the topic's media type, the `Link`s (WebSub §7), the versions
    it covers, and the signature when the subscriber gave a secret."""
    headers = {
        "Content-Type": media_type,
        "Link": f'<{hub_url(runtime)}>; rel="hub", <{sub.topic}>; rel="self"',
        "X-Hub-Delivery": f"{after}-{upto}",
    }
    if sub.secret and body is not None:
        headers["X-Hub-Signature"] = sign(sub.secret.encode("utf-8"), body)
    return headers


async def repeat_payload(runtime: Runtime, sub: HubSubscription, inflight: str, after: int) -> Payload | None:
    """The delivery that was under way when its worker died (or got no answer), byte for
    byte, if it starts at the acknowledged version: the subscriber may have taken it, so
    it gets the same range again (which it can drop by `X-Hub-Delivery`), never a second
    range overlapping it."""
    first, _, last = inflight.partition("-")
    if not (first.isdigit() and last.isdigit()) or int(first) != after or int(last) <= after:
        return None
    kept = await load_payload(runtime.redis, runtime.keys, sub.topic, after, int(last))
    if kept is None:
        return None
    body, media_type = kept
    return Payload(after, int(last), body, headers_for(runtime, sub, after, int(last), media_type, body))


async def deliver(
    runtime: Runtime,
    views: TopicViews,
    pusher: Pusher,
    subscription_id: str,
    version: int,
    first_try: float,
    attempt: int,
    *,
    now: datetime | None = None,
) -> Outcome:
    """Deliver `version` (and everything since the acknowledged one) to one subscription."""
    redis, keys = runtime.redis, runtime.keys
    now = now or datetime.now(UTC)
    sub = await load_subscription(redis, keys, subscription_id)
    if sub is None or sub.expires_at <= now:
        return Outcome("removed", detail="no subscription, or its lease is over")
    state = await delivery_state(redis, keys, subscription_id)
    mine = state.created in ("", sub.created_at.isoformat())
    if mine and state.acked is not None and state.acked >= version:
        return Outcome("nothing", detail=f"version {version} already acknowledged ({state.acked})")
    token = secrets.token_hex(8)
    if not await take_lock(redis, keys, subscription_id, token, LOCK_SECONDS):
        await enqueue(
            runtime,
            "hub_deliver",
            subscription_id,
            version,
            first_try,
            attempt,
            job_id=f"hubdel:{subscription_id}:{version}:w{token}",
            defer=LOCK_WAIT,
        )
        return Outcome("busy")
    try:
        state = await delivery_state(redis, keys, subscription_id)  # read again under the lock
        created = sub.created_at.isoformat()
        if state.created and state.created != created:
            # What an earlier subscription of this (topic, callback) pair acknowledged,
            # before it was removed (unsubscribed, denied, expired): this one starts afresh.
            await forget_deliveries(redis, keys, subscription_id)
            state = await delivery_state(redis, keys, subscription_id)
        if state.acked is not None and state.acked >= version:
            return Outcome("nothing", detail=f"version {version} already acknowledged ({state.acked})")
        after = state.acked
        if after is None:
            after = await begin_deliveries(redis, keys, subscription_id, version - 1, created)
        outcome = Outcome("nothing", detail="no newer topic version")
        inflight = state.inflight
        for _ in range(2):  # a repeat of a delivery cut off, then what is new since
            payload = await repeat_payload(runtime, sub, inflight, after) if inflight else None
            inflight = ""
            if payload is None:
                payload = await build_payload(runtime, views, pusher, sub, after)
            if payload is None:
                return outcome
            outcome = await send(runtime, pusher, sub, payload, version, first_try, attempt, now)
            if outcome.kind != "delivered":
                return outcome
            after = payload.upto
        return outcome
    finally:
        await release_lock(redis, keys, subscription_id, token)


async def send(
    runtime: Runtime,
    pusher: Pusher,
    sub: HubSubscription,
    payload: Payload,
    version: int,
    first_try: float,
    attempt: int,
    now: datetime,
) -> Outcome:
    """POST one payload (holding the subscription's lock) and record what came of it."""
    redis, keys = runtime.redis, runtime.keys
    name = payload.headers["X-Hub-Delivery"]
    if payload.body is None:
        await record_delivered(redis, keys, sub.id, after=payload.after, upto=payload.upto, delivery=name)
        return Outcome("nothing", payload.after, payload.upto, detail="no new or changed items")
    await mark_inflight(redis, keys, sub.id, name)
    try:
        status = await pusher.post(sub.callback, payload.body, payload.headers)
    except AddressBlocked as exc:
        await record_failure(redis, keys, sub.id, now)
        log.warning("hub: delivery to %s refused: %s", redact_url(sub.callback), exc.reason)
        return Outcome("refused", payload.after, payload.upto, detail=exc.reason)
    except (aiohttp.ClientError, TimeoutError) as exc:
        return await failed(runtime, sub, version, first_try, attempt, now, payload, None, repr(exc))
    if 200 <= status < 300:
        await record_delivered(redis, keys, sub.id, after=payload.after, upto=payload.upto, delivery=name)
        return Outcome("delivered", payload.after, payload.upto, status)
    if status == 410:
        await remove_subscription(redis, keys, sub.id)
        await forget_deliveries(redis, keys, sub.id)
        log.info("hub: %s answered 410 Gone; subscription removed", redact_url(sub.callback))
        return Outcome("removed", payload.after, payload.upto, status, "410 Gone")
    return await failed(runtime, sub, version, first_try, attempt, now, payload, status, f"HTTP {status}")


async def failed(
    runtime: Runtime,
    sub: HubSubscription,
    version: int,
    first_try: float,
    attempt: int,
    now: datetime,
    payload: Payload,
    status: int | None,
    detail: str,
) -> Outcome:
    """Record a failed POST; retry later, give the version up after RETRY_FOR, or drop the
    subscription after DROP_AFTER of failures."""
    redis, keys = runtime.redis, runtime.keys
    since = await record_failure(redis, keys, sub.id, now, unsure=status is None)
    shown = redact_url(sub.callback)
    if now - since >= DROP_AFTER:
        await remove_subscription(redis, keys, sub.id)
        await forget_deliveries(redis, keys, sub.id)
        log.warning("hub: deliveries to %s failing since %s; subscription dropped", shown, since.isoformat())
        return Outcome("removed", payload.after, payload.upto, status, f"failing since {since.isoformat()}")
    wait = retry_delay(attempt)
    if now.timestamp() + wait - first_try > RETRY_FOR.total_seconds():
        log.warning(
            "hub: version %d to %s not delivered in %s (%s); giving it up", version, shown, RETRY_FOR, detail
        )
        return Outcome("gave_up", payload.after, payload.upto, status, detail)
    await enqueue(
        runtime,
        "hub_deliver",
        sub.id,
        version,
        first_try,
        attempt + 1,
        job_id=f"hubdel:{sub.id}:{version}:{attempt + 1}",
        defer=wait,
    )
    log.info("hub: delivery to %s failed (%s); try %d in %.1f s", shown, detail, attempt + 2, wait)
    return Outcome("retry", payload.after, payload.upto, status, detail)

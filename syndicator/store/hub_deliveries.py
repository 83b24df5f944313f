"""What the hub has pushed: topic versions, and per subscription what it acknowledged.

Topic versions. A topic (a plain, filtered or combined feed URL) gets a new hub version
each time a publish changes what it shows: the fan-out stores the topic's document as it
is now (`body`, in the topic's format) and its manifest (item ids with a digest of each
rendered item, store/manifests.py) — one optimistic transaction, so two publishes of
categories of one combined topic at once still number its versions one by one, and a
publish that leaves the topic's items as they were makes no version (nothing to push).
The hub keeps its own numbering, not the category's: a filtered or combined topic has no
stored version of its own, and a plain topic is then handled the same way.

Subscriptions. `acked` is the newest topic version a subscriber answered 2xx for; a
verified subscription starts at the topic's latest version when it was stored. A
delivery always carries everything from `acked` to the topic's latest version in one
POST, so versions reach a subscriber in order and one that is behind catches up at once.
`hub_delivered` records, per (subscription, version), which delivery carried it: a job
run twice (a retry, a worker killed and its job run again) finds its version recorded and
sends nothing. The one window left is between the subscriber's 2xx and this record (a
worker killed there): the next run sends the same range again, with the same
`X-Hub-Delivery` range header, so a subscriber can tell it is a repeat.

This state lives apart from the subscription's hash (store/hub.py), which a renewal
rewrites whole; `acked_version` and `failing_since` are copied onto that hash for display.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from redis.asyncio import Redis
from redis.exceptions import WatchError

from syndicator.store.atomic import atomic
from syndicator.store.keys import Keys
from syndicator.store.manifests import Manifest, ManifestItem, manifest_from_json, manifest_to_json

KEEP_TOPIC_VERSIONS = 64  # manifests kept per topic; a subscriber further behind gets the whole feed
KEEP_DELIVERED = 256  # idempotency records kept per subscription (newest versions)
STATE_TTL = 40 * 86400  # seconds: a removed subscription's state goes away on its own
PAYLOAD_TTL = 2 * 86400  # seconds a delivery's bytes are kept for sending it again


@dataclass(frozen=True)
class TopicVersion:
    """The latest hub version of a topic, as deliveries are cut from it."""

    version: int
    fmt: str
    media_type: str
    body: bytes


@dataclass(frozen=True)
class DeliveryState:
    acked: int | None  # newest topic version the subscriber answered 2xx for
    failing_since: datetime | None
    inflight: str  # "{from}-{to}" of a POST started and not recorded, "" if none
    created: str = ""  # the created_at of the subscription this state belongs to


def _text(value: bytes | str | None) -> str:
    return value.decode() if isinstance(value, bytes) else (value or "")


async def record_topic_version(
    redis: Redis,
    keys: Keys,
    topic: str,
    *,
    fmt: str,
    media_type: str,
    body: bytes,
    items: tuple[ManifestItem, ...],
    baseline: tuple[ManifestItem, ...] | None = None,
    cause: str = "",
) -> int | None:
    """Store the topic's document as its next version; None when its items (ids and
    digests) are those of the latest version already (nothing for subscribers).

    `baseline` is what the topic showed before, for a topic the hub has no version of yet:
    it is kept as version 0, so the first version's subscribers get only what changed.
    `cause` names the publish (`slug:version`); the same cause again (its fan-out job run
    again after its worker was killed) gets the version it made, if that is still the
    latest, so the run that was cut off is delivered (deliveries are idempotent).
    """
    key, manifests_key = keys.hub_topic_version(topic), keys.hub_topic_manifests(topic)
    digests = {item.id: item.digest for item in items}
    while True:
        async with atomic(redis) as pipe:
            try:
                await pipe.watch(key, manifests_key)
                latest_raw, made_by = await pipe.hmget(key, ["version", "cause"])
                latest = int(_text(latest_raw) or 0)
                if latest and cause and _text(made_by) == cause:
                    await pipe.reset()
                    return latest
                if latest:
                    raw = await pipe.hget(manifests_key, str(latest))
                    if raw and manifest_from_json(raw).digests() == digests:
                        await pipe.reset()
                        return None
                version = latest + 1
                stored = [int(v) for v in await pipe.hkeys(manifests_key)]
                doomed = sorted({*stored, version}, reverse=True)[KEEP_TOPIC_VERSIONS:]
                pipe.multi()
                if not latest and baseline is not None:
                    pipe.hset(manifests_key, "0", manifest_to_json(Manifest(0, baseline, {})))
                pipe.hset(manifests_key, str(version), manifest_to_json(Manifest(version, items, {})))
                if doomed:
                    pipe.hdel(manifests_key, *(str(v) for v in doomed))
                pipe.hset(
                    key,
                    mapping={
                        "version": str(version),
                        "fmt": fmt,
                        "media_type": media_type,
                        "body": body,
                        "cause": cause,
                    },
                )
                await pipe.execute()
                return version
            except WatchError:
                continue


async def latest_topic_version(
    redis: Redis, keys: Keys, topic: str, *, with_body: bool = True
) -> TopicVersion | None:
    """The topic's latest hub version; without its body (b"") when `with_body` is false:
    deliveries of one version to many subscribers read the body once per worker."""
    names = ["version", "fmt", "media_type", *(["body"] if with_body else [])]
    values = await redis.hmget(keys.hub_topic_version(topic), names)
    if values[0] is None:
        return None
    body = values[3] if with_body else b""
    return TopicVersion(
        version=int(_text(values[0])),
        fmt=_text(values[1]),
        media_type=_text(values[2]),
        body=body if isinstance(body, bytes) else str(body or "").encode(),
    )


async def topic_body(redis: Redis, keys: Keys, topic: str, version: int) -> bytes | None:
    """The body of the topic's latest version if that is still `version` (else None)."""
    stored, body = await redis.hmget(keys.hub_topic_version(topic), ["version", "body"])
    if stored is None or int(_text(stored)) != version or body is None:
        return None
    return body if isinstance(body, bytes) else str(body).encode()


async def topic_manifest(redis: Redis, keys: Keys, topic: str, version: int) -> Manifest | None:
    """The manifest of one topic version, if still kept."""
    raw = await redis.hget(keys.hub_topic_manifests(topic), str(version))
    return manifest_from_json(raw) if raw else None


async def delivery_state(redis: Redis, keys: Keys, subscription_id: str) -> DeliveryState:
    acked, failing, inflight, created = await redis.hmget(
        keys.hub_delivery(subscription_id), ["acked", "failing_since", "inflight", "created"]
    )
    return DeliveryState(
        acked=int(_text(acked)) if acked else None,
        failing_since=datetime.fromisoformat(_text(failing)) if failing else None,
        inflight=_text(inflight),
        created=_text(created),
    )


# KEYS: state, log. ARGV: version, created, ttl. A state left by an earlier subscription of
# the same (topic, callback) pair (another `created`) is dropped; `acked` is set only if
# absent (a renewal keeps what was acknowledged).
_BEGIN = """
local had = redis.call('HGET', KEYS[1], 'created')
if had and had ~= '' and had ~= ARGV[2] then redis.call('DEL', KEYS[1], KEYS[2]) end
redis.call('HSETNX', KEYS[1], 'acked', ARGV[1])
redis.call('HSET', KEYS[1], 'created', ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return redis.call('HGET', KEYS[1], 'acked')
"""


async def begin_deliveries(redis: Redis, keys: Keys, subscription_id: str, version: int, created: str) -> int:
    """A subscription counts from `version`, set once. When it is verified that is the
    topic's latest hub version read before the subscription was stored, so every version
    made after it is delivered, even one whose fan-out was cut off before this
    subscriber's job ran; one with no state at all (stored before this was recorded, or
    its state expired) counts from the version before its first job's (hub/deliver.py).
    A renewal keeps what it acknowledged; what an earlier, removed subscription of the
    same pair (another `created`) acknowledged is forgotten. Returns the version it
    counts from."""
    acked = await redis.eval(
        _BEGIN,
        2,
        keys.hub_delivery(subscription_id),
        keys.hub_delivered(subscription_id),
        str(version),
        created,
        str(STATE_TTL),
    )
    return int(_text(acked))


async def delivered_by(redis: Redis, keys: Keys, subscription_id: str) -> dict[int, str]:
    """The idempotency record: topic version → the delivery (`{from}-{to}`) that carried it."""
    raw = await redis.hgetall(keys.hub_delivered(subscription_id))
    return {int(_text(k)): _text(v) for k, v in raw.items()}


async def mark_inflight(redis: Redis, keys: Keys, subscription_id: str, delivery: str) -> None:
    """A POST of `delivery` is about to start (seen after a crash: a possible repeat)."""
    key = keys.hub_delivery(subscription_id)
    async with atomic(redis) as pipe:
        pipe.hset(key, "inflight", delivery)
        pipe.expire(key, STATE_TTL)
        await pipe.execute()


async def keep_payload(
    redis: Redis, keys: Keys, topic: str, after: int, upto: int, body: bytes, media_type: str
) -> None:
    """Keep the bytes of the delivery of versions (`after`, `upto`] (the first kept stay)."""
    key = keys.hub_payload(topic, after, upto)
    async with atomic(redis) as pipe:
        pipe.hsetnx(key, "body", body)
        pipe.hsetnx(key, "media_type", media_type)
        pipe.expire(key, PAYLOAD_TTL)
        await pipe.execute()


async def load_payload(
    redis: Redis, keys: Keys, topic: str, after: int, upto: int
) -> tuple[bytes, str] | None:
    """The kept bytes and media type of the delivery of (`after`, `upto`], if still kept."""
    body, media_type = await redis.hmget(keys.hub_payload(topic, after, upto), ["body", "media_type"])
    if body is None or media_type is None:
        return None
    return (body if isinstance(body, bytes) else str(body).encode()), _text(media_type)


# KEYS: state, log, subscription hash. ARGV: from (exclusive), to, delivery name.
# acked only moves forward; versions (from, to] not yet recorded are recorded as carried
# by this delivery; the log is trimmed to the newest KEEP_DELIVERED versions.
_RECORD_DELIVERED = """
local acked = tonumber(redis.call('HGET', KEYS[1], 'acked') or '-1')
local from, to = tonumber(ARGV[1]), tonumber(ARGV[2])
if to > acked then redis.call('HSET', KEYS[1], 'acked', to) end
for v = math.max(from + 1, to - tonumber(ARGV[4]) + 1), to do
  redis.call('HSETNX', KEYS[2], tostring(v), ARGV[3])
end
redis.call('HDEL', KEYS[1], 'failing_since', 'inflight')
redis.call('EXPIRE', KEYS[1], ARGV[5])
local kept = redis.call('HKEYS', KEYS[2])
if #kept > tonumber(ARGV[4]) then
  local numbers = {}
  for i, k in ipairs(kept) do numbers[i] = tonumber(k) end
  table.sort(numbers)
  for i = 1, #numbers - tonumber(ARGV[4]) do redis.call('HDEL', KEYS[2], tostring(numbers[i])) end
end
redis.call('EXPIRE', KEYS[2], ARGV[5])
if redis.call('EXISTS', KEYS[3]) == 1 then
  redis.call('HSET', KEYS[3], 'acked_version', redis.call('HGET', KEYS[1], 'acked'), 'failing_since', '')
end
return 1
"""


async def record_delivered(
    redis: Redis, keys: Keys, subscription_id: str, *, after: int, upto: int, delivery: str
) -> None:
    """The subscriber answered 2xx for versions (`after`, `upto`]: acknowledge them."""
    await redis.eval(
        _RECORD_DELIVERED,
        3,
        keys.hub_delivery(subscription_id),
        keys.hub_delivered(subscription_id),
        keys.hub_subscription(subscription_id),
        str(after),
        str(upto),
        delivery,
        str(KEEP_DELIVERED),
        str(STATE_TTL),
    )


_RECORD_FAILURE = """
redis.call('HSETNX', KEYS[1], 'failing_since', ARGV[1])
if ARGV[3] == '0' then redis.call('HDEL', KEYS[1], 'inflight') end
redis.call('EXPIRE', KEYS[1], ARGV[2])
local since = redis.call('HGET', KEYS[1], 'failing_since')
if redis.call('EXISTS', KEYS[2]) == 1 then redis.call('HSET', KEYS[2], 'failing_since', since) end
return since
"""


async def record_failure(
    redis: Redis, keys: Keys, subscription_id: str, now: datetime, *, unsure: bool = False
) -> datetime:
    """A delivery failed at `now`: returns since when this subscription's deliveries fail
    (the first failure after its last success). `unsure`: no answer came (a timeout, a
    dropped connection), so the subscriber may have taken it: the in-flight mark stays,
    and the next try sends the same delivery again."""
    since = await redis.eval(
        _RECORD_FAILURE,
        2,
        keys.hub_delivery(subscription_id),
        keys.hub_subscription(subscription_id),
        now.astimezone(UTC).isoformat(),
        str(STATE_TTL),
        "1" if unsure else "0",
    )
    return datetime.fromisoformat(_text(since))


async def forget_deliveries(redis: Redis, keys: Keys, subscription_id: str) -> None:
    """A removed subscription's delivery state (a new subscription starts afresh)."""
    await redis.delete(keys.hub_delivery(subscription_id), keys.hub_delivered(subscription_id))


# The lock: one delivery per subscription at a time. Released only by its holder.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


async def take_lock(redis: Redis, keys: Keys, subscription_id: str, token: str, seconds: float) -> bool:
    return bool(
        await redis.set(keys.hub_delivery_lock(subscription_id), token, nx=True, px=int(seconds * 1000))
    )


async def release_lock(redis: Redis, keys: Keys, subscription_id: str, token: str) -> None:
    await redis.eval(_RELEASE, 1, keys.hub_delivery_lock(subscription_id), token)


def describe_state(state: DeliveryState) -> dict[str, object]:
    """JSON-ready form, for logs and the admin API."""
    return {
        "acked_version": state.acked,
        "failing_since": state.failing_since.isoformat() if state.failing_since else None,
        "inflight": state.inflight or None,
    }

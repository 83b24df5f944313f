"""Per-source fetch state and the schedule of due sources.

The state is a Redis hash so operators can read it directly and so that each field can be
updated without a read-modify-write. `record_outcome` is its one writer: an ingest returns
its report, and the entry points in `syndicator.ingest` record it here. The due set is one
sorted set scored by the next due time: the scheduler asks Redis "who is due" instead of
scanning every source.

A source can also be halted — `paused` by an operator, or `gone` because its upstream
answered 410 — in one small hash (`Keys.halted`) the scheduler reads once per tick: a
halted source is not polled until `resume_source`. The hash is not the source's fetch
state, so a pause survives reloads and restarts, and `forget_removed` drops the entries
of sources the configuration no longer has (a source added again later starts unpaused).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from syndicator.models import PollHint, Source, Validators
from syndicator.store.atomic import atomic
from syndicator.store.keys import Keys
from syndicator.store.polling import (
    DEFAULT_COOLDOWN,
    HostCoolingDown,
    cool_down_host,
    deferral,
    next_adaptive,
    plan_poll,
)
from syndicator.store.polling import MAX_BACKOFF as MAX_BACKOFF  # where tests and callers look

COOLDOWN_STATUSES = frozenset({429, 503})
RULE_FIELD = "rule:"  # state hash fields `rule:<count name>`: the processing stage's counts


@dataclass(frozen=True)
class SourceState:
    """What the workers know about one source, as read back from Redis."""

    etag: str | None = None
    last_modified: str | None = None
    last_attempt: str | None = None
    last_success: str | None = None
    last_status: str | None = None  # "200 ok: 3 new, 1 changed", "304 not modified", …
    last_error: str | None = None
    last_error_at: str | None = None
    consecutive_errors: int = 0
    next_due: str | None = None
    warnings: tuple[str, ...] = field(default=())
    last_outcome: str | None = None  # "updated", "not-modified" or "error"
    last_http_status: int | None = None
    last_error_reason: str | None = None  # the failure alone, without source and URL
    last_duration: float | None = None  # seconds the last poll took (fetch, parse, store)
    fetches: int = 0  # polls timed so far, for the mean
    fetch_seconds: float = 0.0
    robots_refused: int = 0  # page fetches robots.txt refused (fetch/robots.py), all time
    last_robots_refusal: str | None = None  # `url: reason` of the last one
    adaptive_interval: float | None = None  # seconds (store/polling.py); None: the poll_interval
    last_change: str | None = None  # the last poll that found a new or changed article
    poll_hint: str | None = None  # the upstream's hint the last poll got: `RSS <ttl> 1h`
    next_due_reason: str | None = None  # why next_due is when it is
    doc_hint: PollHint | None = None  # the last document's own hint (<ttl>, sy:), kept over 304s
    full_text_pages: int = 0  # pages of a full_text source's items read (or tried)
    full_text_errors: int = 0  # … that failed: the item kept its summary
    last_full_text_error: str | None = None  # `source: page URL: reason`
    # The processing stage's counts per rule since the state began (`blocked: block[0]`).
    rule_counts: dict[str, int] = field(default_factory=dict)

    @property
    def mean_fetch_seconds(self) -> float | None:
        return self.fetch_seconds / self.fetches if self.fetches else None

    @property
    def validators(self) -> Validators:
        return Validators(etag=self.etag, last_modified=self.last_modified)


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="seconds")


async def load_state(redis: Redis, keys: Keys, source_id: str) -> SourceState:
    raw = {k.decode(): v.decode() for k, v in (await redis.hgetall(keys.source_state(source_id))).items()}
    return SourceState(
        etag=raw.get("etag") or None,
        last_modified=raw.get("last_modified") or None,
        last_attempt=raw.get("last_attempt"),
        last_success=raw.get("last_success"),
        last_status=raw.get("last_status"),
        last_error=raw.get("last_error") or None,
        last_error_at=raw.get("last_error_at"),
        consecutive_errors=int(raw.get("consecutive_errors", 0)),
        next_due=raw.get("next_due"),
        warnings=tuple(w for w in raw.get("warnings", "").split("\n") if w),
        last_outcome=raw.get("last_outcome") or None,
        last_http_status=int(raw["last_http_status"]) if raw.get("last_http_status") else None,
        last_error_reason=raw.get("last_error_reason") or None,
        last_duration=float(raw["last_duration"]) if raw.get("last_duration") else None,
        fetches=int(raw.get("fetches", 0)),
        fetch_seconds=float(raw.get("fetch_seconds", 0.0)),
        robots_refused=int(raw.get("robots_refused", 0)),
        last_robots_refusal=raw.get("last_robots_refusal") or None,
        adaptive_interval=_float(raw.get("adaptive_interval")),
        last_change=raw.get("last_change") or None,
        poll_hint=raw.get("poll_hint") or None,
        next_due_reason=raw.get("next_due_reason") or None,
        doc_hint=_hint(raw.get("doc_hint")),
        full_text_pages=int(raw.get("full_text_pages", 0)),
        full_text_errors=int(raw.get("full_text_errors", 0)),
        last_full_text_error=raw.get("last_full_text_error") or None,
        rule_counts={
            name.removeprefix(RULE_FIELD): int(value)
            for name, value in sorted(raw.items())
            if name.startswith(RULE_FIELD) and value.lstrip("-").isdigit()
        },
    )


def _float(text: str | None) -> float | None:
    try:
        return float(text) if text else None
    except ValueError:
        return None


def _hint(text: str | None) -> PollHint | None:
    try:
        fields = json.loads(text) if text else None
        return PollHint(float(fields["seconds"]), str(fields["source"])) if fields else None
    except (TypeError, ValueError, KeyError):
        return None


@dataclass(frozen=True)
class Halt:
    """Why a source is not polled: `paused` (an operator) or `gone` (the upstream said 410)."""

    state: str
    at: str
    reason: str = ""


async def halted_sources(redis: Redis, keys: Keys) -> dict[str, Halt]:
    """Every halted source id → its halt."""
    halts: dict[str, Halt] = {}
    for source_id, raw in (await redis.hgetall(keys.halted)).items():
        try:
            halts[source_id.decode()] = Halt(**json.loads(raw))
        except (TypeError, ValueError):
            halts[source_id.decode()] = Halt("paused", "", "unreadable halt record")
    return halts


def _is_gone(raw: bytes | None) -> bool:
    try:
        return raw is not None and json.loads(raw).get("state") == "gone"
    except (ValueError, AttributeError):
        return False


def _halt_json(state: str, now: datetime, reason: str) -> str:
    return json.dumps({"state": state, "at": _iso(now), "reason": reason})


async def pause_source(redis: Redis, keys: Keys, source_id: str, *, now: datetime, reason: str = "") -> Halt:
    """Stop polling `source_id` until `resume_source` (a job already queued ends at once)."""
    await redis.hset(keys.halted, source_id, _halt_json("paused", now, reason))
    return Halt("paused", _iso(now), reason)


async def resume_source(redis: Redis, keys: Keys, source_id: str, *, now: datetime) -> Halt | None:
    """Poll `source_id` again (paused or gone), due at once; returns the halt it lifted."""
    halt = (await halted_sources(redis, keys)).get(source_id)
    async with atomic(redis) as pipe:
        pipe.hdel(keys.halted, source_id)
        pipe.zadd(keys.due, {source_id: now.timestamp()})
        pipe.hset(keys.source_state(source_id), "next_due_reason", "resumed by an operator: due at once")
        await pipe.execute()
    return halt


async def forget_removed(redis: Redis, keys: Keys, known: Iterable[str]) -> list[str]:
    """Drop the halts of sources not in `known` (the configuration): a pause is forgotten
    with its source. Returns the ids forgotten."""
    known = set(known)
    gone = [k.decode() for k in await redis.hkeys(keys.halted) if k.decode() not in known]
    if gone:
        await redis.hdel(keys.halted, *gone)
    return gone


def next_poll(source: Source, now: datetime, consecutive_errors: int = 0) -> datetime:
    """When to poll next with no history and no hint: the interval with ±10 % jitter,
    doubled per consecutive error (`store.polling.plan_poll` has the whole formula)."""
    return plan_poll(source, now, errors=consecutive_errors).due


async def defer_poll(
    redis: Redis, keys: Keys, source: Source, cooling: HostCoolingDown, *, now: datetime
) -> datetime:
    """Put off `source`'s poll until its host's cool-down ends: no fetch was made, so no
    error is counted and nothing else of its state moves."""
    due = deferral(cooling, now)
    reason = f"deferred: host {cooling.host} cooling down ({cooling.reason})"
    async with atomic(redis) as pipe:
        pipe.hset(keys.source_state(source.id), mapping={"next_due": _iso(due), "next_due_reason": reason})
        pipe.zadd(keys.due, {source.id: due.timestamp()})
        await pipe.execute()
    return due


async def due_sources(redis: Redis, keys: Keys, sources: dict[str, Source], now: datetime) -> list[str]:
    """Enabled, not halted sources whose next poll time has come; new sources are due at once."""
    enabled = [s.id for s in sources.values() if s.enabled]
    if enabled:
        await redis.zadd(keys.due, {sid: now.timestamp() for sid in enabled}, nx=True)
    due = [d.decode() for d in await redis.zrangebyscore(keys.due, "-inf", now.timestamp())]
    halted = {k.decode() for k in await redis.hkeys(keys.halted)} if due else set()
    return [d for d in due if d in sources and sources[d].enabled and d not in halted]


class Outcome(Protocol):
    """What `record_outcome` reads off an ingest's report (`syndicator.ingest.IngestReport`).

    A protocol, not an import: the store sits below ingest, which imports it.
    """

    @property
    def url(self) -> str: ...
    @property
    def status(self) -> str: ...  # "updated", "not-modified" or "error"
    @property
    def last_status(self) -> str: ...
    @property
    def validators(self) -> Validators: ...
    @property
    def warnings(self) -> tuple[str, ...]: ...
    @property
    def error(self) -> str | None: ...
    @property
    def from_listing(self) -> bool: ...
    @property
    def unmapped(self) -> str | None: ...
    @property
    def pages(self) -> Sequence[Outcome]: ...
    @property
    def http_status(self) -> int | None: ...
    @property
    def reason(self) -> str | None: ...
    @property
    def counts(self) -> Mapping[str, int]: ...  # "new", "changed", … → how many
    @property
    def body_bytes(self) -> int | None: ...
    @property
    def robots_refused(self) -> bool: ...
    @property
    def error_at(self) -> str | None: ...
    @property
    def retry_after(self) -> float | None: ...
    @property
    def hint(self) -> PollHint | None: ...  # the upstream's hint for the next poll
    @property
    def doc_hint(self) -> PollHint | None: ...  # the document's own (kept over 304s)
    @property
    def full_text(self) -> bool: ...  # the page of a full_text source's item
    @property
    def rule_counts(self) -> Mapping[str, int]: ...  # "blocked: block[0]", … → how many


GONE_STATUS = 410
FETCH_LOG_SIZE = 50  # fetch outcomes kept per source (`Keys.fetch_log`)
ROBOTS_REFUSALS_KEPT = 10  # recent robots.txt refusals kept per source (`Keys.robots_refusals`)


@dataclass(frozen=True)
class FetchEntry:
    """One poll of a source as its timeline shows it (time ISO 8601 UTC, seconds)."""

    at: str
    outcome: str  # updated | not-modified | error
    http_status: int | None
    status: str  # the status line: `200 ok: 3 new`, `304 not modified`, `error`
    bytes: int | None  # body bytes fetched (0 for a 304; None when nothing was fetched)
    new: int
    changed: int
    duration: float | None
    error: str | None  # the failure alone, without source and URL


def _fetch_entry_json(outcome: Outcome, now: datetime, duration: float | None) -> str:
    return json.dumps(
        {
            "at": _iso(now),
            "outcome": outcome.status,
            "http_status": outcome.http_status,
            "status": outcome.last_status,
            "bytes": outcome.body_bytes,
            "new": int(outcome.counts.get("new", 0)),
            "changed": int(outcome.counts.get("changed", 0)),
            "duration": round(duration, 3) if duration is not None else None,
            "error": (outcome.reason or outcome.error) if outcome.status == "error" else None,
        }
    )


async def fetch_log(
    redis: Redis, keys: Keys, source_id: str, *, limit: int = FETCH_LOG_SIZE
) -> list[FetchEntry]:
    """A source's last polls, newest first (at most `FETCH_LOG_SIZE`)."""
    raws = await redis.lrange(keys.fetch_log(source_id), 0, max(0, min(limit, FETCH_LOG_SIZE) - 1))
    entries: list[FetchEntry] = []
    for raw in raws:
        try:
            fields = json.loads(raw)
            entries.append(FetchEntry(**{f: fields.get(f) for f in FetchEntry.__dataclass_fields__}))
        except (TypeError, ValueError):
            continue  # an unreadable entry: left out of the timeline
    return entries


async def record_outcome(
    redis: Redis,
    keys: Keys,
    source: Source,
    outcome: Outcome,
    *,
    now: datetime,
    duration: float | None = None,
) -> None:
    """Record one ingest's outcome on its source: the one writer of the source's state.

    - the source's own poll succeeded (or was a 304): validators, status line and warnings
      kept, errors reset, next poll at the plain interval;
    - it failed: stored items stay as they are, the error is kept, `consecutive_errors`
      grows and the next poll backs off; a 410 (Gone) halts the source instead: no next
      poll until an operator resumes it;
    - a page found by its listing failed: `page_errors` grows, the page is forgotten by
      `seen_pages` so the next poll tries it again; the listing's own state is untouched;
    - the page of a `full_text` source's item (`outcome.full_text`): only its counters,
      `full_text_pages` and, failed, `full_text_errors` and `last_full_text_error` (the
      item was kept with its summary); the source's poll state is untouched;
    - a page's category path that no rule maps: counted in `unmapped`, so operators can
      add a rule;
    - a page robots.txt refused (the source's own or one its listing found): counted in
      `robots_refused`, with `last_robots_refusal` naming the URL and the reason, and
      kept with the source's last ROBOTS_REFUSALS_KEPT (`recent_robots_refusals`);
    - the processing stage's per-rule counts (articles blocked or not kept, by which rule;
      regex timeouts), of the poll and of every page: added to `rule:<name>` fields;
    - every poll of the source itself (not a page its listing found): one entry on its
      fetch timeline (`Keys.fetch_log`: time, status, bytes, new/changed counts), capped
      at `FETCH_LOG_SIZE`;
    - the next poll follows `store.polling.plan_poll`: the adaptive interval (stretched by a
      poll that found nothing, shortened by changes) or the backoff, the upstream's hint,
      the source's bounds; the hint and the reason are kept for source health;
    - a 429 or 503 (the source's or a page's) cools the host down for every source on it.

    One transaction; a failure needs a second one for the next poll time, which depends
    on the error count the first returned.
    """
    state_key = keys.source_state(source.id)
    if outcome.full_text:  # an item's page: its own fields, never the source's poll state
        await _record_full_text(redis, keys, source.id, outcome, now=now)
        await _cool_down_hosts(redis, keys, source, outcome, now=now)
        return
    failed = outcome.status == "error" and not outcome.from_listing
    gone = failed and outcome.http_status == GONE_STATUS
    polled = {"last_outcome": outcome.status, "last_http_status": outcome.http_status or ""}
    # A source found gone that answers again (an inline `syndicator ingest` of it) is not
    # gone any more; a pause stays until an operator lifts it.
    was_gone = not failed and not outcome.from_listing and _is_gone(await redis.hget(keys.halted, source.id))
    adaptive_raw, last_change_raw = await redis.hmget(state_key, ["adaptive_interval", "last_change"])
    adaptive = _float(adaptive_raw.decode() if adaptive_raw else None)
    hint_shown = outcome.hint.describe() if outcome.hint else ""
    async with atomic(redis) as pipe:
        if failed:
            pipe.hincrby(state_key, "consecutive_errors", 1)  # reply 0: the error count
            pipe.hset(
                state_key,
                mapping={
                    "last_attempt": _iso(now),
                    "last_error": outcome.error or "",
                    "last_error_reason": outcome.reason or outcome.error or "",
                    "last_error_at": _iso(now),
                    "last_status": outcome.last_status,
                    **polled,
                },
            )
            if gone:
                reason = f"the upstream answered {outcome.reason or GONE_STATUS}"
                pipe.hset(keys.halted, source.id, _halt_json("gone", now, reason))
                pipe.hset(state_key, "next_due", "")
                pipe.zrem(keys.due, source.id)
        elif not outcome.from_listing:
            changed = outcome.status == "updated" and any(outcome.counts.get(key, 0) for key in CHANGE_COUNTS)
            last_change = _parse_iso(last_change_raw.decode() if last_change_raw else None)
            since = (now - last_change).total_seconds() if changed and last_change else None
            adaptive = next_adaptive(source, adaptive, changed=changed, since_last_change=since)
            plan = plan_poll(source, now, adaptive=adaptive, hint=outcome.hint)
            due = plan.due
            pipe.hset(
                state_key,
                mapping={
                    "adaptive_interval": f"{adaptive:.1f}",
                    "poll_hint": hint_shown,
                    "next_due_reason": plan.reason,
                    **({"last_change": _iso(now)} if changed else {}),
                    **({"doc_hint": _hint_json(outcome.doc_hint)} if outcome.status == "updated" else {}),
                },
            )
            pipe.hset(
                state_key,
                mapping={
                    "etag": outcome.validators.etag or "",
                    "last_modified": outcome.validators.last_modified or "",
                    "last_attempt": _iso(now),
                    "last_success": _iso(now),
                    "last_status": outcome.last_status,
                    "consecutive_errors": 0,
                    "next_due": _iso(due),
                    "warnings": "\n".join(outcome.warnings),
                    **polled,
                },
            )
            pipe.hdel(state_key, "last_error")
            pipe.zadd(keys.due, {source.id: due.timestamp()})
            if was_gone:
                pipe.hdel(keys.halted, source.id)
        if not outcome.from_listing:  # the source's own poll: one entry on its timeline
            pipe.lpush(keys.fetch_log(source.id), _fetch_entry_json(outcome, now, duration))
            pipe.ltrim(keys.fetch_log(source.id), 0, FETCH_LOG_SIZE - 1)
        if duration is not None and not outcome.from_listing:
            pipe.hset(state_key, "last_duration", f"{duration:.3f}")
            pipe.hincrbyfloat(state_key, "fetch_seconds", duration)
            pipe.hincrby(state_key, "fetches", 1)
        for page in (outcome, *outcome.pages):
            if page.full_text:
                _full_text_fields(pipe, state_key, page, now)
            elif page.from_listing and page.status == "error":
                pipe.hincrby(state_key, "page_errors", 1)
                pipe.hset(
                    state_key, mapping={"last_page_error": page.error or "", "last_page_error_at": _iso(now)}
                )
                pipe.hdel(keys.seen_pages(source.id), page.url)  # try it again on the next poll
            if page.unmapped:
                pipe.hincrby(state_key, "unmapped", 1)
                pipe.hset(state_key, "last_unmapped", page.unmapped)
            _robots_fields(pipe, keys, source.id, page)
            for name, count in page.rule_counts.items():
                if count:
                    pipe.hincrby(state_key, RULE_FIELD + name, count)
        replies = await pipe.execute()
    if failed and not gone:
        plan = plan_poll(source, now, adaptive=adaptive, errors=int(replies[0]), hint=outcome.hint)
        async with atomic(redis) as pipe:
            pipe.hset(
                state_key,
                mapping={"next_due": _iso(plan.due), "next_due_reason": plan.reason, "poll_hint": hint_shown},
            )
            pipe.zadd(keys.due, {source.id: plan.due.timestamp()})
            await pipe.execute()
    await _cool_down_hosts(redis, keys, source, outcome, now=now)


async def _cool_down_hosts(
    redis: Redis, keys: Keys, source: Source, outcome: Outcome, *, now: datetime
) -> None:
    """A 429 or 503 — to the source's own poll, a page its listing found or an item's
    full-text page — cools that host down for every source on it (store/polling.py)."""
    for polled_url in (outcome, *outcome.pages):
        if polled_url.status == "error" and polled_url.http_status in COOLDOWN_STATUSES:
            await cool_down_host(
                redis,
                keys,
                polled_url.url,
                now=now,
                seconds=DEFAULT_COOLDOWN if polled_url.retry_after is None else polled_url.retry_after,
                status=int(polled_url.http_status or 0),
                source_id=source.id,
            )


CHANGE_COUNTS = ("new", "changed", "new pages")  # report counts that mean the source changed


def _parse_iso(text: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(text) if text else None
    except ValueError:
        return None


def _hint_json(hint: PollHint | None) -> str:
    return json.dumps({"seconds": hint.seconds, "source": hint.source}) if hint else ""


def _robots_fields(pipe: Pipeline, keys: Keys, source_id: str, outcome: Outcome) -> None:
    """Queue the count and reason of a page robots.txt refused (any kind of page), and the
    refusal on the source's recent ones (`Keys.robots_refusals`, the last ROBOTS_REFUSALS_KEPT)."""
    if outcome.status == "error" and outcome.robots_refused:
        state_key = keys.source_state(source_id)
        pipe.hincrby(state_key, "robots_refused", 1)
        refusal = f"{outcome.error_at or outcome.url}: {outcome.reason or outcome.error}"
        pipe.hset(state_key, "last_robots_refusal", refusal)
        pipe.lpush(keys.robots_refusals(source_id), refusal)
        pipe.ltrim(keys.robots_refusals(source_id), 0, ROBOTS_REFUSALS_KEPT - 1)


def _full_text_fields(pipe: Pipeline, state_key: str, outcome: Outcome, now: datetime) -> None:
    """Queue what the page of a `full_text` source's item changes on the source: a failure
    (404, refused, no article) counts in `full_text_errors` with its URL and reason in
    `last_full_text_error`; every page asked for counts in `full_text_pages` (not an item
    that needed none any more)."""
    if outcome.status == "error" or outcome.http_status is not None:
        pipe.hincrby(state_key, "full_text_pages", 1)
    if outcome.status == "error":
        pipe.hincrby(state_key, "full_text_errors", 1)
        pipe.hset(
            state_key,
            mapping={"last_full_text_error": outcome.error or "", "last_full_text_error_at": _iso(now)},
        )


async def _record_full_text(
    redis: Redis, keys: Keys, source_id: str, outcome: Outcome, *, now: datetime
) -> None:
    async with atomic(redis) as pipe:
        _full_text_fields(pipe, keys.source_state(source_id), outcome, now)
        _robots_fields(pipe, keys, source_id, outcome)
        await pipe.execute()

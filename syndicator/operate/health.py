"""Source health: what an operator asks of each source, read in one place for API and CLI.

State, in the order it wins: `paused` (an operator stopped polling), `gone` (the upstream
answered 410; polling stopped until resumed), `failing` (the last poll failed; backing
off), `ok` (the last poll worked, or none has run yet). Everything else comes from the
source's fetch state (`store/sources.py`, written only by `record_outcome`), the due set,
and the source's `all` index (articles stored, and published in the last 24 hours). URLs
are redacted (`syndicator.redact`) before they leave this module.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta

from syndicator.models import ALL_CATEGORY, Config, Source
from syndicator.operate.errors import UnknownCategory, UnknownSource, UnknownState
from syndicator.redact import redact_headers, redact_text, redact_url
from syndicator.runtime import Runtime
from syndicator.store.sources import Halt, SourceState, halted_sources, load_state
from syndicator.store.subscriber import UpstreamSubscription, load_subscription

STATES = ("ok", "failing", "paused", "gone")


@dataclass(frozen=True)
class SourceHealth:
    """One source as an operator sees it (times ISO 8601, UTC; durations in seconds)."""

    source_id: str
    title: str
    kind: str
    url: str  # redacted
    categories: tuple[str, ...]
    enabled: bool
    state: str  # ok | failing | paused | gone
    state_since: str | None  # when it was paused or found gone
    state_reason: str | None  # why (the operator's note, or the 410)
    last_fetch_at: str | None
    last_outcome: str | None  # updated | not-modified | error
    last_http_status: int | None
    last_status: str | None  # `200 ok: 3 new`, `304 not modified`, `error`
    last_error: str | None  # the reason alone, URLs redacted
    last_error_at: str | None
    consecutive_errors: int
    next_due: str | None  # None while halted or disabled
    articles_stored: int
    articles_24h: int  # stored articles published in the last 24 hours
    mean_fetch_seconds: float | None
    last_fetch_seconds: float | None
    warnings: tuple[str, ...]
    # The upstream's hint the last poll got (`RSS <ttl> 1h`, `Retry-After (HTTP 429) 2h`), and
    # why next_due is when it is (`upstream hint: Cache-Control max-age 2h`, `adaptive
    # interval 45m`, `backoff after 2 errors 1h`, `deferred: host … cooling down …`).
    poll_hint: str | None
    next_due_reason: str | None
    # robots.txt: whether it is obeyed (`obey_robots`), how many page fetches it refused,
    # and the last refusal as `url: reason` (URL redacted).
    obey_robots: bool = True
    robots_refused: int = 0
    last_robots_refusal: str | None = None
    headers: dict[str, str] = field(default_factory=dict)  # configured header names → "***"
    # `full_text` sources: items waiting for their page now, pages read, pages that failed
    # (the item kept its summary) and the last failure with its page URL (redacted).
    full_text_held: int = 0
    full_text_pages: int = 0
    full_text_errors: int = 0
    last_full_text_error: str | None = None
    # Articles the processing stage dropped, per rule, since the source's state began
    # (`blocked: filters.block[0]`, `not kept: keep`), and regex rules that timed out.
    rule_counts: dict[str, int] = field(default_factory=dict)
    # Our WebSub subscription to the upstream's hub (syndicator/subscriber/), if it has one:
    # its state (pending, active, expired, denied, failed, unsubscribing) and why, hub and topic
    # (redacted), when the lease ends, and its delivery health: pushes ingested, dropped
    # unsigned, dropped for a wrong signature, refused (too large, unusable), the last one.
    websub_state: str | None = None
    websub_reason: str | None = None
    websub_hub: str | None = None
    websub_topic: str | None = None
    websub_expires_at: str | None = None
    websub_pushes: int = 0
    websub_pushes_unsigned: int = 0
    websub_pushes_bad_signature: int = 0
    websub_pushes_refused: int = 0
    websub_last_push_at: str | None = None
    websub_last_push: str | None = None
    # robots.txt's last refusals (at most ROBOTS_REFUSALS_KEPT), newest first, each as
    # `url: reason` (URL redacted): a listing's refused pages, not only the last one.
    recent_robots_refusals: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, object]:
        out = asdict(self)
        out["categories"] = list(self.categories)
        out["warnings"] = list(self.warnings)
        out["recent_robots_refusals"] = list(self.recent_robots_refusals)
        return out


def feeds_category(config: Config, source: Source, slug: str) -> bool:
    """Whether `source` feeds category `slug` (its own categories, their parents, `all`)."""
    return any(slug in config.category_with_ancestors(c) for c in source.categories or (ALL_CATEGORY,))


def health_state(state: SourceState, halt: Halt | None) -> str:
    if halt is not None:
        return "gone" if halt.state == "gone" else "paused"
    return "failing" if state.consecutive_errors else "ok"


def _health(
    source: Source,
    state: SourceState,
    halt: Halt | None,
    due: float | None,
    stored: int,
    recent: int,
    held: int = 0,
    robots_refusals: list[bytes] | None = None,
) -> SourceHealth:
    polled = source.enabled and halt is None
    return SourceHealth(
        source_id=source.id,
        title=source.title,
        kind=source.kind,
        url=redact_url(source.url),
        categories=source.categories,
        enabled=source.enabled,
        state=health_state(state, halt),
        state_since=halt.at if halt else None,
        state_reason=redact_text(halt.reason) if halt and halt.reason else None,
        last_fetch_at=state.last_attempt,
        last_outcome=state.last_outcome,
        last_http_status=state.last_http_status,
        last_status=state.last_status,
        last_error=redact_text(state.last_error_reason or state.last_error or "") or None,
        last_error_at=state.last_error_at,
        consecutive_errors=state.consecutive_errors,
        next_due=(
            datetime.fromtimestamp(due, UTC).isoformat(timespec="seconds")
            if polled and due is not None
            else None
        ),
        articles_stored=stored,
        articles_24h=recent,
        mean_fetch_seconds=round(state.mean_fetch_seconds, 3)
        if state.mean_fetch_seconds is not None
        else None,
        last_fetch_seconds=state.last_duration,
        warnings=tuple(redact_text(w) for w in state.warnings),
        poll_hint=state.poll_hint,
        next_due_reason=redact_text(state.next_due_reason) if polled and state.next_due_reason else None,
        obey_robots=source.obey_robots,
        robots_refused=state.robots_refused,
        last_robots_refusal=redact_text(state.last_robots_refusal) if state.last_robots_refusal else None,
        headers=redact_headers(source.headers),
        full_text_held=held,
        full_text_pages=state.full_text_pages,
        full_text_errors=state.full_text_errors,
        last_full_text_error=redact_text(state.last_full_text_error) if state.last_full_text_error else None,
        rule_counts=dict(state.rule_counts),
        recent_robots_refusals=tuple(redact_text(raw.decode()) for raw in robots_refusals or ()),
    )


async def _healths(runtime: Runtime, sources: list[Source], now: datetime) -> list[SourceHealth]:
    redis, keys = runtime.redis, runtime.keys
    halts = await halted_sources(redis, keys)
    states = [await load_state(redis, keys, s.id) for s in sources]
    since = (now - timedelta(hours=24)).timestamp()
    async with redis.pipeline(transaction=False) as pipe:
        for source in sources:
            index = keys.source_index(ALL_CATEGORY, source.id)
            pipe.zscore(keys.due, source.id)
            pipe.zcard(index)
            pipe.zcount(index, since, "+inf")
            pipe.hlen(keys.held(source.id))
            pipe.lrange(keys.robots_refusals(source.id), 0, -1)
        replies = await pipe.execute()
    n = 5  # replies per source
    healths = [
        _health(source, state, halts.get(source.id), *replies[n * i : n * i + n])
        for i, (source, state) in enumerate(zip(sources, states, strict=True))
    ]
    subs = [await load_subscription(redis, keys, s.id) for s in sources]
    return [with_websub(h, sub, now) if sub else h for h, sub in zip(healths, subs, strict=True)]


def _when(when: datetime | None) -> str | None:
    return when.isoformat(timespec="seconds") if when else None


def with_websub(health: SourceHealth, sub: UpstreamSubscription, now: datetime) -> SourceHealth:
    """`health` with the source's WebSub subscription; its callback path and secret stay out.
    An active one whose lease ended unrenewed shows as `expired` (polling is back to normal)."""
    expired = sub.state == "active" and not sub.live(now)
    return replace(
        health,
        websub_state="expired" if expired else sub.state,
        websub_reason=redact_text(sub.reason) if sub.reason else None,
        websub_hub=redact_url(sub.hub),
        websub_topic=redact_url(sub.topic),
        websub_expires_at=_when(sub.expires_at),
        websub_pushes=sub.pushes,
        websub_pushes_unsigned=sub.pushes_unsigned,
        websub_pushes_bad_signature=sub.pushes_bad_signature,
        websub_pushes_refused=sub.pushes_refused,
        websub_last_push_at=_when(sub.last_push_at),
        websub_last_push=redact_text(sub.last_push) if sub.last_push else None,
    )


async def source_health(runtime: Runtime, source_id: str, *, now: datetime | None = None) -> SourceHealth:
    """One source's health; UnknownSource when the configuration has no such source."""
    source = runtime.config.sources.get(source_id)
    if source is None:
        raise UnknownSource(source_id)
    return (await _healths(runtime, [source], now or datetime.now(UTC)))[0]


async def list_health(
    runtime: Runtime,
    *,
    state: str | None = None,
    category: str | None = None,
    now: datetime | None = None,
) -> list[SourceHealth]:
    """Every configured source's health in configuration order, optionally only those in
    `state` and/or feeding `category` (UnknownState, UnknownCategory when not one)."""
    config = runtime.config
    if state is not None and state not in STATES:
        raise UnknownState(state)
    if category is not None and category not in config.categories:
        raise UnknownCategory(category)
    sources = [s for s in config.sources.values() if category is None or feeds_category(config, s, category)]
    healths = await _healths(runtime, sources, now or datetime.now(UTC))
    return [h for h in healths if state is None or h.state == state]


def scheduler_lag(healths: Iterable[SourceHealth], now: datetime) -> float:
    """How long the most overdue polled source has waited past its due time, in seconds (0:
    none is overdue): the `syndicator_scheduler_lag_seconds` gauge, and bench/scale.py's lag.
    It grows while no scheduler runs (no worker) or the workers cannot keep up."""
    overdue = [(now - datetime.fromisoformat(h.next_due)).total_seconds() for h in healths if h.next_due]
    return max([0.0, *overdue])

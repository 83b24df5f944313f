"""The audit log of operators' actions: who did what to what, when, and how it ended.

Every admin API action (each POST and DELETE that passed the token check, refused ones
included: a 400, 404 or 409 is recorded with its outcome) and every operators' command
that changes something (`reingest`, `pause`, `resume`, `hide`, …) calls `record_action`
once; the dashboard, `GET /admin/api/audit` and `syndicator audit` read `audit_log`. Failed
token checks are not actions (the admin API logs those at WARNING). The last 1,000 actions
are kept (`store/audit.py`).

`who` is the client address for HTTP (as the rate limits see it: `web/ratelimit.py`
`client_key`) and `cli:<user>@<host>` for the command line (`cli_actor`). URLs in the
target or detail have their secrets redacted, as everywhere else.
"""

from __future__ import annotations

import getpass
import logging
import socket
from datetime import UTC, datetime

from syndicator.redact import redact_text
from syndicator.runtime import Runtime
from syndicator.store.audit import KEEP, AuditEntry, append_entry, read_entries

log = logging.getLogger("syndicator.operate")

OK = "ok"
REFUSED = "refused"  # the action was not done: unknown id, bad request, conflict, no worker
FAILED = "failed"  # it was tried and went wrong (a 5xx, a run that failed)
OUTCOMES = (OK, REFUSED, FAILED)


def cli_actor() -> str:
    """`cli:<user>@<host>`: who runs an operators' command."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container's arbitrary user)
        user = "unknown"
    return f"cli:{user}@{socket.gethostname()}"


def outcome_of_status(status: int) -> str:
    """The outcome of an HTTP answer: 2xx ok, 4xx refused, anything else failed."""
    if 200 <= status < 300:
        return OK
    return REFUSED if 400 <= status < 500 else FAILED


async def record_action(
    runtime: Runtime,
    *,
    who: str,
    action: str,
    target: str,
    outcome: str,
    detail: str = "",
    now: datetime | None = None,
) -> AuditEntry:
    """Append one action to the audit log (and log it at INFO, event `audit`); the entry."""
    entry = AuditEntry(
        at=(now or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds"),
        who=who,
        action=action,
        target=redact_text(target),
        outcome=outcome,
        detail=redact_text(detail),
    )
    await append_entry(runtime.redis, runtime.keys, entry)
    log.info(
        "audit: %s %s %s: %s%s",
        entry.who,
        entry.action,
        entry.target,
        entry.outcome,
        f" ({entry.detail})" if entry.detail else "",
        extra={"event": "audit", "outcome": entry.outcome},
    )
    return entry


async def audit_log(runtime: Runtime, *, limit: int = 100) -> list[AuditEntry]:
    """The newest `limit` actions (at most 1,000), newest first."""
    return await read_entries(runtime.redis, runtime.keys, min(limit, KEEP))

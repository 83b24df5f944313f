"""The operators' commands: `sources`, `reingest`, `reprocess`, `pause`, `resume`, `runs`, `hide`,
`unhide`, `audit`.

The CLI twins of the admin API: they call the same `syndicator.operate` functions, talking
to Redis directly with the configuration every command loads, so they work with or
without a web process. `ingest` runs sources inline and needs no worker; `reingest` only
queues runs for the workers, so with no worker heartbeat it refuses (exit status 3) and
says which command does the work inline.

Each command that changes something (`reingest`, `reprocess`, `pause`, `resume`, `hide`,
`unhide`) records itself in the audit log as `cli:<user>@<host>`, refusals included; `audit` prints the log.

`reprocess` (a real run) queues jobs of at most 200 articles for the workers and waits for
them, printing the result; with no worker running it does the same jobs in this process
(`--inline` always does), and `--no-wait` prints the runs and returns.

Exit status: 0 done (nothing failed), 1 a run failed or Redis was unreachable (cli.py
reports that), 2 an unknown id or a bad option, 3 no worker to run a re-ingest (or a
`reprocess --no-wait`), 4 `--wait` (or a reprocess's wait) gave up with runs still pending.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TextIO

from arq.connections import ArqRedis, create_pool

from syndicator.models import Config
from syndicator.operate import (
    OperateError,
    Selection,
    SourceHealth,
    UnknownRun,
    get_run,
    list_health,
    pause,
    reingest,
    resume,
    source_runs,
)
from syndicator.operate.audit import FAILED, OK, REFUSED, audit_log, cli_actor, record_action
from syndicator.operate.health import STATES
from syndicator.operate.reprocess import (
    EXPIRED_ADVICE,
    ReprocessResult,
    reprocess,
    reprocess_status,
    start_reprocess,
)
from syndicator.operate.takedown import hide, unhide
from syndicator.runtime import Runtime, public_url_required
from syndicator.store.audit import KEEP as AUDIT_KEEP
from syndicator.store.audit import AuditEntry
from syndicator.store.connection import RedisUrls, arq_settings
from syndicator.store.heartbeats import BEAT_INTERVAL, TTL_BEATS, live_workers
from syndicator.store.runs import Run
from syndicator.values import parse_duration

COMMANDS = ("sources", "reingest", "reprocess", "pause", "resume", "runs", "hide", "unhide", "audit")

NO_WORKER = 3
WAIT_TIMED_OUT = 4
POLL_SECONDS = 0.5


def _add_selection_flags(p: argparse.ArgumentParser, *, failing: bool) -> None:
    """Which sources a `reingest` or `reprocess` acts on: the same flags, one definition."""
    p.add_argument(
        "--source",
        dest="source_ids",
        action="append",
        nargs="+",
        default=[],
        metavar="ID",
        help="these sources",
    )
    p.add_argument("--category", metavar="SLUG", help="every source that feeds this category")
    if failing:
        p.add_argument("--failing", action="store_true", help="every source whose last poll failed")
    p.add_argument("--all", action="store_true", help="every source")


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """The operators' subcommands, on `syndicator`'s parser."""
    p = sub.add_parser("sources", help="every source's health: state, last fetch, errors, articles")
    p.add_argument("--state", choices=STATES, help="only sources in this state")
    p.add_argument("--category", metavar="SLUG", help="only the sources that feed this category")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--config")
    p = sub.add_parser("reingest", help="queue an ingest run of sources for the workers")
    _add_selection_flags(p, failing=True)
    p.add_argument("--force", action="store_true", help="ignore stored validators; re-read known pages")
    p.add_argument("--wait", action="store_true", help="wait for the runs and print each outcome")
    p.add_argument(
        "--timeout", type=_duration, default=600.0, metavar="DURATION", help="with --wait (default 10m)"
    )
    p.add_argument("--config")
    p = sub.add_parser(
        "reprocess",
        help="re-apply extraction, category and filter rules to stored articles, without fetching",
    )
    _add_selection_flags(p, failing=False)
    p.add_argument(
        "--dry-run", action="store_true", help="show what would change, field by field; change nothing"
    )
    how = p.add_mutually_exclusive_group()
    how.add_argument("--inline", action="store_true", help="run the jobs in this process, not on the workers")
    how.add_argument("--no-wait", action="store_true", help="queue the jobs, print their runs and return")
    p.add_argument(
        "--timeout",
        type=_duration,
        default=600.0,
        metavar="DURATION",
        help="waiting for the jobs (default 10m)",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--config")
    for name, text in (("pause", "stop polling a source until resumed"), ("resume", "poll a source again")):
        p = sub.add_parser(name, help=text)
        p.add_argument("source_id", metavar="ID")
        if name == "pause":
            p.add_argument("--reason", default="", help="a note shown with the source's state")
        p.add_argument("--config")
    p = sub.add_parser("runs", help="a source's recent runs, or one run by its id")
    p.add_argument("id", metavar="SOURCE_ID|RUN_ID")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--config")
    p = sub.add_parser("hide", help="take an article down from every feed and archive, for good")
    p.add_argument("ref", metavar="ID|URL", help="the article id, or its URL (canonicalised like ingest)")
    p.add_argument("--reason", default="", help="why, for other operators (kept with the tombstone)")
    p.add_argument("--config")
    p = sub.add_parser("unhide", help="lift a takedown: the article returns when a source lists it again")
    p.add_argument("ref", metavar="ID|URL")
    p.add_argument("--config")
    p = sub.add_parser("audit", help="the latest operators' actions (admin API and command line)")
    p.add_argument(
        "--limit", type=_limit, default=AUDIT_DEFAULT, metavar="N", help=f"(default {AUDIT_DEFAULT})"
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--config")


AUDIT_DEFAULT = 100


def _limit(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = 0
    if not 1 <= n <= AUDIT_KEEP:
        raise argparse.ArgumentTypeError(f"must be a whole number from 1 to {AUDIT_KEEP}")
    return n


def _duration(text: str) -> float:
    try:
        return parse_duration(text).total_seconds()
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


@dataclass
class Action:
    """What a changing command records in the audit log; the command fills in `detail`."""

    action: str
    target: str
    detail: str = ""


def _action(args: argparse.Namespace) -> Action | None:
    if args.command == "reingest":
        return Action("reingest", reingest_target(_selection(args), force=args.force))
    if args.command == "reprocess":
        return Action("reprocess", reprocess_target(_selection(args), dry_run=args.dry_run))
    if args.command == "pause":
        return Action("pause", args.source_id, f"reason: {args.reason}" if args.reason else "")
    if args.command == "resume":
        return Action("resume", args.source_id)
    if args.command in ("hide", "unhide"):
        return Action(args.command, args.ref, f"reason: {args.reason}" if getattr(args, "reason", "") else "")
    return None


def reingest_target(selection: Selection, *, force: bool) -> str:
    """A re-ingest's target as the admin API's body would say it: `{"all":true,"force":true}`."""
    body: dict[str, object] = {}
    if selection.source_ids:
        body["sources"] = list(selection.source_ids)
    if selection.category:
        body["category"] = selection.category
    for name in ("all", "failing"):
        if getattr(selection, name):
            body[name] = True
    if force:
        body["force"] = True
    return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def reprocess_target(selection: Selection, *, dry_run: bool) -> str:
    """A reprocess's target as the admin API's body would say it: `{"all":true,"dry_run":true}`."""
    body: dict[str, object] = {}
    if selection.source_ids:
        body["sources"] = list(selection.source_ids)
    if selection.category:
        body["category"] = selection.category
    if selection.all:
        body["all"] = True
    if dry_run:
        body["dry_run"] = True
    return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def exit_outcome(code: int) -> str:
    """An operators' command's exit status as an audit outcome."""
    if code == 0:
        return OK
    return REFUSED if code in (2, NO_WORKER) else FAILED


async def run_operate(args: argparse.Namespace, config: Config, urls: RedisUrls) -> int:
    """Run one of `COMMANDS`; unknown ids are one line on stderr and exit status 2."""
    # The operate layer logs what it queues and changes for a server's log; here the
    # command prints its own lines, so the same news on stderr would only repeat them.
    logging.getLogger("syndicator.operate").setLevel(logging.WARNING)
    queue = None
    # `hide` republishes inline like `ingest`, unless the feeds' address is unknown here
    # (an external Redis without public_url): then a worker renders them.
    if args.command == "reingest" or (
        args.command in ("hide", "reprocess") and public_url_required("ingest", config.settings) is not None
    ):
        queue = await create_pool(arq_settings(urls.queue), default_queue_name=config.settings.queue_name)
    # A real reprocess queues its jobs for the workers (the runtime's queue, if any, is for
    # publishing: without one, `--inline` publishes in this process, as `ingest` does).
    jobs = queue
    if args.command == "reprocess" and not (args.dry_run or args.inline) and jobs is None:
        jobs = await create_pool(arq_settings(urls.queue), default_queue_name=config.settings.queue_name)
    runtime = Runtime.open(config, urls, queue=queue)
    action = _action(args)
    try:
        try:
            code = await _dispatch(runtime, args, action, jobs)
        except OperateError as exc:
            print(f"{args.command}: {exc}", file=sys.stderr)
            code = 2
            if action is not None:
                action.detail = str(exc)
        if action is not None:
            await record_action(
                runtime,
                who=cli_actor(),
                action=action.action,
                target=action.target,
                outcome=exit_outcome(code),
                detail=f"exit {code}" + (f": {action.detail}" if action.detail else ""),
            )
        return code
    finally:
        await runtime.close()
        if queue is not None:
            await queue.aclose()
        if jobs is not None and jobs is not queue:
            await jobs.aclose()


async def _dispatch(
    runtime: Runtime, args: argparse.Namespace, action: Action | None, jobs: ArqRedis | None = None
) -> int:
    if args.command == "sources":
        return await _sources(runtime, args)
    if args.command == "reingest":
        return await _reingest(runtime, args, action or Action("reingest", "-"))
    if args.command == "reprocess":
        return await _reprocess(runtime, args, action or Action("reprocess", "-"), jobs)
    if args.command in ("pause", "resume"):
        return await _pause_or_resume(runtime, args)
    if args.command == "audit":
        return await _audit(runtime, args)
    if args.command == "hide":
        return await _hide(runtime, args, action or Action("hide", args.ref))
    if args.command == "unhide":
        return await _unhide(runtime, args)
    return await _runs(runtime, args)


# ---------------------------------------------------------------- sources


def _when(iso: str | None) -> str:
    """An ISO time as `2026-11-30 15:20:01` (UTC), or `-`."""
    return iso.replace("T", " ").removesuffix("+00:00") if iso else "-"


def _seconds(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value * 1000:.0f}ms" if value < 1 else f"{value:.2f}s"


SOURCE_COLUMNS = (
    "ID",
    "STATE",
    "LAST FETCH",
    "HTTP",
    "ERRORS",
    "NEXT DUE",
    "ARTICLES",
    "24H",
    "MEAN",
    "LAST ERROR",
    "NEXT DUE BECAUSE",
)


def _source_row(h: SourceHealth) -> list[str]:
    error = f"{_when(h.last_error_at)} {h.last_error}" if h.last_error else "-"
    if h.state in ("paused", "gone"):
        error = f"{h.state} since {_when(h.state_since)}" + (f": {h.state_reason}" if h.state_reason else "")
    return [
        h.source_id + ("" if h.enabled else " (disabled)"),
        h.state,
        _when(h.last_fetch_at),
        str(h.last_http_status or "-"),
        str(h.consecutive_errors),
        _when(h.next_due),
        str(h.articles_stored),
        str(h.articles_24h),
        _seconds(h.mean_fetch_seconds),
        error,
        h.next_due_reason or "-",
    ]


def print_table(rows: Sequence[Sequence[str]], header: Sequence[str], out: TextIO) -> None:
    """Aligned columns on a terminal; tab-separated lines (header first) otherwise."""
    if not out.isatty():
        for row in (header, *rows):
            print("\t".join(row), file=out)
        return
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]
    for row in (header, *rows):
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip(), file=out)


async def _sources(runtime: Runtime, args: argparse.Namespace) -> int:
    healths = await list_health(runtime, state=args.state, category=args.category)
    if args.json:
        print(json.dumps([h.as_dict() for h in healths], ensure_ascii=False, indent=2))
    else:
        print_table([_source_row(h) for h in healths], SOURCE_COLUMNS, sys.stdout)
    return 0


# ---------------------------------------------------------------- reingest


def _selection(args: argparse.Namespace) -> Selection:
    ids = tuple(dict.fromkeys(i for group in args.source_ids for i in group))
    failing = getattr(args, "failing", False)
    return Selection(source_ids=ids, category=args.category, failing=failing, all=args.all)


# ---------------------------------------------------------------- reprocess


async def _reprocess(
    runtime: Runtime, args: argparse.Namespace, action: Action, jobs: ArqRedis | None
) -> int:
    """A dry run, or `--inline`, in this process; otherwise the jobs go to the workers and,
    unless `--no-wait`, the command follows them and prints the result. With no worker
    running it reprocesses in this process (saying so), as `ingest` would; `--no-wait`
    then refuses (exit 3): nothing would run the jobs."""
    selection = _selection(args)
    if selection.empty:
        action.detail = "no sources chosen"
        print("reprocess: say which sources: --source ID…, --category SLUG or --all", file=sys.stderr)
        return 2
    inline = args.dry_run or args.inline or jobs is None
    if not inline and not await live_workers(runtime.bus, runtime.keys):
        if args.no_wait:
            action.detail = "no worker is running"
            print(
                "reprocess: no worker is running to take the jobs; start one with `syndicator worker`, "
                "or reprocess in this process with --inline",
                file=sys.stderr,
            )
            return NO_WORKER
        print("reprocess: no worker is running: reprocessing in this process", file=sys.stderr)
        inline = True
    if inline:
        result = await reprocess(runtime, selection, dry_run=args.dry_run)
        action.detail = result.summary()
        _print_reprocess(result, args.json)
        return 0
    assert jobs is not None
    started = await start_reprocess(runtime, jobs, selection)
    action.detail = f"reprocess {started.reprocess_id}: {len(started.runs)} jobs queued"
    if not args.json:
        for source_id, run_id, count in started.runs:
            print(f"queued {source_id}: run {run_id} ({count} articles)", flush=True)
        print(f"reprocess {started.reprocess_id}: {len(started.runs)} jobs", flush=True)
    if args.no_wait:
        if args.json:
            print(json.dumps(started.as_dict(), ensure_ascii=False, indent=2))
        print("`syndicator runs RUN_ID` shows how each ends", file=sys.stderr)
        return 0
    return await _wait_reprocess(runtime, started.reprocess_id, args, action)


async def _wait_reprocess(
    runtime: Runtime, reprocess_id: str, args: argparse.Namespace, action: Action
) -> int:
    """Follow a queued reprocess: each run's outcome as it ends, then the result. 0 when
    every job succeeded, 1 when one failed, 4 when `--timeout` passed first."""
    started, seen = time.monotonic(), set[str]()
    while True:
        status = await reprocess_status(runtime, reprocess_id)
        ended = [r for r in status.runs if not r.pending and r.run_id not in seen]
        for run in ended:
            seen.add(run.run_id)
            if not args.json:
                print(f"[{len(seen)}/{len(status.runs)}] {run.source_id}: {_outcome(run)}", flush=True)
        if status.done and len(seen) == len(status.runs):
            break
        if time.monotonic() - started >= args.timeout:
            pending = ", ".join(r.run_id for r in status.runs if r.run_id not in seen)
            print(
                f"timed out after {args.timeout:g} s; still pending: {pending or 'the publish'}",
                file=sys.stderr,
            )
            return WAIT_TIMED_OUT
        await asyncio.sleep(POLL_SECONDS)
    action.detail = f"reprocess {reprocess_id}: {status.result.summary()}, {status.failed} jobs failed"
    _print_reprocess(status.result, args.json)
    return 1 if status.failed else 0


def _print_reprocess(result: ReprocessResult, as_json: bool) -> None:
    if as_json:
        print(json.dumps(result.as_dict(), ensure_ascii=False, indent=2))
        return
    for change in result.changes:
        seen = " (readers see it updated)" if change.reader_update else ""
        print(f"{change.action} {change.source_id} {change.article_id} {change.url}{seen}")
        for name, (before, after) in change.fields.items():
            print(f"  {name}:\n    - {before}\n    + {after}")
    for source_id, article_id in result.expired:
        print(f"expired {source_id} {article_id}: {EXPIRED_ADVICE.format(source=source_id)}")
    for article_id, reason in result.errors:
        print(f"error {article_id}: {reason}", file=sys.stderr)
    print(result.summary())
    if result.published:
        print(f"published {', '.join(result.published)}")


def _outcome(run: Run) -> str:
    if run.state == "done":
        return f"done: {run.summary or ''}".rstrip(": ")
    if run.state == "failed":
        return f"failed: {run.reason or ''}".rstrip(": ")
    return run.state


async def _reingest(runtime: Runtime, args: argparse.Namespace, action: Action) -> int:
    selection = _selection(args)
    if selection.empty:
        action.detail = "no sources chosen"
        print(
            "reingest: say which sources: --source ID…, --category SLUG, --failing or --all", file=sys.stderr
        )
        return 2
    if not await live_workers(runtime.bus, runtime.keys):
        action.detail = "no worker is running"
        print(
            f"reingest: no worker is running (no heartbeat in the last {TTL_BEATS * BEAT_INTERVAL:.0f} s); "
            "start one with `syndicator worker`, or ingest inline now with `syndicator ingest [SOURCE_ID…]`",
            file=sys.stderr,
        )
        return NO_WORKER
    result = await reingest(runtime, runtime.queue, selection, force=args.force)
    action.detail = f"{len(result.queued)} queued, {len(result.skipped)} skipped"
    forced = " (forced)" if args.force else ""
    for source_id, run_id in result.queued:
        print(f"queued {source_id}: run {run_id}{forced}", flush=True)
    for source_id, reason in result.skipped:
        print(f"skipped {source_id}: {reason}", flush=True)
    if not result.queued:
        print("nothing queued", file=sys.stderr)
        return 0
    if not args.wait:
        print(
            f"`syndicator runs SOURCE_ID` shows how they end ({len(result.queued)} queued)", file=sys.stderr
        )
        return 0
    return await _wait(runtime, dict(result.queued), args.timeout)


async def _wait(runtime: Runtime, runs: dict[str, str], limit: float) -> int:
    """Print each run's outcome as it ends (`[n/total] source: done: …`); on a terminal a
    status line counts what is still pending. 0 when all succeeded, 1 when one failed,
    4 when `limit` seconds passed first."""
    tty = sys.stdout.isatty()
    total, pending = len(runs), dict(runs)
    failed = 0
    started = time.monotonic()
    while pending:
        for source_id, run_id in list(pending.items()):
            run = await get_run(runtime, run_id)
            if run.pending:
                continue
            del pending[source_id]
            failed += run.state == "failed"
            line = f"[{total - len(pending)}/{total}] {source_id}: {_outcome(run)}"
            print(("\r\x1b[K" if tty else "") + line, flush=True)
        if not pending:
            break
        elapsed = time.monotonic() - started
        if elapsed >= limit:
            if tty:
                print("\r\x1b[K", end="")
            print(
                f"timed out after {limit:g} s; still pending: "
                + ", ".join(f"{s} (run {r})" for s, r in pending.items()),
                file=sys.stderr,
            )
            return WAIT_TIMED_OUT
        if tty:
            running = sum([(await get_run(runtime, r)).state == "running" for r in pending.values()])
            print(
                f"\r\x1b[Kwaiting for {len(pending)} of {total} runs ({running} running), {elapsed:.0f} s",
                end="",
                flush=True,
            )
        await asyncio.sleep(POLL_SECONDS)
    ok = total - failed
    print(f"{ok} done, {failed} failed", file=sys.stderr)
    return 1 if failed else 0


# ---------------------------------------------------------------- pause, resume, runs


async def _pause_or_resume(runtime: Runtime, args: argparse.Namespace) -> int:
    if args.command == "pause":
        health = await pause(runtime, args.source_id, reason=args.reason)
        print(f"{health.source_id}: paused; `syndicator resume {health.source_id}` polls it again")
    else:
        health = await resume(runtime, args.source_id)
        print(f"{health.source_id}: {health.state}, next due {_when(health.next_due)}")
    return 0


RUN_COLUMNS = ("RUN", "SOURCE", "KIND", "STATE", "QUEUED", "STARTED", "FINISHED", "TRIES", "OUTCOME")


def _run_row(run: Run) -> list[str]:
    return [
        run.run_id,
        run.source_id,
        run.kind + (" (forced)" if run.force else ""),
        run.state,
        _when(run.queued_at),
        _when(run.started_at),
        _when(run.finished_at),
        str(run.tries),
        run.summary or run.reason or "-",
    ]


async def _runs(runtime: Runtime, args: argparse.Namespace) -> int:
    if args.id in runtime.config.sources:
        runs = await source_runs(runtime, args.id)
    else:
        try:
            runs = [await get_run(runtime, args.id)]
        except UnknownRun:
            known = ", ".join(runtime.config.sources)
            print(
                f"runs: no source or run {args.id!r} (runs are kept 7 days); sources: {known}",
                file=sys.stderr,
            )
            return 2
    if args.json:
        print(json.dumps([r.as_dict() for r in runs], ensure_ascii=False, indent=2))
    elif not runs:
        print(f"{args.id}: no runs in the last 7 days", file=sys.stderr)
    else:
        print_table([_run_row(r) for r in runs], RUN_COLUMNS, sys.stdout)
    return 0


# ---------------------------------------------------------------- hide, unhide


async def _hide(runtime: Runtime, args: argparse.Namespace, action: Action) -> int:
    result = await hide(runtime, args.ref, who=cli_actor(), reason=args.reason)
    action.target = result.article_id
    title = f"{result.title!r} ({result.url})"
    if result.already_hidden:
        action.detail = "already hidden"
        print(f"{result.article_id}: {title} was hidden already, at {_when(result.hidden_at)}")
        return 0
    where = ", ".join(result.categories) or "no category"
    done = "republished" if result.republish == "done" else "republish queued for a worker:"
    action.detail = f"{result.url}; {done} {where}" + (f"; reason: {args.reason}" if args.reason else "")
    print(f"{result.article_id}: {title} hidden; {done} {where}")
    return 0


async def _unhide(runtime: Runtime, args: argparse.Namespace) -> int:
    stone = await unhide(runtime, args.ref)
    print(
        f"{stone.article_id}: {stone.title!r} ({stone.url}) no longer hidden;"
        " it returns when a source lists it again"
    )
    return 0


# ---------------------------------------------------------------- audit

AUDIT_COLUMNS = ("AT", "WHO", "ACTION", "TARGET", "OUTCOME", "DETAIL")


def _audit_row(entry: AuditEntry) -> list[str]:
    return [
        _when(entry.at),
        entry.who,
        entry.action,
        entry.target,
        entry.outcome,
        entry.detail.replace("\t", " ").replace("\n", " ") or "-",
    ]


async def _audit(runtime: Runtime, args: argparse.Namespace) -> int:
    entries = await audit_log(runtime, limit=args.limit)
    if args.json:
        print(json.dumps([e.as_dict() for e in entries], ensure_ascii=False, indent=2))
    elif not entries:
        print("audit: no actions recorded yet", file=sys.stderr)
    else:
        print_table([_audit_row(e) for e in entries], AUDIT_COLUMNS, sys.stdout)
    return 0

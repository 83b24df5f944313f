"""`syndicator` command line: serve, web, worker, ingest, migrate, extract, check-config.

Every command loads the configuration first, so a bad config stops it with one line that
names the file, the key and the problem (exit status 2), before anything starts. A good
one is named on stderr (`config: /abs/path (from --config)`), first, so the operator sees
which file runs while stdout stays for the command's output (`extract --json`). Every
command that opens the store then checks its layout version (`check_store`), so no process
ever reads or writes a layout it does not know. The operators' commands (sources,
reingest, pause, resume, runs, hide, unhide, audit) live in cli_operate.py; preview,
add-source and import-opml in cli_sources.py.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import replace

from aiohttp import web
from arq.connections import create_pool
from arq.worker import create_worker
from redis.exceptions import RedisError

from syndicator import cli_operate, cli_sources, logs
from syndicator.cli_extract import ExtractCommandError, render, render_explain, run_explain, run_extract
from syndicator.config import ConfigError, check_config, load_config, locate_config
from syndicator.config.reload import ConfigReloader
from syndicator.embedded import EmbeddedRedis, EmbeddedRedisError
from syndicator.ingest import ingest_source
from syndicator.models import Config
from syndicator.publish import moved_categories, publish_missing, republish_moved
from syndicator.redact import redact_text, redact_url
from syndicator.render import feed_url
from syndicator.rlimits import raise_open_files_limit
from syndicator.runtime import Runtime, external_redis, public_url_required
from syndicator.store.connection import RedisUrls, arq_settings, connect, unreachable, wait_for_redis
from syndicator.store.keys import Keys
from syndicator.store.schema import MigrationRun, SchemaError, check_schema, migrate
from syndicator.store.sources import halted_sources
from syndicator.web.admin.token import token_refusal
from syndicator.web.app import create_runner
from syndicator.web.processes import MEMBER_FLAG, run_group
from syndicator.web.readiness import metrics_app
from syndicator.worker import worker_settings
from syndicator.worker.restart import RestartingWorker
from syndicator.worker.settings import republisher

log = logging.getLogger("syndicator")

SOURCES_LISTED = 10  # more sources than this are summarised after the first few
LOG_FORMAT_HELP = (
    f"json (one object a line), human, or auto (default; ${logs.FORMAT_ENV} sets it): "
    "JSON unless stderr is a terminal"
)
VERBOSE_HELP = "log every job arq runs (the scheduler's ticks too); default: warnings and our own lines"


class _NoSpuriousSigusr1(logging.Filter):
    """Drops arq's `shutdown on SIGUSR1 …` line, which no signal caused.

    A worker that does not handle signals itself (`serve`'s in-process worker) calls
    `handle_sig(SIGUSR1)` from `Worker.close()` (arq 0.28 `worker.py`) just to cancel its
    tasks, and logs that as a shutdown on SIGUSR1 — after `serve` has stopped it on the
    real SIGINT/SIGTERM, which it logs itself. Every other arq line passes.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args if isinstance(record.args, tuple) else ()
        return not (str(record.msg).startswith("shutdown on %s") and args[:1] == ("SIGUSR1",))


def configure_logging(*, verbose: bool, log_format: str | None = None) -> None:
    """INFO for Syndicator; arq's per-job lines (`→ …schedule_due()`, `← …`) only with
    --verbose: the scheduler's tick alone would print about fourteen lines a minute while
    nothing happens. arq's warnings and job failures always show. JSON lines or human
    ones: `--log-format`, else $SYNDICATOR_LOG_FORMAT, else by whether stderr is a terminal."""
    logs.configure_output(log_format or os.environ.get(logs.FORMAT_ENV) or "auto")
    arq_worker = logging.getLogger("arq.worker")
    arq_worker.addFilter(_NoSpuriousSigusr1())
    arq_worker.setLevel(logging.INFO if verbose else logging.WARNING)


@contextlib.contextmanager
def redis_for(config: Config) -> Iterator[RedisUrls]:
    """The configured queue and store Redis (one URL or two: `RedisUrls`), or a private
    embedded server in the data directory that is both."""
    if (urls := external_redis(config.settings)) is not None:
        yield urls
        return
    server = EmbeddedRedis(config.settings.data_dir)
    if server.is_running():
        print(f"embedded Redis: using the server already running in {server.data_dir}", file=sys.stderr)
        yield RedisUrls.one(server.url)
        return
    server.start()
    print(f"embedded Redis: data in {server.data_dir} (append-only file on)", file=sys.stderr)
    try:
        yield RedisUrls.one(server.url)
    finally:
        server.stop()


@contextlib.asynccontextmanager
async def running_worker(runtime: Runtime, urls: RedisUrls) -> AsyncIterator[RestartingWorker]:
    """An arq worker in this process (`serve`), sharing `runtime` with the web server, and
    restarted when Redis drops it, as `syndicator worker` is (worker/restart.py).

    The caller stops it with `stop(signal)` (arq's own stop: cancel the jobs and the poll
    loop); leaving the block without that cancels it here (also while it waits for Redis)."""
    settings = worker_settings(runtime.config, urls, runtime=runtime)

    async def redis_back() -> bool:
        # No signal handlers here: `serve` handles SIGINT/SIGTERM itself and cancels this.
        await wait_for_redis(urls.queue, _say("serve"))
        return True

    worker = RestartingWorker(
        lambda: create_worker(settings, handle_signals=False), urls.queue, "serve", wait=redis_back
    )
    task = asyncio.create_task(worker.run())
    try:
        yield worker
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _stop_signal() -> asyncio.Future[signal.Signals]:
    """Set by the first SIGINT (Ctrl-C) or SIGTERM. Installed before the port opens and the
    "serving" line is printed, so a signal sent the moment the process says it serves ends
    it cleanly instead of through the default handler (exit -15)."""
    loop = asyncio.get_running_loop()
    received: asyncio.Future[signal.Signals] = loop.create_future()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, lambda s=sig: received.done() or received.set_result(s))
    return received


async def _until_signalled(received: asyncio.Future[signal.Signals]) -> signal.Signals:
    """The signal that stops the process, logged."""
    sig = await received
    log.info("shutdown on %s", sig.name)
    return sig


def print_sources(config: Config) -> None:
    """What `serve` will ingest: one line per source (id, kind, URL), the first few of many."""
    sources = list(config.sources.values())
    enabled = sum(s.enabled for s in sources)
    print(f"sources: {len(sources)} ({enabled} enabled)", file=sys.stderr)
    shown = sources if len(sources) <= SOURCES_LISTED else sources[: SOURCES_LISTED - 2]
    for source in shown:
        disabled = "" if source.enabled else " [disabled]"
        print(f"  {source.id} ({source.kind}) {redact_url(source.url)}{disabled}", file=sys.stderr)
    if len(shown) < len(sources):
        print(f"  … and {len(sources) - len(shown)} more (see {config.path})", file=sys.stderr)


def print_addresses(runtime: Runtime) -> None:
    """Where readers find the feeds: the `all` feed, the OPML list and the index page."""
    site = runtime.site_url
    print(
        f"feeds: {feed_url(site, 'all', 'rss')} (+ .atom, .json); OPML: {site}opml.xml; index: {site}",
        file=sys.stderr,
    )


async def warn_if_moved(runtime: Runtime) -> None:
    """One WARNING when stored feeds were rendered for another base URL than this `web`
    process's: their self links then name an address this process is not reached at.
    (`web` renders nothing; a worker with this base URL republishes them. /readyz lists them.)"""
    moved = await moved_categories(runtime)
    if not moved:
        return
    log.warning(
        "base URL: this process serves %s, but the stored feeds of %d categories (%s) link to %s; "
        "set server.public_url (or SYNDICATOR_PUBLIC_URL) the same for every process, "
        "and a worker will republish them",
        runtime.site_url,
        len(moved),
        ", ".join(sorted(moved)),
        ", ".join(sorted(set(moved.values()))),
    )


async def run_server(
    config: Config,
    urls: RedisUrls,
    *,
    with_worker: bool,
    access_log: logging.Logger | None = None,
    reuse_port: bool = False,
) -> None:
    queue = await create_pool(arq_settings(urls.queue), default_queue_name=config.settings.queue_name)
    runtime = Runtime.open(config, urls, queue=queue)
    # One configuration per process: `serve`'s worker shares this runtime, so this one
    # reloader follows SIGHUP and other processes' reloads for both.
    reloader = ConfigReloader(runtime, on_apply=republisher(runtime) if with_worker else None)
    if with_worker:
        print_sources(config)
        # Before the port opens: no reader may get a feed naming another address as its own
        # (a restart on another port or with another public URL renders every link again).
        await republish_moved(runtime)
    else:
        await warn_if_moved(runtime)
    runner = create_runner(runtime, reloader=reloader, access_log=access_log)
    await runner.setup()
    # reuse_port: one of `web --processes N` (web/processes.py), sharing the port.
    site = web.TCPSite(runner, config.settings.host, config.settings.port, reuse_port=reuse_port or None)
    stop = _stop_signal()
    await reloader.start()  # SIGHUP too is handled before anyone is told the port is open
    try:
        await site.start()
        print_addresses(runtime)
        listening = f"{config.settings.host}:{config.settings.port}"
        print(
            f"serving feeds at {runtime.site_url} (listening on {listening})",
            file=sys.stderr,
            flush=True,
        )
        if with_worker:
            async with running_worker(runtime, urls) as worker:
                worker.stop(await _until_signalled(stop))
        else:
            await _until_signalled(stop)
    finally:
        await reloader.stop()
        await runner.cleanup()
        await runtime.close()
        await queue.aclose()


async def run_ingest(
    config: Config, redis_url: str | RedisUrls, source_ids: list[str], *, named: bool = True
) -> int:
    """Ingest `source_ids` inline; unless the operator `named` them, paused and gone ones
    are left out (and said so), as the scheduler leaves them out."""
    runtime = Runtime.open(config, redis_url)  # no queue: publish runs inline
    failures = 0
    try:
        if not named:
            halted = await halted_sources(runtime.redis, runtime.keys)
            for source_id in [s for s in source_ids if s in halted]:
                print(f"skipped {source_id}: {halted[source_id].state}; `syndicator resume {source_id}`")
            source_ids = [s for s in source_ids if s not in halted]
        total = len(source_ids)
        for n, source_id in enumerate(source_ids, 1):
            # The line printed below is the operator's; a traceback would read as a crash.
            report = await ingest_source(runtime, source_id, traceback_level=logging.DEBUG)
            failures += report.status == "error"
            print(f"[{n}/{total}] {redact_text(report.line())}", flush=True)
        await publish_missing(runtime)  # categories no source touched still get (empty) feeds
    finally:
        await runtime.close()
    return 1 if failures else 0


async def check_store(command: str, config: Config, store_url: str, config_path: str | None) -> int:
    """0 when the store is in the layout this code reads, else 2 after one line on stderr.

    `serve` (the one-command start) migrates an old store itself and says what it did;
    `web`, `worker` and `ingest` refuse one and name the command that upgrades it, because
    with several processes on one store the operator decides when the migration runs. A
    store newer than the code stops every command. An empty store is stamped current.
    """
    redis = connect(store_url)
    keys = Keys(config.settings.redis_prefix)
    hint = f"syndicator migrate --config {config_path}" if config_path else "syndicator migrate"
    try:
        if command == "serve":
            report = await migrate(redis, keys)
            if report.steps:
                print(report.line(), file=sys.stderr, flush=True)
        else:
            await check_schema(redis, keys, migrate_command=hint)
    except SchemaError as exc:
        print(f"{command}: {exc}", file=sys.stderr)
        return 2
    finally:
        await redis.aclose()
    return 0


async def run_migrate(config: Config, store_url: str) -> int:
    """`syndicator migrate`: bring the store to this code's layout; prints what it did."""
    redis = connect(store_url)
    keys = Keys(config.settings.redis_prefix)

    async def progress(run: MigrationRun) -> None:
        print(f"migrating to {run.version}: {run.changed} {run.unit} so far", file=sys.stderr, flush=True)

    try:
        report = await migrate(redis, keys, on_batch=progress)
    except SchemaError as exc:
        print(f"migrate: {exc}", file=sys.stderr)
        return 2
    finally:
        await redis.aclose()
    print(report.line())
    return 0


def _load(args: argparse.Namespace) -> Config:
    location = locate_config(args.config)
    config = load_config(location)
    if not getattr(args, "group_member", False):  # `web --processes N`: its supervisor said it
        print(location.describe(), file=sys.stderr, flush=True)
    overrides = {k: getattr(args, k) for k in ("host", "port") if getattr(args, k, None) is not None}
    return replace(config, settings=replace(config.settings, **overrides)) if overrides else config


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="syndicator", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name, text in (
        ("serve", "web server and an in-process worker (embedded Redis unless SYNDICATOR_REDIS_URL)"),
        ("web", "web server only"),
    ):
        p = sub.add_parser(name, help=text)
        p.add_argument("--host")
        p.add_argument("--port", type=int)
        p.add_argument("--config")
        if name == "serve":
            p.add_argument("--verbose", action="store_true", help=VERBOSE_HELP)
        p.add_argument("--no-access-log", action="store_true", help="do not log one line per request")
        if name == "web":
            p.add_argument(
                "--processes",
                type=int,
                default=1,
                help="serve with N processes on one port (SO_REUSEPORT; default 1)",
            )
            p.add_argument(MEMBER_FLAG, dest="group_member", action="store_true", help=argparse.SUPPRESS)
    p = sub.add_parser("worker", help="an arq worker (any number may share one Redis)")
    p.add_argument("--config")
    p.add_argument("--burst", action="store_true", help="run queued jobs, then exit")
    p.add_argument("--verbose", action="store_true", help=VERBOSE_HELP)
    p.add_argument("--metrics-port", type=int, help="serve Prometheus metrics at /metrics on this port")
    p.add_argument("--metrics-host", default="127.0.0.1", help="its address (default: loopback)")
    p = sub.add_parser("ingest", help="ingest sources once now and print what happened")
    p.add_argument("source_ids", nargs="*", metavar="SOURCE_ID")
    p.add_argument("--config")
    p = sub.add_parser("extract", help="print what extraction reads off an article page (stores nothing)")
    p.add_argument("target", metavar="URL|FILE")
    p.add_argument("--url", help="the page's URL, for a FILE (links resolve against it)")
    p.add_argument("--source", help="apply this source's rules, time zone and category map")
    p.add_argument("--timezone", help="zone for dates written without one (default: the source's)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument(
        "--explain",
        action="store_true",
        help="say why: the blocks considered for the body, their scores, why one won; title and date sources",
    )
    p.add_argument("--config")
    p = sub.add_parser("migrate", help="upgrade the store to this version's layout (idempotent, resumable)")
    p.add_argument("--config")
    cli_operate.add_parsers(sub)
    cli_sources.add_parsers(sub)  # preview, add-source, import-opml
    p = sub.add_parser("check-config", help="validate a configuration file without starting anything")
    p.add_argument("path", nargs="?", help="the file (default: as for every command)")
    p.add_argument("--config", help="the same as PATH")
    for command in dict.fromkeys(sub.choices.values()):  # each once, aliases or not
        command.add_argument("--log-format", choices=logs.FORMATS, help=LOG_FORMAT_HELP)
    args = parser.parse_args(argv)
    configure_logging(verbose=getattr(args, "verbose", False), log_format=args.log_format)

    if args.command == "check-config":
        given_by = "the command line" if args.path else "--config"
        location = locate_config(args.path or args.config, given_by=given_by)
        ok, message = check_config(location)
        if ok:
            print(location.describe(), file=sys.stderr, flush=True)
        print(message, file=sys.stdout if ok else sys.stderr)
        return 0 if ok else 2
    try:
        config = _load(args)
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    if args.command == "extract":
        return _extract(args, config)
    if args.command in ("web", "worker", "ingest") and (
        refusal := public_url_required(args.command, config.settings)
    ):
        print(refusal, file=sys.stderr)
        return 2
    if args.command in ("serve", "web") and (refusal := token_refusal(args.command)):
        print(refusal, file=sys.stderr)  # the admin token, when set, must be usable
        return 2
    if args.command == "ingest":
        unknown = [s for s in args.source_ids if s not in config.sources]
        if unknown:
            print(
                f"unknown source id(s): {', '.join(unknown)}; known: {', '.join(config.sources)}",
                file=sys.stderr,
            )
            return 2
    if args.command in ("serve", "web", "worker"):
        raise_open_files_limit()  # every connection is a descriptor; 1,024 is soon reached
    if args.command == "web" and args.processes != 1:
        if args.processes < 1:
            print("web: --processes must be at least 1", file=sys.stderr)
            return 2
        listening = f"{config.settings.host}:{config.settings.port}"
        return run_group(sys.argv[1:] if argv is None else argv, args.processes, listening)
    try:
        with redis_for(config) as urls:
            if args.command == "migrate":
                return asyncio.run(run_migrate(config, urls.store))
            # Long-running processes wait for their Redis (started later, restarting,
            # failing over) instead of failing; one-shot commands fail in one line below.
            long_running = args.command in ("serve", "web", "worker")
            if long_running and not asyncio.run(_wait_for_redises(urls, args.command)):
                return 0
            if refused := asyncio.run(check_store(args.command, config, urls.store, args.config)):
                return refused
            if args.command in cli_operate.COMMANDS:
                return asyncio.run(cli_operate.run_operate(args, config, urls))
            if args.command in cli_sources.COMMANDS:
                return asyncio.run(cli_sources.run_sources(args, config, urls))
            if args.command in ("serve", "web"):
                fmt = args.log_format or os.environ.get(logs.FORMAT_ENV)
                with logs.access_log(not args.no_access_log, fmt) as access_log:
                    serve = args.command == "serve"
                    member = getattr(args, "group_member", False)  # one of `web --processes N`
                    asyncio.run(
                        run_server(config, urls, with_worker=serve, access_log=access_log, reuse_port=member)
                    )
                return 0
            if args.command == "worker":
                metrics_at = (args.metrics_host, args.metrics_port) if args.metrics_port is not None else None
                return asyncio.run(_run_worker(config, urls, burst=args.burst, metrics_at=metrics_at))
            ids = args.source_ids or [s.id for s in config.sources.values() if s.enabled]
            return asyncio.run(run_ingest(config, urls, ids, named=bool(args.source_ids)))
    except EmbeddedRedisError as exc:
        print(f"embedded Redis failed: {exc}", file=sys.stderr)
        return 1
    except RedisError as exc:
        where = external_redis(config.settings) or "embedded"
        print(f"{args.command}: {unreachable(where, exc)}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"cannot start: {exc}", file=sys.stderr)
        return 1


def _extract(args: argparse.Namespace, config: Config) -> int:
    if args.explain:
        try:
            found, categories, explanation = run_explain(
                args.target, url=args.url, source_id=args.source, config=config, timezone=args.timezone
            )
        except ExtractCommandError as exc:
            print(f"extract: {exc}", file=sys.stderr)
            return 1
        print(render_explain(found, categories, explanation, as_json_output=args.json))
        return 0 if found is not None else 1
    try:
        page, categories = run_extract(
            args.target, url=args.url, source_id=args.source, config=config, timezone=args.timezone
        )
    except ExtractCommandError as exc:
        print(f"extract: {exc}", file=sys.stderr)
        return 1
    print(render(page, categories, as_json_output=args.json))
    return 0


def _say(command: str) -> Callable[[str], None]:
    """One line on stderr, prefixed with the command (what waiting for Redis reports)."""
    return lambda line: print(f"{command}: {line}", file=sys.stderr, flush=True)


async def _wait_for_redises(urls: RedisUrls, command: str) -> bool:
    """`_wait_for_redis` for the queue's Redis, then the store's (when it is another)."""
    for url in dict.fromkeys((urls.queue, urls.store)):
        if not await _wait_for_redis(url, command):
            return False
    return True


async def _wait_for_redis(redis_url: str, command: str) -> bool:
    """True once Redis answers; False when SIGINT or SIGTERM came first (an orderly stop
    while waiting, not a traceback or a death by signal)."""
    waiting = asyncio.ensure_future(wait_for_redis(redis_url, _say(command)))
    loop = asyncio.get_running_loop()
    signalled: list[int] = []  # a signal that came once Redis had answered is not lost either

    def stop(sig: int) -> None:
        signalled.append(sig)
        waiting.cancel()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop, sig)
    try:
        try:
            await waiting
        except asyncio.CancelledError:
            if not waiting.cancelled():
                raise
        if not signalled:
            return True
        log.info("stopped while waiting for Redis")
        return False
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


async def _run_worker(
    config: Config, urls: RedisUrls, *, burst: bool, metrics_at: tuple[str, int] | None = None
) -> int:
    """`_work`, with `/metrics` served at `metrics_at` (host, port) while it runs."""
    if metrics_at is None:
        return await _work(config, urls, burst=burst)
    runtime = Runtime.open(config, urls)  # for the gauges read from Redis at scrape time
    runner = web.AppRunner(metrics_app(runtime), access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, *metrics_at).start()
        host, port = metrics_at
        print(f"worker: metrics at http://{host}:{port}/metrics", file=sys.stderr, flush=True)
        return await _work(config, urls, burst=burst)
    finally:
        await runner.cleanup()
        await runtime.close()


async def _work(config: Config, urls: RedisUrls, *, burst: bool) -> int:
    """Run the arq worker; when Redis goes away under it, wait for Redis and start a new
    one (worker/restart.py). arq handles SIGINT/SIGTERM itself while a worker runs (after
    letting running jobs finish); `_wait_for_redis` does while none does."""
    worker = RestartingWorker(
        lambda: create_worker(worker_settings(config, urls), burst=burst),
        urls.queue,
        "worker",
        wait=lambda: _wait_for_redises(urls, "worker"),
        burst=burst,
    )
    await worker.run()
    if worker.stopped_by is not None:
        log.info("shutdown on %s", worker.stopped_by.name)
    return 0


if __name__ == "__main__":
    sys.exit(main())

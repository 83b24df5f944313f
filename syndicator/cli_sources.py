"""Previewing and adding sources: `preview`, `add-source`, `import-opml`.

`preview ID|--source-file FILE` runs a configured source, or a `[[sources]]` table in a
TOML or JSON file, through the whole pipeline and prints the articles it would produce,
storing nothing (`syndicator.operate.preview`, which `POST /admin/api/preview` calls too).
`add-source URL` finds the feed behind a site's address (or takes it as a listing or page),
shows its preview and appends a commented `[[sources]]` table to the configuration file,
then announces the reload so every process polls it; `import-opml FILE` does the same for
every feed of an OPML file, skipping those already configured. Each is recorded in the
audit log.

Exit status: 0 done; 1 a preview or discovery failed (nothing added for it) or Redis was
unreachable; 2 an unknown source, a table or file that does not validate, or a
configuration that cannot be written (the bundled default).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from syndicator.config.errors import ConfigError
from syndicator.config.loading import locate_config
from syndicator.discover import DiscoverError
from syndicator.discover.opml import parse_opml
from syndicator.models import Config
from syndicator.operate.addsource import (
    DiscoveryFailed,
    Planned,
    add_to_config,
    configured_urls,
    plan_source,
    same_url,
)
from syndicator.operate.audit import FAILED, OK, REFUSED, cli_actor, record_action
from syndicator.operate.errors import OperateError
from syndicator.operate.preview import (
    InvalidSource,
    Preview,
    configured_source,
    preview_source,
    source_from_table,
)
from syndicator.redact import redact_text, redact_url
from syndicator.runtime import Runtime
from syndicator.store.connection import RedisUrls

COMMANDS = ("preview", "add-source", "import-opml")

SUMMARY_SHOWN = 160
BUNDLED = "the bundled default"


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """The three subcommands, on `syndicator`'s parser."""
    p = sub.add_parser(
        "preview", help="what a source would produce, through the whole pipeline (stores nothing)"
    )
    p.add_argument("source_id", nargs="?", metavar="ID", help="a configured source")
    p.add_argument("--source-file", metavar="FILE", help="a [[sources]] table in a TOML or JSON file")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--config")
    p = sub.add_parser("add-source", help="find a site's feed, preview it and add it to the configuration")
    p.add_argument("url", metavar="URL", help="a site, page or feed address (http or https)")
    _adding_options(p)
    p.add_argument(
        "--id", dest="source_id", metavar="ID", help="the new source's id (default: from the host)"
    )
    p.add_argument("--title", default="", help="the new source's title")
    p = sub.add_parser("import-opml", help="add every feed of an OPML file (those not configured yet)")
    p.add_argument("file", metavar="FILE")
    _adding_options(p)


def _adding_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--category", metavar="SLUG", help="the category the new source(s) feed")
    p.add_argument(
        "--allow-private-network",
        action="store_true",
        help="let the address guard reach private and loopback addresses (written into the table)",
    )
    p.add_argument("--yes", action="store_true", help="add without asking")
    p.add_argument("--config")


async def run_sources(args: argparse.Namespace, config: Config, urls: RedisUrls) -> int:
    """Run one of `COMMANDS`."""
    logging.getLogger("syndicator.operate").setLevel(logging.WARNING)  # the command prints its own lines
    logging.getLogger("syndicator.config").setLevel(logging.WARNING)
    runtime = Runtime.open(config, urls)
    try:
        if args.command == "preview":
            return await _preview(runtime, args)
        if locate_config(args.config).reason == BUNDLED:
            print(
                f"{args.command}: the configuration is the bundled default ({config.path}), which is "
                "not yours to edit; pass --config FILE or set SYNDICATOR_CONFIG",
                file=sys.stderr,
            )
            return 2
        if args.command == "add-source":
            return await _add_source(runtime, args)
        return await _import_opml(runtime, args)
    except OperateError as exc:
        print(f"{args.command}: {exc}", file=sys.stderr)
        return 2
    finally:
        await runtime.close()


# --- preview ------------------------------------------------------------------------------


def read_source_file(path: Path) -> dict[str, Any]:
    """The one source table of a TOML or JSON file: the table itself, or `[[sources]]` /
    `sources` holding exactly one, or `source`. InvalidSource when it is none of these."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidSource(f"{path}: cannot read it ({exc})") from None
    try:
        data: Any = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        kind = "JSON" if path.suffix.lower() == ".json" else "TOML"
        raise InvalidSource(f"{path}: not {kind}: {exc}") from None
    if isinstance(data, dict) and isinstance(data.get("sources"), list):
        if len(data["sources"]) != 1:
            raise InvalidSource(
                f"{path}: holds {len(data['sources'])} [[sources]] tables; preview one at a time"
            )
        data = data["sources"][0]
    elif isinstance(data, dict) and isinstance(data.get("source"), dict):
        data = data["source"]
    if not isinstance(data, dict):
        raise InvalidSource(f"{path}: not a table of [[sources]] keys")
    return data


async def _preview(runtime: Runtime, args: argparse.Namespace) -> int:
    if (args.source_id is None) == (args.source_file is None):
        print("preview: give a source ID or --source-file FILE (one of them)", file=sys.stderr)
        return 2
    if args.source_id is not None:
        source, target = configured_source(runtime, args.source_id), args.source_id
    else:
        table = read_source_file(Path(args.source_file))
        source, target = source_from_table(runtime, table, allow_file=True), str(args.source_file)
    result = await preview_source(runtime, source)
    await _audit(runtime, "preview", target, OK if result.ok else FAILED, _outcome_line(result))
    if args.json:
        print(json.dumps(result.as_dict(), ensure_ascii=False, indent=2))
    else:
        print_preview(result)
    return 0 if result.ok else 1


def _outcome_line(result: Preview) -> str:
    line = f"{len(result.articles)} articles"
    if result.error:
        line += f"; {result.error}"
    return line


def print_preview(result: Preview, out: Any = None) -> None:
    """The preview for a terminal: a header line, then each article on a few lines."""
    out = out or sys.stdout
    n = len(result.articles)
    header = (
        f"preview of {result.source_id} ({result.kind} {result.url}): "
        f"{n} article{'s' if n != 1 else ''} from {result.documents} "
        f"document{'s' if result.documents != 1 else ''}"
    )
    if result.stopped:
        header += f"; stopped at {', '.join(result.stopped)}"
    print(redact_text(header), file=out)
    if result.headers:  # names only: the values are shown as *** (they may be secrets)
        print(
            f"  headers: {', '.join(f'{name}: {value}' for name, value in result.headers.items())}", file=out
        )
    if result.error:
        print(f"  error: {result.error}", file=out)
    for warning in result.warnings[:20]:
        print(f"  warning: {redact_text(warning)}", file=out)
    for i, article in enumerate(result.articles, 1):
        print(f"{i:>3}. {article.title}", file=out)
        print(f"     {article.url}", file=out)
        print(
            f"     published {article.published or '(no date)'}; categories {', '.join(article.categories)}",
            file=out,
        )
        summary = " ".join(article.summary.split())
        if summary:
            cut = summary if len(summary) <= SUMMARY_SHOWN else summary[: SUMMARY_SHOWN - 1] + "…"
            print(f"     {cut}", file=out)
        for warning in article.warnings:
            print(f"     warning: {warning}", file=out)
    out.flush()


# --- add-source and import-opml -------------------------------------------------------------


def _confirm(question: str, *, yes: bool, command: str) -> bool:
    if yes:
        return True
    if not sys.stdin.isatty():
        print(f"{command}: not added: run it again with --yes to add without asking", file=sys.stderr)
        return False
    answer = input(f"{question} [y/N] ").strip().lower()
    return answer in ("y", "yes")


async def _add_source(runtime: Runtime, args: argparse.Namespace) -> int:
    url = args.url.strip()
    known = configured_urls(runtime)
    if (existing := known.get(same_url(url))) is not None:
        print(f"add-source: {redact_url(url)} is already configured as {existing}", file=sys.stderr)
        await _audit(runtime, "add-source", url, REFUSED, f"already configured as {existing}")
        return 2
    try:
        planned = await plan_source(
            runtime,
            url,
            category=args.category,
            source_id=args.source_id,
            title=args.title,
            allow_private_network=args.allow_private_network,
        )
    except DiscoveryFailed as exc:
        print(f"add-source: not added: {exc}", file=sys.stderr)
        await _audit(runtime, "add-source", url, FAILED, str(exc))
        return 1
    except InvalidSource as exc:
        print(f"add-source: not added: {exc}", file=sys.stderr)
        await _audit(runtime, "add-source", url, REFUSED, str(exc))
        return 2
    if (existing := known.get(same_url(planned.source.url))) is not None:
        print(
            f"add-source: {planned.discovery.how}; that feed is already configured as {existing}",
            file=sys.stderr,
        )
        await _audit(runtime, "add-source", url, REFUSED, f"already configured as {existing}")
        return 2
    print(redact_text(planned.discovery.how))
    print_preview(planned.preview)
    if not planned.preview.ok:
        print(f"add-source: not added: the preview failed: {planned.preview.error}", file=sys.stderr)
        await _audit(runtime, "add-source", url, FAILED, f"preview failed: {planned.preview.error}")
        return 1
    if not _confirm(f"add {planned.source.id} to {runtime.config.path}?", yes=args.yes, command="add-source"):
        return 1
    return await _write(runtime, [planned], command="add-source", target=planned.source.id)


async def _write(
    runtime: Runtime, planned: Sequence[Planned], *, command: str, target: str, detail: str = ""
) -> int:
    ids = ", ".join(p.source.id for p in planned)
    try:
        outcome = await add_to_config(runtime, planned, by=command)
    except (ConfigError, OSError) as exc:
        print(f"{command}: not added, the file is unchanged: {exc}", file=sys.stderr)
        await _audit(runtime, command, target, FAILED, f"{ids}: {exc}")
        return 2
    path = runtime.config.path
    if outcome.change is None:  # the file no longer validates: someone else edited it
        print(
            f"{command}: added {ids} to {path}, but the reload was refused: {outcome.error}", file=sys.stderr
        )
        await _audit(runtime, command, target, FAILED, f"added {ids}; reload refused: {outcome.error}")
        return 1
    print(f"added {ids} to {path}; reloaded ({outcome.change.summary()}), announced to every process")
    await _audit(runtime, command, target, OK, f"added {ids}" + (f"; {detail}" if detail else ""))
    return 0


async def _import_opml(runtime: Runtime, args: argparse.Namespace) -> int:
    path = Path(args.file)
    try:
        outlines = parse_opml(await asyncio.to_thread(path.read_bytes))
    except OSError as exc:
        print(f"import-opml: cannot read {path}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except DiscoverError as exc:
        print(f"import-opml: {path}: {exc}", file=sys.stderr)
        return 2
    known = configured_urls(runtime)
    planned: list[Planned] = []
    skipped: list[str] = []
    failures = 0
    total = len(outlines)
    for n, outline in enumerate(outlines, 1):
        shown = redact_url(outline.url)
        key = same_url(outline.url)
        if key in known:
            print(f"[{n}/{total}] skipped {shown}: already configured as {known[key]}")
            skipped.append(f"{shown} (already {known[key]})")
            continue
        try:
            plan = await plan_source(
                runtime,
                outline.url,
                category=args.category,
                title=outline.title,
                allow_private_network=args.allow_private_network,
                taken=[p.source.id for p in planned],
            )
        except (DiscoveryFailed, InvalidSource) as exc:
            print(f"[{n}/{total}] failed {shown}: {exc}")
            failures += 1
            continue
        if not plan.preview.ok:
            print(f"[{n}/{total}] failed {shown}: the preview failed: {plan.preview.error}")
            failures += 1
            continue
        known[same_url(plan.source.url)] = plan.source.id
        known[key] = plan.source.id
        planned.append(plan)
        print(f"[{n}/{total}] {plan.source.id}: {redact_text(plan.discovery.how)}")
        print_preview(plan.preview)
    detail = f"skipped {'; '.join(skipped)}" if skipped else ""
    if failures:
        detail = f"{detail}; {failures} failed" if detail else f"{failures} failed"
    if not planned:
        print(f"import-opml: nothing to add ({len(skipped)} already configured, {failures} failed)")
        await _audit(
            runtime, "import-opml", str(path), FAILED if failures else OK, detail or "nothing to add"
        )
        return 1 if failures else 0
    question = f"add {len(planned)} source(s) to {runtime.config.path}?"
    if not _confirm(question, yes=args.yes, command="import-opml"):
        return 1
    status = await _write(runtime, planned, command="import-opml", target=str(path), detail=detail)
    return status or (1 if failures else 0)


async def _audit(runtime: Runtime, action: str, target: str, outcome: str, detail: str) -> None:
    await record_action(
        runtime, who=cli_actor(), action=action, target=target, outcome=outcome, detail=detail
    )

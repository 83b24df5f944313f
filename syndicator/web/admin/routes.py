"""The admin API's operations: one table (`OPERATIONS`) from which `api.install` builds the
router and `openapi.build_document` the OpenAPI document.

Handlers only translate between HTTP and the service layer: sources, runs, re-ingest,
pause and resume, re-render and the queue are `syndicator.operate`'s (the CLI calls the
same functions, so there is one way to do each); reload is the config reloader's
(`config/reload.py`, announced through Redis so every process reloads). Response bodies
are the service layer's own records (`as_dict()`), and the OpenAPI schemas of them are
built from those classes, so the document follows them.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from syndicator.config.reload import ConfigReloader
from syndicator.errors import SyndicatorError
from syndicator.operate import (
    STATES,
    ArticleSummary,
    NoQueue,
    RerenderResult,
    Selection,
    SourceHealth,
    UnknownCategory,
    UnknownRun,
    UnknownSource,
    UnknownState,
    get_run,
    list_health,
    pause,
    queue_status,
    reingest,
    rerender,
    resume,
    source_articles,
    source_fetches,
    source_health,
    source_runs,
)
from syndicator.operate.audit import audit_log
from syndicator.operate.errors import BadArticleRef, UnknownArticle
from syndicator.operate.reprocess import reprocess, start_reprocess
from syndicator.operate.takedown import HideResult, hide
from syndicator.redact import redact_text
from syndicator.runtime import Runtime
from syndicator.store.audit import KEEP as AUDIT_KEEP
from syndicator.store.audit import AuditEntry
from syndicator.store.heartbeats import Heartbeat
from syndicator.store.runs import KEEP_PER_SOURCE, Run
from syndicator.store.sources import FETCH_LOG_SIZE, FetchEntry
from syndicator.web.admin.openapi import build_document
from syndicator.web.admin.params import AdminRequestError, Param, Schema
from syndicator.web.admin.preview import PREVIEW_OPERATIONS
from syndicator.web.admin.responses import json_error, json_response
from syndicator.web.admin.table import (
    PREFIX,
    RUN_ID,
    SLUG,
    SOURCE_ID,
    Call,
    Operation,
    Response,
    dataclass_schema,
)
from syndicator.web.feeds import RUNTIME
from syndicator.web.pages import RELOADER
from syndicator.web.ratelimit import client_key


@dataclass
class AdminState:
    """Per-process state of the admin API: the reloader it uses when the process has none
    of its own (tests; a process that follows no reloads), made on first use."""

    own_reloader: ConfigReloader | None = None

    async def close(self) -> None:
        if self.own_reloader is not None:
            await self.own_reloader.stop()


ADMIN_STATE = web.AppKey("admin_state", AdminState)

# What each error we name is answered with; any other is a bug (500, logged).
ERROR_STATUS: tuple[tuple[type[SyndicatorError], int], ...] = (
    (AdminRequestError, 400),
    (UnknownState, 400),
    (UnknownSource, 404),
    (UnknownCategory, 404),
    (UnknownRun, 404),
    (UnknownArticle, 404),
    (BadArticleRef, 400),
    (NoQueue, 503),  # a process serving the API without the arq queue (never `web`/`serve`)
)


def error_status(exc: SyndicatorError) -> int | None:
    """The status `exc` is answered with, None when it is not one the API expects."""
    return next((status for cls, status in ERROR_STATUS if isinstance(exc, cls)), None)


def _runtime(call: Call) -> Runtime:
    return call.request.config_dict[RUNTIME]


# --- openapi ----------------------------------------------------------------------------


async def openapi_document(call: Call) -> web.Response:
    return json_response(build_document(OPERATIONS))


# --- reload -----------------------------------------------------------------------------

RELOAD_RESULT = {
    "type": "object",
    "properties": {
        "digest": {"type": "string", "description": "sha256 of the configuration file now running"},
        "summary": {"type": "string", "description": "what changed, in one line"},
        "added_sources": {"type": "array", "items": {"type": "string"}},
        "removed_sources": {"type": "array", "items": {"type": "string"}},
        "changed_sources": {"type": "array", "items": {"type": "string"}},
        "needs_restart": {
            "type": "array",
            "items": {"type": "string"},
            "description": "changed settings a running process cannot apply (kept as running)",
        },
    },
    "required": ["digest", "summary", "needs_restart"],
}


async def reload_config(call: Call) -> web.Response:
    app = call.request.app
    reloader = call.request.config_dict.get(RELOADER)
    if reloader is None:
        state = app[ADMIN_STATE]
        if state.own_reloader is None:
            state.own_reloader = ConfigReloader(call.request.config_dict[RUNTIME])
        reloader = state.own_reloader
    outcome = await reloader.reload_and_announce()
    if outcome.change is None:
        # The error quotes the file; a URL in it (a source's, Redis's) keeps no secret.
        error = redact_text(outcome.error or "")
        return json_error(409, f"config reload refused, the running config stays: {error}")
    change = outcome.change
    return json_response(
        {
            "digest": change.config.digest,
            "summary": change.summary(),
            "added_sources": change.added_sources,
            "removed_sources": change.removed_sources,
            "changed_sources": change.changed_sources,
            "needs_restart": change.needs_restart,
        }
    )


# --- sources ----------------------------------------------------------------------------

HEALTH = dataclass_schema(SourceHealth)
RUN = dataclass_schema(Run)
SOURCE_PATH = Param("source_id", "path", SOURCE_ID, "the source's id, as in the configuration")


async def list_sources(call: Call) -> web.Response:
    healths = await list_health(
        _runtime(call), state=call.params.get("state"), category=call.params.get("category")
    )
    return json_response({"sources": [h.as_dict() for h in healths]})


async def get_source(call: Call) -> web.Response:
    return json_response((await source_health(_runtime(call), call.params["source_id"])).as_dict())


async def list_source_runs(call: Call) -> web.Response:
    runs = await source_runs(
        _runtime(call), call.params["source_id"], limit=call.params.get("limit", KEEP_PER_SOURCE)
    )
    return json_response({"runs": [r.as_dict() for r in runs]})


FETCH = dataclass_schema(FetchEntry)
ARTICLE = dataclass_schema(ArticleSummary)
MAX_ARTICLES = 200  # as `operate.timeline.MAX_ARTICLES`


async def list_source_fetches(call: Call) -> web.Response:
    entries = await source_fetches(
        _runtime(call), call.params["source_id"], limit=call.params.get("limit", FETCH_LOG_SIZE)
    )
    return json_response({"fetches": entries})


async def list_source_articles(call: Call) -> web.Response:
    articles = await source_articles(
        _runtime(call), call.params["source_id"], limit=call.params.get("limit", 50)
    )
    return json_response({"articles": [a.as_dict() for a in articles]})


async def get_one_run(call: Call) -> web.Response:
    return json_response((await get_run(_runtime(call), call.params["run_id"])).as_dict())


PAUSE_BODY = {
    "type": "object",
    "properties": {
        "reason": {"type": "string", "maxLength": 500, "description": "a note for other operators"}
    },
    "additionalProperties": False,
}


async def pause_source(call: Call) -> web.Response:
    health = await pause(_runtime(call), call.params["source_id"], reason=str(call.body.get("reason", "")))
    return json_response(health.as_dict())


async def resume_source(call: Call) -> web.Response:
    return json_response((await resume(_runtime(call), call.params["source_id"])).as_dict())


# --- re-ingest ----------------------------------------------------------------------------

REINGEST_BODY = {
    "type": "object",
    "description": (
        "Which sources: any of `sources`, `category`, `failing`, `all` (a source is chosen if any "
        "names it; at least one must choose something)."
    ),
    "properties": {
        "sources": {"type": "array", "items": SOURCE_ID, "maxItems": 1000, "description": "source ids"},
        "category": {**SLUG, "description": "every source feeding this category"},
        "failing": {"type": "boolean", "description": "every source whose last poll failed"},
        "all": {"type": "boolean", "description": "every source"},
        "force": {
            "type": "boolean",
            "description": "ignore stored validators and re-extract known pages (politeness still applies)",
        },
    },
    "additionalProperties": False,
}

REINGEST_RESULT = {
    "type": "object",
    "properties": {
        "queued": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"source_id": {"type": "string"}, "run_id": {"type": "string"}},
                "required": ["source_id", "run_id"],
            },
        },
        "skipped": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"source_id": {"type": "string"}, "reason": {"type": "string"}},
                "required": ["source_id", "reason"],
            },
        },
    },
    "required": ["queued", "skipped"],
}


async def reingest_sources(call: Call) -> web.Response:
    body = call.body
    selection = Selection(
        source_ids=tuple(body.get("sources", ())),
        category=body.get("category"),
        failing=bool(body.get("failing", False)),
        all=bool(body.get("all", False)),
    )
    if selection.empty:
        raise AdminRequestError(
            "body: choose sources with any of sources, category, failing: true, all: true"
        )
    runtime = _runtime(call)
    result = await reingest(runtime, runtime.queue, selection, force=bool(body.get("force", False)))
    return json_response(result.as_dict(), status=202)


# --- reprocess ----------------------------------------------------------------------------

REPROCESS_BODY: Schema = {
    "type": "object",
    "anyOf": [
        {"required": ["sources"], "properties": {"sources": {"minItems": 1}}},
        {"required": ["category"]},
        {"required": ["all"], "properties": {"all": {"const": True}}},
    ],
    "properties": {
        "sources": {"type": "array", "items": SOURCE_ID, "maxItems": 1000, "description": "source ids"},
        "category": {**SLUG, "description": "every source feeding this category"},
        "all": {"type": "boolean", "description": "every source"},
        "dry_run": {
            "type": "boolean",
            "description": "show what would change, field by field; change nothing",
        },
    },
    "additionalProperties": False,
}

_ROWS = {"type": "array", "items": {"type": "object"}}

REPROCESS_RESULT: Schema = {
    "type": "object",
    "properties": {
        "dry_run": {"type": "boolean"},
        "sources": {"type": "array", "items": {"type": "string"}},
        "changes": _ROWS,
        "unchanged": {"type": "integer"},
        "readers_see_updated": {"type": "integer"},
        "expired": _ROWS,
        "errors": _ROWS,
        "published": {"type": "array", "items": {"type": "string"}},
    },
    "required": [
        "dry_run",
        "sources",
        "changes",
        "unchanged",
        "readers_see_updated",
        "expired",
        "errors",
        "published",
    ],
}


_EXPIRED = {"type": "array", "items": {"type": "object"}}

REPROCESS_QUEUED: Schema = {
    "type": "object",
    "properties": {
        "reprocess_id": {"type": "string"},
        "sources": {"type": "array", "items": {"type": "string"}},
        "runs": {
            "type": "array",
            "description": "one run per job of at most 200 articles; follow each at `follow`",
            "items": {
                "type": "object",
                "properties": {
                    "source_id": {"type": "string"},
                    "run_id": {"type": "string"},
                    "articles": {"type": "integer"},
                    "follow": {
                        "type": "string",
                        "description": "the run's URL (GET /admin/api/runs/{run_id})",
                    },
                },
                "required": ["source_id", "run_id", "articles", "follow"],
            },
        },
        "expired": _EXPIRED,
    },
    "required": ["reprocess_id", "sources", "runs", "expired"],
}


async def reprocess_sources(call: Call) -> web.Response:
    """A dry run answers the diff (200); a real run is queued as jobs and answered at once
    (202) with their runs, which the runs endpoint follows to their end."""
    body = call.body
    selection = Selection(
        source_ids=tuple(body.get("sources", ())),
        category=body.get("category"),
        all=bool(body.get("all", False)),
    )
    if selection.empty:
        raise AdminRequestError("body: choose sources with any of sources, category, all: true")
    runtime = _runtime(call)
    if body.get("dry_run", False):
        result = await reprocess(runtime, selection, dry_run=True)
        return json_response(result.as_dict(), status=200)
    started = await start_reprocess(runtime, runtime.queue, selection)
    answer = {
        **started.as_dict(),
        "runs": [
            {"source_id": s, "run_id": r, "articles": n, "follow": f"{PREFIX}/runs/{r}"}
            for s, r, n in started.runs
        ],
    }
    return json_response(answer, status=202)


# --- re-render ----------------------------------------------------------------------------

RENDER_BODY = {
    "type": "object",
    "properties": {"category": {**SLUG, "description": "the category to render again"}},
    "required": ["category"],
    "additionalProperties": False,
}

RENDER_RESULT = dataclass_schema(RerenderResult)


async def render_category(call: Call) -> web.Response:
    result = await rerender(_runtime(call), str(call.body["category"]))
    return json_response(result.as_dict(), status=202 if result.queued else 200)


# --- queue --------------------------------------------------------------------------------

QUEUE_RESULT = {
    "type": "object",
    "properties": {
        "depth": {"type": "integer", "description": "jobs waiting in the queue (due now or deferred)"},
        "runs_in_progress": {"type": "array", "items": RUN},
        "workers": {
            "type": "array",
            "items": dataclass_schema(
                Heartbeat,
                age_seconds={"type": "number", "description": "seconds since its last beat"},
                stale={"type": "boolean", "description": "a beat was missed"},
            ),
        },
    },
    "required": ["depth", "runs_in_progress", "workers"],
}


async def get_queue(call: Call) -> web.Response:
    return json_response((await queue_status(_runtime(call))).as_dict())


# --- takedown -------------------------------------------------------------------------------

ARTICLE_ID: Schema = {
    "type": "string",
    "title": "an article id (32 lower-case hex characters, as feeds show it in urn:uuid form)",
    "pattern": r"^[0-9a-f]{32}$",
    "maxLength": 32,
}

HIDE_BODY = {
    "type": "object",
    "properties": {"reason": {"type": "string", "maxLength": 500, "description": "why, for other operators"}},
    "additionalProperties": False,
}

HIDE_RESULT = dataclass_schema(HideResult)


async def hide_article(call: Call) -> web.Response:
    runtime = _runtime(call)
    who = client_key(call.request, runtime.config.settings.trusted_proxies)
    result = await hide(runtime, call.params["article_id"], who=who, reason=str(call.body.get("reason", "")))
    return json_response(result.as_dict())


# --- audit log ------------------------------------------------------------------------------

AUDIT_ENTRY = dataclass_schema(AuditEntry)
AUDIT_DEFAULT = 100


async def get_audit(call: Call) -> web.Response:
    entries = await audit_log(_runtime(call), limit=call.params.get("limit", AUDIT_DEFAULT))
    return json_response({"entries": [e.as_dict() for e in entries]})


def limit_param(most: int, description: str) -> Param:
    """`?limit=`: an integer from 1 to `most`."""
    return Param("limit", "query", {"type": "integer", "minimum": 1, "maximum": most}, description)


def list_schema(key: str, items: dict[str, object]) -> dict[str, object]:
    """A body `{key: [items…]}`."""
    return {"type": "object", "properties": {key: {"type": "array", "items": items}}, "required": [key]}


OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "GET",
        "/openapi.json",
        "getOpenAPI",
        "This document",
        openapi_document,
        responses={200: Response("the OpenAPI 3.1 document of this API", {"type": "object"})},
    ),
    Operation(
        "GET",
        "/sources",
        "listSources",
        "Every source with its health",
        list_sources,
        params=(
            Param("state", "query", {"type": "string", "enum": list(STATES)}, "only sources in this state"),
            Param("category", "query", SLUG, "only sources feeding this category (or a subcategory of it)"),
        ),
        responses={
            200: Response(
                "the sources, in configuration order",
                list_schema("sources", HEALTH),
            )
        },
    ),
    Operation(
        "GET",
        "/sources/{source_id}",
        "getSource",
        "One source with its health",
        get_source,
        params=(SOURCE_PATH,),
        responses={200: Response("the source's health", HEALTH)},
    ),
    Operation(
        "GET",
        "/sources/{source_id}/runs",
        "listSourceRuns",
        "A source's recent runs, newest first",
        list_source_runs,
        params=(
            SOURCE_PATH,
            limit_param(KEEP_PER_SOURCE, f"at most this many (default and most: {KEEP_PER_SOURCE})"),
        ),
        responses={
            200: Response(
                "the runs",
                list_schema("runs", RUN),
            )
        },
    ),
    Operation(
        "GET",
        "/sources/{source_id}/fetches",
        "listSourceFetches",
        "A source's last polls, newest first: time, status, bytes, new and changed counts",
        list_source_fetches,
        params=(
            SOURCE_PATH,
            limit_param(FETCH_LOG_SIZE, f"at most this many (default and most: {FETCH_LOG_SIZE})"),
        ),
        responses={
            200: Response(
                "the polls",
                list_schema("fetches", FETCH),
            )
        },
    ),
    Operation(
        "GET",
        "/sources/{source_id}/articles",
        "listSourceArticles",
        "The newest articles a source produced, in feed order",
        list_source_articles,
        params=(
            SOURCE_PATH,
            limit_param(MAX_ARTICLES, f"at most this many (default 50, most {MAX_ARTICLES})"),
        ),
        responses={
            200: Response(
                "the articles",
                list_schema("articles", ARTICLE),
            )
        },
    ),
    Operation(
        "POST",
        "/sources/{source_id}/pause",
        "pauseSource",
        "Stop polling a source until it is resumed (survives reloads and restarts)",
        pause_source,
        params=(SOURCE_PATH,),
        body=PAUSE_BODY,
        responses={200: Response("paused; the source's health", HEALTH)},
        action="pause",
    ),
    Operation(
        "POST",
        "/sources/{source_id}/resume",
        "resumeSource",
        "Poll a paused or gone source again, due at once",
        resume_source,
        params=(SOURCE_PATH,),
        responses={200: Response("resumed; the source's health", HEALTH)},
        action="resume",
    ),
    Operation(
        "GET",
        "/runs/{run_id}",
        "getRun",
        "One run (runs are kept 7 days)",
        get_one_run,
        params=(Param("run_id", "path", RUN_ID, "the run's id, as re-ingest answered it"),),
        responses={200: Response("the run", RUN)},
    ),
    Operation(
        "POST",
        "/reingest",
        "reingest",
        "Queue a run for each chosen source (never two pending for one source)",
        reingest_sources,
        body=REINGEST_BODY,
        responses={
            202: Response("the runs queued, and the sources skipped with why", REINGEST_RESULT),
            503: Response("this process has no queue to put runs on"),
        },
        action="reingest",
    ),
    Operation(
        "POST",
        "/reprocess",
        "reprocess",
        "Re-apply extraction, category and filter rules to the chosen sources' stored articles",
        reprocess_sources,
        body=REPROCESS_BODY,
        responses={
            200: Response("with dry_run: what would change, field by field", REPROCESS_RESULT),
            202: Response("queued as jobs of at most 200 articles: their runs, to follow", REPROCESS_QUEUED),
            503: Response("this process has no queue to put jobs on"),
        },
        description="From the raw input kept per article, without fetching, in the workers' jobs of at "
        "most 200 articles (one run each); the last job to end publishes each affected category once. "
        "Articles whose raw input expired are listed: force a re-ingest for those.",
        action="reprocess",
    ),
    Operation(
        "POST",
        "/render",
        "renderCategory",
        "Render a category's feeds again",
        render_category,
        body=RENDER_BODY,
        responses={
            202: Response("a publish job will render it", RENDER_RESULT),
            200: Response("rendered (a process without a queue renders inline)", RENDER_RESULT),
        },
        action="render",
    ),
    *PREVIEW_OPERATIONS,  # POST /preview (web/admin/preview.py)
    Operation(
        "POST",
        "/reload",
        "reloadConfig",
        "Reload the configuration file, in this process and (announced through Redis) every other",
        reload_config,
        responses={
            200: Response("the file validated and is applied", RELOAD_RESULT),
            409: Response("the file does not validate; the running configuration stays"),
        },
        action="reload",
    ),
    Operation(
        "GET",
        "/queue",
        "getQueue",
        "Queue depth, runs in progress, workers alive with their last beat",
        get_queue,
        responses={200: Response("the queue", QUEUE_RESULT)},
    ),
    Operation(
        "DELETE",
        "/articles/{article_id}",
        "hideArticle",
        "Take an article down: out of every feed, archive and index; a re-ingest never brings it back",
        hide_article,
        params=(Param("article_id", "path", ARTICLE_ID, "the article's id"),),
        body=HIDE_BODY,
        responses={
            200: Response(
                "hidden (or hidden already); the categories it left are published again", HIDE_RESULT
            )
        },
        action="hide",
    ),
    Operation(
        "GET",
        "/audit",
        "getAudit",
        "The audit log: the latest operators' actions (API and command line), newest first",
        get_audit,
        params=(
            limit_param(AUDIT_KEEP, f"at most this many (default {AUDIT_DEFAULT}; {AUDIT_KEEP} are kept)"),
        ),
        responses={
            200: Response(
                "the actions: at (ISO 8601, UTC), who (client address or cli:user@host), action, "
                "target, outcome (ok, refused, failed), detail",
                list_schema("entries", AUDIT_ENTRY),
            )
        },
    ),
)

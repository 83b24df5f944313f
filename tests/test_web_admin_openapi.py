"""The admin API's OpenAPI document: valid OpenAPI 3.1, describing exactly the routes the
server has, and a property-based run over it (schemathesis, against the live loopback
server) that finds no 5xx and no status the document does not list."""

from __future__ import annotations

import asyncio

import jsonschema
import pytest
import requests
import schemathesis
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from syndicator.store.runs import recent_runs
from syndicator.web.admin.routes import OPERATIONS
from syndicator.web.admin.table import PREFIX
from tests.admin_helpers import TOKEN, admin_serving
from tests.builders import items, one_feed_config, rss
from tests.harness import run_burst_worker

EXAMPLES = 25  # per operation and generation mode


@pytest.fixture
def config(tmp_path, upstream, redis_url, prefix):
    upstream.put("/feed.rss", rss(items("oas", 3)), "application/rss+xml")
    return one_feed_config(tmp_path, upstream, redis_url=redis_url, prefix=prefix, path="/feed.rss")


@pytest.fixture
def token_env(monkeypatch):
    monkeypatch.delenv("SYNDICATOR_ADMIN_TOKEN_FILE", raising=False)
    monkeypatch.setenv("SYNDICATOR_ADMIN_TOKEN", TOKEN)


def admin_routes(app: web.Application) -> set[tuple[str, str]]:
    """(method, path) of every route the admin sub-application serves, catch-all aside."""
    found = set()
    for resource in app.router.resources():
        if isinstance(resource, web.PrefixedSubAppResource) and resource.canonical == PREFIX:
            for route in resource._app.router.routes():
                path = route.resource.canonical if route.resource else ""
                if route.method != "*":
                    found.add((route.method, path))  # canonical: with the prefix
    return found


async def test_the_document_is_valid_and_matches_the_routes(config, redis, redis_url, token_env):
    async with admin_serving(config, redis_url) as (_, client):
        answer = await client.call("GET", "/openapi.json")
        app = client.server.app
    assert answer.status == 200
    document = answer.body
    validate(document)  # openapi-spec-validator: raises on any problem
    assert document["openapi"] == "3.1.0"
    described = {
        (method.upper(), document["servers"][0]["url"] + path)
        for path, operations in document["paths"].items()
        for method in operations
    }
    assert described == admin_routes(app)
    assert len(described) == len(OPERATIONS)
    ids = [op["operationId"] for ops in document["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids))


def fuzz_operation(
    operation, mode, session: requests.Session, base_url: str, known: dict[str, str] | None = None
) -> list[str]:
    """`EXAMPLES` generated requests to one operation (with the path parameters in `known`
    fixed to ids that exist, when given); the problems found, one line each: a 5xx, a
    status the document does not list, a 2xx body not matching its documented schema."""
    responses = operation.definition.raw["responses"]
    problems: list[str] = []
    strategy = operation.as_strategy(generation_mode=mode, path_parameters=known or None)

    @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def run(case) -> None:
        # Every request carries the right token (negative cases may have mangled it):
        # what is fuzzed here is the operations, not the auth (test_web_admin_auth.py).
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {TOKEN}"}
        response = case.call(base_url=base_url, session=session, timeout=10)
        status = response.status_code
        said = f"{operation.label}: {status} for {case.path_parameters} {case.query} {case.body!r}"
        if status >= 500 or status in (401, 429) or str(status) not in responses:
            problems.append(f"{said}: {response.text[:200]}")
            return
        body = response.json()  # every answer is JSON
        if status >= 400:
            assert body["error"]  # naming the problem
            return
        schema = responses[str(status)]["content"]["application/json"]["schema"]
        error = jsonschema.exceptions.best_match(Draft202012Validator(schema).iter_errors(body))
        if error is not None:
            problems.append(f"{said}: body does not match its schema: {error.message}")

    run()
    return problems


def fuzz(document: dict, base_url: str, known: dict[str, str]) -> list[str]:
    """Every operation with generated requests: valid ones, invalid ones, and valid ones
    naming a source and a run that exist."""
    schema = schemathesis.openapi.from_dict(document)
    session = requests.Session()
    problems: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):
            problems += fuzz_operation(operation, mode, session, base_url)
        names = {p["name"] for p in operation.definition.raw.get("parameters", ()) if p["in"] == "path"}
        if names:
            ids = {name: known[name] for name in names}
            problems += fuzz_operation(
                operation, schemathesis.GenerationMode.POSITIVE, session, base_url, ids
            )
    return problems


@pytest.mark.slow  # schemathesis, ~900 requests: ~12 s; CI runs it
async def test_property_based_run_finds_no_5xx(config, redis, redis_url, token_env):
    await run_burst_worker(config, redis_url)  # the source has health and a run
    async with admin_serving(config, redis_url) as (runtime, client):
        document = (await client.call("GET", "/openapi.json")).body
        [run] = await recent_runs(runtime.redis, runtime.keys, "feed")
        base_url = str(client.server.make_url(PREFIX))
        [article] = await runtime.redis.zrange(runtime.keys.category_index("all"), 0, 0)
        known = {"source_id": "feed", "run_id": run.run_id, "article_id": article.decode()}
        problems = await asyncio.to_thread(fuzz, document, base_url, known)
    assert problems == []

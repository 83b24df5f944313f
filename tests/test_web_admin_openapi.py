"""The admin API's OpenAPI document: valid OpenAPI 3.1, describing exactly the routes the
server has, and a property-based run over it (schemathesis, against the live loopback
server) that finds no 5xx and no status the document does not list."""

from __future__ import annotations

import asyncio

import pytest
import requests
import schemathesis
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from openapi_spec_validator import validate

from syndicator.web.admin.routes import OPERATIONS
from syndicator.web.admin.table import PREFIX
from tests.admin_helpers import TOKEN, admin_serving
from tests.builders import items, one_feed_config, rss

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


def fuzz_operation(operation, mode, session: requests.Session, base_url: str) -> list[str]:
    """`EXAMPLES` generated requests to one operation; the problems found, one line each."""
    documented = set(operation.definition.raw["responses"])
    problems: list[str] = []

    @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case) -> None:
        # Every request carries the right token (negative cases may have mangled it):
        # what is fuzzed here is the operations, not the auth (test_web_admin_auth.py).
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {TOKEN}"}
        response = case.call(base_url=base_url, session=session, timeout=10)
        status = response.status_code
        if status >= 500 or status in (401, 429) or str(status) not in documented:
            problems.append(
                f"{operation.label}: {status} for {case.path_parameters} {case.query} {case.body!r}: "
                f"{response.text[:200]}"
            )
        elif status >= 400:
            assert response.json()["error"]  # a JSON error naming the problem

    run()
    return problems


def fuzz(document: dict, base_url: str) -> list[str]:
    """Every operation with generated requests, valid ones and invalid ones."""
    schema = schemathesis.openapi.from_dict(document)
    session = requests.Session()
    problems: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):
            problems += fuzz_operation(operation, mode, session, base_url)
    return problems


async def test_property_based_run_finds_no_5xx(config, redis, redis_url, token_env):
    async with admin_serving(config, redis_url) as (_, client):
        document = (await client.call("GET", "/openapi.json")).body
        base_url = str(client.server.make_url(PREFIX))
        problems = await asyncio.to_thread(fuzz, document, base_url)
    assert problems == []

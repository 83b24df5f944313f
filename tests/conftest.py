"""Shared fixtures: a real Redis, a unique key prefix per test, a real upstream HTTP server.

Test data lives in `tests/fixtures/` (copies of the seed site and of a few small public
files, each beside its licence), so the suite passes in a clone with nothing beside it.
The large public corpora feed the separate conformance suite in `tests/conformance/`,
which runs only when given the corpus folder: `pytest tests/conformance --corpus DIR`.

Redis: `SYNDICATOR_TEST_REDIS_URL` when set (CI may point it at a database of the
machine's server); otherwise a private `redis-server` started once per session, exactly
as the embedded mode starts one. Each test writes only under its own prefix and queue
name, and deletes only those keys afterwards — never a flush.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from redis.asyncio import Redis

from syndicator.embedded import EmbeddedRedis
from syndicator.store.connection import connect
from tests.chaos.helpers import FULL_RUN
from tests.redis_cluster import RedisCluster, redis_cluster
from tests.upstream import Upstream

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"
SITE_ZHBF = FIXTURES / "site-zhbf"
JSONFEED_SCHEMA = FIXTURES / "jsonfeed" / "schema-v1.1.json"
CONFORMANCE = REPO / "tests" / "conformance"
# What a folder needs to hold to be the corpus (its README lists these folders).
CORPUS_PARTS = ("feedparser-tests", "miniflux-testdata", "jsonfeed-schema", "site-zhbf")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--corpus",
        type=Path,
        default=None,
        metavar="DIR",
        help="the public test corpora (shared/corpus beside the checkout); enables the conformance suite",
    )


# Hypothesis profiles. `ci`: what the suite and CI run (tests that name their own
# `max_examples` keep it). `full`: the full chaos run, `SYNDICATOR_CHAOS=full` (or
# `--hypothesis-profile full`), for the property tests in tests/chaos/test_properties.py.
settings.register_profile("ci", max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("full", settings.get_profile("ci"), max_examples=2000)
settings.load_profile("full" if FULL_RUN else "ci")


# Test processes (pytest-xdist) when the command line names none. The suite mostly waits on
# real servers, processes and time limits, not on the CPU, so more processes than cores pay:
# on the 2-core machine 4 take the fast lane from over 6 minutes to under 3.
WORKERS = 4


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> None:
    """Run the tests in `WORKERS` processes unless the command line says how many.

    Here rather than `-n` in pyproject's addopts, so that `-p no:xdist` still runs one
    process (with `-n` in addopts it fails on an unknown option); `-n 0` works as well, and
    `--pdb`, which needs one process, gets one. Each worker has its own private Redis and
    temporary folders (see `redis_url`); `worksteal` balances the long real-process tests.
    """
    option = config.option
    if (
        not config.pluginmanager.hasplugin("xdist")
        or hasattr(config, "workerinput")  # inside a worker
        or getattr(option, "numprocesses", None) is not None
        or option.usepdb
        or option.collectonly
    ):
        return
    option.numprocesses = WORKERS
    if option.dist == "no":
        option.dist = "worksteal"


def _names_conformance(arg: str) -> bool:
    """Whether a command-line path (maybe with ::test) lies in the conformance suite."""
    path = Path(arg.split("::", 1)[0]).resolve()
    return path == CONFORMANCE or CONFORMANCE in path.parents


def pytest_configure(config: pytest.Config) -> None:
    """Refuse, in one line, a conformance run that has no usable corpus folder.

    Without this a missing folder would surface as hundreds of FileNotFoundErrors.
    """
    corpus: Path | None = config.getoption("corpus")
    if corpus is None:
        if any(_names_conformance(arg) for arg in config.args):
            raise pytest.UsageError(
                "tests/conformance needs the corpus folder: "
                "add --corpus DIR (shared/corpus beside the checkout)"
            )
        return
    if not corpus.is_dir():
        raise pytest.UsageError(
            f"--corpus {corpus}: no such folder "
            "(the conformance suite needs the corpus folder: shared/corpus beside the checkout)"
        )
    missing = [part for part in CORPUS_PARTS if not (corpus / part).is_dir()]
    if missing:
        raise pytest.UsageError(f"--corpus {corpus}: not the corpus folder (it lacks {', '.join(missing)})")


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Plain `pytest` leaves the conformance suite out: it needs --corpus."""
    if collection_path == CONFORMANCE and config.getoption("corpus") is None:
        return True
    return None


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    configured = os.environ.get("SYNDICATOR_TEST_REDIS_URL")
    if configured:
        yield configured
        return
    with EmbeddedRedis(tmp_path_factory.mktemp("redis"), appendonly=False) as server:
        yield server.url


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisCluster]:
    """A private three-master Redis Cluster (tests/redis_cluster.py), started on first use
    (about a second) and shared by every cluster test of this test process."""
    with redis_cluster(tmp_path_factory.mktemp("cluster")) as running:
        yield running


@pytest.fixture
async def cluster_store(cluster: RedisCluster, prefix: str) -> AsyncIterator[Redis]:
    """A client of the cluster (the store's, `store/connection.connect`); our prefix's keys
    are deleted afterwards, from every master."""
    client = connect(cluster.url)
    try:
        yield client
    finally:
        await delete_created(client, prefix)
        await client.aclose()


@pytest.fixture
def prefix() -> str:
    return f"t{uuid.uuid4().hex[:10]}:"


async def delete_created(redis: Redis, prefix: str) -> None:
    """Delete our prefix's keys and the arq keys whose job ids or queue carry the prefix."""
    for pattern in (f"{prefix}*", f"arq:*{prefix}*"):
        batch: list[bytes] = []
        async for key in redis.scan_iter(match=pattern, count=500):
            batch.append(key)
            if len(batch) >= 500:
                await redis.delete(*batch)
                batch.clear()
        if batch:
            await redis.delete(*batch)


@pytest.fixture
async def redis(redis_url: str, prefix: str) -> AsyncIterator[Redis]:
    client = connect(redis_url)
    try:
        yield client
    finally:
        await delete_created(client, prefix)
        await client.aclose()


@contextlib.asynccontextmanager
async def running_upstream() -> AsyncIterator[Upstream]:
    """A loopback upstream server for the duration of the block (the `upstream` fixture's,
    or a second origin a test needs)."""
    server = Upstream()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def upstream() -> AsyncIterator[Upstream]:
    async with running_upstream() as server:
        yield server

"""Kill -9 at every step: a real `syndicator worker` SIGKILLed at random points, again and again.

Four loopback feeds (RSS, Atom, JSON Feed) change between rounds: new items, edited titles.
Each round marks every source due (as if its poll interval had passed), starts a worker,
and kills it with SIGKILL at a random moment of its work: each round aims at an ingest or a
publish, waits until a job of that kind is in progress (arq's `in-progress` key), then
waits a random delay inside that work — a fetch, a parse, the store loop, retention, a
publish render. One round in STARTUP_SHARE is killed in startup instead. Each round
prints where its kill fell (the jobs in progress at that moment), and the campaign the
tally. Then one last worker runs until the store is quiet, and the test checks what a
reader would see:
every upstream item stored exactly once with its current title, the URL index consistent,
every category feed published, valid and holding the newest items of its category, and no
job or marker left behind.

`SYNDICATOR_KILLS` sets the number of kills (default 5; 50 in the full chaos run,
`SYNDICATOR_CHAOS=full`); `SYNDICATOR_KILL_SEED` replays a run's upstream changes and kill
delays (the seed is printed; a failure shows it):

    SYNDICATOR_KILLS=50 .venv/bin/python -m pytest tests/chaos/test_kill_campaign.py
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import signal
import sys
import time
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path

import pytest

from syndicator.config import load_config
from syndicator.models import Config
from syndicator.publish import stale_categories
from syndicator.runtime import Runtime
from syndicator.store.codec import article_from_json
from syndicator.store.keys import Keys
from syndicator.store.schema import store_version
from syndicator.worker import worker_settings
from tests.builders import BASE_TIME, Item, atom, json_feed, rss, toml_value
from tests.chaos.helpers import KILLS
from tests.harness import fetch_all_feeds
from tests.processes import REPO, clean_environment, store_environment
from tests.render_helpers import _parse, _validator

SEED = int(os.environ.get("SYNDICATOR_KILL_SEED", str(random.randrange(2**32))))
MAX_KILL_DELAY = 1.0  # seconds after a worker's start, for a kill aimed at its startup
# Seconds after a job of the aimed-at kind is seen in progress: the kill falls in there.
# About the length of such a job here: an ingest of the four sources (its first parse
# starts the parse pool) takes some 0.5 s, a publish of the five feeds well under 0.1 s.
WORK_SPAN = {"ingest": 0.5, "publish": 0.08}
STARTUP_SHARE = 0.1  # of rounds killed in startup (before any job) rather than in the work
WORK_WAIT = 5.0  # seconds a worker with work to do may take to start a job (about 1.5)
JOB_TIMEOUT = 3.0
# Seconds for the last worker to start and run the unlocked jobs again: about 5 s on a quiet
# machine; 10 s proved too few for a full (50-kill) run on a loaded 2-core one.
FINAL_SLACK = 25.0
ITEMS_PER_FEED = 15
MAX_ITEMS = 200  # per source: every item stays upstream, under the parser's entry limit

# source id → (format, categories); `qinggan/gushi` also fills its parent `qinggan`.
SOURCES = {
    "alpha": ("rss", ("tech",)),
    "beta": ("atom", ("tech", "science")),
    "gamma": ("json", ("science",)),
    "delta": ("rss", ("qinggan/gushi",)),
}
CATEGORIES = ("tech", "science", "qinggan/gushi")
FEEDS = ("all", "tech", "science", "qinggan", "qinggan/gushi")
RENDER = {"rss": (rss, "application/rss+xml"), "atom": (atom, "application/atom+xml")}
RENDER["json"] = (json_feed, "application/feed+json")


@dataclass
class World:
    """What the upstream sites serve, and every item they have ever served."""

    rng: random.Random
    clock: int = 0  # minutes after BASE_TIME: every item gets its own date, so order is one
    items: dict[str, list[Item]] = field(default_factory=dict)

    def new_item(self, source: str) -> Item:
        n = len(self.items[source])
        self.clock += 1
        return Item(
            guid=f"{source}-{n}",
            title=f"{source} title {n}",
            link=f"https://{source}.example/posts/{n}",
            published=BASE_TIME + timedelta(minutes=self.clock),
            body=f'<p>{source} body {n} with <a href="/rel/{n}">a relative link</a></p>',
            author=f"Author {n}" if n % 2 == 0 else None,
        )

    def change(self, source: str, round_: int) -> None:
        """New items (while under MAX_ITEMS), and a few existing titles edited."""
        items = self.items[source]
        for _ in range(self.rng.randint(1, 4)):
            if len(items) < MAX_ITEMS:
                items.append(self.new_item(source))
        for i in self.rng.sample(range(len(items)), k=min(len(items), self.rng.randint(0, 3))):
            items[i] = replace(items[i], title=f"{items[i].guid} edited in round {round_}")

    def publish(self, upstream) -> None:
        for source, (fmt, _) in SOURCES.items():
            render, media_type = RENDER[fmt]
            items = sorted(self.items[source], key=lambda i: i.published, reverse=True)
            upstream.put(f"/{source}.{fmt}", render(items), media_type)

    def in_feed(self, slug: str) -> list[Item]:
        """Every item of feed `slug`, newest first."""
        found = [
            item
            for source, (_, cats) in SOURCES.items()
            for item in self.items[source]
            if slug == "all" or any(c == slug or c.startswith(slug + "/") for c in cats)
        ]
        return sorted(found, key=lambda i: i.published, reverse=True)


def in_progress_lock(config: Config, redis_url: str) -> float:
    """Seconds a killed worker's job stays locked (arq: the longest function timeout + 10)."""
    functions = worker_settings(config, redis_url).functions
    return max(f.timeout_s or config.settings.job_timeout for f in functions) + 10


def campaign_config(tmp_path: Path, upstream, redis_url: str, prefix: str) -> Config:
    lines = [
        "[server]",
        f'redis_url = "{redis_url}"',
        f'redis_prefix = "{prefix}"',
        f'queue_name = "{prefix}queue"',
        'public_url = "http://feeds.test/"',
        f'job_timeout = "{JOB_TIMEOUT:g}s"',
        "schedule_every = 1",
        "",
        "[all]",
        f"items_per_feed = {ITEMS_PER_FEED}",
        "retention_count = 5000",
        "",
    ]
    for slug in CATEGORIES:
        lines += ["[[categories]]", f"slug = {toml_value(slug)}"]
        lines += [f"items_per_feed = {ITEMS_PER_FEED}", "retention_count = 5000", ""]
    for source, (fmt, cats) in SOURCES.items():
        lines += ["[[sources]]", f'id = "{source}"', f"url = {toml_value(upstream.url(f'/{source}.{fmt}'))}"]
        lines += [f"categories = {toml_value(list(cats))}", "allow_private_network = true"]
        lines += ['poll_interval = "1h"', ""]
    path = tmp_path / "syndicator.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return load_config(path, environ={})


async def start_worker(config: Config, redis_url: str, prefix: str, log: Path) -> asyncio.subprocess.Process:
    with log.open("wb") as out:
        return await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "syndicator.cli", "worker", "--config", config.path),
            cwd=REPO,
            env=clean_environment(store_environment(redis_url, prefix)),
            stdout=out,
            stderr=out,
            start_new_session=True,  # its parse-pool children too can be found and reaped
        )


async def reap(worker: asyncio.subprocess.Process, sig: signal.Signals) -> None:
    """Send `sig` to the worker, wait for it, and SIGKILL whatever it left in its session."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(worker.pid, sig)
    try:
        await asyncio.wait_for(worker.wait(), 15)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(worker.pid, signal.SIGKILL)
        if worker.returncode is None:
            await worker.wait()


async def our_jobs_in_progress(redis, prefix: str) -> list[bytes]:
    """arq's in-progress keys of our ingest and publish jobs (not the scheduler's cron jobs:
    arq keeps those a minute by design, so that one schedule slot runs once)."""
    return [k async for k in redis.scan_iter(match=f"arq:in-progress:{prefix}*") if not is_cron(k, prefix)]


async def where_now(redis, prefix: str, started_a_job: bool) -> str:
    """Where a kill at this moment falls: the kinds of our jobs in progress, else whether
    the worker had begun any work (arq's keys are `in-progress:<prefix>ingest:<id>`)."""
    held = await our_jobs_in_progress(redis, prefix)
    kinds = sorted({k.decode().removeprefix(f"arq:in-progress:{prefix}").split(":")[0] for k in held})
    if kinds:
        return " + ".join(kinds)
    return "between jobs" if started_a_job else "startup"


async def expire_locks(redis, prefix: str) -> None:
    """Do now what time would do to a killed worker's jobs: arq releases them when their
    in-progress keys expire (job timeout + 10 s). Without this every later round would find
    its jobs locked and have nothing to do but start up; with it the next worker runs them
    again, as a worker after the expiry would. Only once the killed worker is reaped."""
    if held := await our_jobs_in_progress(redis, prefix):
        await redis.delete(*held)


async def feed_versions(redis, prefix: str) -> int:
    """Feed versions published so far, over every feed."""
    return sum(int(v or 0) for v in await redis.mget([Keys(prefix).feed_version(slug) for slug in FEEDS]))


async def mark_all_due(redis, config: Config) -> None:
    """As if every poll interval had passed: the worker's scheduler enqueues them all."""
    await redis.zadd(f"{config.settings.redis_prefix}due", dict.fromkeys(SOURCES, 0))


CRON_JOBS = ("schedule_due", "hub_maintain")  # the worker's cron jobs (worker/settings.py)


def is_cron(key: bytes, prefix: str) -> bool:
    return any(f"{prefix}{name}:".encode() in key for name in CRON_JOBS)


async def leftovers(redis, config: Config, runtime: Runtime, started: float) -> list[str]:
    """Why the store is not quiet yet ([] once it is)."""
    prefix = config.settings.redis_prefix
    why = []
    due = dict(await redis.zrange(f"{prefix}due", 0, -1, withscores=True))
    if late := sorted(s for s in SOURCES if due.get(s.encode(), 0) < started):
        why.append(f"not ingested since the final worker started: {late}")
    # Our jobs: ingests and publishes (the scheduler's cron jobs come every second).
    queued = [j for j in await redis.zrange(config.settings.queue_name, 0, -1) if not is_cron(j, prefix)]
    if queued:
        why.append(f"queued jobs: {queued}")
    if in_progress := await our_jobs_in_progress(redis, prefix):
        why.append(f"in-progress jobs: {in_progress}")
    if pending := await redis.hgetall(f"{prefix}pending-publish"):
        why.append(f"pending publish markers: {pending}")
    if stale := await stale_categories(runtime):
        why.append(f"stored into since their last publish: {stale}")
    return why


@pytest.mark.slow  # ~25 s of real workers; the README's test command and CI run it
async def test_kill_minus_nine_at_random_points_loses_and_doubles_nothing(
    tmp_path, upstream, redis, redis_url, prefix
):
    print(f"kill campaign: SYNDICATOR_KILLS={KILLS} SYNDICATOR_KILL_SEED={SEED}")
    rng = random.Random(SEED)
    world = World(rng)
    for source in SOURCES:
        world.items[source] = []
        for _ in range(40):
            world.items[source].append(world.new_item(source))
    world.publish(upstream)
    config = campaign_config(tmp_path, upstream, redis_url, prefix)
    # Stamped as a first start stamps an empty store, before the test marks sources due.
    await store_version(redis, Keys(prefix))
    logs = tmp_path / "logs"
    logs.mkdir()
    campaign_started = time.monotonic()
    in_work = 0  # rounds whose worker fetched or published before its kill
    landings: dict[str, int] = {}  # where kills fell (see where_now) → how many

    for round_ in range(KILLS):
        for source in rng.sample(sorted(SOURCES), k=rng.randint(1, len(SOURCES))):
            world.change(source, round_)
        world.publish(upstream)
        await mark_all_due(redis, config)
        aim = "startup" if rng.random() < STARTUP_SHARE else rng.choice(sorted(WORK_SPAN))
        delay = rng.uniform(0, WORK_SPAN.get(aim, MAX_KILL_DELAY))
        worker = await start_worker(config, redis_url, prefix, logs / f"worker-{round_}.log")
        try:
            requests, versions = len(upstream.requests), await feed_versions(redis, prefix)
            started = time.monotonic()
            working = (
                None  # when a job of the aimed-at kind was seen in progress: the delay counts from there
            )
            while aim != "startup" and time.monotonic() - started < WORK_WAIT:
                if aim in await where_now(redis, prefix, started_a_job=True):
                    working = time.monotonic()
                    break
                await asyncio.sleep(0.002)
            await asyncio.sleep(max(0.0, (working or started) + delay - time.monotonic()))
            began = working is not None or len(upstream.requests) > requests
            landed = await where_now(redis, prefix, began)
            killed_at = time.monotonic() - started
        finally:
            await reap(worker, signal.SIGKILL)
        fetched = len(upstream.requests) - requests
        published = await feed_versions(redis, prefix) - versions
        in_work += bool(fetched or published)
        landings[landed] = landings.get(landed, 0) + 1
        after = f"the {aim} began" if working else "start"
        print(
            f"round {round_}: aimed at {aim}, killed {killed_at:.2f} s after start, "
            f"{delay:.2f} s after {after}, "
            f"during {landed}: {fetched} fetches, {published} feed versions"
        )
        assert worker.returncode == -signal.SIGKILL, (
            f"round {round_}: the worker ended by itself ({worker.returncode}) before its kill; see {logs}"
        )
        if round_ < KILLS - 1:  # the last kill's locks are left to expire: the final worker waits
            await expire_locks(redis, prefix)
    kills_took = time.monotonic() - campaign_started

    # The last worker: every source ingested again, and nothing left queued or half done.
    await mark_all_due(redis, config)
    runtime = Runtime.open(config, redis_url)
    final_started = time.time()
    worker = await start_worker(config, redis_url, prefix, logs / "worker-final.log")
    # A killed worker's jobs are locked until their in-progress keys expire: arq gives every
    # job the longest timeout of any function (the hub's delivery chunks') + 10 s. Then they
    # must run again and the worker go quiet, none stuck for longer.
    bound = in_progress_lock(config, redis_url) + FINAL_SLACK
    try:
        while True:  # Redis is polled: nothing signals that the store is quiet
            why = await leftovers(redis, config, runtime, final_started)
            quiet_after = time.time() - final_started
            if not why or quiet_after > bound:
                break
            await asyncio.sleep(0.1)
    finally:
        await reap(worker, signal.SIGTERM)
        await runtime.close()
    context = f"seed {SEED}, {KILLS} kills; worker logs in {logs}"
    print(
        f"{KILLS} kills ({in_work} of them after the worker had fetched or published) took "
        f"{kills_took:.1f} s; the final worker was quiet after {quiet_after:.1f} s"
    )
    print("kills landed: " + ", ".join(f"{n} during {where}" for where, n in sorted(landings.items())))
    assert why == [], f"not quiet {bound:g} s after the final worker started ({context}): {why}"
    assert worker.returncode == 0, f"the final worker did not stop cleanly ({context})"

    # Every upstream item stored exactly once, with its current title, in its indexes.
    keys_prefix = config.settings.redis_prefix
    keys = Keys(keys_prefix)
    stored = []
    async for key in redis.scan_iter(match=f"{keys_prefix}article:*"):
        stored.append(article_from_json(await redis.get(key)))
    by_source: dict[str, list[str]] = {s: [] for s in SOURCES}
    titles = {}
    for article, indexes in stored:
        by_source[article.source_id].append(article.url)
        titles[article.url] = article.title
        assert await redis.get(keys.url_index(article.url)) == article.id.encode(), context
        expected = {"all", *SOURCES[article.source_id][1]}
        expected |= {c.split("/")[0] for c in SOURCES[article.source_id][1]}
        assert set(indexes) == expected, (article.url, indexes, context)
    for source in SOURCES:
        assert sorted(by_source[source]) == sorted(i.link for i in world.items[source]), (source, context)
    current = {i.link: i.title for items in world.items.values() for i in items}
    assert titles == current, context
    url_keys = [k async for k in redis.scan_iter(match=f"{keys_prefix}url:*")]
    assert len(url_keys) == len(stored), context

    # Every feed published, valid, and holding the newest items of its category.
    validator = _validator()
    served = await fetch_all_feeds(config, redis_url, FEEDS)
    for slug in FEEDS:
        everything = world.in_feed(slug)
        assert await redis.zcard(Keys(keys_prefix).category_index(slug)) == len(everything), (slug, context)
        limit = config.categories[slug].items_per_feed  # `qinggan`, implied, has the default
        newest = [(i.link, i.title) for i in everything[:limit]]
        for fmt in ("rss", "atom", "json"):
            status, _headers, body = served[(slug, fmt)]
            assert status == 200, (slug, fmt, context)
            if fmt == "json":
                document = json.loads(body)
                assert list(validator.iter_errors(document)) == [], (slug, context)
                got = [(i["url"], i["title"]) for i in document["items"]]
            else:
                got = [(e.link, e.title) for e in _parse(body).entries]
            assert got == newest, (slug, fmt, context)

"""The hub's subscription side over real HTTP, against real loopback callbacks and a real
Redis, mirroring the subscription half of websub.rocks's hub tests: a subscription is
verified before it is stored (100), a secret is kept (101), unrecognised parameters are
ignored (102), an active subscription can be requested again before it expires and is
verified again (103), an unsubscription is verified (104). 105 and 106 (plain-text and
JSON topics) are about distribution, and our topics are feeds: tests/test_hub_delivery.py.
Besides: a callback that does not echo the challenge is not subscribed (§5.3), the lease
is granted within bounds, what the hub refuses at once (topics, forms, limits) and what
it does later (denied on a removed category, leases that end, the latest request winning).

Every callback here is a real aiohttp server on 127.0.0.1 that records the query of each
request it receives, so "nothing was sent to the callback" is checked, not assumed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp import ClientSession, web
from aiohttp.test_utils import TestServer
from arq import Retry, create_pool

from syndicator.hub.intent import accept, new_intent, verify
from syndicator.hub.leases import maintain
from syndicator.hub.requests import LEASE_DEFAULT, LEASE_MAX, LEASE_MIN
from syndicator.models import Config
from syndicator.publish import publish_missing
from syndicator.runtime import Runtime
from syndicator.store.connection import arq_settings
from syndicator.store.hub import (
    HubSubscription,
    load_subscription,
    save_within_limit,
    subscription_id,
    subscriptions_for,
    topics,
)
from syndicator.web.app import create_app
from syndicator.web.hub import VERIFYING
from syndicator.web.push import WebTopicViews
from syndicator.web.topics import normalise_topic, served_by, still_served
from syndicator.worker import worker_settings
from syndicator.worker.jobs import hub_verify_job
from tests.builders import write_config
from tests.harness import run_burst_worker

SITE = "http://feeds.test/"
TECH = f"{SITE}feeds/tech.rss"
LOOPBACK = '[fetch]\nallowed_networks = ["127.0.0.0/8"]\n'
CATEGORIES = [{"slug": "tech", "title": "Technology"}, {"slug": "world", "title": "World"}]


@dataclass
class Callback:
    """A subscriber's callback: answers verification GETs as told, records every query."""

    behaviour: str = "echo"  # echo | wrong | 404 | 503 | big | redirect
    seen: list[dict[str, str]] = field(default_factory=list)
    server: TestServer | None = None

    async def handle(self, request: web.Request) -> web.Response:
        self.seen.append(dict(request.query))
        if self.behaviour == "404":
            return web.Response(status=404, text="no such subscription")
        if self.behaviour == "wrong":
            return web.Response(text="not-the-challenge")
        if self.behaviour == "503":
            return web.Response(status=503, text="busy")
        if self.behaviour == "big":  # the challenge, buried in more than the hub reads
            return web.Response(text=request.query.get("hub.challenge", "") + " " * 8192)
        if self.behaviour == "redirect":  # to a URL that would echo: still no confirmation
            raise web.HTTPFound(str(request.url.with_path("/elsewhere")))
        return web.Response(text=request.query.get("hub.challenge", ""))

    def url(self, path: str = "/cb") -> str:
        assert self.server is not None
        return str(self.server.make_url(path))


@contextlib.asynccontextmanager
async def callback_server(behaviour: str = "echo") -> AsyncIterator[Callback]:
    callback = Callback(behaviour)
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", callback.handle)
    callback.server = TestServer(app, host="127.0.0.1")
    await callback.server.start_server()
    try:
        yield callback
    finally:
        await callback.server.close()


def hub_config(
    tmp_path: Path, redis_url: str, prefix: str, *, server: str = "", loopback: bool = True
) -> Config:
    extra = server + "\n" + (LOOPBACK if loopback else "")
    return write_config(
        tmp_path, redis_url=redis_url, prefix=prefix, sources=[], categories=CATEGORIES, extra_server=extra
    )


@dataclass
class Hub:
    runtime: Runtime
    server: TestServer
    http: ClientSession

    async def post(self, form: dict[str, str], **headers: str) -> tuple[int, str, dict[str, str]]:
        async with self.http.post(self.server.make_url("/hub"), data=form, headers=headers) as resp:
            return resp.status, await resp.text(), dict(resp.headers)

    async def settled(self) -> None:
        """Wait until this process's verifications (tasks after the 202) have finished."""
        tasks = list(self.server.app[VERIFYING])
        await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 10)


@contextlib.asynccontextmanager
async def running_hub(config: Config, redis_url: str, *, queue: bool = False) -> AsyncIterator[Hub]:
    pool = (
        await create_pool(arq_settings(redis_url), default_queue_name=config.settings.queue_name)
        if queue
        else None
    )
    runtime = Runtime.open(config, redis_url, queue=pool)
    server = TestServer(create_app(runtime), host="127.0.0.1")
    await server.start_server()
    try:
        async with ClientSession() as http:
            yield Hub(runtime, server, http)
    finally:
        await server.close()
        await runtime.close()
        if pool is not None:
            await pool.aclose()


@pytest.fixture
async def hub(tmp_path, redis, redis_url, prefix) -> AsyncIterator[Hub]:
    async with running_hub(hub_config(tmp_path, redis_url, prefix), redis_url) as running:
        yield running


def subscribe(topic: str, callback: str, **extra: str) -> dict[str, str]:
    return {"hub.mode": "subscribe", "hub.topic": topic, "hub.callback": callback, **extra}


async def test_100_subscription_is_verified_then_stored(hub: Hub) -> None:
    async with callback_server() as cb:
        before = datetime.now(UTC)
        status, text, _ = await hub.post(subscribe("HTTP://Feeds.TEST:80/feeds/tech.rss", cb.url("/cb?x=1")))
        assert status == 202, text
        await hub.settled()
        [query] = cb.seen
        assert query["hub.mode"] == "subscribe"
        assert query["hub.topic"] == TECH  # normalised: scheme and host case, default port
        assert query["x"] == "1"  # the callback's own query is kept
        assert len(query["hub.challenge"]) >= 20
        assert query["hub.lease_seconds"] == str(LEASE_DEFAULT)
        sub = await load_subscription(
            hub.runtime.redis, hub.runtime.keys, subscription_id(TECH, cb.url("/cb?x=1"))
        )
        assert sub is not None and sub.secret == "" and sub.lease_seconds == LEASE_DEFAULT
        assert (
            before + timedelta(seconds=LEASE_DEFAULT)
            <= sub.expires_at
            <= datetime.now(UTC) + timedelta(seconds=LEASE_DEFAULT)
        )
        assert [s.callback for s in await subscriptions_for(hub.runtime.redis, hub.runtime.keys, TECH)] == [
            cb.url("/cb?x=1")
        ]


async def test_filtered_and_combined_topics_are_normalised_like_the_feed_names_itself(hub: Hub) -> None:
    async with callback_server() as cb:
        status, text, _ = await hub.post(
            subscribe(f"{SITE}feeds/tech+world.atom?tag=B&q=Rust&tag=a", cb.url())
        )
        assert status == 202, text
        await hub.settled()
        assert cb.seen[0]["hub.topic"] == f"{SITE}feeds/tech+world.atom?q=rust&tag=a&tag=b"
        assert await topics(hub.runtime.redis, hub.runtime.keys) == [
            f"{SITE}feeds/tech+world.atom?q=rust&tag=a&tag=b"
        ]


async def test_101_secret_is_kept_and_200_bytes_is_refused(hub: Hub) -> None:
    async with callback_server() as cb:
        status, _, _ = await hub.post(subscribe(TECH, cb.url(), **{"hub.secret": "s" * 199}))
        assert status == 202
        await hub.settled()
        sub = await load_subscription(hub.runtime.redis, hub.runtime.keys, subscription_id(TECH, cb.url()))
        assert sub is not None and sub.secret == "s" * 199
        for secret in ("s" * 200, "密" * 67):  # 200 and 201 bytes
            status, text, _ = await hub.post(subscribe(TECH, cb.url("/other"), **{"hub.secret": secret}))
            assert status == 400 and text.startswith("hub.secret: must be shorter than 200 bytes"), text
        await hub.settled()
        assert len(cb.seen) == 1  # only the valid request reached the callback


async def test_102_unrecognised_parameters_are_ignored(hub: Hub) -> None:
    async with callback_server() as cb:
        form = subscribe(TECH, cb.url(), foo="bar", **{"hub.extra": "1", "hub.lease_seconds": "7200"})
        status, text, _ = await hub.post(form)
        assert status == 202, text
        await hub.settled()
        assert set(cb.seen[0]) == {"hub.mode", "hub.topic", "hub.challenge", "hub.lease_seconds"}
        sub = await load_subscription(hub.runtime.redis, hub.runtime.keys, subscription_id(TECH, cb.url()))
        assert sub is not None and sub.lease_seconds == 7200


@pytest.mark.parametrize(
    ("requested", "granted"),
    [("60", LEASE_MIN), ("7200", 7200), ("100000000", LEASE_MAX)],
)
async def test_lease_is_clamped_and_told_to_the_callback(hub: Hub, requested: str, granted: int) -> None:
    async with callback_server() as cb:
        status, _, _ = await hub.post(subscribe(TECH, cb.url(), **{"hub.lease_seconds": requested}))
        assert status == 202
        await hub.settled()
        assert cb.seen[0]["hub.lease_seconds"] == str(granted)
        sub = await load_subscription(hub.runtime.redis, hub.runtime.keys, subscription_id(TECH, cb.url()))
        assert sub is not None and sub.lease_seconds == granted


@pytest.mark.parametrize("behaviour", ["wrong", "404", "big", "redirect"])
async def test_callback_that_does_not_confirm_is_not_subscribed(hub: Hub, behaviour: str) -> None:
    async with callback_server(behaviour) as cb:
        status, _, _ = await hub.post(subscribe(TECH, cb.url()))
        assert status == 202
        await hub.settled()
        assert len(cb.seen) == 1
        assert (
            await load_subscription(hub.runtime.redis, hub.runtime.keys, subscription_id(TECH, cb.url()))
            is None
        )
        assert await topics(hub.runtime.redis, hub.runtime.keys) == []


async def test_103_resubscribing_before_expiry_is_verified_again_and_renews(hub: Hub) -> None:
    async with callback_server() as cb:
        await hub.post(subscribe(TECH, cb.url(), **{"hub.lease_seconds": "7200"}))
        await hub.settled()
        sid = subscription_id(TECH, cb.url())
        first = await load_subscription(hub.runtime.redis, hub.runtime.keys, sid)
        assert first is not None
        cb.behaviour = "wrong"
        await hub.post(subscribe(TECH, cb.url(), **{"hub.lease_seconds": "90000"}))
        await hub.settled()
        assert len(cb.seen) == 2  # the renewal was verified again…
        assert await load_subscription(hub.runtime.redis, hub.runtime.keys, sid) == first  # …and failed
        cb.behaviour = "echo"
        await hub.post(subscribe(TECH, cb.url(), **{"hub.lease_seconds": "90000"}))
        await hub.settled()
        renewed = await load_subscription(hub.runtime.redis, hub.runtime.keys, sid)
        assert renewed is not None and renewed.lease_seconds == 90000
        assert renewed.created_at == first.created_at and renewed.verified_at > first.verified_at


async def test_104_unsubscription_is_verified_then_removed(hub: Hub) -> None:
    async with callback_server() as cb:
        await hub.post(subscribe(TECH, cb.url()))
        await hub.settled()
        sid = subscription_id(TECH, cb.url())
        cb.behaviour = "404"
        form = {"hub.mode": "unsubscribe", "hub.topic": TECH, "hub.callback": cb.url()}
        assert (await hub.post(form))[0] == 202
        await hub.settled()
        assert await load_subscription(hub.runtime.redis, hub.runtime.keys, sid) is not None  # not confirmed
        cb.behaviour = "echo"
        assert (await hub.post(form))[0] == 202
        await hub.settled()
        assert cb.seen[-1]["hub.mode"] == "unsubscribe" and "hub.lease_seconds" not in cb.seen[-1]
        assert await load_subscription(hub.runtime.redis, hub.runtime.keys, sid) is None
        assert await topics(hub.runtime.redis, hub.runtime.keys) == []


@pytest.mark.parametrize(
    ("form", "reason"),
    [
        (
            subscribe("https://elsewhere.test/feeds/tech.rss", "CB"),
            "hub.topic: not a feed of this hub's site",
        ),
        (subscribe(f"{SITE}archive/tech/1.rss", "CB"), "hub.topic: not a feed URL"),
        (subscribe(f"{SITE}feeds/nope.rss", "CB"), "hub.topic: no category 'nope'"),
        (subscribe(f"{SITE}feeds/tech.html", "CB"), "hub.topic: unknown feed format"),
        (subscribe(f"{TECH}?limt=5", "CB"), "hub.topic: limt: unknown parameter"),
        (subscribe(TECH, "ftp://127.0.0.1/cb"), "hub.callback: must be an absolute http"),
        (subscribe(TECH, "CB#frag"), "hub.callback: must not have a fragment"),
        (subscribe(TECH, "CB", **{"hub.lease_seconds": "ten"}), "hub.lease_seconds: not a whole number"),
        ({"hub.mode": "publish", "hub.topic": TECH, "hub.callback": "CB"}, "hub.mode: must be subscribe"),
        ({"hub.mode": "subscribe", "hub.callback": "CB"}, "hub.topic: missing"),
    ],
)
async def test_refused_at_once_with_a_reason_and_nothing_sent(
    hub: Hub, form: dict[str, str], reason: str
) -> None:
    async with callback_server() as cb:
        form = {k: v.replace("CB", cb.url()) for k, v in form.items()}
        status, text, _ = await hub.post(form)
        assert status == 400, text
        assert text.startswith(reason) and text.count("\n") == 1, text
        await hub.settled()
        assert cb.seen == []


async def test_a_body_that_is_not_a_form_is_refused(hub: Hub) -> None:
    async with hub.http.post(hub.server.make_url("/hub"), json={"hub.mode": "subscribe"}) as resp:
        assert resp.status == 415
    bad = b"hub.mode=subscribe&hub.topic=%FF%FE&hub.callback=http://127.0.0.1/cb"
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    async with hub.http.post(hub.server.make_url("/hub"), data=bad, headers=headers) as resp:
        assert resp.status == 400, await resp.text()


async def test_requests_per_minute_per_client(tmp_path, redis, redis_url, prefix) -> None:
    config = hub_config(tmp_path, redis_url, prefix, server="hub_requests_per_minute = 3")
    async with running_hub(config, redis_url) as hub, callback_server("404") as cb:
        for n in range(3):
            assert (await hub.post(subscribe(TECH, cb.url(f"/{n}"))))[0] == 202
        status, text, headers = await hub.post(subscribe(TECH, cb.url("/3")))
        assert status == 429 and "at most 3 a minute" in text
        assert 1 <= int(headers["Retry-After"]) <= 60
        await hub.settled()
        assert sorted(q["hub.mode"] for q in cb.seen) == ["subscribe"] * 3


async def test_subscriptions_per_callback_host(tmp_path, redis, redis_url, prefix) -> None:
    config = hub_config(tmp_path, redis_url, prefix, server="hub_subscriptions_per_host = 2")
    async with running_hub(config, redis_url) as hub, callback_server() as cb:
        for path in ("/a", "/b"):
            assert (await hub.post(subscribe(TECH, cb.url(path))))[0] == 202
            await hub.settled()
        status, text, _ = await hub.post(subscribe(TECH, cb.url("/c")))
        assert status == 403 and "callback host 127.0.0.1 has 2 subscriptions" in text
        assert (await hub.post(subscribe(TECH, cb.url("/a"))))[0] == 202  # a renewal passes
        await hub.settled()
        assert len(cb.seen) == 3


async def test_distinct_filtered_or_combined_topics(tmp_path, redis, redis_url, prefix) -> None:
    config = hub_config(tmp_path, redis_url, prefix, server="hub_variant_topics = 1")
    async with running_hub(config, redis_url) as hub, callback_server() as cb:
        assert (await hub.post(subscribe(f"{TECH}?q=rust", cb.url("/a"))))[0] == 202
        await hub.settled()
        status, text, _ = await hub.post(subscribe(f"{SITE}feeds/tech+world.rss", cb.url("/b")))
        assert status == 403 and "1 filtered or combined topics" in text
        assert (await hub.post(subscribe(f"{TECH}?q=Rust", cb.url("/b"))))[0] == 202  # the same topic
        assert (await hub.post(subscribe(TECH, cb.url("/c"))))[0] == 202  # plain feeds are not counted
        await hub.settled()
        assert len(await topics(hub.runtime.redis, hub.runtime.keys)) == 2


async def test_loopback_callback_is_refused_by_the_address_guard(tmp_path, redis, redis_url, prefix) -> None:
    config = hub_config(tmp_path, redis_url, prefix, loopback=False)
    async with running_hub(config, redis_url) as hub, callback_server() as cb:
        assert (await hub.post(subscribe(TECH, cb.url())))[0] == 202
        await hub.settled()
        assert cb.seen == []  # the guard refused the connection: nothing reached loopback
        assert await topics(hub.runtime.redis, hub.runtime.keys) == []


async def test_denied_when_the_topic_s_category_is_removed(tmp_path, redis, redis_url, prefix) -> None:
    world = f"{SITE}feeds/world.json"
    async with (
        running_hub(hub_config(tmp_path, redis_url, prefix), redis_url) as hub,
        callback_server() as cb,
    ):
        for topic in (TECH, world, f"{SITE}feeds/tech+world.rss"):
            assert (await hub.post(subscribe(topic, cb.url())))[0] == 202
        await hub.settled()
        runtime = hub.runtime
        assert (await maintain(runtime, served_by(runtime))).denied == 0
        config = runtime.config
        runtime.config = replace(
            config, categories={k: v for k, v in config.categories.items() if k != "world"}
        )
        done = await maintain(runtime, served_by(runtime))
        assert (done.expired, done.denied) == (0, 2)
        denied = sorted((q["hub.topic"], q["hub.reason"]) for q in cb.seen if q["hub.mode"] == "denied")
        assert [topic for topic, _ in denied] == [f"{SITE}feeds/tech+world.rss", world]
        assert all(reason.startswith("no category 'world'") for _, reason in denied)
        assert await topics(runtime.redis, runtime.keys) == [TECH]
        assert (await maintain(runtime, served_by(runtime))).denied == 0  # told once


async def test_ended_leases_are_removed(hub: Hub) -> None:
    runtime = hub.runtime
    now = datetime.now(UTC)
    for n, lease in enumerate((3600, 7200)):
        callback = f"http://cb.test/{n}"
        await save_within_limit(
            runtime.redis,
            runtime.keys,
            HubSubscription(
                id=subscription_id(TECH, callback),
                topic=TECH,
                callback=callback,
                secret="",
                lease_seconds=lease,
                expires_at=now + timedelta(seconds=lease),
                created_at=now,
                verified_at=now,
            ),
            per_host=0,
        )
    later = now + timedelta(seconds=5000)
    assert [
        s.lease_seconds for s in await subscriptions_for(runtime.redis, runtime.keys, TECH, now=later)
    ] == [7200]
    done = await maintain(runtime, served_by(runtime), now=later)
    assert (done.expired, done.denied) == (1, 0)
    assert await runtime.redis.zcard(runtime.keys.hub_expiry) == 1


async def test_the_latest_request_for_a_pair_wins(hub: Hub) -> None:
    runtime = hub.runtime
    async with callback_server() as cb:
        older = new_intent("subscribe", TECH, cb.url(), 3600, "")
        newer = new_intent("unsubscribe", TECH, cb.url(), 3600, "")
        await accept(runtime, older)
        await accept(runtime, newer)
        assert "superseded" in await verify(runtime, older, served_by(runtime))
        assert cb.seen == []  # a superseded request sends nothing
        assert "verified" in await verify(runtime, newer, served_by(runtime))
        assert await topics(runtime.redis, runtime.keys) == []


async def test_verification_runs_as_an_arq_job_on_a_real_worker(tmp_path, redis, redis_url, prefix) -> None:
    config = hub_config(tmp_path, redis_url, prefix)
    async with running_hub(config, redis_url, queue=True) as hub, callback_server() as cb:
        assert (await hub.post(subscribe(TECH, cb.url(), **{"hub.secret": "k"})))[0] == 202
        await hub.settled()
        assert cb.seen == []  # nothing verified in the web process
        await run_burst_worker(config, redis_url)
        assert [q["hub.mode"] for q in cb.seen] == ["subscribe"]
        sub = await load_subscription(hub.runtime.redis, hub.runtime.keys, subscription_id(TECH, cb.url()))
        assert sub is not None and sub.secret == "k"


async def test_every_feed_response_advertises_the_hub(tmp_path, redis, redis_url, prefix) -> None:
    config = hub_config(tmp_path, redis_url, prefix)
    async with running_hub(config, redis_url) as hub:
        await publish_missing(hub.runtime)
        hub_link = f'<{SITE}hub>; rel="hub"'
        for path, own in (
            ("/feeds/tech.rss", TECH),
            ("/feeds/tech+world.atom?q=rust", f"{SITE}feeds/tech+world.atom?q=rust"),
        ):
            async with hub.http.get(hub.server.make_url(path)) as resp:
                assert resp.status == 200
                assert resp.headers["Link"] == f'{hub_link}, <{own}>; rel="self"'
                etag = resp.headers["ETag"]
            async with hub.http.get(hub.server.make_url(path), headers={"If-None-Match": etag}) as resp:
                assert resp.status == 304 and resp.headers["Link"] == f'{hub_link}, <{own}>; rel="self"'
        async with hub.http.get(hub.server.make_url("/feeds/tech.json")) as resp:
            assert (await resp.json())["hubs"] == [{"type": "WebSub", "url": f"{SITE}hub"}]
        async with hub.http.get(hub.server.make_url("/feeds/world.atom")) as resp:
            assert f'<link href="{SITE}hub" rel="hub"/>' in await resp.text()


async def test_requests_accepted_together_cannot_pass_the_host_limit_together(
    tmp_path, redis, redis_url, prefix
) -> None:
    config = hub_config(tmp_path, redis_url, prefix, server="hub_subscriptions_per_host = 1")
    async with running_hub(config, redis_url) as hub, callback_server() as cb:
        statuses = await asyncio.gather(*(hub.post(subscribe(TECH, cb.url(f"/{n}"))) for n in range(4)))
        assert [s for s, _, _ in statuses] == [202] * 4  # none stored yet when each was asked
        await hub.settled()
        subs = await subscriptions_for(hub.runtime.redis, hub.runtime.keys, TECH)
        assert len(subs) == 1
        denied = [q for q in cb.seen if q["hub.mode"] == "denied"]
        assert len(denied) == 3 and all("127.0.0.1" in q["hub.reason"] for q in denied)


async def test_verify_job_retries_a_busy_callback_then_gives_up(hub: Hub) -> None:
    runtime = hub.runtime
    async with callback_server("503") as cb:
        intent = new_intent("subscribe", TECH, cb.url(), 3600, "")
        await accept(runtime, intent)
        for job_try in (1, 2):
            with pytest.raises(Retry) as retry:
                await hub_verify_job({"runtime": runtime, "job_try": job_try}, intent.to_args())
            assert retry.value.defer_score == 30_000 * 2 ** (job_try - 1)
        outcome = await hub_verify_job({"runtime": runtime, "job_try": 3}, intent.to_args())
        assert "not verified after 3 tries: callback answered HTTP 503" in outcome
        assert len(cb.seen) == 3
        assert await runtime.redis.get(runtime.keys.hub_pending(intent.subscription_id)) is None
        assert await topics(runtime.redis, runtime.keys) == []


def test_workers_sweep_leases_and_topics_every_minute(tmp_path, redis_url, prefix) -> None:
    settings = worker_settings(hub_config(tmp_path, redis_url, prefix), redis_url)
    [sweep] = [job for job in settings.cron_jobs if job.name == f"{prefix}hub_maintain"]
    assert sweep.second == {0} and sweep.unique


async def test_topics_naming_a_renamed_category_follow_its_alias(tmp_path, redis, redis_url, prefix) -> None:
    """`tech` renamed `technology` (`aliases = ["tech"]`): a new subscription to the old URL
    is stored under the new one, and one stored under the old URL before the rename is
    still served and is pushed the renamed category's items (not denied)."""
    categories = [
        {"slug": "technology", "title": "Technology", "aliases": ["tech"]},
        {"slug": "world", "title": "World"},
    ]
    config = write_config(
        tmp_path, redis_url=redis_url, prefix=prefix, sources=[], categories=categories, extra_server=LOOPBACK
    )
    runtime = Runtime.open(config, redis_url)
    try:
        assert normalise_topic(runtime, TECH).url == f"{SITE}feeds/technology.rss"
        combined = normalise_topic(runtime, f"{SITE}feeds/tech+world.atom?q=Rust").url
        assert combined.startswith(f"{SITE}feeds/technology+world.atom?")
        assert still_served(runtime, TECH) is None
        assert WebTopicViews().slugs_of(runtime, TECH) == ("technology",)
        assert still_served(runtime, f"{SITE}feeds/gone.rss") is not None  # no alias: denied
    finally:
        await runtime.close()

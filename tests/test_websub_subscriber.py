"""Syndicator as a WebSub subscriber, against a real hub written here, on loopback.

Mirrors websub.rocks's subscriber tests: 100–104 (discovery: headers, HTML, Atom, RSS,
headers before the document), 200–205 (subscribe: a different rel=self, topic redirects
302/301, hub redirects 307/308, a verification with the wrong topic refused), lease and
renewal, 300–302 (signed, wrongly signed, unsigned pushes). The hub is an aiohttp server
that records the subscription requests it gets; its verification GETs and its pushes are
real HTTP requests to our app on loopback. The upstream is tests/upstream.py.

The subscriber is on only when the public URL is reachable from the hub: here it is
http://127.0.0.1:{port}/, allowed by `fetch.allowed_networks = ["127.0.0.0/8"]` — the same
list that lets fetches reach loopback, not a switch of the tests' own.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.sax.saxutils import escape

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from arq.worker import create_worker

from syndicator import metrics
from syndicator.hub.signature import sign
from syndicator.ingest import ingest_source
from syndicator.models import Config
from syndicator.operate.health import source_health
from syndicator.runtime import Runtime
from syndicator.store.subscriber import load_subscription
from syndicator.subscriber.discovery import discover, from_document, parse_link_header
from syndicator.subscriber.subscribe import inactive_reason, renew_due, unsubscribe_removed
from syndicator.web.app import create_app
from syndicator.worker import worker_settings
from tests.builders import BASE_TIME, Item, atom, items, rss, write_config
from tests.harness import stop_worker
from tests.processes import free_port

ALLOW_LOOPBACK = '\n[fetch]\nallowed_networks = ["127.0.0.0/8"]\n'


@dataclass
class Hub:
    """A WebSub hub on loopback: records each subscription form, answers 202, and (driven
    by the test) verifies intent and pushes content to the subscriber's callback."""

    status: int = 202
    verify_first: bool = False  # verify intent before answering the request (some hubs do)
    verified_first: list[tuple[int, str, str]] = field(default_factory=list)
    forms: list[dict[str, str]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    port: int = 0
    _runner: web.AppRunner | None = None

    def url(self, path: str = "/hub") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def _subscribe(self, request: web.Request) -> web.Response:
        form = {k: str(v) for k, v in (await request.post()).items()}
        self.forms.append(form)
        self.paths.append(request.path)
        if self.verify_first:
            self.verified_first.append(await self.verify(form))
        return web.Response(status=self.status, text="accepted" if self.status < 300 else "no")

    async def _redirect(self, request: web.Request) -> web.Response:
        status = int(request.match_info["status"])
        return web.Response(status=status, headers={"Location": "/hub-moved"})

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hub", self._subscribe)
        app.router.add_post("/hub-moved", self._subscribe)
        app.router.add_post("/redirect/{status}", self._redirect)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def verify(
        self, form: dict[str, str], *, topic: str | None = None, mode: str = "subscribe", lease: int = 864000
    ) -> tuple[int, str, str]:
        """GET the callback as §5.3 says; returns (status, body, the challenge sent)."""
        challenge = secrets.token_hex(16)
        params = {
            "hub.mode": mode,
            "hub.topic": topic if topic is not None else form["hub.topic"],
            "hub.challenge": challenge,
            "hub.lease_seconds": str(lease),
        }
        async with aiohttp.ClientSession() as http, http.get(form["hub.callback"], params=params) as resp:
            return resp.status, await resp.text(), challenge

    async def push(
        self,
        form: dict[str, str],
        body: bytes,
        *,
        content_type: str = "application/atom+xml",
        signature: str | None = "sign",
    ) -> int:
        """POST `body` to the callback; signature "sign": signed with the subscription's
        secret; None: unsigned; any other string: sent as is."""
        headers = {"Content-Type": content_type, "Link": f'<{self.url()}>; rel="hub"'}
        if signature == "sign":
            headers["X-Hub-Signature"] = sign(form["hub.secret"].encode(), body)
        elif signature is not None:
            headers["X-Hub-Signature"] = signature
        async with (
            aiohttp.ClientSession() as http,
            http.post(form["hub.callback"], data=body, headers=headers) as r,
        ):
            return r.status


@contextlib.asynccontextmanager
async def running_hub(status: int = 202, *, verify_first: bool = False) -> AsyncIterator[Hub]:
    hub = Hub(status=status, verify_first=verify_first)
    await hub.start()
    try:
        yield hub
    finally:
        await hub.stop()


def config_for(tmp_path: Path, upstream, redis_url: str, prefix: str, port: int, **server: object) -> Config:
    extra = "\n".join(f"{k} = {v!r}".replace("'", '"') for k, v in server.items())
    return write_config(
        tmp_path,
        redis_url=redis_url,
        prefix=prefix,
        categories=[{"slug": "tech", "title": "Technology"}],
        sources=[
            {
                "id": "feed",
                "url": upstream.url("/feed.atom"),
                "categories": ["tech"],
                "allow_private_network": True,
            }
        ],
        public_url=f"http://127.0.0.1:{port}/",
        extra_server=extra + ALLOW_LOOPBACK,
    )


@contextlib.asynccontextmanager
async def subscriber(config: Config, redis_url: str, port: int) -> AsyncIterator[Runtime]:
    """Our app serving on `port` (the public URL's), no worker queue: pushes and publishes
    run inline."""
    runtime = Runtime.open(config, redis_url)
    server = TestServer(create_app(runtime), host="127.0.0.1", port=port)
    await server.start_server()
    try:
        yield runtime
    finally:
        await server.close()
        await runtime.close()


def atom_with(items_: list[Item], *links: tuple[str, str]) -> bytes:
    """An Atom feed carrying `<link rel=… href=…>` elements in its head."""
    head = "".join(f'<link rel="{rel}" href="{escape(href)}"/>' for rel, href in links)
    return atom(items_).replace(b"<title>", head.encode() + b"<title>", 1)


def rss_with(items_: list[Item], *links: tuple[str, str]) -> bytes:
    extra = "".join(f'<atom:link rel="{rel}" href="{escape(href)}"/>' for rel, href in links)
    body = rss(items_, extra=extra)
    return body.replace(
        b'<rss version="2.0"', b'<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"', 1
    )


def counter(source: str, outcome: str) -> float:
    return metrics.WEBSUB_PUSHES.labels(source, outcome)._value.get()


# ---------------------------------------------------------------- the switch


@pytest.mark.parametrize(
    ("public_url", "allowed", "off"),
    [
        ("", (), "not set"),
        ("http://127.0.0.1:8080/", (), "loopback"),
        ("http://10.1.2.3/", (), "private"),
        ("http://localhost:8080/", (), "loopback name"),
        ("http://feeds.test/", (), "reserved or local name"),
        ("https://feeds.example/", (), "reserved or local name"),
        ("http://10.1.2.3/", ("10.0.0.0/8",), None),
        ("http://127.0.0.1:8080/", ("127.0.0.0/8",), None),
        ("https://feeds.syndicator.net/", (), None),
        ("http://93.184.215.14/", (), None),
    ],
)
def test_the_subscriber_is_on_only_with_a_public_url_a_hub_can_reach(
    public_url: str, allowed: tuple[str, ...], off: str | None
) -> None:
    from syndicator.models import FetchLimits, Settings

    config = Config(
        path="x",
        settings=Settings(public_url=public_url or None),
        fetch=FetchLimits(allowed_networks=allowed),
        categories={},
        sources={},
    )
    reason = inactive_reason(config)
    assert (reason is None) == (off is None), reason
    if off is not None:
        assert off in reason
    assert "false" in (
        inactive_reason(replace(config, settings=replace(config.settings, websub_subscribe=False))) or ""
    )


# ---------------------------------------------------------------- discovery 100–104


def test_100_discovery_from_http_link_headers() -> None:
    headers = {"link": '<https://hub.example/>; rel="hub", <https://site.example/feed>; rel="self"'}
    found = discover(headers, atom(items("a", 1)), "https://site.example/feed?from=x")
    assert (found.hub, found.self_url, found.where) == (
        "https://hub.example/",
        "https://site.example/feed",
        "headers",
    )
    assert parse_link_header('<a>; rel="hub self"') == [("a", frozenset({"hub", "self"}))]


def test_101_discovery_from_html_link_tags() -> None:
    page = b'<!doctype html><html><head><link rel="hub" href="https://hub.example/h">'
    page += b"<link href='/page' rel='self'></head><body>x</body></html>"
    found = from_document(page, "https://site.example/dir/")
    assert (found.hub, found.self_url) == ("https://hub.example/h", "https://site.example/page")


def test_102_discovery_from_atom_links() -> None:
    body = atom_with(items("a", 2), ("hub", "https://hub.example/"), ("self", "https://site.example/a.atom"))
    found = discover({}, body, "https://site.example/other")
    assert (found.hub, found.self_url, found.where) == (
        "https://hub.example/",
        "https://site.example/a.atom",
        "document",
    )


def test_103_discovery_from_rss_atom_links() -> None:
    body = rss_with(items("r", 2), ("hub", "https://hub.example/"), ("self", "https://site.example/r.rss"))
    found = discover({"content-type": "application/rss+xml"}, body, "https://site.example/r")
    assert (found.hub, found.self_url) == ("https://hub.example/", "https://site.example/r.rss")


def test_104_headers_win_over_the_document() -> None:
    body = atom_with(items("a", 1), ("hub", "https://doc-hub.example/"), ("self", "https://site.example/doc"))
    headers = {"link": '<https://header-hub.example/>; rel="hub", <https://site.example/hdr>; rel="self"'}
    found = discover(headers, body, "https://site.example/x")
    assert (found.hub, found.self_url) == ("https://header-hub.example/", "https://site.example/hdr")


def test_json_feed_hubs_and_no_hub_at_all() -> None:
    body = (
        b'{"version": "https://jsonfeed.org/version/1.1", "title": "t", '
        b'"feed_url": "https://site.example/f.json", '
        b'"hubs": [{"type": "rssCloud", "url": "https://cloud.example/"}, {"type": "WebSub", "url": "https://hub.example/"}],'
        b' "items": []}'
    )
    found = discover({}, body, "https://site.example/x")
    assert (found.hub, found.self_url) == ("https://hub.example/", "https://site.example/f.json")
    assert discover({}, atom(items("a", 1)), "https://site.example/").hub is None
    # Not http(s): no hub.
    assert discover({"link": '<javascript:x>; rel="hub"'}, b"", "https://s.example/").hub is None


# ---------------------------------------------------------------- subscribing 200–205


async def test_200_subscribes_to_the_rel_self_topic_with_a_random_callback_and_secret(
    tmp_path, upstream, redis, redis_url, prefix
) -> None:
    async with running_hub() as hub:
        self_url = "https://site.example/canonical.atom"
        upstream.put(
            "/feed.atom",
            atom_with(items("a", 2), ("hub", hub.url()), ("self", self_url)),
            "application/atom+xml",
        )
        port = free_port()
        config = config_for(tmp_path, upstream, redis_url, prefix, port)
        async with subscriber(config, redis_url, port) as runtime:
            report = await ingest_source(runtime, "feed")
            assert report.status == "updated"
            assert len(hub.forms) == 1
            form = hub.forms[0]
            assert form["hub.mode"] == "subscribe"
            assert form["hub.topic"] == self_url  # rel=self, not the URL we fetched
            assert form["hub.callback"].startswith(f"http://127.0.0.1:{port}/websub/callback/")
            assert len(form["hub.secret"]) >= 32 and len(form["hub.secret"].encode()) < 200
            assert form["hub.lease_seconds"] == str(10 * 86400)
            sub = await load_subscription(runtime.redis, runtime.keys, "feed")
            assert sub is not None and sub.state == "pending"

            # A second poll while pending asks nothing again.
            await ingest_source(runtime, "feed", force=True)
            assert len(hub.forms) == 1

            status, text, challenge = await hub.verify(form)
            assert (status, text) == (200, challenge)
            sub = await load_subscription(runtime.redis, runtime.keys, "feed")
            assert sub is not None and sub.state == "active" and sub.expires_at is not None
            assert timedelta(days=9, hours=23) < sub.expires_at - datetime.now(UTC) <= timedelta(days=10)

        # Another world subscribing to the same hub gets another path and secret.
        async with running_hub() as other_hub:
            upstream.put(
                "/feed.atom",
                atom_with(items("a", 2), ("hub", other_hub.url()), ("self", self_url)),
                "application/atom+xml",
            )
            async with subscriber(config, redis_url, port) as runtime:
                await ingest_source(runtime, "feed", force=True)
            assert other_hub.forms[0]["hub.callback"] != form["hub.callback"]
            assert other_hub.forms[0]["hub.secret"] != form["hub.secret"]


@pytest.mark.parametrize("status", [302, 301])
async def test_201_202_topic_url_redirects_subscribe_at_the_final_documents_self(
    tmp_path, upstream, redis, redis_url, prefix, status: int
) -> None:
    async with running_hub() as hub:
        final = upstream.url("/moved.atom")
        upstream.put(
            "/moved.atom",
            atom_with(items("a", 1), ("hub", hub.url()), ("self", final)),
            "application/atom+xml",
        )
        upstream.put("/feed.atom", b"", "text/plain", status=status, headers={"Location": "/moved.atom"})
        port = free_port()
        config = config_for(tmp_path, upstream, redis_url, prefix, port)
        async with subscriber(config, redis_url, port) as runtime:
            await ingest_source(runtime, "feed")
            assert [f["hub.topic"] for f in hub.forms] == [final]
            status_code, text, challenge = await hub.verify(hub.forms[0])
            assert (status_code, text) == (200, challenge)


@pytest.mark.parametrize(("status", "kept"), [(307, "/redirect/307"), (308, "/hub-moved")])
async def test_203_204_hub_redirects_are_followed_with_the_same_form(
    tmp_path, upstream, redis, redis_url, prefix, status: int, kept: str
) -> None:
    async with running_hub() as hub:
        start = hub.url(f"/redirect/{status}")
        upstream.put(
            "/feed.atom",
            atom(items("a", 1)),
            "application/atom+xml",
            headers={"Link": f'<{start}>; rel="hub"'},
        )
        port = free_port()
        config = config_for(tmp_path, upstream, redis_url, prefix, port)
        async with subscriber(config, redis_url, port) as runtime:
            await ingest_source(runtime, "feed")
            assert hub.paths == ["/hub-moved"]  # re-POSTed there, the whole form
            assert hub.forms[0]["hub.topic"] == upstream.url("/feed.atom")  # no self: the fetched URL
            sub = await load_subscription(runtime.redis, runtime.keys, "feed")
            assert sub is not None and sub.state == "pending"
            assert sub.hub == hub.url(kept)  # a permanent redirect moves the hub for good


async def test_205_a_verification_with_another_topic_or_mode_is_refused(
    tmp_path, upstream, redis, redis_url, prefix
) -> None:
    async with running_hub() as hub:
        upstream.put("/feed.atom", atom_with(items("a", 1), ("hub", hub.url())), "application/atom+xml")
        port = free_port()
        config = config_for(tmp_path, upstream, redis_url, prefix, port)
        async with subscriber(config, redis_url, port) as runtime:
            await ingest_source(runtime, "feed")
            form = hub.forms[0]
            status, text, challenge = await hub.verify(form, topic="https://elsewhere.example/feed")
            assert status == 404 and challenge not in text
            status, text, challenge = await hub.verify(form, mode="unsubscribe")  # we never asked
            assert status == 404 and challenge not in text
            wrong_path = form["hub.callback"].rsplit("/", 1)[0] + "/not-a-path"
            status, _, _ = await hub.verify({**form, "hub.callback": wrong_path})
            assert status == 404
            sub = await load_subscription(runtime.redis, runtime.keys, "feed")
            assert sub is not None and sub.state == "pending"  # still unverified
            # Denied by the hub: recorded, shown in health.
            async with aiohttp.ClientSession() as http:
                params = {"hub.mode": "denied", "hub.topic": form["hub.topic"], "hub.reason": "not allowed"}
                async with http.get(form["hub.callback"], params=params) as resp:
                    assert resp.status == 200
            health = await source_health(runtime, "feed")
            assert health.websub_state == "denied" and "not allowed" in (health.websub_reason or "")


async def test_a_hub_refusing_the_request_leaves_the_subscription_failed(
    tmp_path, upstream, redis, redis_url, prefix
) -> None:
    async with running_hub(status=400) as hub:
        upstream.put("/feed.atom", atom_with(items("a", 1), ("hub", hub.url())), "application/atom+xml")
        port = free_port()
        config = config_for(tmp_path, upstream, redis_url, prefix, port)
        async with subscriber(config, redis_url, port) as runtime:
            report = await ingest_source(runtime, "feed")
            assert report.status == "updated"  # the poll itself is not failed by the hub
            sub = await load_subscription(runtime.redis, runtime.keys, "feed")
            assert sub is not None and sub.state == "failed" and "400" in sub.reason


async def test_lease_granted_by_the_hub_renewal_and_the_safety_net_poll(
    tmp_path, upstream, redis, redis_url, prefix
) -> None:
    async with running_hub() as hub:
        upstream.put("/feed.atom", atom_with(items("a", 1), ("hub", hub.url())), "application/atom+xml")
        port = free_port()
        config = config_for(tmp_path, upstream, redis_url, prefix, port)
        async with subscriber(config, redis_url, port) as runtime:
            await ingest_source(runtime, "feed")
            form = hub.forms[0]
            verified_at = datetime.now(UTC)
            status, text, challenge = await hub.verify(form, lease=3600)  # the hub grants 1 h
            assert (status, text) == (200, challenge)
            sub = await load_subscription(runtime.redis, runtime.keys, "feed")
            assert sub is not None and sub.lease_seconds == 3600
            assert abs((sub.expires_at - verified_at).total_seconds() - 3600) < 5

            # Not due yet: nothing asked.
            assert await renew_due(runtime, now=verified_at + timedelta(minutes=50)) == 0
            # A tenth of the lease before its end: renewed with the same callback and secret.
            assert await renew_due(runtime, now=verified_at + timedelta(minutes=55)) == 1
            assert len(hub.forms) == 2
            again = hub.forms[1]
            assert (again["hub.callback"], again["hub.secret"], again["hub.topic"]) == (
                form["hub.callback"],
                form["hub.secret"],
                form["hub.topic"],
            )
            # Still active while the hub verifies again; verified, the lease starts over.
            assert (await load_subscription(runtime.redis, runtime.keys, "feed")).state == "active"
            status, text, challenge = await hub.verify(again, lease=7200)
            assert (status, text) == (200, challenge)
            assert (await load_subscription(runtime.redis, runtime.keys, "feed")).lease_seconds == 7200

            # While subscribed, polls are a safety net: the next poll waits websub_poll_interval.
            await ingest_source(runtime, "feed")
            state = await runtime.redis.hgetall(runtime.keys.source_state("feed"))
            assert b"WebSub safety-net poll" in state[b"next_due_reason"]
            due = await runtime.redis.zscore(runtime.keys.due, "feed")
            assert due - datetime.now(UTC).timestamp() > 0.8 * 86400


# ---------------------------------------------------------------- pushes 300–302


async def _active(runtime: Runtime, hub: Hub) -> dict[str, str]:
    await ingest_source(runtime, "feed")
    form = hub.forms[-1]
    status, text, challenge = await hub.verify(form)
    assert (status, text) == (200, challenge)
    return form


async def test_300_301_302_signed_pushes_are_ingested_merged_others_dropped_and_counted(
    tmp_path, upstream, redis, redis_url, prefix
) -> None:
    async with running_hub() as hub:
        first = items("a", 3)
        upstream.put("/feed.atom", atom_with(first, ("hub", hub.url())), "application/atom+xml")
        port = free_port()
        config = config_for(tmp_path, upstream, redis_url, prefix, port)
        async with subscriber(config, redis_url, port) as runtime:
            form = await _active(runtime, hub)
            index = runtime.keys.category_index("tech")
            assert await runtime.redis.zcard(index) == 3
            before = {o: counter("feed", o) for o in ("ingested", "unsigned", "bad_signature", "refused")}

            new = Item(
                "push-1",
                "Pushed item",
                "https://a.example/pushed",
                BASE_TIME + timedelta(hours=1),
                "<p>new</p>",
            )
            fragment = atom([new])  # the hub sends only what changed
            # 302: unsigned, though the subscription has a secret: dropped, counted.
            assert await hub.push(form, fragment, signature=None) == 202
            # 301: signed with another secret: dropped, counted.
            bad = "sha256=" + hmac.new(b"not the secret", fragment, hashlib.sha256).hexdigest()
            assert await hub.push(form, fragment, signature=bad) == 202
            assert await hub.push(form, fragment, signature="md5=abc") == 202
            assert await runtime.redis.zcard(index) == 3  # nothing of them stored

            # 300: signed: ingested at once, merged with what the poll stored.
            assert await hub.push(form, fragment) == 202
            assert await runtime.redis.zcard(index) == 4
            health = await source_health(runtime, "feed")
            assert (
                health.websub_pushes,
                health.websub_pushes_unsigned,
                health.websub_pushes_bad_signature,
            ) == (1, 1, 2)
            assert health.websub_state == "active" and health.websub_last_push.startswith("ingested: 1 new")
            assert "hub.secret" not in str(health.as_dict()) and form["hub.secret"] not in str(
                health.as_dict()
            )
            assert form["hub.callback"].rsplit("/", 1)[1] not in str(health.as_dict())
            after = {o: counter("feed", o) for o in before}
            assert {o: after[o] - before[o] for o in before} == {
                "ingested": 1,
                "unsigned": 1,
                "bad_signature": 2,
                "refused": 0,
            }
            # The source's poll state was not touched by the push (validators, schedule).
            state = await runtime.redis.hgetall(runtime.keys.source_state("feed"))
            assert state[b"etag"] == upstream.documents["/feed.atom"].etag.encode()

            # Over fetch.max_bytes: refused unread; not a feed: refused after parsing.
            big = b"<feed>" + b"x" * (runtime.config.fetch.max_bytes + 10)
            assert await hub.push(form, big, signature=None) == 413
            assert await hub.push(form, b"this is not a feed at all") == 202
            health = await source_health(runtime, "feed")
            assert health.websub_pushes_refused == 2 and "unusable" in (health.websub_last_push or "")
            assert await runtime.redis.zcard(index) == 4

            # A push to a path that is no subscription's: 404.
            async with aiohttp.ClientSession() as http:
                url = form["hub.callback"].rsplit("/", 1)[0] + "/unknown"
                async with http.post(url, data=fragment) as resp:
                    assert resp.status == 404


async def test_end_to_end_a_push_reaches_our_served_feed_within_10_seconds(
    tmp_path, upstream, redis, redis_url, prefix
) -> None:
    """A real arq worker consumes the push job the web process enqueues; the item is in
    /feeds/tech.json within 10 s of the hub's POST."""
    from arq import create_pool

    from syndicator.store.connection import arq_settings

    async with running_hub() as hub:
        upstream.put("/feed.atom", atom_with(items("a", 2), ("hub", hub.url())), "application/atom+xml")
        port = free_port()
        config = config_for(tmp_path, upstream, redis_url, prefix, port)
        queue = await create_pool(arq_settings(redis_url), default_queue_name=config.settings.queue_name)
        runtime = Runtime.open(config, redis_url, queue=queue)
        server = TestServer(create_app(runtime), host="127.0.0.1", port=port)
        await server.start_server()
        worker = create_worker(worker_settings(config, redis_url), handle_signals=False, poll_delay=0.05)
        running = asyncio.create_task(worker.async_run())
        try:
            form = await _active(runtime, hub)
            new = Item(
                "e2e-1",
                "Pushed end to end",
                "https://a.example/e2e",
                BASE_TIME + timedelta(hours=2),
                "<p>e2e</p>",
            )
            sent = asyncio.get_running_loop().time()
            assert await hub.push(form, atom([new])) == 202
            seen = False
            async with aiohttp.ClientSession() as http:
                while asyncio.get_running_loop().time() - sent < 10 and not seen:
                    async with http.get(f"http://127.0.0.1:{port}/feeds/tech.json") as resp:
                        seen = resp.status == 200 and "Pushed end to end" in await resp.text()
                    if not seen:
                        await asyncio.sleep(0.1)
            assert seen, "the pushed item did not appear in /feeds/tech.json within 10 s"
        finally:
            await stop_worker(worker, running)
            await server.close()
            await runtime.close()
            await queue.aclose()


# ---------------------------------------------------------------- off, sync hubs, failures, removal


async def test_without_a_reachable_public_url_no_hub_is_asked(
    tmp_path, upstream, redis, redis_url, prefix
) -> None:
    async with running_hub() as hub:
        upstream.put("/feed.atom", atom_with(items("a", 2), ("hub", hub.url())), "application/atom+xml")
        config = write_config(  # public_url http://feeds.test/: a reserved name no hub can reach
            tmp_path,
            redis_url=redis_url,
            prefix=prefix,
            categories=[{"slug": "tech", "title": "Technology"}],
            sources=[
                {
                    "id": "feed",
                    "url": upstream.url("/feed.atom"),
                    "categories": ["tech"],
                    "allow_private_network": True,
                }
            ],
            extra_server=ALLOW_LOOPBACK,
        )
        assert "reserved" in (inactive_reason(config) or "")
        runtime = Runtime.open(config, redis_url)
        try:
            report = await ingest_source(runtime, "feed")
            assert report.status == "updated" and report.counts.get("new") == 2
            assert hub.forms == []
            assert await load_subscription(runtime.redis, runtime.keys, "feed") is None
            health = await source_health(runtime, "feed")
            assert health.websub_state is None
        finally:
            await runtime.close()


async def test_a_hub_that_verifies_before_it_answers_finds_the_subscription_pending(
    tmp_path, upstream, redis, redis_url, prefix
) -> None:
    async with running_hub(verify_first=True) as hub:
        upstream.put("/feed.atom", atom_with(items("a", 1), ("hub", hub.url())), "application/atom+xml")
        port = free_port()
        config = config_for(tmp_path, upstream, redis_url, prefix, port)
        async with subscriber(config, redis_url, port) as runtime:
            await ingest_source(runtime, "feed")
            [(status, text, challenge)] = hub.verified_first
            assert (status, text) == (200, challenge)
            sub = await load_subscription(runtime.redis, runtime.keys, "feed")
            assert sub is not None and sub.state == "active"


async def test_a_failed_renewal_keeps_the_live_subscription_and_tries_again(
    tmp_path, upstream, redis, redis_url, prefix
) -> None:
    async with running_hub() as hub:
        upstream.put("/feed.atom", atom_with(items("a", 1), ("hub", hub.url())), "application/atom+xml")
        port = free_port()
        config = config_for(tmp_path, upstream, redis_url, prefix, port)
        async with subscriber(config, redis_url, port) as runtime:
            form = await _active(runtime, hub)
            hub.status = 500
            later = datetime.now(UTC) + timedelta(days=9, hours=12)
            assert await renew_due(runtime, now=later) == 1
            sub = await load_subscription(runtime.redis, runtime.keys, "feed")
            assert sub is not None and sub.state == "active" and "renewal failed" in sub.reason
            assert await renew_due(runtime, now=later + timedelta(minutes=10)) == 0  # not at once
            hub.status = 202
            assert await renew_due(runtime, now=later + timedelta(hours=1)) == 1
            assert [f["hub.callback"] for f in hub.forms] == [form["hub.callback"]] * 3
            # Never verified again: once the lease is over, health says expired.
            health = await source_health(runtime, "feed", now=later + timedelta(days=1))
            assert health.websub_state == "expired"
            assert (await source_health(runtime, "feed")).websub_state == "active"


async def test_pushes_to_a_paused_source_are_held_back(tmp_path, upstream, redis, redis_url, prefix) -> None:
    from syndicator.store.sources import pause_source

    async with running_hub() as hub:
        upstream.put("/feed.atom", atom_with(items("a", 1), ("hub", hub.url())), "application/atom+xml")
        port = free_port()
        config = config_for(tmp_path, upstream, redis_url, prefix, port)
        async with subscriber(config, redis_url, port) as runtime:
            form = await _active(runtime, hub)
            await pause_source(runtime.redis, runtime.keys, "feed", now=datetime.now(UTC), reason="checking")
            new = Item("p-1", "While paused", "https://a.example/p", BASE_TIME, "<p>x</p>")
            assert await hub.push(form, atom([new])) == 202
            assert await runtime.redis.zcard(runtime.keys.category_index("tech")) == 1
            health = await source_health(runtime, "feed")
            assert health.websub_pushes_refused == 1 and "paused" in (health.websub_last_push or "")


async def test_a_removed_source_is_unsubscribed_and_its_callback_stops_answering(
    tmp_path, upstream, redis, redis_url, prefix
) -> None:
    async with running_hub() as hub:
        upstream.put("/feed.atom", atom_with(items("a", 1), ("hub", hub.url())), "application/atom+xml")
        port = free_port()
        config = config_for(tmp_path, upstream, redis_url, prefix, port)
        async with subscriber(config, redis_url, port) as runtime:
            form = await _active(runtime, hub)
            runtime.config = replace(config, sources={})  # what a reload removing it leaves
            assert await unsubscribe_removed(runtime) == 1
            assert await unsubscribe_removed(runtime) == 0  # asked once, not every tick
            asked = hub.forms[-1]
            assert (asked["hub.mode"], asked["hub.topic"], asked["hub.callback"]) == (
                "unsubscribe",
                form["hub.topic"],
                form["hub.callback"],
            )
            new = Item("r-1", "After removal", "https://a.example/r", BASE_TIME, "<p>x</p>")
            assert await hub.push(form, atom([new])) == 410  # the hub should drop it
            status, text, challenge = await hub.verify(form, mode="unsubscribe")
            assert (status, text) == (200, challenge)
            assert await load_subscription(runtime.redis, runtime.keys, "feed") is None
            assert await hub.push(form, atom([new])) == 404


async def test_the_hub_request_goes_through_the_address_guard() -> None:
    from syndicator.models import FetchLimits
    from syndicator.subscriber.hubclient import post_to_hub

    async with running_hub() as hub:
        form = {
            "hub.mode": "subscribe",
            "hub.topic": "https://t.example/",
            "hub.callback": "https://c.example/x",
        }
        refused = await post_to_hub(hub.url(), form, FetchLimits())
        assert not refused.ok and "refused" in refused.reason and "loopback" in refused.reason
        assert hub.forms == []
        allowed = await post_to_hub(hub.url(), form, FetchLimits(allowed_networks=("127.0.0.0/8",)))
        assert allowed.ok and hub.forms == [form]

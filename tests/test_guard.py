"""The address guard: literals, names, resolved addresses, redirects, and the opt-out."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult

from syndicator.fetch import (
    AddressGuard,
    AddressRefused,
    Fetcher,
    FetchError,
    parse_ip_literal,
    refusal_reason,
)
from syndicator.fetch.guard import ALLOW_ADDRESS, ALLOW_NAME
from syndicator.models import FetchLimits, Source, Validators

PUBLIC = "127.0.0.2"
LIMITS = FetchLimits(allowed_networks=(f"{PUBLIC}/32",))


class StaticResolver(AbstractResolver):
    """Test DNS: a fixed name → address table; records every lookup."""

    def __init__(self, table: dict[str, str]) -> None:
        self.table = table
        self.lookups: list[str] = []

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.lookups.append(host)
        if host not in self.table:
            raise socket.gaierror(socket.EAI_NONAME, f"Name or service not known: {host}")
        address = self.table[host]
        fam = socket.AF_INET6 if ":" in address else socket.AF_INET
        return [{"hostname": host, "host": address, "port": port, "family": fam, "proto": 0, "flags": 0}]

    async def close(self) -> None:
        return None


@dataclass
class Server:
    host: str
    port: int
    hits: list[str] = field(default_factory=list)

    def url(self, path: str = "/", host: str | None = None) -> str:
        return f"http://{host or self.host}:{self.port}{path}"


async def start(host: str) -> tuple[Server, web.AppRunner]:
    server = Server(host, 0)

    async def anything(request: web.Request) -> web.Response:
        server.hits.append(request.path_qs)
        if request.path == "/go":  # redirect wherever the query says
            raise web.HTTPFound(request.query["to"])
        return web.Response(text="<rss/>", content_type="application/xml")

    app = web.Application()
    app.router.add_get("/{tail:.*}", anything)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, host, 0).start()
    server.port = runner.addresses[0][1]
    return server, runner


@pytest.fixture
async def private() -> AsyncIterator[Server]:
    """A service on loopback that the guard must keep us away from."""
    server, runner = await start("127.0.0.1")
    yield server
    await runner.cleanup()


@pytest.fixture
async def public() -> AsyncIterator[Server]:
    """The "public" upstream: 127.0.0.2, let through by allowed_networks."""
    server, runner = await start(PUBLIC)
    yield server
    await runner.cleanup()


def src(url: str, *, allow_private: bool = False) -> Source:
    return Source(id="g1", url=url, allow_private_network=allow_private)


# ---------------------------------------------------------------- pure rules


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("0x7f.0.0.1", "127.0.0.1"),
        ("0x7F.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("127.0.0.1.", "127.0.0.1"),
        ("10.1", "10.0.0.1"),
        ("[::1]", "::1"),
        ("::ffff:127.0.0.1", "::ffff:7f00:1"),
        ("%31%32%37.0.0.1", "127.0.0.1"),
        ("0", "0.0.0.0"),
    ],
)
def test_ip_literal_spellings(host, address):
    assert parse_ip_literal(host) == ipaddress.ip_address(address)


@pytest.mark.parametrize("host", ["example.com", "256.0.0.1", "1.2.3.4.5", "08.0.0.1", "a.1"])
def test_names_are_not_literals(host):
    assert parse_ip_literal(host) is None


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("10.0.0.1", "private"),
        ("172.16.5.4", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local, cloud metadata"),
        ("169.254.1.1", "link-local"),
        ("0.0.0.0", "unspecified"),
        ("100.64.0.1", "carrier-grade NAT"),
        ("224.0.0.1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("::", "unspecified"),
        ("::1", "loopback"),
        ("fe80::1", "link-local"),
        ("fd12:3456::1", "private, unique local"),
        ("ff02::1", "multicast"),
        ("::ffff:127.0.0.1", "IPv4-mapped loopback 127.0.0.1"),
        ("::ffff:7f00:1", "IPv4-mapped loopback 127.0.0.1"),
        ("::127.0.0.1", "IPv4-compatible loopback 127.0.0.1"),
        ("::ffff:169.254.169.254", "IPv4-mapped link-local, cloud metadata 169.254.169.254"),
        ("2002:a00:1::", "6to4 private 10.0.0.1"),
        ("64:ff9b::c0a8:101", "NAT64 private 192.168.1.1"),
    ],
)
def test_refused_addresses(address, reason):
    assert refusal_reason(ipaddress.ip_address(address)) == reason


@pytest.mark.parametrize(
    "address", ["93.184.215.14", "8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8", "2002:808:808::1"]
)
def test_public_addresses_pass(address):
    assert refusal_reason(ipaddress.ip_address(address)) is None


def test_allowed_networks_let_through_and_bad_cidr_is_named():
    guard = AddressGuard(["10.1.0.0/16"])
    guard.check_host("10.1.2.3")
    guard.check_host("[::ffff:10.1.2.3]")
    with pytest.raises(ValueError, match=r"fetch\.allowed_networks: '10\.1\.0\.0/99' is not a CIDR network"):
        AddressGuard(["10.1.0.0/99"])


# ---------------------------------------------------------------- through the Fetcher


LITERALS = [
    "http://127.0.0.1:{port}/",
    "http://2130706433:{port}/",
    "http://0177.0.0.1:{port}/",
    "http://0x7f000001:{port}/",
    "http://127.1:{port}/",
    "http://[::1]:{port}/",
    "http://[::ffff:127.0.0.1]:{port}/",
    "http://[::ffff:7f00:1]:{port}/",
    "http://10.0.0.1:{port}/",
    "http://192.168.1.1:{port}/",
    "http://0.0.0.0:{port}/",
]


@pytest.mark.parametrize("template", LITERALS)
async def test_ip_literals_refused_without_connecting(private, template):
    resolver = StaticResolver({})
    url = template.format(port=private.port)
    async with Fetcher(LIMITS, resolver=resolver) as f:
        with pytest.raises(AddressRefused) as info:
            await f.fetch(src(url), Validators())
    err = info.value
    assert "not a public address" in err.reason
    assert not err.retryable
    assert str(err) == f"g1: {url}: {err.reason}"
    assert private.hits == []
    assert resolver.lookups == []


async def test_literal_error_names_the_address_and_why(private):
    async with Fetcher(LIMITS) as f:
        with pytest.raises(AddressRefused) as info:
            await f.fetch(src(f"http://2130706433:{private.port}/"), Validators())
    assert info.value.reason == (
        "refused: 2130706433 is 127.0.0.1 (loopback), not a public address; to allow it set "
        "allow_private_network = true on the source, or add the network to fetch.allowed_networks"
    )


async def test_name_resolving_to_loopback_is_refused(private):
    resolver = StaticResolver({"evil.test": "127.0.0.1"})
    async with Fetcher(LIMITS, resolver=resolver) as f:
        with pytest.raises(AddressRefused) as info:
            await f.fetch(src(private.url("/", host="evil.test")), Validators())
    assert info.value.reason == "refused: evil.test resolves to 127.0.0.1 (loopback)" + ALLOW_ADDRESS
    assert resolver.lookups == ["evil.test"]
    assert private.hits == []


async def test_name_resolving_to_allowed_network_succeeds(public):
    resolver = StaticResolver({"public.test": PUBLIC})
    async with Fetcher(LIMITS, resolver=resolver) as f:
        result = await f.fetch(src(public.url("/feed", host="public.test")), Validators())
    assert (result.status, result.body) == (200, b"<rss/>")
    assert public.hits == ["/feed"]


@pytest.mark.parametrize(
    "target",
    ["http://127.0.0.1:{port}/secret", "http://169.254.169.254/latest/meta-data/"],
)
async def test_redirect_to_internal_address_is_refused(public, private, target):
    target = target.format(port=private.port)
    async with Fetcher(LIMITS) as f:
        with pytest.raises(AddressRefused) as info:
            await f.fetch(src(public.url("/go?to=" + target)), Validators())
    assert info.value.url == target
    assert "loopback" in info.value.reason or "cloud metadata" in info.value.reason
    assert len(public.hits) == 1
    assert private.hits == []


async def test_redirect_to_name_resolving_private_is_refused(public, private):
    resolver = StaticResolver({"public.test": PUBLIC, "rebind.test": "127.0.0.1"})
    target = private.url("/secret", host="rebind.test")
    async with Fetcher(LIMITS, resolver=resolver) as f:
        with pytest.raises(AddressRefused) as info:
            await f.fetch(src(public.url("/go?to=" + target, host="public.test")), Validators())
    assert info.value.reason == "refused: rebind.test resolves to 127.0.0.1 (loopback)" + ALLOW_ADDRESS
    assert private.hits == []


@pytest.mark.parametrize("host", ["localhost", "metadata.google.internal", "app.localhost"])
async def test_special_names_refused_before_dns(host):
    resolver = StaticResolver({host: "8.8.8.8"})
    async with Fetcher(LIMITS, resolver=resolver) as f:
        with pytest.raises(AddressRefused) as info:
            await f.fetch(src(f"http://{host}/"), Validators())
    assert info.value.reason.startswith(f"refused: {host} is a ")
    assert info.value.reason.endswith(ALLOW_NAME)  # allowed_networks cannot allow a name
    assert resolver.lookups == []


async def test_allow_private_network_reaches_loopback(private):
    resolver = StaticResolver({"evil.test": "127.0.0.1"})
    async with Fetcher(LIMITS, resolver=resolver) as f:
        direct = await f.fetch(src(private.url("/a"), allow_private=True), Validators())
        named = await f.fetch(src(private.url("/b", host="evil.test"), allow_private=True), Validators())
        # The same Fetcher still guards the other sources.
        with pytest.raises(AddressRefused):
            await f.fetch(src(private.url("/c")), Validators())
    assert (direct.status, named.status) == (200, 200)
    assert private.hits == ["/a", "/b"]


async def test_refusal_is_a_fetch_error():
    async with Fetcher(FetchLimits()) as f:
        with pytest.raises(FetchError) as info:
            await f.fetch(src("http://[fd00::1]/"), Validators())
    assert isinstance(info.value, AddressRefused)
    assert (
        info.value.reason
        == "refused: fd00::1 (private, unique local) is not a public address" + ALLOW_ADDRESS
    )


async def test_a_refused_callback_names_the_one_switch_that_applies(private):
    """A WebSub callback is a URL a stranger gave us: the sources' `allow_private_network`
    cannot let it through, so the reason names only `fetch.allowed_networks`."""
    resolver = StaticResolver({"evil.test": "127.0.0.1"})
    async with Fetcher(LIMITS, resolver=resolver) as f:
        for url in (f"http://2130706433:{private.port}/cb", private.url("/cb", host="evil.test")):
            with pytest.raises(AddressRefused) as info:
                await f.call("GET", url)
            assert "allow_private_network" not in info.value.reason
            assert info.value.reason.endswith("; a callback is let through only by fetch.allowed_networks")
            assert "127.0.0.1 (loopback)" in info.value.reason
    assert private.hits == []

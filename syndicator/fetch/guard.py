"""Address guard: never let an upstream URL make us connect to our own network.

A source URL (or a redirect it answers with) could point at loopback, the LAN, or a
cloud metadata service (169.254.169.254) and turn the fetcher into a proxy into places
only we can reach (SSRF). The guard therefore checks the destination twice:

* before a request, the URL's host: IP literals in every spelling that a URL parser,
  aiohttp or the C library would accept (`2130706433`, `0177.0.0.1`, `0x7f.1`, `127.1`,
  `[::ffff:7f00:1]` …) — aiohttp connects to literals without asking any resolver — and
  names that are loopback or metadata by definition (`localhost`, `metadata.google.internal`);
* at connect time, every address a name resolves to, through `GuardedResolver`, which
  sits between aiohttp's connector and the real resolver. The connector connects to
  exactly the addresses the guard saw, so DNS rebinding between a check and the
  connection has nothing to slip through.

Operators can let chosen networks through (`FetchLimits.allowed_networks`); a source
with `allow_private_network` bypasses the guard entirely (the client uses a separate
unguarded session for it).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from urllib.parse import unquote

from aiohttp.abc import AbstractResolver, ResolveResult

from syndicator.errors import SyndicatorError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Names that mean "this machine" (RFC 6761) or a cloud instance-metadata service.
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})
_METADATA_NAMES = frozenset(
    {
        "metadata",
        "metadata.google.internal",
        "metadata.goog",
        "instance-data",
        "instance-data.ec2.internal",
        "metadata.azure.internal",
        "metadata.tencentyun.com",
        "metadata.platformequinix.com",
    }
)
_METADATA_ADDRESSES = frozenset(
    {
        ipaddress.ip_address("169.254.169.254"),  # AWS, GCP, Azure, OpenStack, …
        ipaddress.ip_address("169.254.170.2"),  # AWS ECS task metadata
        ipaddress.ip_address("100.100.100.200"),  # Alibaba Cloud
        ipaddress.ip_address("fd00:ec2::254"),  # AWS over IPv6
    }
)

_THIS_NETWORK = ipaddress.ip_network("0.0.0.0/8")
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_BROADCAST = ipaddress.ip_address("255.255.255.255")
_UNIQUE_LOCAL = ipaddress.ip_network("fc00::/7")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_V4_TRANSLATED = ipaddress.ip_network("::ffff:0:0:0/96")  # SIIT, RFC 2765
_V4_COMPATIBLE = ipaddress.ip_network("::/96")


# How to let a refused fetch through, appended to every refusal: the operator reading it in
# a log or in the source's last_error learns the two switches without opening the docs.
# (`fetch.allowed_networks` lists CIDRs, so it cannot allow a name refused before DNS.)
ALLOW_NAME = "; to allow it set allow_private_network = true on the source"
ALLOW_ADDRESS = f"{ALLOW_NAME}, or add the network to fetch.allowed_networks"


class AddressBlocked(SyndicatorError):
    """Raised by the guard; the client turns it into `AddressRefused` with the source."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# ---------------------------------------------------------------- pure checks


def _ipv4_part(text: str) -> int | None:
    """One dotted part as inet_aton reads it: 0x.. hex, 0.. octal, else decimal."""
    if text[:2].lower() == "0x":
        digits = text[2:]
        if digits == "":
            return 0
        return int(digits, 16) if all(c in "0123456789abcdefABCDEF" for c in digits) else None
    if not text.isascii() or not text.isdigit():
        return None
    if len(text) > 1 and text[0] == "0":
        return int(text, 8) if all(c in "01234567" for c in text) else None
    return int(text)


def parse_ip_literal(host: str) -> IPAddress | None:
    """The address an URL host denotes if it is an IP literal in any accepted spelling.

    Accepts bracketed or bare IPv6 (with zone), dotted IPv4 with 1–4 parts, each decimal,
    octal (leading 0) or hex (0x), the last part filling the remaining bytes — exactly the
    forms inet_aton() and the WHATWG URL parser take (`127.1`, `2130706433`, `0x7f.0.0.1`).
    Returns None for anything that is a name.
    """
    text = unquote(host).strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    if ":" in text:
        try:
            return ipaddress.IPv6Address(text)
        except ValueError:
            return None
    if text.endswith("."):  # one trailing dot is the root label, still the same host
        text = text[:-1]
    parts = text.split(".")
    if not 1 <= len(parts) <= 4 or any(p == "" for p in parts):
        return None
    numbers = [_ipv4_part(p) for p in parts]
    if any(n is None for n in numbers):
        return None
    *head, last = [n for n in numbers if n is not None]
    if any(n > 255 for n in head) or last >= 256 ** (5 - len(parts)):
        return None
    value = last
    for i, n in enumerate(head):
        value += n << (8 * (3 - i))
    return ipaddress.IPv4Address(value)


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> tuple[ipaddress.IPv4Address, str] | None:
    """An IPv4 address the IPv6 address carries (and how), since it may reach that host."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped, "IPv4-mapped"
    if ip in _V4_TRANSLATED:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF), "IPv4-translated"
    if ip.sixtofour is not None:
        return ip.sixtofour, "6to4"
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF), "NAT64"
    if ip in _V4_COMPATIBLE and int(ip) > 1:  # not :: or ::1, which are handled before
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF), "IPv4-compatible"
    if ip.teredo is not None:
        return ip.teredo[1], "Teredo"
    return None


def _ipv4_reason(ip: ipaddress.IPv4Address) -> str | None:
    if ip in _THIS_NETWORK:
        return "unspecified"
    if ip.is_loopback:
        return "loopback"
    if ip in _METADATA_ADDRESSES:
        return "link-local, cloud metadata" if ip.is_link_local else "cloud metadata"
    if ip.is_link_local:
        return "link-local"
    if ip.is_multicast:
        return "multicast"
    if ip in _CGNAT:
        return "carrier-grade NAT"
    if ip == _BROADCAST:
        return "broadcast"
    if ip.is_reserved:
        return "reserved"
    if ip.is_private:
        return "private"
    if not ip.is_global:
        return "not globally routable"
    return None


def _ipv6_reason(ip: ipaddress.IPv6Address) -> str | None:
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_loopback:
        return "loopback"
    embedded = _embedded_ipv4(ip)
    if embedded is not None:
        v4, how = embedded
        why = _ipv4_reason(v4)
        if why is not None:
            return f"{how} {why} {v4}"
        if how != "Teredo":  # a relay to a public IPv4 host is as public as that host
            return None
    if ip in _METADATA_ADDRESSES:
        return "cloud metadata"
    if ip.is_link_local:
        return "link-local"
    if ip.is_site_local:
        return "site-local"
    if ip.is_multicast:
        return "multicast"
    if ip in _UNIQUE_LOCAL:
        return "private, unique local"
    if ip.is_reserved:
        return "reserved"
    if ip.is_private or not ip.is_global:
        return "not globally routable"
    return None


def refusal_reason(ip: IPAddress) -> str | None:
    """Why connecting to `ip` is refused ("loopback", "private" …), or None if it is public."""
    if isinstance(ip, ipaddress.IPv6Address):
        return _ipv6_reason(ip)
    return _ipv4_reason(ip)


def _name_reason(host: str) -> str | None:
    name = host.lower().rstrip(".")
    if name in _LOOPBACK_NAMES or name.endswith(".localhost"):
        return "a loopback name"
    if name in _METADATA_NAMES:
        return "a cloud metadata name"
    return None


class AddressGuard:
    """The policy: refuse non-public addresses except those in `allowed_networks`."""

    def __init__(self, allowed_networks: Iterable[str] = ()) -> None:
        networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        for cidr in allowed_networks:
            try:
                networks.append(ipaddress.ip_network(cidr.strip(), strict=False))
            except ValueError as exc:
                raise ValueError(f"fetch.allowed_networks: {cidr!r} is not a CIDR network ({exc})") from exc
        self._allowed = tuple(networks)

    def _allowed_address(self, ip: IPAddress) -> bool:
        candidates: list[IPAddress] = [ip]
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            candidates.append(ip.ipv4_mapped)
        return any(c in net for c in candidates for net in self._allowed)

    def check_address(self, ip: IPAddress, *, host: str | None = None) -> None:
        """Raise `AddressBlocked` unless `ip` is public or explicitly allowed."""
        if self._allowed_address(ip):
            return
        why = refusal_reason(ip)
        if why is None:
            return
        if host is None or host.strip("[]") == str(ip):
            raise AddressBlocked(f"refused: {ip} ({why}) is not a public address{ALLOW_ADDRESS}")
        if parse_ip_literal(host) is not None:
            raise AddressBlocked(f"refused: {host} is {ip} ({why}), not a public address{ALLOW_ADDRESS}")
        raise AddressBlocked(f"refused: {host} resolves to {ip} ({why}){ALLOW_ADDRESS}")

    def check_host(self, host: str) -> None:
        """Check a URL host before any connection: IP literals and well-known names."""
        ip = parse_ip_literal(host)
        if ip is not None:
            self.check_address(ip, host=host)
            return
        why = _name_reason(host)
        if why is not None:
            raise AddressBlocked(f"refused: {host} is {why}{ALLOW_NAME}")


class GuardedResolver(AbstractResolver):
    """Resolve through `inner`, then refuse the lookup if any answer is not allowed.

    One bad answer refuses the whole name: a mix of public and private answers is what
    a rebinding attack looks like, and connecting to "the public one" is not a promise
    the connector can keep (it tries addresses in turn).
    """

    def __init__(self, inner: AbstractResolver, guard: AddressGuard) -> None:
        self._inner = inner
        self._guard = guard

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self._guard.check_host(host)
        results = await self._inner.resolve(host, port, family)
        for result in results:
            try:
                ip = ipaddress.ip_address(result["host"])
            except ValueError as exc:
                raise AddressBlocked(
                    f"refused: {host} resolved to {result['host']!r}, not an IP address"
                ) from exc
            self._guard.check_address(ip, host=host)
        return results

    async def close(self) -> None:
        # The inner resolver belongs to whoever created it (the Fetcher); closing it
        # here would break the other session sharing it.
        return None

"""Per-client limits on expensive requests: renders of variants not in the render cache.

A filtered or combined feed is rendered once per (state of its categories, query) and then
served from the render cache; a client sending a new `?q=` every time makes every request
a render (tens a second instead of thousands). `RenderLimiter` lets each client start at
most N such renders in any 60 seconds (`server.variant_renders_per_minute`); cache hits,
304s and plain feeds never count.

It is an exact sliding window: per client, the times of its last N renders. Memory is
bounded by `max_clients` (least recently seen clients are forgotten first) times N times a
float. A forgotten client starts afresh, so evading the limit that way takes more than
`max_clients` addresses sending at once; IPv6 clients are counted per /64, since one host
commonly holds a whole /64.

The same class with a window of one second and one key bounds renders from all clients
together (`server.variant_renders_per_second`, `Variants.budget`): per-client budgets
alone let fifty addresses cause fifty times as many renders, enough to take the event
loop from the plain feed's readers.

The client is the peer address of the connection (aiohttp's `request.remote`). Behind a
reverse proxy every request comes from the proxy, so all readers would share one budget:
list the proxy in `server.trusted_proxies`, and for a peer in those networks the client is
the nearest address of `X-Forwarded-For` that is not itself a trusted proxy. The header is
never read from any other peer (anyone can send it).
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable

from aiohttp import web

WINDOW_SECONDS = 60.0
MAX_CLIENTS = 4096
EVERYONE = "*"  # the one key of a limiter that counts all clients together


class RenderLimiter:
    """At most `limit` events per client in any `window` seconds; see the module docstring."""

    def __init__(
        self,
        *,
        window: float = WINDOW_SECONDS,
        max_clients: int = MAX_CLIENTS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.window = window
        self.max_clients = max_clients
        self.clock = clock
        self.refused = 0  # requests refused (429 or 503), for tests and operators
        self._clients: OrderedDict[str, deque[float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._clients)

    def acquire(self, client: str, limit: int) -> int:
        """Count one event for `client` if it is within `limit`; returns 0 then, otherwise
        the whole seconds until its oldest counted event leaves the window (at least 1).

        `limit` is passed per call, so a config reload applies at once; 0 means unlimited.
        """
        wait = self.retry_after(client, limit)
        if wait:
            self.refused += 1
        else:
            self.count(client, limit)
        return wait

    def count(self, client: str, limit: int) -> None:
        """Count one event for `client` without checking (`retry_after` said 0 just now)."""
        if limit > 0:
            self._clients.setdefault(client, deque()).append(self.clock())

    def retry_after(self, client: str, limit: int) -> int:
        """What `acquire` would return now, without counting anything (0: a slot is free)."""
        if limit <= 0:
            return 0
        now = self.clock()
        times = self._clients.pop(client, None)
        if times is None:
            times = deque()
        while times and times[0] <= now - self.window:
            times.popleft()
        while len(times) > limit:  # the limit was lowered by a reload
            times.popleft()
        self._clients[client] = times  # now the most recently seen
        while len(self._clients) > self.max_clients:
            self._clients.popitem(last=False)
        if len(times) >= limit:
            return max(1, math.ceil(times[0] + self.window - now))
        return 0


def _network_key(address: str) -> str:
    """An IPv4 address as is, an IPv6 address as its /64 (an IPv4-mapped one as IPv4)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address  # not an IP (a Unix socket peer): one client
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def _trusted(address: str, proxies: Iterable[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip.version == net.version and ip in net for net in proxies)


def client_key(request: web.Request, trusted_proxies: tuple[str, ...] = ()) -> str:
    """Who the request is from, for limiting: see the module docstring."""
    peer = request.remote or "unknown"
    if trusted_proxies:
        proxies = [ipaddress.ip_network(p) for p in trusted_proxies]
        if _trusted(peer, proxies):
            hops = [h.strip() for h in ",".join(request.headers.getall("X-Forwarded-For", [])).split(",")]
            for hop in reversed([h for h in hops if h]):
                if not _trusted(hop, proxies):
                    return _network_key(hop)
    return _network_key(peer)

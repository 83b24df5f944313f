"""The subscription request to an upstream hub (WebSub §5.1): one form POST, guarded.

The hub is an address an upstream document named, so it is untrusted exactly as a fetch
is: the same address guard (`fetch.allowed_networks`, or the source's
`allow_private_network`) checks every hop, the same timeouts bound it, no proxy from the
environment, no cookies. Redirects are followed by hand, re-POSTing the same form
(websub.rocks subscriber tests 203/204: a hub answering 307 or 308), at most
`fetch.max_redirects` times; a permanent one (301, 308) tells the caller the hub's new URL.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import aiohttp
from aiohttp.abc import AbstractResolver
from yarl import URL

from syndicator.fetch.guard import AddressBlocked, AddressGuard, GuardedResolver
from syndicator.models import FetchLimits

REDIRECTS = frozenset({301, 302, 303, 307, 308})
PERMANENT = frozenset({301, 308})


@dataclass(frozen=True)
class HubAnswer:
    """How the hub answered: `ok` for any 2xx (202 Accepted is the rule); `hub` is the URL
    to use from now on (changed by a permanent redirect); `reason` a one-line explanation."""

    ok: bool
    status: int | None
    reason: str
    hub: str


async def post_to_hub(
    hub: str, form: dict[str, str], limits: FetchLimits, *, guarded: bool = True
) -> HubAnswer:
    """POST `form` (application/x-www-form-urlencoded) to `hub`; never raises for the hub's
    failures, which come back as a HubAnswer with `ok` False."""
    guard = AddressGuard(limits.allowed_networks)
    inner = aiohttp.DefaultResolver()
    resolver: AbstractResolver = GuardedResolver(inner, guard) if guarded else inner
    timeout = aiohttp.ClientTimeout(
        total=limits.total_timeout, connect=limits.connect_timeout, sock_read=limits.read_timeout
    )
    current = hub
    session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(resolver=resolver),
        timeout=timeout,
        cookie_jar=aiohttp.DummyCookieJar(),
        trust_env=False,
    )
    try:
        async with asyncio.timeout(limits.total_timeout):
            lasting = hub
            for _ in range(limits.max_redirects + 1):
                url = URL(current)
                if url.scheme not in ("http", "https") or not url.host:
                    return HubAnswer(False, None, f"hub URL {current!r} is not http(s)", lasting)
                if guarded:
                    guard.check_host(url.raw_host or "")
                headers = {"User-Agent": limits.user_agent}
                async with session.post(url, data=form, headers=headers, allow_redirects=False) as resp:
                    status = resp.status
                    if status in REDIRECTS and resp.headers.get("Location"):
                        target = str(url.join(URL(resp.headers["Location"])))
                        if status in PERMANENT and current == lasting:
                            lasting = target
                        current = target
                        continue
                    text = (await resp.content.read(300)).decode("utf-8", "replace")
                if 200 <= status < 300:
                    return HubAnswer(True, status, f"hub answered {status}", lasting)
                said = " ".join(text.split())[:200]
                return HubAnswer(
                    False, status, f"hub answered {status}{': ' + said if said else ''}", lasting
                )
            return HubAnswer(False, None, f"too many redirects from the hub (last to {current})", lasting)
    except AddressBlocked as exc:
        return HubAnswer(False, None, f"hub address {exc.reason}", hub)
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        return HubAnswer(False, None, f"hub unreachable: {type(exc).__name__}: {exc}"[:300], hub)
    finally:
        await session.close()
        await inner.close()

"""Which topic URLs the hub accepts, and the one spelling each is stored under.

A topic is one of our own feed URLs: plain (`/feeds/tech.rss`), filtered
(`/feeds/tech.atom?q=rust`) or combined (`/feeds/tech+world.json`). Anything else —
another site's URL, an archive page, an unknown category or format, a query the feed
would refuse — is refused at once with a 4xx and nothing is sent to the callback: the
hub would never have anything to deliver for it.

Normalising follows the feed routes exactly (`web/target.py` for the path,
`web/query.py` for the query string) and writes the URL back the way the feed names
itself (`rel=self`): host case, a default port, percent-encoding and the order of query
parameters do not make two subscriptions to the same feed look like two topics, and
the URL a delivery's `Link: rel=self` carries is the stored topic.

It lives in the web package because it reads feed URLs the way the routes do; the hub
package never imports the web package (the web package imports the hub), so the hub's
code that must know whether a topic is still served is handed `still_served`.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote, urlsplit

from syndicator.errors import SyndicatorError
from syndicator.hub.topics import Served, is_variant_url
from syndicator.render import feed_url
from syndicator.runtime import Runtime
from syndicator.web.query import FeedQuery, QueryError, parse_query
from syndicator.web.target import FeedTarget, TargetError, parse_target
from syndicator.web.variants import self_url

DEFAULT_PORTS = {"http": 80, "https": 443}


class TopicRefused(SyndicatorError, ValueError):
    """A topic the hub does not serve; the message is the one-line reason (a 4xx)."""


@dataclass(frozen=True)
class Topic:
    """A topic the hub serves: its normalised URL and what it names."""

    url: str
    target: FeedTarget
    query: FeedQuery

    @property
    def is_variant(self) -> bool:
        """Filtered or combined: such topics are bounded in number (each is a render)."""
        return is_variant_url(self.url)


def _origin(scheme: str, host: str, port: int | None) -> tuple[str, str, int]:
    return scheme, host.lower(), port or DEFAULT_PORTS.get(scheme, 0)


def normalise_topic(runtime: Runtime, topic: str) -> Topic:
    """The `Topic` that `topic` names under the current configuration, or TopicRefused."""
    site = runtime.site_url
    try:
        parts, ours = urlsplit(topic.strip()), urlsplit(site)
        port = parts.port
    except ValueError as exc:
        raise TopicRefused(f"hub.topic: not a valid URL ({exc})") from None
    scheme = parts.scheme.lower()
    if _origin(scheme, parts.hostname or "", port) != _origin(ours.scheme, ours.hostname or "", ours.port):
        raise TopicRefused(f"hub.topic: not a feed of this hub's site {site}")
    prefix = f"{ours.path}feeds/"
    if not parts.path.startswith(prefix):
        raise TopicRefused(f"hub.topic: not a feed URL (feeds are under {site}feeds/)")
    try:
        target = parse_target(runtime, unquote(parts.path[len(prefix) :]))
        query = parse_query(parse_qsl(parts.query, keep_blank_values=True))
    except (TargetError, QueryError) as exc:
        raise TopicRefused(f"hub.topic: {exc}") from None
    if len(target.slugs) == 1 and query.is_empty:
        url = feed_url(site, target.slugs[0], target.fmt)
    else:
        url = self_url(site, target, query)
    return Topic(url=url, target=target, query=query)


def served_by(runtime: Runtime) -> Served:
    """`still_served` under `runtime`'s configuration (read at each call: a reload applies)."""
    return lambda url: still_served(runtime, url)


def still_served(runtime: Runtime, url: str) -> str | None:
    """None while the stored topic `url` is still one of our feeds; else why not (for
    `hub.mode=denied`): its category was removed by a reload, say."""
    try:
        normalise_topic(runtime, url)
    except TopicRefused as exc:
        return str(exc).removeprefix("hub.topic: ")
    return None

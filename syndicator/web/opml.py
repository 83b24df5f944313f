"""GET /opml.xml: the category feeds as an OPML 2.0 subscription list.

A reader that imports an OPML subscribes to every `xmlUrl` in it and stores each feed's
items separately. A category's feed holds its own articles and its children's, and `all`
holds everything, so a list of every feed makes a reader store one article many times
(lemon24/reader kept 55 entries for 22 articles). Hence two lists:

- `/opml.xml` (for feed readers): each article once per category it is filed in. Every
  leaf category's feed; a parent is a folder (`<outline text="Parent">`) holding its
  children, plus the parent's `?own=1` feed (only articles filed directly under it) when
  some source files articles there. `all` is the top level: its `?own=1` feed is listed
  when a source files articles under no category.
- `/opml.xml?all=1` (everything): `all`, every parent with its children's articles and
  every child, nested as the slugs nest, each outline itself a subscription.

Whether a parent has articles of its own is decided from the configuration, not the
store: the category indexes cannot tell (a parent's index holds its children's articles;
only the article records say which category an article was filed under, and reading
them is a scan). A subscription list is imported once and must also cover where articles
will go, so the sources' targets are the right question anyway: a source's
`categories`, and for page, listing and sitemap sources its `category_map` targets and
`default_category` — the same choices ingest makes (`ingest/feed.py`,
`normalise/categories.py`).
"""

from __future__ import annotations

from collections.abc import Iterable
from xml.etree.ElementTree import Element, SubElement, indent, tostring

from aiohttp import web

from syndicator.models import ALL_CATEGORY, Category, Config
from syndicator.render import feed_url
from syndicator.runtime import Runtime
from syndicator.web.feeds import RUNTIME
from syndicator.web.query import FeedQuery, QueryError
from syndicator.web.representation import error_response

EVERYTHING_PARAMETER = "all"
OWN_LABEL = FeedQuery(own=True).describe()


def filed_categories(config: Config) -> set[str]:
    """Every category some source files articles directly under (`all`: no category).

    Mirrors ingest: a feed source files every entry under its `categories`; a page,
    listing or sitemap source under a `category_map` target, else its `default_category`,
    else its `categories`. An article with no category is filed under `all`. Disabled
    sources count: their articles stay stored and they may be enabled again.
    """
    filed: set[str] = set()
    for source in config.sources.values():
        fallback = source.categories or (ALL_CATEGORY,)
        if source.kind == "feed":
            filed.update(fallback)
            continue
        filed.update(rule.category for rule in source.category_map)
        filed.update((source.default_category,) if source.default_category else fallback)
    return filed


def children_by_parent(slugs: Iterable[str]) -> dict[str, list[str]]:
    """Parent slug → its direct children, sorted; top-level categories are `all`'s children."""
    children: dict[str, list[str]] = {}
    for slug in sorted(s for s in slugs if s != ALL_CATEGORY):
        parent = slug.rpartition("/")[0] or ALL_CATEGORY
        children.setdefault(parent, []).append(slug)
    return children


def _feed_outline(parent: Element, runtime: Runtime, category: Category, *, own: bool = False) -> Element:
    url = feed_url(runtime.site_url, category.slug, "rss")
    title = f"{category.title} ({OWN_LABEL})" if own else category.title
    return SubElement(
        parent,
        "outline",
        {
            "type": "rss",
            "text": title,
            "title": title,
            "xmlUrl": f"{url}?own=1" if own else url,
            "htmlUrl": runtime.site_url,
            "description": category.description or category.title,
            "language": category.language,
        },
    )


def _folder(parent: Element, category: Category) -> Element:
    """An outline without xmlUrl: readers show it as a folder, not a subscription."""
    return SubElement(parent, "outline", {"text": category.title, "title": category.title})


def _reader_outlines(
    parent: Element,
    runtime: Runtime,
    slug: str,
    children: dict[str, list[str]],
    filed: set[str],
) -> None:
    """`slug` as a reader should subscribe to it: a leaf feed, or a folder of its children
    preceded by its own articles' feed when it has any. `all` is the body itself."""
    category = runtime.config.categories[slug]
    kids = children.get(slug, [])
    if not kids:
        _feed_outline(parent, runtime, category)
        return
    folder = parent if slug == ALL_CATEGORY else _folder(parent, category)
    if slug in filed:
        _feed_outline(folder, runtime, category, own=True)
    for kid in kids:
        _reader_outlines(folder, runtime, kid, children, filed)


def _every_outline(body: Element, runtime: Runtime) -> None:
    """`all`, then every category feed (children's articles included), nested by slug."""
    categories = runtime.config.categories
    outlines: dict[str, Element] = {ALL_CATEGORY: _feed_outline(body, runtime, categories[ALL_CATEGORY])}
    for slug in sorted(s for s in categories if s != ALL_CATEGORY):  # parents sort before children
        parent = outlines.get(slug.rpartition("/")[0], body)
        outlines[slug] = _feed_outline(parent, runtime, categories[slug])


def render_opml(runtime: Runtime, *, everything: bool = False) -> bytes:
    """The reader list (each article once per category), or with `everything` every feed."""
    opml = Element("opml", version="2.0")
    head = SubElement(opml, "head")
    SubElement(head, "title").text = "Syndicator feeds (every feed)" if everything else "Syndicator feeds"
    SubElement(head, "docs").text = "http://opml.org/spec2.opml"
    body = SubElement(opml, "body")
    if everything:
        _every_outline(body, runtime)
    else:
        config = runtime.config
        children = children_by_parent(config.categories)
        _reader_outlines(body, runtime, ALL_CATEGORY, children, filed_categories(config))
    indent(opml)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + tostring(opml, encoding="utf-8") + b"\n"


def parse_opml_query(pairs: Iterable[tuple[str, str]]) -> bool:
    """Whether `?all=1` asks for every feed; anything else is refused with one line.

    A QueryError is the 400's message: an ignored typo would hand a reader the list that
    duplicates articles, or the other way round, without a word.
    """
    everything = False
    for name, value in pairs:
        if name != EVERYTHING_PARAMETER:
            raise QueryError(name, f"unknown parameter {name!r}; /opml.xml takes only all=1")
        if value.strip() != "1":
            every = "every feed: all, parents with their children's articles, children"
            raise QueryError("all", f"must be 1 ({every}), got {value!r}")
        everything = True
    return everything


async def serve_opml(request: web.Request) -> web.Response:
    try:
        everything = parse_opml_query(request.query.items())
    except QueryError as exc:
        return error_response(400, str(exc))
    filename = "syndicator-all.opml" if everything else "syndicator.opml"
    return web.Response(
        body=render_opml(request.app[RUNTIME], everything=everything),
        content_type="text/x-opml",
        charset="utf-8",
        headers={"Content-Disposition": f'inline; filename="{filename}"'},
    )
